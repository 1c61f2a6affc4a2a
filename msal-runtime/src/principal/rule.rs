//! Requirements: the [`Rule`] tree `#[msal_protected]` builds, its three-valued evaluation
//! over a [`Principal`], and the registry of every protected handler's requirement.

use super::Principal;
use super::check::Check;

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
    /// All these Conditional Access authentication contexts (`c1`…`c99`), met by a user: the
    /// `acrs` claim of the bearer token, or of the ID token of a browser session. A user who
    /// has not met one can, by signing in again (or getting a new token) with the claims
    /// request the policy asks for; an app-only token never meets one.
    AuthContext(&'static [&'static str]),
    /// A user who signed in (the `auth_time` claim of the bearer token, or of the ID token
    /// of a browser session) at most this many seconds ago. A browser signs in again with
    /// `max_age`; a bearer caller hears RFC 9470's `insufficient_user_authentication`. A
    /// token without `auth_time` has no known sign-in time, so it is not recent.
    MaxAge(u64),
    /// A user whose sign-in's authentication level (the `acr` claim) is one of these: one
    /// value, unlike the lists above. Fixed like [`MaxAge`](Rule::MaxAge), with
    /// `acr_values`.
    Acr(&'static [&'static str]),
    /// A resource-level decision by an async function of the user and the request
    /// (`check = path::to_fn`): see [`CheckError`](crate::CheckError). Only a guard or
    /// [`Msal::require`](crate::Msal::require) can run it; [`Rule::evaluate`] finds it
    /// undetermined.
    Check(&'static Check),
    /// Every rule.
    All(&'static [Rule]),
    /// At least one rule.
    Any(&'static [Rule]),
    /// Not this rule.
    Not(&'static Rule),
}

/// The outcome of a [`Rule`]: three-valued (Allow, Deny, Unknown), plus three fixable
/// outcomes: missing delegated scopes, which consent can fix; a missing authentication
/// context; and a sign-in too old or too weak (`max_age`, `acr`), which a fresh sign-in (or
/// token) can fix. Unknown never becomes Allow:
///
/// | rule | Allow | Deny | Unknown | StepUp | MissingAuthContext | MissingScopes |
/// | --- | --- | --- | --- | --- | --- | --- |
/// | `not(x)` | Deny | Allow | Unknown | Allow | Allow | Allow |
/// | `all(…)` | when every item allows | when any item denies | otherwise, when any item is unknown | otherwise, when a sign-in is too old or weak | otherwise, when an authentication context is missing | otherwise, when scopes are missing |
/// | `any(…)` | when any item allows | when every item denies | otherwise, when any item is unknown | otherwise, when the first fixable item needs a fresh sign-in | … misses an authentication context | … misses scopes |
///
/// In `all(…)` the weightier fix is asked for first, and with it everything else one round
/// trip can ask for ([`Rule::missing_scopes`], [`Rule::missing_auth_contexts`] gather every
/// item's); in `any(…)` the first alternative that can be fixed is the one asked for.
///
/// A group rule for a token with group overage that Microsoft Graph could not resolve, or
/// with no `groups` claim, is Unknown; so is a tenant rule for a token without `tid`, and a
/// check that could not decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Let through.
    Allow,
    /// Only delegated scopes are missing: consent can fix it.
    MissingScopes,
    /// A user has not met a Conditional Access authentication context the rule needs (and
    /// perhaps lacks scopes too): signing in again, or a new token, with the claims request
    /// for it can fix it.
    MissingAuthContext,
    /// A user's sign-in is older than a `max_age`, or its `acr` is not one the rule
    /// accepts: authenticating again (RFC 9470 step-up) can fix it.
    StepUp,
    /// Not allowed, and consent would not change that.
    Deny,
    /// A fact the rule needs is missing, so it cannot be decided: refused.
    Unknown(Undetermined),
}

/// What a rule could not be judged on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Undetermined {
    /// The user is in more groups than a token can carry (Entra's group overage), and
    /// Microsoft Graph could not say which.
    GroupOverage,
    /// A group rule applies and the token carries no `groups` claim.
    NoGroupsClaim,
    /// A tenant rule applies and the token carries no `tid`.
    NoTenant,
    /// A `check` applies and has not run: it needs the request, which [`Rule::evaluate`]
    /// does not have.
    CheckNotRun,
    /// A `check` applies and could not decide (it returned an error).
    CheckFailed,
}

impl Undetermined {
    /// What could not be determined, and why, in a sentence.
    pub fn reason(self) -> &'static str {
        match self {
            Undetermined::GroupOverage => {
                "Your group memberships exceed what a token can carry and could not be looked up in Microsoft Graph, so group membership cannot be determined."
            }
            Undetermined::NoGroupsClaim => {
                "The token carries no 'groups' claim and the memberships could not be looked up in Microsoft Graph, so group membership cannot be determined (an app registration emits groups with groupMembershipClaims)."
            }
            Undetermined::NoTenant => {
                "The token carries no tenant ('tid'), so the tenant cannot be determined."
            }
            Undetermined::CheckNotRun => {
                "An access check needs the request, and was not run, so access cannot be determined."
            }
            Undetermined::CheckFailed => {
                "An access check could not be completed, so access cannot be determined."
            }
        }
    }
}

