//! Claims challenges: the `claims` requests Conditional Access, authentication contexts and
//! Continuous Access Evaluation ask for, read strictly and written one way.
//!
//! A claims request is a JSON object (`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`).
//! It reaches us from a token endpoint's `interaction_required` answer, from a resource's
//! `WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>"`, or from our own
//! `auth_context` rules; it leaves as the `claims` parameter of an authorization or token
//! request, or base64 in our own `WWW-Authenticate`. Anything that is not a bounded JSON
//! object is no claims request at all.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

/// The most bytes of a claims request we read or pass on: real ones are a few dozen bytes.
pub(crate) const MAX_CLAIMS_BYTES: usize = 2048;

/// A claims request: a JSON object, bounded, in its compact form (so two equal requests
/// compare equal as text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClaimsRequest(String);

/// Which token a claims request asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// The ID token of a sign-in.
    IdToken,
    /// An access token.
    AccessToken,
}

impl ClaimsRequest {
    /// Reads a claims request: `None` unless it is a JSON object of at most
    /// [`MAX_CLAIMS_BYTES`] whose members are objects (`id_token`, `access_token`, `userinfo`).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if text.len() > MAX_CLAIMS_BYTES {
            return None;
        }
        let value: Value = serde_json::from_str(text).ok()?;
        let object = value.as_object()?;
        if object.is_empty() || !object.values().all(Value::is_object) {
            return None;
        }
        // Bounded as it is passed on, too (numbers such as 1e9 grow when re-written).
        let compact = value.to_string();
        (compact.len() <= MAX_CLAIMS_BYTES).then_some(Self(compact))
    }

    /// This request with `other`'s asks added (member by member, `other` winning where both
    /// ask about the same claim): what a sign-in must answer to satisfy both.
    pub(crate) fn merged(&self, other: &ClaimsRequest) -> ClaimsRequest {
        let read = |c: &ClaimsRequest| serde_json::from_str::<Map<String, Value>>(&c.0).ok();
        let (Some(mut mine), Some(theirs)) = (read(self), read(other)) else {
            return other.clone();
        };
        for (token, asks) in theirs {
            match (mine.get_mut(&token), asks) {
                (Some(Value::Object(into)), Value::Object(asks)) => into.extend(asks),
                (_, asks) => {
                    mine.insert(token, asks);
                }
            }
        }
        let merged = Value::Object(mine).to_string();
        if merged.len() > MAX_CLAIMS_BYTES {
            return other.clone();
        }
        ClaimsRequest(merged)
    }

    /// The claims of a `WWW-Authenticate` header's Bearer challenge whose `error` is
    /// `insufficient_claims` and whose `claims` is base64 of a claims request; `None` for
    /// anything else (another error, no claims, not base64, not JSON).
    pub(crate) fn from_www_authenticate(header: &str) -> Option<Self> {
        let params = bearer_params(header)?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        if param("error") != Some("insufficient_claims") {
            return None;
        }
        let encoded = param("claims")?;
        if encoded.len() > MAX_CLAIMS_BYTES * 2 {
            return None;
        }
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(encoded).ok())?;
        Self::parse(std::str::from_utf8(&decoded).ok()?)
    }

    /// The request for these authentication contexts (the `acrs` claim) in a token.
    pub(crate) fn auth_context(token: TokenKind, contexts: &[&str]) -> Self {
        let acrs = match contexts {
            [one] => json!({"essential": true, "value": one}),
            many => json!({"essential": true, "values": many}),
        };
        let token = match token {
            TokenKind::IdToken => "id_token",
            TokenKind::AccessToken => "access_token",
        };
        Self(json!({ token: { "acrs": acrs } }).to_string())
    }

    /// The JSON text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Standard base64 of the JSON text, as `WWW-Authenticate`'s `claims` carries it.
    pub(crate) fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }
}

/// The `claims` parameter of a request to the provider: the challenge's claims, with the
/// client capabilities this app declares (`{"access_token":{"xms_cc":{"values":["cp1"]}}}`)
/// merged in. `None` when there is neither.
pub(crate) fn request_claims(
    challenge: Option<&ClaimsRequest>,
    capabilities: &[String],
) -> Option<String> {
    let mut merged: Map<String, Value> = match challenge {
        Some(c) => serde_json::from_str(c.as_str()).ok()?,
        None => Map::new(),
    };
    if !capabilities.is_empty() {
        let access = merged
            .entry("access_token")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(access) = access {
            access.insert("xms_cc".into(), json!({ "values": capabilities }));
        }
    }
    (!merged.is_empty()).then(|| Value::Object(merged).to_string())
}

/// The auth-params of the first `Bearer` challenge in a `WWW-Authenticate` value (RFC 9110
/// §11.6.1: `name=token` or `name="quoted string"`, comma separated), or `None` when there
/// is no Bearer challenge or it cannot be read.
fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let mut rest = header.trim_start();
    // Skip challenges of other schemes until Bearer.
    loop {
        let (scheme, after) = split_token(rest);
        if scheme.is_empty() {
            return None;
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            rest = after;
            break;
        }
        // Another scheme: skip to the next comma-separated item that starts a challenge.
        rest = skip_params(after)?;
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(params);
        }
        let (name, after) = split_token(rest);
        let after = after.trim_start();
        let Some(after) = after.strip_prefix('=') else {
            // A token without '=': the next challenge starts here.
            return Some(params);
        };
        if name.is_empty() {
            return None;
        }
        let after = after.trim_start();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            read_quoted(quoted)?
        } else {
            let (token, after) = split_token(after);
            (token.to_owned(), after)
        };
        params.push((name.to_owned(), value));
        rest = after;
    }
}

