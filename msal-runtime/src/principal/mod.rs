//! Who is calling: the signed-in [`User`] with typed claims.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::scopes::Reading;

mod check;
mod rule;

pub use check::{Check, CheckError, CheckFn, CheckFuture, CheckOutcome, check_outcome};
pub(crate) use rule::{Answers, StepUpAsk, named_groups, registered};
pub use rule::{PROTECTED, Protected, Rule, Undetermined, Verdict};

/// How long (seconds) a session's sign-in satisfies the authentication contexts its ID
/// token named: an hour, the lifetime of Entra's ID tokens. After it the browser signs in
/// again asking for them, and the provider's Conditional Access decides afresh.
pub(crate) const AUTH_CONTEXT_HOLDS_FOR: i64 = 3600;

/// The signed-in user, from the validated ID token. As an extractor, it answers when nobody
/// is signed in (302 to sign-in for a browser navigation, 401 otherwise); `Option<User>`
/// never rejects.
///
/// Serialized (`Json<User>`), it gives the user-facing fields only: `oid`, `tid`, `sub`,
/// `name`, `preferred_username`, `email`, `roles`, `groups`, and `auth_contexts` when there
/// are any. The protocol's own claims
/// (`iss`, `sid`, `nonce`, `aud`, `aio`, `uti`, …) stay on the server unless a handler hands
/// them out on purpose through [`claims`](Self::claims).
///
/// ```
/// use axum::Json;
/// use msal_runtime::User;
///
/// async fn me(user: User) -> Json<User> {
///     Json(user)
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct User {
    /// Object id (`oid`): the user's id across apps in the tenant.
    pub oid: Option<String>,
    /// Tenant id (`tid`).
    pub tid: Option<String>,
    /// Subject (`sub`), pairwise per app at Entra.
    pub sub: String,
    /// Issuer (`iss`). Not serialized.
    #[serde(skip)]
    pub iss: String,
    /// Display name (`name`).
    pub name: Option<String>,
    /// Sign-in name (`preferred_username`; in Entra's v1 tokens, which have none, `upn`, then
    /// `unique_name`). Not unique and not verified: never authorize on it.
    pub preferred_username: Option<String>,
    /// `email`, when the provider sends it.
    pub email: Option<String>,
    /// App roles (`roles`).
    pub roles: Vec<String>,
    /// Group object ids (`groups`).
    pub groups: Vec<String>,
    /// The Conditional Access authentication contexts the user met at this sign-in
    /// (`acrs`), such as `c1`. Serialized only when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_contexts: Vec<String>,
    /// The identity provider's session id (`sid`), used by front-channel sign-out. Not
    /// serialized: whoever knows it can ask for that session's front-channel sign-out.
    #[serde(skip)]
    pub sid: Option<String>,
    /// Every claim of the ID token; read through [`claims`](Self::claims).
    #[serde(skip)]
    pub(crate) claims: Map<String, Value>,
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
            // An API registered with Entra's default (v1) access tokens gets no
            // preferred_username: the sign-in name is `upn` (or `unique_name`) there.
            preferred_username: text("preferred_username")
                .or_else(|| text("upn"))
                .or_else(|| text("unique_name")),
            email: text("email"),
            roles: list("roles"),
            groups: list("groups"),
            auth_contexts: auth_contexts(&claims),
            sid: text("sid"),
            claims,
        }
    }

    /// Whether the user holds this app role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Every claim of the validated ID token, for what the fields leave out (the demo's
    /// profile page shows them all). Protocol claims included: hand them to a browser only on
    /// purpose.
    ///
    /// ```
    /// # fn f(user: msal_runtime::User) {
    /// let department = user.claims().get("department").and_then(|v| v.as_str());
    /// # let _ = department; }
    /// ```
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
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

/// Where a principal came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrincipalKind {
    /// A signed-in browser session.
    Session,
    /// A bearer token for a user (delegated).
    BearerUser,
    /// A bearer token for an application (client credentials, `idtyp=app`).
    BearerApp,
}

/// A bearer token's text, kept to hand on (on-behalf-of) and never shown.
#[derive(Clone)]
pub(crate) struct RawToken(pub(crate) std::sync::Arc<str>);