impl std::fmt::Display for Undetermined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl Verdict {
    /// Whether a user can fix it: by consent, an authentication context or a fresh sign-in.
    fn is_fixable(self) -> bool {
        matches!(
            self,
            Verdict::MissingScopes | Verdict::MissingAuthContext | Verdict::StepUp
        )
    }

    /// How much a fixable verdict outweighs another in `all(…)`: what the one round trip is
    /// asked for as.
    fn weight(self) -> u8 {
        match self {
            Verdict::StepUp => 3,
            Verdict::MissingAuthContext => 2,
            Verdict::MissingScopes => 1,
            _ => 0,
        }
    }
}

fn allow_if(allowed: bool) -> Verdict {
    if allowed {
        Verdict::Allow
    } else {
        Verdict::Deny
    }
}

/// What the `check`s of a rule answered so far. A guard runs a check only when evaluation
/// reaches it undecided ([`Answers::pending`]), so `any(roles = "Admin", check = …)` never
/// runs the check for an admin.
#[derive(Default)]
pub(crate) struct Answers {
    known: Vec<(&'static Check, Verdict)>,
    /// The first check the last evaluation needed and had no answer for.
    pending: Option<&'static Check>,
}

impl Answers {
    /// The check the last evaluation reached without an answer, taken.
    pub(crate) fn take_pending(&mut self) -> Option<&'static Check> {
        self.pending.take()
    }

    /// Records a check's answer.
    pub(crate) fn answer(&mut self, check: &'static Check, verdict: Verdict) {
        self.known.push((check, verdict));
    }

    fn of(&mut self, check: &'static Check) -> Verdict {
        match self.known.iter().find(|(c, _)| std::ptr::eq(*c, check)) {
            Some((_, verdict)) => *verdict,
            None => {
                self.pending.get_or_insert(check);
                Verdict::Unknown(Undetermined::CheckNotRun)
            }
        }
    }
}

/// What a step-up must ask for: the shortest `max_age` and the `acr` values of the items
/// that need it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct StepUpAsk {
    pub(crate) max_age: Option<u64>,
    pub(crate) acr_values: Vec<&'static str>,
}

impl Rule {
    /// Judges a principal. Total: every rule has an outcome for every principal. A
    /// [`Check`](Rule::Check) needs the request, so here it is
    /// [`Undetermined::CheckNotRun`]; a guard runs it.
    pub fn evaluate(&self, p: &Principal) -> Verdict {
        self.evaluate_in(p, &mut Answers::default())
    }

