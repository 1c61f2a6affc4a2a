//! What a token endpoint's refusal says, as Entra writes it: the OAuth error, Entra's
//! `suberror`, and a claims challenge (`claims`) when Conditional Access wants more.

use serde::{Deserialize, Serialize};

use crate::challenge::ClaimsRequest;
use crate::error::untrusted;

/// A token endpoint's error body (RFC 6749 §5.2) with the members Entra adds. Every member
/// but `error` may be missing or of the wrong type without the answer becoming unreadable.
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct EntraErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<serde_json::Value>,
    #[serde(default)]
    suberror: Option<serde_json::Value>,
    #[serde(default)]
    claims: Option<serde_json::Value>,
}

impl std::fmt::Display for EntraErrorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&untrusted(&self.error))
    }
}

impl openidconnect::ErrorResponse for EntraErrorResponse {}

/// Why the provider refused a token request, read from its answer: see [`Refusal::kind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The OAuth error code, escaped and bounded.
    pub(crate) error: String,
    /// The provider's description, escaped and bounded: for the log, never for a caller.
    pub(crate) description: String,
    /// Entra's `suberror` (`consent_required`, `basic_action`, …), escaped and bounded.
    pub(crate) suberror: Option<String>,
    /// The claims a new interactive sign-in must ask for, when the provider sent a readable
    /// claims request.
    pub(crate) claims: Option<ClaimsRequest>,
}

/// What a refusal means for whoever asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RefusalKind {
    /// The app's own credential (secret, certificate) was refused: nothing a user can fix.
    AppCredential,
    /// The user or an administrator has not consented to a scope (AADSTS65001).
    Consent,
    /// A user must interact (MFA, an authentication context, a CAE event): sign in again,
    /// with these claims when the provider named them. The grant itself is still good.
    Interaction(Option<ClaimsRequest>),
    /// The grant is spent: revoked, expired, already used, or simply refused.
    Grant,
}

impl Refusal {
    /// Reads the refusal in a token endpoint's JSON error body.
    pub(crate) fn from_json(body: &serde_json::Value) -> Self {
        let text = |name: &str| body.get(name).and_then(serde_json::Value::as_str);
        Self::new(
            text("error").unwrap_or("error"),
            text("error_description"),
            text("suberror"),
            text("claims"),
        )
    }

    /// Reads the refusal openidconnect parsed.
    pub(crate) fn from_response(response: &EntraErrorResponse) -> Self {
        fn text(v: &Option<serde_json::Value>) -> Option<&str> {
            v.as_ref().and_then(serde_json::Value::as_str)
        }
        Self::new(
            &response.error,
            text(&response.error_description),
            text(&response.suberror),
            text(&response.claims),
        )
    }

    fn new(
        error: &str,
        description: Option<&str>,
        suberror: Option<&str>,
        claims: Option<&str>,
    ) -> Self {
        Self {
            error: untrusted(error),
            description: untrusted(description.unwrap_or_default()),
            suberror: suberror.map(untrusted),
            claims: claims.and_then(ClaimsRequest::parse),
        }
    }

    /// What it means: the app's credential, consent, an interaction (with the claims to ask
    /// for), or a spent grant.
    pub(crate) fn kind(&self) -> RefusalKind {
        let sub = self.suberror.as_deref();
        if matches!(
            self.error.as_str(),
            "invalid_client" | "unauthorized_client"
        ) {
            RefusalKind::AppCredential
        } else if self.error == "consent_required"
            || sub == Some("consent_required")
            || self.description.starts_with("AADSTS65001")
        {
            RefusalKind::Consent
        } else if self.error == "interaction_required"
            || self.claims.is_some()
            || matches!(
                sub,
                Some("basic_action" | "additional_action" | "message_only")
            )
        {
            RefusalKind::Interaction(self.claims.clone())
        } else {
            RefusalKind::Grant
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entras_answers_read_as_what_they_mean() {
        let consent = json!({"error": "invalid_grant", "suberror": "consent_required",
            "error_description": "AADSTS65001: The user or administrator has not consented"});
        assert_eq!(Refusal::from_json(&consent).kind(), RefusalKind::Consent);
        let mfa = json!({"error": "interaction_required",
            "error_description": "AADSTS50076: you must use multi-factor authentication",
            "claims": "{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"p1\"]}}}"});
        let RefusalKind::Interaction(Some(claims)) = Refusal::from_json(&mfa).kind() else {
            panic!("not an interaction");
        };
        assert!(claims.as_str().contains("capolids"));
        let revoked =
            json!({"error": "invalid_grant", "error_description": "AADSTS50173: revoked"});
        assert_eq!(Refusal::from_json(&revoked).kind(), RefusalKind::Grant);
        let client = json!({"error": "invalid_client"});
        assert_eq!(
            Refusal::from_json(&client).kind(),
            RefusalKind::AppCredential
        );
    }

    #[test]
    fn unreadable_claims_are_no_claims() {
        let odd = json!({"error": "interaction_required", "claims": "not json"});
        assert_eq!(
            Refusal::from_json(&odd).kind(),
            RefusalKind::Interaction(None)
        );
        let typed = json!({"error": "invalid_grant", "claims": 7, "suberror": ["x"]});
        assert_eq!(Refusal::from_json(&typed).kind(), RefusalKind::Grant);
    }
}