impl std::fmt::Debug for RawToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// The texts of a JSON array of strings, if the claim is one.
fn strings(claims: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    claims.get(name).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// The authentication contexts in `acrs`: an array of strings, or (as some tokens write a
/// single one) a string.
fn auth_contexts(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("acrs") {
        Some(Value::String(one)) => one.split_whitespace().map(str::to_owned).collect(),
        _ => strings(claims, "acrs").unwrap_or_default(),
    }
}

/// The seconds since the epoch, on this machine's clock.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// How far ahead of this clock an `auth_time` may be and still count (the provider's clock
/// may run a little fast); one further ahead is not a sign-in anyone can date.
pub(crate) const AUTH_TIME_SKEW: i64 = 300;

/// Whether a sign-in at `auth_time` is at most `max_age` seconds old at `now`.
pub(crate) fn signed_in_within(auth_time: i64, now: i64, max_age: u64) -> bool {
    let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
    auth_time <= now.saturating_add(AUTH_TIME_SKEW) && now.saturating_sub(auth_time) <= max_age
}

/// `auth_time`: a NumericDate (a JSON number; a fraction is cut off).
pub(crate) fn auth_time(claims: &Map<String, Value>) -> Option<i64> {
    let value = claims.get("auth_time")?;
    // `as_f64` also reads integers past what f64 holds exactly; those are no dates anyway.
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && f.abs() < 1e15)
            .map(|f| f as i64)
    })
}

/// `acr`: one string.
fn acr(claims: &Map<String, Value>) -> Option<String> {
    claims.get("acr").and_then(Value::as_str).map(str::to_owned)
}

/// Whether the claims carry Entra's group overage marker instead of the groups: the user is
/// in more groups than a token can hold (`_claim_names.groups`, or `hasgroups` in implicit
/// flows).
fn has_group_overage(claims: &Map<String, Value>) -> bool {
    claims
        .get("_claim_names")
        .and_then(|n| n.get("groups"))
        .is_some()
        || claims.get("hasgroups").and_then(Value::as_bool) == Some(true)
}

/// Who is calling, as a requirement judges it: a signed-in session or a validated bearer
/// token, with the scopes, roles, groups and tenant it carries.
#[derive(Clone, Debug)]
pub struct Principal {
    pub(crate) kind: PrincipalKind,
    /// The bearer token itself, for a bearer principal.
    pub(crate) raw: Option<RawToken>,
    /// Its expiry (seconds since the epoch), for a bearer principal.
    pub(crate) expires_at: Option<i64>,
    pub(crate) user: Option<User>,
    pub(crate) scopes: Vec<String>,
    /// Scopes a consent round-trip already asked for and did not get.
    pub(crate) declined: Vec<String>,
    pub(crate) roles: Vec<String>,
    /// The group object ids; `None` when the token carries no `groups` claim.
    pub(crate) groups: Option<Vec<String>>,
    /// The groups are not in the token (overage) and have not been looked up.
    pub(crate) groups_overage: bool,
    pub(crate) tid: Option<String>,
    /// The authentication contexts met (`acrs`).
    pub(crate) auth_contexts: Vec<String>,
    /// For a session: when its sign-in happened (the ID token's `iat`), which bounds how
    /// long its authentication contexts count ([`AUTH_CONTEXT_HOLDS_FOR`]). `None` for a
    /// bearer token, whose contexts count while the token is valid.
    pub(crate) signed_in_at: Option<i64>,
    /// When the user last authenticated (`auth_time`), if the token says.
    pub(crate) auth_time: Option<i64>,
    /// The sign-in's authentication level (`acr`), if the token says.
    pub(crate) acr: Option<String>,
    /// This API's names (its audiences), for reading prefixed scopes.
    pub(crate) this_api: std::sync::Arc<[String]>,
}

impl Principal {
    /// A session principal from the signed-in user and the scopes granted to it.
    pub(crate) fn session(
        user: User,
        scopes: Vec<String>,
        declined: Vec<String>,
        this_api: std::sync::Arc<[String]>,
    ) -> Self {
        Self {
            kind: PrincipalKind::Session,
            raw: None,
            expires_at: None,
            scopes,
            declined,
            roles: user.roles.clone(),
            groups: strings(&user.claims, "groups"),
            groups_overage: has_group_overage(&user.claims),
            tid: user.tid.clone(),
            auth_contexts: user.auth_contexts.clone(),
            // No `iat`: the sign-in's time is unknown, and its contexts never count.
            signed_in_at: Some(user.claims.get("iat").and_then(Value::as_i64).unwrap_or(0)),
            auth_time: auth_time(&user.claims),
            acr: acr(&user.claims),
            user: Some(user),
            this_api,
        }
    }