    /// Judges a principal with what its checks answered so far.
    pub(crate) fn evaluate_in(&self, p: &Principal, answers: &mut Answers) -> Verdict {
        use Verdict::*;
        match self {
            Rule::Authenticated => Allow,
            Rule::Scopes(_) if p.is_app() => Deny,
            Rule::Scopes(scopes) => {
                let reading = p.scope_reading();
                if reading.covers(&p.scopes, scopes) {
                    Allow
                } else if scopes
                    .iter()
                    .any(|s| !reading.holds(&p.scopes, s) && reading.holds(&p.declined, s))
                {
                    // Consent was asked for and refused: asking again would loop.
                    Deny
                } else {
                    MissingScopes
                }
            }
            Rule::Roles(_) if p.is_app() => Deny,
            Rule::Roles(roles) => allow_if(roles.iter().all(|r| p.roles.iter().any(|x| x == r))),
            Rule::AppPermissions(perms) => {
                allow_if(p.is_app() && perms.iter().all(|r| p.roles.iter().any(|x| x == r)))
            }
            Rule::Groups(groups) => match p.known_groups() {
                Err(why) => Unknown(why),
                Ok(held) => allow_if(
                    groups
                        .iter()
                        .all(|g| held.iter().any(|x| x.eq_ignore_ascii_case(g))),
                ),
            },
            Rule::Tenants(tenants) => match p.tid.as_deref() {
                None => Unknown(Undetermined::NoTenant),
                Some(tid) => allow_if(tenants.iter().any(|x| x.eq_ignore_ascii_case(tid))),
            },
            // No user, so nobody to step up, and nobody for a check to judge.
            Rule::AuthContext(_) | Rule::MaxAge(_) | Rule::Acr(_) | Rule::Check(_)
                if p.is_app() =>
            {
                Deny
            }
            Rule::AuthContext(contexts) => {
                if contexts.iter().all(|c| p.has_auth_context(c)) {
                    Allow
                } else {
                    MissingAuthContext
                }
            }
            Rule::MaxAge(seconds) => {
                if p.signed_in_within(*seconds) {
                    Allow
                } else {
                    StepUp
                }
            }
            Rule::Acr(levels) => match p.acr.as_deref() {
                Some(acr) if levels.contains(&acr) => Allow,
                _ => StepUp,
            },
            Rule::Check(check) => answers.of(check),
            // Deny outweighs Unknown, which outweighs the weightiest fix.
            Rule::All(rules) => {
                let mut outcome = Allow;
                for r in *rules {
                    match r.evaluate_in(p, answers) {
                        Deny => return Deny,
                        Unknown(why) if !matches!(outcome, Unknown(_)) => outcome = Unknown(why),
                        fixable
                            if fixable.is_fixable()
                                && !matches!(outcome, Unknown(_))
                                && fixable.weight() > outcome.weight() =>
                        {
                            outcome = fixable
                        }
                        _ => {}
                    }
                }
                outcome
            }
            // Allow outweighs Unknown, which outweighs the first fixable alternative.
            Rule::Any(rules) => {
                let mut outcome = Deny;
                for r in *rules {
                    match r.evaluate_in(p, answers) {
                        Allow => return Allow,
                        Unknown(why) if !matches!(outcome, Unknown(_)) => outcome = Unknown(why),
                        fixable if fixable.is_fixable() && outcome == Deny => outcome = fixable,
                        _ => {}
                    }
                }
                outcome
            }
            Rule::Not(rule) => match rule.evaluate_in(p, answers) {
                Allow => Deny,
                Deny | MissingScopes | MissingAuthContext | StepUp => Allow,
                Unknown(why) => Unknown(why),
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

    /// Whether the rule names app roles or application permissions anywhere: what a
    /// multi-tenant app must not trust from any tenant.
    pub fn names_app_roles(&self) -> bool {
        match self {
            Rule::Roles(_) | Rule::AppPermissions(_) => true,
            Rule::All(rules) | Rule::Any(rules) => rules.iter().any(Rule::names_app_roles),
            Rule::Not(rule) => rule.names_app_roles(),
            _ => false,
        }
    }

    /// Whether the rule names groups anywhere.
    pub(crate) fn names_groups(&self) -> bool {
        let mut any = false;
        self.each_group(&mut |_| any = true);
        any
    }

    /// Calls `f` with every group id the rule names.
    fn each_group(&self, f: &mut dyn FnMut(&'static str)) {
        match self {
            Rule::Groups(groups) => groups.iter().for_each(|g| f(g)),
            Rule::All(rules) | Rule::Any(rules) => rules.iter().for_each(|r| r.each_group(f)),
            Rule::Not(rule) => rule.each_group(f),
            _ => {}
        }
    }

    /// The scopes whose consent would let `p` through (when the verdict is
    /// [`Verdict::MissingScopes`]).
    pub fn missing_scopes(&self, p: &Principal) -> Vec<&'static str> {
        self.missing_scopes_in(p, &mut Answers::default())
    }

    /// [`missing_scopes`](Self::missing_scopes) with what the checks answered.
    pub(crate) fn missing_scopes_in(
        &self,
        p: &Principal,
        answers: &mut Answers,
    ) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.collect_missing(p, answers, &mut out);
        out
    }

    fn collect_missing(&self, p: &Principal, answers: &mut Answers, out: &mut Vec<&'static str>) {
        match self {
            Rule::Scopes(scopes) => {
                let reading = p.scope_reading();
                for s in *scopes {
                    if !reading.holds(&p.scopes, s) && !out.contains(s) {
                        out.push(s);
                    }
                }
            }
            Rule::All(rules) => rules
                .iter()
                .for_each(|r| r.collect_missing(p, answers, out)),
            // The alternative the verdict asks for: the first one a user can fix.
            Rule::Any(rules) => {
                if let Some(r) = first_fixable(rules, p, answers) {
                    r.collect_missing(p, answers, out);
                }
            }
            _ => {}
        }
    }

    /// The authentication contexts whose step-up would let `p` through (when the verdict is
    /// [`Verdict::MissingAuthContext`]), for the claims request of a new sign-in or token.
    /// With [`missing_scopes`](Self::missing_scopes), everything one round trip should ask
    /// for.
    pub fn missing_auth_contexts(&self, p: &Principal) -> Vec<&'static str> {
        self.missing_auth_contexts_in(p, &mut Answers::default())
    }

    /// [`missing_auth_contexts`](Self::missing_auth_contexts) with what the checks answered.
    pub(crate) fn missing_auth_contexts_in(
        &self,
        p: &Principal,
        answers: &mut Answers,
    ) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.collect_missing_contexts(p, answers, &mut out);
        out
    }

