//! The `claims` request parameter (OpenID Connect Core 5.5, as Entra reads it): what a
//! client asks of `/authorize` (MFA, authentication contexts, a policy by id) and declares to
//! the token endpoint (client capabilities such as `cp1`, a claims challenge's `nbf`).

use serde_json::{Map, Value};

use super::tokens::GrantError;

/// The members of a `claims` parameter TestIdp acts on. Everything else is ignored, as at
/// Entra; a parameter that is not a claims request is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClaimsRequest {
    /// Policy ids named by `capolids` or `polids` (a Conditional Access challenge).
    pub(crate) policy_ids: Vec<String>,
    /// `amr` asks for `mfa`.
    pub(crate) mfa: bool,
    /// Authentication contexts asked for by `acrs`.
    pub(crate) contexts: Vec<String>,
    /// Client capabilities declared by `access_token.xms_cc` (`cp1`: CAE-capable).
    pub(crate) capabilities: Vec<String>,
    /// `access_token.nbf`'s value: the time of the event a CAE challenge names.
    pub(crate) nbf: Option<i64>,
}

impl ClaimsRequest {
    /// Reads the parameter: a JSON object whose members are `id_token`, `access_token` or
    /// `userinfo`, each an object of claim names to `null` or `{essential, value, values}`.
    pub(crate) fn parse(raw: &str) -> Result<Self, GrantError> {
        let malformed = |why: &str| {
            GrantError::new(
                "invalid_request",
                50117,
                format!(
                    "Failed to deserialize policy specified in the request's claims parameter: {why}"
                ),
            )
        };
        let value: Value =
            serde_json::from_str(raw).map_err(|e| malformed(&format!("not JSON ({e})")))?;
        let Value::Object(top) = value else {
            return Err(malformed("not a JSON object"));
        };
        let mut out = Self::default();
        for (member, requests) in &top {
            if !matches!(member.as_str(), "id_token" | "access_token" | "userinfo") {
                return Err(malformed(&format!(
                    "unsupported member '{member}' (id_token, access_token or userinfo)"
                )));
            }
            let Value::Object(requests) = requests else {
                return Err(malformed(&format!("'{member}' is not an object")));
            };
            for (claim, request) in requests {
                let values = match request {
                    Value::Null => Vec::new(),
                    Value::Object(request) => values_of(request)
                        .ok_or_else(|| malformed(&format!("'{claim}' has a malformed value")))?,
                    _ => return Err(malformed(&format!("'{claim}' is not an object or null"))),
                };
                out.read(member, claim, values);
            }
        }
        Ok(out)
    }

    fn read(&mut self, member: &str, claim: &str, values: Vec<String>) {
        match claim.to_ascii_lowercase().as_str() {
            "capolids" | "polids" => self.policy_ids.extend(values),
            "amr" => self.mfa |= values.iter().any(|v| v.eq_ignore_ascii_case("mfa")),
            "acrs" => self.contexts.extend(values),
            "xms_cc" if member == "access_token" => self.capabilities.extend(values),
            "nbf" if member == "access_token" => {
                self.nbf = values.iter().find_map(|v| v.parse().ok());
            }
            _ => {}
        }
    }

    /// Whether the client declared the capability to handle claims challenges (`cp1`).
    pub(crate) fn cae_capable(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case("cp1"))
    }
}

/// `value` and `values` (any case, as Entra's own challenges write `Values`), as text.
/// `None` when one is neither a string, a number nor a list of them.
fn values_of(request: &Map<String, Value>) -> Option<Vec<String>> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let mut out = Vec::new();
    for (key, value) in request {
        match key.to_ascii_lowercase().as_str() {
            "value" => out.push(text(value)?),
            "values" => {
                for v in value.as_array()? {
                    out.push(text(v)?);
                }
            }
            _ => {}
        }
    }
    Some(out)
}

/// The `claims` parameter of a request, read; absent is empty.
pub(crate) fn claims_of(raw: Option<&str>) -> Result<ClaimsRequest, GrantError> {
    raw.map_or_else(|| Ok(ClaimsRequest::default()), ClaimsRequest::parse)
}

#[cfg(test)]
mod tests {
    use super::ClaimsRequest;

    #[test]
    fn reads_what_entra_acts_on() {
        let parsed = ClaimsRequest::parse(
            r#"{"access_token":{"xms_cc":{"values":["cp1"]},"nbf":{"essential":true,"value":"1700000000"},
                "capolids":{"essential":true,"values":["p-1"]},"polids":{"Values":["p-2"]}},
               "id_token":{"acrs":{"essential":true,"value":"c1"},"amr":{"values":["mfa"]},"auth_time":null}}"#,
        )
        .unwrap();
        assert_eq!(parsed.policy_ids, ["p-1", "p-2"]);
        assert!(parsed.mfa && parsed.cae_capable());
        assert_eq!(parsed.contexts, ["c1"]);
        assert_eq!(parsed.nbf, Some(1_700_000_000));
    }

    #[test]
    fn refuses_what_is_not_a_claims_request() {
        for raw in [
            "not json",
            "[]",
            r#"{"tokens":{}}"#,
            r#"{"access_token":[]}"#,
            r#"{"access_token":{"acrs":"c1"}}"#,
            r#"{"access_token":{"acrs":{"values":"c1"}}}"#,
            r#"{"access_token":{"acrs":{"value":{"x":1}}}}"#,
        ] {
            let err = ClaimsRequest::parse(raw).unwrap_err();
            assert_eq!((err.error, err.code), ("invalid_request", 50117), "{raw}");
        }
    }

    #[test]
    fn capabilities_count_only_for_access_tokens() {
        let parsed = ClaimsRequest::parse(r#"{"id_token":{"xms_cc":{"values":["cp1"]}}}"#).unwrap();
        assert!(!parsed.cae_capable());
    }
}