    /// A bearer principal from validated access-token claims.
    pub(crate) fn bearer(
        claims: Map<String, Value>,
        app: bool,
        raw: &str,
        this_api: std::sync::Arc<[String]>,
    ) -> Self {
        let scopes = claims
            .get("scp")
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        Self {
            kind: if app {
                PrincipalKind::BearerApp
            } else {
                PrincipalKind::BearerUser
            },
            raw: Some(RawToken(raw.into())),
            expires_at: claims.get("exp").and_then(Value::as_i64),
            scopes,
            declined: Vec::new(),
            roles: strings(&claims, "roles").unwrap_or_default(),
            groups: strings(&claims, "groups"),
            groups_overage: has_group_overage(&claims),
            tid: claims.get("tid").and_then(Value::as_str).map(str::to_owned),
            auth_contexts: auth_contexts(&claims),
            signed_in_at: None,
            auth_time: auth_time(&claims),
            acr: acr(&claims),
            user: (!app).then(|| User::from_claims(claims)),
            this_api,
        }
    }

    /// Whether the token did not say which groups the user is in: group overage, or no
    /// `groups` claim at all. Microsoft Graph can tell.
    pub(crate) fn groups_unknown(&self) -> bool {
        self.groups_overage || self.groups.is_none()
    }

    /// The same principal with its group memberships looked up (group overage resolved).
    pub(crate) fn with_groups(&self, groups: Vec<String>) -> Self {
        let mut resolved = self.clone();
        resolved.groups = Some(groups);
        resolved.groups_overage = false;
        resolved
    }

    /// Where it came from.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }
    /// The signed-in user, for a session.
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }
    /// Delegated scopes held.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// App roles (for an app-only token: its application permissions).
    pub fn roles(&self) -> &[String] {
        &self.roles
    }
    /// Group object ids (empty when the token carries none, or too many: see
    /// [`Undetermined`]).
    pub fn groups(&self) -> &[String] {
        self.groups.as_deref().unwrap_or_default()
    }
    /// Tenant id.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tid.as_deref()
    }
    /// The Conditional Access authentication contexts met (`acrs`).
    pub fn auth_contexts(&self) -> &[String] {
        &self.auth_contexts
    }
    /// Whether the caller satisfied this authentication context: named in its token's
    /// `acrs`, and, for a session, signed in at most [`AUTH_CONTEXT_HOLDS_FOR`] ago (a
    /// step-up is a recent sign-in, not one that lasts as long as the session).
    fn has_auth_context(&self, id: &str) -> bool {
        let recent = self
            .signed_in_at
            .is_none_or(|at| now().saturating_sub(at) < AUTH_CONTEXT_HOLDS_FOR);
        recent && self.auth_contexts.iter().any(|c| c == id)
    }
    /// When the user last authenticated (`auth_time`), if the token says.
    pub fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }
    /// The sign-in's authentication level (`acr`), if the token says.
    pub fn acr(&self) -> Option<&str> {
        self.acr.as_deref()
    }
    /// Whether the user authenticated at most `seconds` ago. Unknown (no `auth_time`) is not
    /// recent; neither is a sign-in dated more than [`AUTH_TIME_SKEW`] ahead of this clock.
    pub(crate) fn signed_in_within(&self, seconds: u64) -> bool {
        self.auth_time
            .is_some_and(|at| signed_in_within(at, now(), seconds))
    }
    fn is_app(&self) -> bool {
        self.kind == PrincipalKind::BearerApp
    }
    /// How this principal's scopes read: a session's were granted by token requests
    /// (unprefixed means Microsoft Graph), a bearer token's `scp` are this API's own.
    pub(crate) fn scope_reading(&self) -> Reading<'_> {
        match self.kind {
            PrincipalKind::Session => Reading::token_request(&self.this_api),
            _ => Reading::bearer(&self.this_api),
        }
    }
    /// The group memberships a rule can be judged on, or why there are none to judge.
    fn known_groups(&self) -> Result<&[String], Undetermined> {
        if self.groups_overage {
            return Err(Undetermined::GroupOverage);
        }
        self.groups.as_deref().ok_or(Undetermined::NoGroupsClaim)
    }
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;