    fn collect_missing_contexts(
        &self,
        p: &Principal,
        answers: &mut Answers,
        out: &mut Vec<&'static str>,
    ) {
        match self {
            Rule::AuthContext(contexts) => {
                for c in *contexts {
                    if !p.has_auth_context(c) && !out.contains(c) {
                        out.push(c);
                    }
                }
            }
            Rule::All(rules) => rules
                .iter()
                .for_each(|r| r.collect_missing_contexts(p, answers, out)),
            Rule::Any(rules) => {
                if let Some(r) = first_fixable(rules, p, answers) {
                    r.collect_missing_contexts(p, answers, out);
                }
            }
            _ => {}
        }
    }

    /// What a fresh sign-in must ask for to let `p` through (when the verdict is
    /// [`Verdict::StepUp`]): the shortest `max_age` and the `acr` values of the items that
    /// are not met, along the alternatives the verdict stands for.
    pub(crate) fn step_up_in(&self, p: &Principal, answers: &mut Answers) -> StepUpAsk {
        let mut ask = StepUpAsk::default();
        self.collect_step_up(p, answers, &mut ask);
        ask
    }

    fn collect_step_up(&self, p: &Principal, answers: &mut Answers, ask: &mut StepUpAsk) {
        match self {
            Rule::MaxAge(seconds) if !p.signed_in_within(*seconds) => {
                ask.max_age = Some(ask.max_age.map_or(*seconds, |m| m.min(*seconds)));
            }
            Rule::Acr(levels)
                if ask.acr_values.is_empty()
                    && !p.acr.as_deref().is_some_and(|acr| levels.contains(&acr)) =>
            {
                ask.acr_values.extend(levels.iter());
            }
            Rule::All(rules) => rules
                .iter()
                .for_each(|r| r.collect_step_up(p, answers, ask)),
            Rule::Any(rules) => {
                if let Some(r) = first_fixable(rules, p, answers) {
                    r.collect_step_up(p, answers, ask);
                }
            }
            _ => {}
        }
    }

    /// Every authentication context the rule names outside `not`: what a caller may be
    /// asked to meet (for documentation).
    #[cfg(any(feature = "openapi", test))]
    pub(crate) fn named_auth_contexts(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.collect_named_contexts(&mut out);
        out
    }

