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
    pub(crate) groups: Vec<String>,
    pub(crate) groups_overage: bool,
    pub(crate) tid: Option<String>,
}

impl Principal {
    /// A session principal from the signed-in user and the scopes granted to it.
    pub(crate) fn session(user: User, scopes: Vec<String>, declined: Vec<String>) -> Self {
        let groups_overage = user
            .claims
            .get("_claim_names")
            .and_then(|n| n.get("groups"))
            .is_some()
            || user.claims.get("hasgroups").and_then(Value::as_bool) == Some(true);
        Self {
            kind: PrincipalKind::Session,
            raw: None,
            expires_at: None,
            scopes,
            declined,
            roles: user.roles.clone(),
            groups: user.groups.clone(),
            groups_overage,
            tid: user.tid.clone(),
            user: Some(user),
        }
    }

    /// A bearer principal from validated access-token claims.
    pub(crate) fn bearer(claims: Map<String, Value>, app: bool, raw: &str) -> Self {
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
        let scopes = claims
            .get("scp")
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let groups_overage = claims
            .get("_claim_names")
            .and_then(|n| n.get("groups"))
            .is_some()
            || claims.get("hasgroups").and_then(Value::as_bool) == Some(true);
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
            roles: list("roles"),
            groups: list("groups"),
            groups_overage,
            tid: claims.get("tid").and_then(Value::as_str).map(str::to_owned),
            user: (!app).then(|| User::from_claims(claims)),
        }
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
    /// Group object ids.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }
    /// Tenant id.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tid.as_deref()
    }
    fn is_app(&self) -> bool {
        self.kind == PrincipalKind::BearerApp
    }
    fn has_scope(&self, required: &str) -> bool {
        self.scopes.iter().any(|g| scope_matches(required, g))
    }
}

/// A scope matches when equal, or when either side is the other's short name: `Tasks.Read`
/// is granted by `api://…/Tasks.Read`, and the other way round.
fn scope_matches(required: &str, granted: &str) -> bool {
    fn short(s: &str) -> &str {
        s.rsplit_once('/').map_or(s, |(_, n)| n)
    }
    required == granted
        || ((!required.contains('/') || !granted.contains('/'))
            && short(required) == short(granted))
}

