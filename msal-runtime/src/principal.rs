//! Who is calling: the signed-in [`User`] with typed claims.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The signed-in user, from the validated ID token. As an extractor, it answers per
/// DESIGN.md's table when nobody is signed in (302 to sign-in for browsers, 401 otherwise);
/// `Option<User>` never rejects.
///
/// ```
/// use axum::Json;
/// use msal_runtime::User;
///
/// async fn me(user: User) -> Json<User> {
///     Json(user)
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// Object id (`oid`): the user's id across apps in the tenant.
    pub oid: Option<String>,
    /// Tenant id (`tid`).
    pub tid: Option<String>,
    /// Subject (`sub`), pairwise per app at Entra.
    pub sub: String,
    /// Issuer (`iss`).
    pub iss: String,
    /// Display name (`name`).
    pub name: Option<String>,
    /// Sign-in name (`preferred_username`). Not unique and not verified: never authorize on it.
    pub preferred_username: Option<String>,
    /// `email`, when the provider sends it.
    pub email: Option<String>,
    /// App roles (`roles`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Group object ids (`groups`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The identity provider's session id (`sid`), used by front-channel sign-out.
    pub sid: Option<String>,
    /// Every claim of the ID token, for what the fields above leave out.
    pub claims: Map<String, Value>,
}

impl User {
    /// A user from validated ID-token claims. `sub` and `iss` are required by validation.
    pub(crate) fn from_claims(claims: Map<String, Value>) -> Self {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let list = |name: &str| -> Vec<String> {
            claims
                .get(name)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            oid: text("oid"),
            tid: text("tid"),
            sub: text("sub").unwrap_or_default(),
            iss: text("iss").unwrap_or_default(),
            name: text("name"),
            preferred_username: text("preferred_username"),
            email: text("email"),
            roles: list("roles"),
            groups: list("groups"),
            sid: text("sid"),
            claims,
        }
    }

    /// Whether the user holds this app role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The claims as your own type.
    ///
    /// ```
    /// # fn f(user: msal_runtime::User) -> Result<(), serde_json::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Mine { department: Option<String> }
    /// let mine: Mine = user.claims_as()?;
    /// # Ok(()) }
    /// ```
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(Value::Object(self.claims.clone()))
    }
}