/// Skips the auth-params of a challenge, returning what starts the next one.
fn skip_params(mut rest: &str) -> Option<&str> {
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return None;
        }
        let (name, after) = split_token(rest);
        let after_ws = after.trim_start();
        match after_ws.strip_prefix('=') {
            Some(value) => {
                let value = value.trim_start();
                rest = if let Some(quoted) = value.strip_prefix('"') {
                    read_quoted(quoted)?.1
                } else {
                    split_token(value).1
                };
            }
            None if name.is_empty() => return None,
            None => return Some(rest),
        }
    }
}

/// A token (RFC 9110 `tchar`s, plus the base64 `=`-free characters `/` and `+`), and what
/// follows it.
fn split_token(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c)))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// A quoted string's content (after its opening quote) with `\` escapes undone, and what
/// follows its closing quote. `None` when it never closes.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[i + 1..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACRS_C1: &str = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;

    #[test]
    fn reads_graphs_challenge() {
        let b64 = STANDARD.encode(ACRS_C1);
        let header = format!(
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{b64}\""
        );
        let claims = ClaimsRequest::from_www_authenticate(&header).unwrap();
        assert_eq!(claims.as_str(), ACRS_C1);
        assert_eq!(claims.to_base64(), b64);
    }

    #[test]
    fn a_challenge_with_another_error_is_none() {
        let b64 = STANDARD.encode(ACRS_C1);
        for header in [
            format!("Bearer error=\"invalid_token\", claims=\"{b64}\""),
            format!("Bearer claims=\"{b64}\""),
            format!("Basic realm=\"x\", error=\"insufficient_claims\", claims=\"{b64}\""),
            "Bearer error=\"insufficient_claims\", claims=\"not base64!\"".to_owned(),
            format!(
                "Bearer error=\"insufficient_claims\", claims=\"{}\"",
                STANDARD.encode("not json")
            ),
            format!(
                "Bearer error=\"insufficient_claims\", claims=\"{}\"",
                STANDARD.encode("[1,2]")
            ),
            format!(
                "Bearer error=\"insufficient_claims\", claims=\"{}\"",
                STANDARD.encode(r#"{"access_token":"x"}"#)
            ),
            "Bearer error=\"insufficient_claims\", claims=\"unterminated".to_owned(),
        ] {
            assert_eq!(
                ClaimsRequest::from_www_authenticate(&header),
                None,
                "{header}"
            );
        }
    }

    #[test]
    fn the_bearer_challenge_is_found_among_others() {
        let b64 = STANDARD.encode(ACRS_C1);
        let header = format!(
            "PoP realm=\"a, b\", nonce=\"x\", Bearer error=\"insufficient_claims\", claims=\"{b64}\", Basic realm=\"y\""
        );
        assert_eq!(
            ClaimsRequest::from_www_authenticate(&header)
                .unwrap()
                .as_str(),
            ACRS_C1
        );
    }

    #[test]
    fn claims_are_bounded_objects() {
        assert!(ClaimsRequest::parse("{}").is_none());
        assert!(ClaimsRequest::parse("null").is_none());
        let long = format!(
            r#"{{"access_token":{{"x":"{}"}}}}"#,
            "a".repeat(MAX_CLAIMS_BYTES)
        );
        assert!(ClaimsRequest::parse(&long).is_none());
        // Whitespace does not make two requests different.
        assert_eq!(
            ClaimsRequest::parse(
                " { \"access_token\" : {\"acrs\":{\"essential\":true,\"value\":\"c1\"}} } "
            ),
            ClaimsRequest::parse(ACRS_C1)
        );
    }

    #[test]
    fn merging_keeps_both_requests_asks() {
        let acrs = ClaimsRequest::auth_context(TokenKind::IdToken, &["c1"]);
        let mfa = ClaimsRequest::parse(
            r#"{"access_token":{"capolids":{"essential":true,"values":["p"]}}}"#,
        )
        .unwrap();
        let both: Value = serde_json::from_str(acrs.merged(&mfa).as_str()).unwrap();
        assert_eq!(both["id_token"]["acrs"]["value"], "c1");
        assert_eq!(both["access_token"]["capolids"]["values"][0], "p");
        // Already asked for: merging changes nothing.
        assert_eq!(acrs.merged(&acrs), acrs);
    }

    #[test]
    fn auth_context_requests() {
        assert_eq!(
            ClaimsRequest::auth_context(TokenKind::IdToken, &["c1"]).as_str(),
            r#"{"id_token":{"acrs":{"essential":true,"value":"c1"}}}"#
        );
        assert_eq!(
            ClaimsRequest::auth_context(TokenKind::AccessToken, &["c1"]).as_str(),
            ACRS_C1
        );
    }

    #[test]
    fn capabilities_merge_into_the_challenge() {
        let caps = vec!["cp1".to_owned()];
        assert_eq!(request_claims(None, &[]), None);
        assert_eq!(
            request_claims(None, &caps).unwrap(),
            r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#
        );
        let challenge = ClaimsRequest::parse(ACRS_C1).unwrap();
        let merged: Value =
            serde_json::from_str(&request_claims(Some(&challenge), &caps).unwrap()).unwrap();
        assert_eq!(merged["access_token"]["acrs"]["value"], "c1");
        assert_eq!(merged["access_token"]["xms_cc"]["values"][0], "cp1");
        assert_eq!(
            request_claims(Some(&challenge), &[]).unwrap(),
            challenge.as_str()
        );
    }
}