    #[cfg(any(feature = "openapi", test))]
    fn collect_named_contexts(&self, out: &mut Vec<&'static str>) {
        match self {
            Rule::AuthContext(contexts) => out.extend(
                contexts
                    .iter()
                    .filter(|c| !out.contains(c))
                    .collect::<Vec<_>>(),
            ),
            Rule::All(rules) | Rule::Any(rules) => {
                rules.iter().for_each(|r| r.collect_named_contexts(out))
            }
            _ => {}
        }
    }

    /// What the rule asks for, in words (for 403 pages and OpenAPI). Group object ids are
    /// not named: they say who is in which group to anyone who is refused.
    pub fn describe(&self) -> String {
        let list = |what: &str, items: &[&str]| format!("{what} {}", items.join(" and "));
        match self {
            Rule::Authenticated => "a signed-in user".into(),
            Rule::Scopes(s) => list("the scopes", s),
            Rule::Roles(r) => list("the app role", r),
            Rule::Groups([_]) => "membership of a required group".into(),
            Rule::Groups(g) => format!("membership of {} required groups", g.len()),
            Rule::AppPermissions(a) => list("the application permission", a),
            Rule::Tenants(t) => format!("a user of the tenant {}", t.join(" or ")),
            Rule::AuthContext(c) => list("the authentication context", c),
            Rule::MaxAge(seconds) => format!("a sign-in within the last {}", span(*seconds)),
            Rule::Acr([one]) => format!("a sign-in of the authentication level {one}"),
            Rule::Acr(levels) => format!(
                "a sign-in of the authentication level {}",
                levels.join(" or ")
            ),
            Rule::Check(check) => format!("the check {}", check.name),
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

/// Seconds in words, largest units first: `90` is "1 minute 30 seconds".
fn span(seconds: u64) -> String {
    let mut left = seconds;
    let mut parts = Vec::new();
    for (unit, size) in [
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
        ("second", 1),
    ] {
        let n = left / size;
        left %= size;
        if n > 0 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        "0 seconds".into()
    } else {
        parts.join(" ")
    }
}

/// The alternative of an `any` that a fixable verdict stands for: the first one a user can fix, when none
/// allows or is unknown.
fn first_fixable<'r>(rules: &'r [Rule], p: &Principal, answers: &mut Answers) -> Option<&'r Rule> {
    rules
        .iter()
        .find(|r| r.evaluate_in(p, answers).is_fixable())
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

impl Protected {
    /// Whether two registrations under one id would judge and refuse alike: the same rule
    /// and the same refusal builder. Each expansion has its own builder, so two custom
    /// ones never count as the same.
    fn same_as(&self, other: &Protected) -> bool {
        let same_denial = match (self.on_denied, other.on_denied) {
            (None, None) => true,
            (Some(a), Some(b)) => std::ptr::fn_addr_eq(a, b),
            _ => false,
        };
        self.rule == other.rule && same_denial
    }
}

/// Every protected handler linked into the binary.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static PROTECTED: [Protected];

/// Every group id a registered requirement names, lower case: the only memberships worth
/// keeping after a look-up in Microsoft Graph (a user may be in thousands).
pub(crate) fn named_groups() -> &'static std::collections::HashSet<String> {
    static NAMED: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NAMED.get_or_init(|| {
        let mut named = std::collections::HashSet::new();
        for protected in PROTECTED.iter() {
            protected.rule.each_group(&mut |g| {
                named.insert(g.to_ascii_lowercase());
            });
        }
        named
    })
}

/// The registered requirement of a guard id: a binary search in a table sorted once.
pub(crate) fn registered(id: u64) -> Option<&'static Protected> {
    static TABLE: std::sync::OnceLock<Vec<&'static Protected>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut all: Vec<&'static Protected> = PROTECTED.iter().collect();
        all.sort_by_key(|p| p.id);
        // Two different requirements under one id (or one requirement with two refusal
        // builders: handlers stamped out by `macro_rules!` share a call site): neither can
        // be trusted.
        let clashing: Vec<u64> = all
            .windows(2)
            .filter(|w| w[0].id == w[1].id && !w[0].same_as(w[1]))
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
#[cfg(test)]
#[path = "rule_tests.rs"]
mod tests;