/// A requirement, as `#[msal_protected(...)]` writes it: built at compile time, evaluated
/// without allocating.
///
/// ```
/// use msal_runtime::Rule;
/// // #[msal_protected(scopes = "User.Read", any(roles = "Admin", groups = "…"))]
/// const RULE: Rule = Rule::All(&[
///     Rule::Scopes(&["User.Read"]),
///     Rule::Any(&[Rule::Roles(&["Admin"]), Rule::Groups(&["0b7e…"])]),
/// ]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// Any signed-in user or valid token.
    Authenticated,
    /// All these delegated scopes.
    Scopes(&'static [&'static str]),
    /// All these app roles, held by a user.
    Roles(&'static [&'static str]),
    /// Membership of all these groups.
    Groups(&'static [&'static str]),
    /// All these application permissions, on an app-only token.
    AppPermissions(&'static [&'static str]),
    /// The tenant is one of these.
    Tenants(&'static [&'static str]),
    /// Every rule.
    All(&'static [Rule]),
    /// At least one rule.
    Any(&'static [Rule]),
    /// Not this rule.
    Not(&'static Rule),
}

/// The outcome of a [`Rule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let through.
    Allow,
    /// Only delegated scopes are missing: consent can fix it.
    MissingScopes,
    /// Not allowed, and consent would not change that.
    Forbidden,
}

impl Rule {
    /// Judges a principal.
    pub fn evaluate(&self, p: &Principal) -> Verdict {
        use Verdict::*;
        let all = |items: &[&str], held: &dyn Fn(&str) -> bool| items.iter().all(|i| held(i));
        match self {
            Rule::Authenticated => Allow,
            Rule::Scopes(_) if p.is_app() => Forbidden,
            Rule::Scopes(scopes) if all(scopes, &|s| p.has_scope(s)) => Allow,
            Rule::Scopes(scopes)
                if scopes
                    .iter()
                    .any(|s| !p.has_scope(s) && p.declined.iter().any(|d| scope_matches(s, d))) =>
            {
                Forbidden
            }
            Rule::Scopes(_) => MissingScopes,
            Rule::Roles(_) if p.is_app() => Forbidden,
            Rule::Roles(roles) => verdict(all(roles, &|r| p.roles.iter().any(|x| x == r))),
            Rule::AppPermissions(perms) => {
                verdict(p.is_app() && all(perms, &|r| p.roles.iter().any(|x| x == r)))
            }
            Rule::Groups(groups) => verdict(all(groups, &|g| {
                p.groups.iter().any(|x| x.eq_ignore_ascii_case(g))
            })),
            Rule::Tenants(tenants) => verdict(
                p.tid
                    .as_deref()
                    .is_some_and(|t| tenants.iter().any(|x| x.eq_ignore_ascii_case(t))),
            ),
            Rule::All(rules) => {
                let mut outcome = Allow;
                for r in *rules {
                    match r.evaluate(p) {
                        Forbidden => return Forbidden,
                        MissingScopes => outcome = MissingScopes,
                        Allow => {}
                    }
                }
                outcome
            }
            Rule::Any(rules) => {
                let mut outcome = Forbidden;
                for r in *rules {
                    match r.evaluate(p) {
                        Allow => return Allow,
                        MissingScopes => outcome = MissingScopes,
                        Forbidden => {}
                    }
                }
                outcome
            }
            Rule::Not(rule) => match rule.evaluate(p) {
                Allow => Forbidden,
                _ => Allow,
            },
        }
    }

    /// Every delegated scope the rule names outside `any`/`not`: what the handler's
    /// `AccessToken` is for.
    pub fn required_scopes(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.collect_required(&mut out);
        out
    }

    fn collect_required(&self, out: &mut Vec<&'static str>) {
        match self {
            Rule::Scopes(scopes) => out.extend(
                scopes
                    .iter()
                    .filter(|s| !out.contains(s))
                    .collect::<Vec<_>>(),
            ),
            Rule::All(rules) => rules.iter().for_each(|r| r.collect_required(out)),
            _ => {}
        }
    }

    /// The scopes whose consent would let `p` through (when the verdict is
    /// [`Verdict::MissingScopes`]).
    pub fn missing_scopes(&self, p: &Principal) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.collect_missing(p, &mut out);
        out
    }

    fn collect_missing(&self, p: &Principal, out: &mut Vec<&'static str>) {
        match self {
            Rule::Scopes(scopes) => {
                for s in *scopes {
                    if !p.has_scope(s) && !out.contains(s) {
                        out.push(s);
                    }
                }
            }
            Rule::All(rules) => rules.iter().for_each(|r| r.collect_missing(p, out)),
            // The first alternative that consent can satisfy.
            Rule::Any(rules) => {
                if let Some(r) = rules
                    .iter()
                    .find(|r| r.evaluate(p) == Verdict::MissingScopes)
                {
                    r.collect_missing(p, out);
                }
            }
            _ => {}
        }
    }

    /// What the rule asks for, in words (for 403 pages and OpenAPI).
    pub fn describe(&self) -> String {
        let list = |what: &str, items: &[&str]| format!("{what} {}", items.join(" and "));
        match self {
            Rule::Authenticated => "a signed-in user".into(),
            Rule::Scopes(s) => list("the scopes", s),
            Rule::Roles(r) => list("the app role", r),
            Rule::Groups(g) => list("membership of the group", g),
            Rule::AppPermissions(a) => list("the application permission", a),
            Rule::Tenants(t) => format!("a user of the tenant {}", t.join(" or ")),
            Rule::All(rules) => rules
                .iter()
                .map(Rule::describe)
                .collect::<Vec<_>>()
                .join(", and "),
            Rule::Any(rules) => format!(
                "either {}",
                rules
                    .iter()
                    .map(Rule::describe)
                    .collect::<Vec<_>>()
                    .join(", or ")
            ),
            Rule::Not(rule) => format!("not {}", rule.describe()),
        }
    }
}

fn verdict(allowed: bool) -> Verdict {
    if allowed {
        Verdict::Allow
    } else {
        Verdict::Forbidden
    }
}

/// A protected handler, as `#[msal_protected]` registers it.
#[doc(hidden)]
#[derive(Debug)]
pub struct Protected {
    /// The guard id in the handler's signature.
    pub id: u64,
    /// The requirement.
    pub rule: Rule,
    /// `on_denied = path`: builds the response of a refused request.
    pub on_denied: Option<fn(crate::AuthRejection) -> axum::response::Response>,
    /// The handler's name.
    pub handler: &'static str,
    /// Its module path.
    pub module: &'static str,
}

/// Every protected handler linked into the binary.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static PROTECTED: [Protected];

/// The registered requirement of a guard id: a binary search in a table sorted once.
pub(crate) fn registered(id: u64) -> Option<&'static Protected> {
    static TABLE: std::sync::OnceLock<Vec<&'static Protected>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut all: Vec<&'static Protected> = PROTECTED.iter().collect();
        all.sort_by_key(|p| p.id);
        // Two different requirements under one id: neither can be trusted.
        let clashing: Vec<u64> = all
            .windows(2)
            .filter(|w| w[0].id == w[1].id && w[0].rule != w[1].rule)
            .map(|w| w[0].id)
            .collect();
        all.retain(|p| !clashing.contains(&p.id));
        all
    });
    table
        .binary_search_by_key(&id, |p| p.id)
        .ok()
        .and_then(|i| table.get(i).copied())
}
