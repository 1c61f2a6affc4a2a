//! Requirements are total functions over Allow / Deny / Unknown (and the fixable missing
//! scopes and authentication contexts): every combinator on every outcome, and the facts
//! that make a leaf Unknown.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::principal::{Principal, User};

const G1: &str = "0b7e0000-0000-4000-8000-000000000001";
const G2: &str = "0b7e0000-0000-4000-8000-000000000002";
const TID: &str = "c0ffee00-0000-4000-8000-00000000c0de";

fn this_api() -> Arc<[String]> {
    Arc::from(vec!["api://me".to_owned()])
}

fn user(claims: Value) -> User {
    let Value::Object(mut map) = claims else {
        unreachable!("claims are an object")
    };
    map.insert("sub".into(), "sub".into());
    map.insert("iss".into(), "https://issuer".into());
    // Signed in just now, unless the test says when.
    map.entry("iat").or_insert_with(|| now().into());
    User::from_claims(map)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[test]
fn a_sessions_auth_context_counts_for_an_hour_after_its_sign_in() {
    let rule = Rule::AuthContext(&["c1"]);
    let fresh = session(json!({"acrs": ["c1"], "iat": now() - 60}), &[]);
    assert_eq!(rule.evaluate(&fresh), Allow);
    let old = session(json!({"acrs": ["c1"], "iat": now() - 3601}), &[]);
    assert_eq!(rule.evaluate(&old), MissingAuthContext);
    let unknown = session(json!({"acrs": ["c1"], "iat": "yesterday"}), &[]);
    assert_eq!(
        rule.evaluate(&unknown),
        MissingAuthContext,
        "no time, no step-up"
    );
    // A bearer token's contexts count while the token is valid.
    let bearer = bearer(
        json!({"scp": "Tasks.Read", "acrs": ["c1"], "iat": now() - 7200}),
        false,
    );
    assert_eq!(rule.evaluate(&bearer), Allow);
}

fn session(claims: Value, scopes: &[&str]) -> Principal {
    Principal::session(
        user(claims),
        scopes.iter().map(|s| (*s).to_owned()).collect(),
        Vec::new(),
        this_api(),
    )
}

/// The principals the table judges.
fn principals() -> Vec<(&'static str, Principal)> {
    vec![
        (
            "member of G1",
            session(
                json!({"tid": TID, "groups": [G1], "roles": ["Admin"]}),
                &["User.Read"],
            ),
        ),
        (
            "in no group",
            session(json!({"tid": TID, "groups": []}), &[]),
        ),
        ("no groups claim", session(json!({"tid": TID}), &[])),
        (
            "group overage",
            session(json!({"tid": TID, "_claim_names": {"groups": "src1"}}), &[]),
        ),
        (
            "hasgroups",
            session(json!({"tid": TID, "hasgroups": true}), &[]),
        ),
        ("no tid", session(json!({"groups": [G1]}), &[])),
    ]
}

use Undetermined::{GroupOverage, NoGroupsClaim, NoTenant};
use Verdict::{Allow, Deny, MissingAuthContext, MissingScopes, StepUp, Unknown};

const GROUP: Rule = Rule::Groups(&[G1]);
const NOT_GROUP: Rule = Rule::Not(&GROUP);
const ADMIN: Rule = Rule::Roles(&["Admin"]);
const TENANT: Rule = Rule::Tenants(&[TID]);
const NOT_TENANT: Rule = Rule::Not(&TENANT);
const GRAPH_READ: Rule = Rule::Scopes(&["User.Read"]);
const MAIL: Rule = Rule::Scopes(&["Mail.Read"]);

#[test]
fn every_rule_has_one_outcome_for_every_principal() {
    // (rule, [member of G1, in no group, no groups claim, group overage, hasgroups, no tid])
    let table: &[(&str, Rule, [Verdict; 6])] = &[
        (
            "groups",
            GROUP,
            [
                Allow,
                Deny,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Allow,
            ],
        ),
        (
            "not(groups)",
            NOT_GROUP,
            [
                Deny,
                Allow,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Deny,
            ],
        ),
        (
            "not(not(groups))",
            Rule::Not(&NOT_GROUP),
            [
                Allow,
                Deny,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Allow,
            ],
        ),
        (
            "groups G1 and G2",
            Rule::Groups(&[G1, G2]),
            [
                Deny,
                Deny,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Deny,
            ],
        ),
        (
            "tenants",
            TENANT,
            [Allow, Allow, Allow, Allow, Allow, Unknown(NoTenant)],
        ),
        (
            "not(tenants)",
            NOT_TENANT,
            [Deny, Deny, Deny, Deny, Deny, Unknown(NoTenant)],
        ),
        // any: an Allow wins; without one, an Unknown is Unknown.
        (
            "any(roles, groups)",
            Rule::Any(&[ADMIN, GROUP]),
            [
                Allow,
                Deny,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Allow,
            ],
        ),
        (
            "any(not(groups), roles)",
            Rule::Any(&[NOT_GROUP, ADMIN]),
            [
                Allow,
                Allow,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Deny,
            ],
        ),
        (
            "any(scopes, groups)",
            Rule::Any(&[MAIL, GROUP]),
            [
                Allow,
                MissingScopes,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Allow,
            ],
        ),
        // all: a Deny wins; without one, an Unknown is Unknown, then missing scopes.
        (
            "all(roles, not(groups))",
            Rule::All(&[ADMIN, NOT_GROUP]),
            [Deny, Deny, Deny, Deny, Deny, Deny],
        ),
        (
            "all(not(groups), tenants)",
            Rule::All(&[NOT_GROUP, TENANT]),
            [
                Deny,
                Allow,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Deny,
            ],
        ),
        (
            "all(scopes, groups)",
            Rule::All(&[MAIL, GROUP]),
            [
                MissingScopes,
                Deny,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                MissingScopes,
            ],
        ),
        (
            "all(scopes, not(groups))",
            Rule::All(&[GRAPH_READ, NOT_GROUP]),
            [
                Deny,
                MissingScopes,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Deny,
            ],
        ),
        (
            "not(any(groups, tenants))",
            Rule::Not(&Rule::Any(&[GROUP, TENANT])),
            [Deny, Deny, Deny, Deny, Deny, Deny],
        ),
        (
            "not(all(groups, tenants))",
            Rule::Not(&Rule::All(&[GROUP, TENANT])),
            [
                Deny,
                Allow,
                Unknown(NoGroupsClaim),
                Unknown(GroupOverage),
                Unknown(GroupOverage),
                Unknown(NoTenant),
            ],
        ),
        (
            "scopes",
            GRAPH_READ,
            [
                Allow,
                MissingScopes,
                MissingScopes,
                MissingScopes,
                MissingScopes,
                MissingScopes,
            ],
        ),
        (
            "not(scopes)",
            Rule::Not(&GRAPH_READ),
            [Deny, Allow, Allow, Allow, Allow, Allow],
        ),
        ("authenticated", Rule::Authenticated, [Allow; 6]),
    ];
    let principals = principals();
    for (name, rule, expected) in table {
        for ((who, p), want) in principals.iter().zip(expected) {
            assert_eq!(rule.evaluate(p), *want, "{name} for a principal {who}");
        }
    }
}

#[test]
fn unknown_never_becomes_allow_under_any_combinator() {
    let p = session(json!({"tid": TID, "_claim_names": {"groups": "src1"}}), &[]);
    const DENY: Rule = Rule::Roles(&["Nobody"]);
    for rule in [
        NOT_GROUP,
        Rule::Not(&Rule::Not(&NOT_GROUP)),
        Rule::Any(&[DENY, NOT_GROUP]),
        Rule::All(&[Rule::Authenticated, NOT_GROUP]),
        Rule::Not(&Rule::Any(&[DENY, GROUP])),
        Rule::Not(&Rule::All(&[Rule::Authenticated, GROUP])),
    ] {
        assert_ne!(rule.evaluate(&p), Allow, "{rule:?}");
    }
}

#[test]
fn resolved_groups_are_judged_like_groups_in_the_token() {
    let overage = session(json!({"tid": TID, "_claim_names": {"groups": "src1"}}), &[]);
    assert_eq!(NOT_GROUP.evaluate(&overage), Unknown(GroupOverage));
    assert_eq!(
        NOT_GROUP.evaluate(&overage.with_groups(vec![G1.into()])),
        Deny
    );
    assert_eq!(
        NOT_GROUP.evaluate(&overage.with_groups(vec![G2.into()])),
        Allow
    );
    assert_eq!(GROUP.evaluate(&overage.with_groups(Vec::new())), Deny);
}

#[test]
fn bearer_scopes_are_this_apis_and_session_scopes_are_graphs() {
    let mut claims = serde_json::Map::new();
    claims.insert("scp".into(), "User.Read Tasks.Read".into());
    claims.insert("sub".into(), "s".into());
    let bearer = Principal::bearer(claims, false, "token", this_api());
    // In a bearer rule an unprefixed scope is this API's, and so is an api://me one.
    assert_eq!(Rule::Scopes(&["Tasks.Read"]).evaluate(&bearer), Allow);
    assert_eq!(
        Rule::Scopes(&["api://me/Tasks.Read"]).evaluate(&bearer),
        Allow
    );
    // A Graph scope or another API's is never in this API's token.
    assert_eq!(
        Rule::Scopes(&["https://graph.microsoft.com/User.Read"]).evaluate(&bearer),
        MissingScopes
    );
    assert_eq!(
        Rule::Scopes(&["api://orders/User.Read"]).evaluate(&bearer),
        MissingScopes
    );
    // A session granted Graph's User.Read holds User.Read, not another API's.
    let graph = session(json!({"tid": TID}), &["User.Read"]);
    assert_eq!(Rule::Scopes(&["User.Read"]).evaluate(&graph), Allow);
    assert_eq!(
        Rule::Scopes(&["api://orders/User.Read"]).evaluate(&graph),
        MissingScopes
    );
    assert_eq!(
        Rule::Scopes(&["api://orders/User.Read"]).missing_scopes(&graph),
        vec!["api://orders/User.Read"]
    );
}

#[test]
fn declined_scopes_are_denied_instead_of_asked_for_again() {
    let mut p = session(json!({"tid": TID}), &["User.Read"]);
    p.declined = vec!["Mail.Read".into()];
    assert_eq!(MAIL.evaluate(&p), Deny);
    // Another API's Mail.Read was not declined.
    assert_eq!(
        Rule::Scopes(&["api://orders/Mail.Read"]).evaluate(&p),
        MissingScopes
    );
}

#[test]
fn descriptions_never_name_group_ids() {
    for rule in [
        GROUP,
        Rule::Groups(&[G1, G2]),
        Rule::Any(&[ADMIN, NOT_GROUP]),
    ] {
        let text = rule.describe();
        assert!(!text.contains(G1) && !text.contains(G2), "{text}");
        assert!(text.contains("group"), "{text}");
    }
}

#[test]
fn rules_that_name_app_roles_are_found_anywhere() {
    assert!(ADMIN.names_app_roles());
    assert!(Rule::Not(&Rule::Any(&[GROUP, Rule::AppPermissions(&["X"])])).names_app_roles());
    assert!(!Rule::All(&[GROUP, TENANT, GRAPH_READ]).names_app_roles());
}

fn deny_a(_: crate::AuthRejection) -> axum::response::Response {
    axum::response::IntoResponse::into_response(axum::http::StatusCode::FORBIDDEN)
}

fn deny_b(_: crate::AuthRejection) -> axum::response::Response {
    axum::response::IntoResponse::into_response(axum::http::StatusCode::OK)
}

#[test]
fn one_id_with_two_refusal_builders_is_a_clash() {
    let with = |on_denied| Protected {
        id: 1,
        rule: ADMIN,
        on_denied,
        handler: "h",
        module: "m",
    };
    assert!(with(None).same_as(&with(None)));
    assert!(!with(Some(deny_a)).same_as(&with(Some(deny_b))));
    assert!(!with(None).same_as(&with(Some(deny_a))));
    let other_rule = Protected {
        rule: GROUP,
        ..with(None)
    };
    assert!(!with(None).same_as(&other_rule));
}

const C1: Rule = Rule::AuthContext(&["c1"]);
const C1_C2: Rule = Rule::AuthContext(&["c1", "c2"]);

fn bearer(claims: Value, app: bool) -> Principal {
    let Value::Object(mut map) = claims else {
        unreachable!("claims are an object")
    };
    map.insert("sub".into(), "sub".into());
    map.insert("tid".into(), TID.into());
    Principal::bearer(map, app, "token", this_api())
}

#[test]
fn auth_contexts_come_from_acrs_as_a_list_or_a_single_string() {
    let listed = session(json!({"acrs": ["c1", "c2"]}), &[]);
    assert_eq!(listed.auth_contexts(), ["c1", "c2"]);
    assert_eq!(C1_C2.evaluate(&listed), Allow);
    let single = bearer(json!({"scp": "Tasks.Read", "acrs": "c1"}), false);
    assert_eq!(single.auth_contexts(), ["c1"]);
    assert_eq!(C1.evaluate(&single), Allow);
    assert_eq!(C1_C2.evaluate(&single), MissingAuthContext);
    // Anything else in `acrs` meets nothing.
    for odd in [json!(1), json!({"c1": true}), json!([1, null])] {
        let p = session(json!({ "acrs": odd }), &[]);
        assert_eq!(C1.evaluate(&p), MissingAuthContext, "{odd}");
    }
}

#[test]
fn a_missing_auth_context_is_fixable_for_users_and_denied_for_apps() {
    let none = json!({"scp": "Tasks.Read"});
    assert_eq!(C1.evaluate(&session(json!({}), &[])), MissingAuthContext);
    assert_eq!(
        C1.evaluate(&bearer(none.clone(), false)),
        MissingAuthContext
    );
    // An app-only token has no user to step up, with or without the claim.
    assert_eq!(C1.evaluate(&bearer(json!({"roles": ["X"]}), true)), Deny);
    assert_eq!(
        C1.evaluate(&bearer(json!({"roles": ["X"], "acrs": ["c1"]}), true)),
        Deny
    );
    let p = session(json!({"acrs": ["c2"]}), &[]);
    assert_eq!(C1_C2.missing_auth_contexts(&p), vec!["c1"]);
    assert!(
        C1.missing_auth_contexts(&session(json!({"acrs": ["c1"]}), &[]))
            .is_empty()
    );
}

#[test]
fn auth_contexts_compose_like_scopes_and_outweigh_them_in_all() {
    // (rule, [c1 and User.Read, c1 only, User.Read only, neither, in no group with neither])
    let met_both = session(json!({"tid": TID, "acrs": ["c1"]}), &["User.Read"]);
    let met_c1 = session(json!({"tid": TID, "acrs": ["c1"]}), &[]);
    let met_scope = session(json!({"tid": TID}), &["User.Read"]);
    let neither = session(json!({"tid": TID}), &[]);
    let outsider = session(json!({"tid": TID, "groups": []}), &[]);
    let principals = [met_both, met_c1, met_scope, neither, outsider];
    let table: &[(&str, Rule, [Verdict; 5])] = &[
        (
            "auth_context",
            C1,
            [
                Allow,
                Allow,
                MissingAuthContext,
                MissingAuthContext,
                MissingAuthContext,
            ],
        ),
        (
            "not(auth_context)",
            Rule::Not(&C1),
            [Deny, Deny, Allow, Allow, Allow],
        ),
        (
            "all(scopes, auth_context)",
            Rule::All(&[GRAPH_READ, C1]),
            [
                Allow,
                MissingScopes,
                MissingAuthContext,
                MissingAuthContext,
                MissingAuthContext,
            ],
        ),
        (
            "all(auth_context, scopes)",
            Rule::All(&[C1, GRAPH_READ]),
            [
                Allow,
                MissingScopes,
                MissingAuthContext,
                MissingAuthContext,
                MissingAuthContext,
            ],
        ),
        (
            "all(auth_context, groups)",
            Rule::All(&[C1, GROUP]),
            [
                Unknown(NoGroupsClaim),
                Unknown(NoGroupsClaim),
                Unknown(NoGroupsClaim),
                Unknown(NoGroupsClaim),
                Deny,
            ],
        ),
        (
            "any(scopes, auth_context)",
            Rule::Any(&[GRAPH_READ, C1]),
            [Allow, Allow, Allow, MissingScopes, MissingScopes],
        ),
        (
            "any(auth_context, scopes)",
            Rule::Any(&[C1, GRAPH_READ]),
            [Allow, Allow, Allow, MissingAuthContext, MissingAuthContext],
        ),
        (
            "any(auth_context, groups)",
            Rule::Any(&[C1, GROUP]),
            [
                Allow,
                Allow,
                Unknown(NoGroupsClaim),
                Unknown(NoGroupsClaim),
                MissingAuthContext,
            ],
        ),
        (
            "not(all(scopes, auth_context))",
            Rule::Not(&Rule::All(&[GRAPH_READ, C1])),
            [Deny, Allow, Allow, Allow, Allow],
        ),
    ];
    for (name, rule, expected) in table {
        for (i, (p, want)) in principals.iter().zip(expected).enumerate() {
            assert_eq!(rule.evaluate(p), *want, "{name} for principal {i}");
        }
    }
}

#[test]
fn one_step_up_gathers_every_missing_context_and_scope_of_an_all() {
    let neither = session(json!({"tid": TID}), &[]);
    let rule = Rule::All(&[GRAPH_READ, C1, Rule::AuthContext(&["c2", "c1"])]);
    assert_eq!(rule.evaluate(&neither), MissingAuthContext);
    assert_eq!(rule.missing_auth_contexts(&neither), vec!["c1", "c2"]);
    assert_eq!(rule.missing_scopes(&neither), vec!["User.Read"]);
}

#[test]
fn an_any_asks_for_its_first_fixable_alternative_only() {
    let neither = session(json!({"tid": TID}), &[]);
    let first_context = Rule::Any(&[Rule::All(&[C1, MAIL]), GRAPH_READ]);
    assert_eq!(first_context.evaluate(&neither), MissingAuthContext);
    assert_eq!(first_context.missing_auth_contexts(&neither), vec!["c1"]);
    assert_eq!(first_context.missing_scopes(&neither), vec!["Mail.Read"]);
    let first_scope = Rule::Any(&[GRAPH_READ, C1]);
    assert_eq!(first_scope.evaluate(&neither), MissingScopes);
    assert!(first_scope.missing_auth_contexts(&neither).is_empty());
    assert_eq!(first_scope.missing_scopes(&neither), vec!["User.Read"]);
    // A context under `not` is never asked for.
    assert!(Rule::Not(&C1).missing_auth_contexts(&neither).is_empty());
}

#[test]
fn auth_context_rules_describe_and_name_their_contexts() {
    assert_eq!(C1_C2.describe(), "the authentication context c1 and c2");
    assert_eq!(
        Rule::All(&[GRAPH_READ, C1]).describe(),
        "the scopes User.Read, and the authentication context c1"
    );
    let rule = Rule::All(&[
        C1,
        Rule::Any(&[C1_C2, ADMIN]),
        Rule::Not(&Rule::AuthContext(&["c3"])),
    ]);
    assert_eq!(rule.named_auth_contexts(), vec!["c1", "c2"]);
    assert!(!C1.names_app_roles() && !C1.names_groups());
}

#[test]
fn max_age_counts_from_auth_time_and_an_unknown_time_is_not_recent() {
    let rule = Rule::MaxAge(300);
    let fresh = session(json!({"auth_time": now() - 60}), &[]);
    assert_eq!(rule.evaluate(&fresh), Allow);
    let edge = session(json!({"auth_time": now() - 300}), &[]);
    assert_eq!(rule.evaluate(&edge), Allow, "at most max_age old counts");
    let old = session(json!({"auth_time": now() - 301}), &[]);
    assert_eq!(rule.evaluate(&old), StepUp);
    // `iat` is when the token was issued, not when the user authenticated.
    let no_time = session(json!({"iat": now()}), &[]);
    assert_eq!(
        rule.evaluate(&no_time),
        StepUp,
        "no auth_time, no recent sign-in"
    );
    let text = session(json!({"auth_time": "just now"}), &[]);
    assert_eq!(rule.evaluate(&text), StepUp);
    let future = session(json!({"auth_time": now() + 3600}), &[]);
    assert_eq!(
        rule.evaluate(&future),
        StepUp,
        "a sign-in dated an hour ahead is no sign-in anyone can date"
    );
    let skewed = session(json!({"auth_time": now() + 30}), &[]);
    assert_eq!(
        rule.evaluate(&skewed),
        Allow,
        "a provider's clock a little fast"
    );
    let bearer_old = bearer(
        json!({"scp": "Tasks.Read", "auth_time": now() - 900}),
        false,
    );
    assert_eq!(rule.evaluate(&bearer_old), StepUp);
    let bearer_fresh = bearer(json!({"scp": "Tasks.Read", "auth_time": now() - 5}), false);
    assert_eq!(rule.evaluate(&bearer_fresh), Allow);
    let app = bearer(
        json!({"roles": ["Tasks.Read.All"], "auth_time": now()}),
        true,
    );
    assert_eq!(
        rule.evaluate(&app),
        Deny,
        "an app-only token has no user to step up"
    );
}

#[test]
fn acr_is_one_of_the_listed_levels() {
    let rule = Rule::Acr(&["b2c_1a_mfa", "urn:high"]);
    for (acr, verdict) in [
        (json!("urn:high"), Allow),
        (json!("b2c_1a_mfa"), Allow),
        (json!("urn:low"), StepUp),
        (json!("URN:HIGH"), StepUp),
        (json!(["urn:high"]), StepUp),
    ] {
        let p = session(json!({ "acr": acr }), &[]);
        assert_eq!(rule.evaluate(&p), verdict, "acr {acr}");
    }
    assert_eq!(rule.evaluate(&session(json!({}), &[])), StepUp);
    let app = bearer(json!({"acr": "urn:high"}), true);
    assert_eq!(rule.evaluate(&app), Deny);
}

#[test]
fn a_step_up_outweighs_the_other_fixes_in_all_and_composes_three_valued() {
    let old = session(json!({"auth_time": now() - 3600, "tid": TID}), &[]);
    const STEP: Rule = Rule::MaxAge(600);
    const CTX: Rule = Rule::AuthContext(&["c1"]);
    const SCOPES: Rule = Rule::Scopes(&["Mail.Read"]);
    static ALL: &[Rule] = &[STEP, CTX, SCOPES];
    assert_eq!(Rule::All(ALL).evaluate(&old), StepUp);
    static REVERSED: &[Rule] = &[SCOPES, CTX, STEP];
    assert_eq!(Rule::All(REVERSED).evaluate(&old), StepUp);
    // Unknown outweighs it; Deny more so.
    static UNKNOWN: &[Rule] = &[STEP, Rule::Groups(&[G1])];
    assert!(matches!(Rule::All(UNKNOWN).evaluate(&old), Unknown(_)));
    static DENIED: &[Rule] = &[STEP, Rule::Roles(&["Admin"])];
    assert_eq!(Rule::All(DENIED).evaluate(&old), Deny);
    // In any, an alternative that allows wins; else the first fixable one is asked for.
    static TENANT: &[Rule] = &[STEP, Rule::Tenants(&[TID])];
    assert_eq!(Rule::Any(TENANT).evaluate(&old), Allow);
    static EITHER: &[Rule] = &[Rule::Roles(&["Admin"]), STEP];
    assert_eq!(Rule::Any(EITHER).evaluate(&old), StepUp);
    assert_eq!(Rule::Not(&STEP).evaluate(&old), Allow);
    let mut answers = Answers::default();
    let gathered = Rule::All(ALL).step_up_in(&old, &mut answers);
    assert_eq!(gathered.max_age, Some(600));
    assert_eq!(
        Rule::All(ALL).missing_auth_contexts_in(&old, &mut answers),
        ["c1"]
    );
    assert_eq!(
        Rule::All(ALL).missing_scopes_in(&old, &mut answers),
        ["Mail.Read"]
    );
}

#[test]
fn a_step_up_asks_for_the_shortest_max_age_and_the_unmet_acr() {
    let old = session(json!({"auth_time": now() - 3600, "acr": "low"}), &[]);
    static RULES: &[Rule] = &[
        Rule::MaxAge(900),
        Rule::MaxAge(300),
        Rule::Acr(&["high", "higher"]),
    ];
    let ask = Rule::All(RULES).step_up_in(&old, &mut Answers::default());
    assert_eq!(ask.max_age, Some(300));
    assert_eq!(ask.acr_values, ["high", "higher"]);
    let met = session(json!({"auth_time": now() - 10, "acr": "high"}), &[]);
    let ask = Rule::All(RULES).step_up_in(&met, &mut Answers::default());
    assert_eq!(ask, StepUpAsk::default(), "nothing unmet, nothing asked");
}

static OWNS: Check = Check {
    name: "docs::owns",
    run: |_, _| Box::pin(async { crate::principal::CheckOutcome::Allow }),
};
static AUDITS: Check = Check {
    name: "docs::audits",
    run: |_, _| Box::pin(async { crate::principal::CheckOutcome::Deny }),
};

#[test]
fn a_check_is_undetermined_until_answered_and_then_composes_like_any_leaf() {
    let alice = session(json!({"tid": TID}), &[]);
    static CHECK: Rule = Rule::Check(&OWNS);
    let check = CHECK;
    assert_eq!(check.evaluate(&alice), Unknown(Undetermined::CheckNotRun));
    assert_eq!(
        Rule::Not(&CHECK).evaluate(&alice),
        Unknown(Undetermined::CheckNotRun),
        "not(unrun) is not allowed"
    );
    // Decided without it: the check is never asked for.
    static ANY: &[Rule] = &[Rule::Tenants(&[TID]), Rule::Check(&OWNS)];
    let mut answers = Answers::default();
    assert_eq!(Rule::Any(ANY).evaluate_in(&alice, &mut answers), Allow);
    assert!(answers.take_pending().is_none());
    static ALL: &[Rule] = &[Rule::Roles(&["Admin"]), Rule::Check(&OWNS)];
    assert_eq!(Rule::All(ALL).evaluate_in(&alice, &mut answers), Deny);
    assert!(answers.take_pending().is_none());
    // Undecided without it: it is the one pending, and its answer decides.
    static PAIR: &[Rule] = &[Rule::Check(&OWNS), Rule::Check(&AUDITS)];
    assert!(matches!(
        Rule::All(PAIR).evaluate_in(&alice, &mut answers),
        Unknown(_)
    ));
    assert!(std::ptr::eq(answers.take_pending().unwrap(), &OWNS));
    answers.answer(&OWNS, Allow);
    assert!(matches!(
        Rule::All(PAIR).evaluate_in(&alice, &mut answers),
        Unknown(_)
    ));
    assert!(std::ptr::eq(answers.take_pending().unwrap(), &AUDITS));
    answers.answer(&AUDITS, Deny);
    assert_eq!(Rule::All(PAIR).evaluate_in(&alice, &mut answers), Deny);
    assert_eq!(Rule::Any(PAIR).evaluate_in(&alice, &mut answers), Allow);
    assert_eq!(Rule::Not(&CHECK).evaluate_in(&alice, &mut answers), Deny);
    // A check that failed is Unknown, and stays refused under not().
    let mut failed = Answers::default();
    failed.answer(&OWNS, Unknown(Undetermined::CheckFailed));
    assert_eq!(
        Rule::Not(&CHECK).evaluate_in(&alice, &mut failed),
        Unknown(Undetermined::CheckFailed)
    );
    let app = bearer(json!({"roles": ["Tasks.Read.All"]}), true);
    assert_eq!(
        check.evaluate(&app),
        Deny,
        "an app-only token has no user to check"
    );
}

#[test]
fn step_up_and_check_rules_describe_themselves() {
    assert_eq!(
        Rule::MaxAge(300).describe(),
        "a sign-in within the last 5 minutes"
    );
    assert_eq!(
        Rule::MaxAge(5400).describe(),
        "a sign-in within the last 1 hour 30 minutes"
    );
    assert_eq!(
        Rule::MaxAge(86_401).describe(),
        "a sign-in within the last 1 day 1 second"
    );
    assert_eq!(
        Rule::Acr(&["a", "b"]).describe(),
        "a sign-in of the authentication level a or b"
    );
    assert_eq!(Rule::Check(&OWNS).describe(), "the check docs::owns");
}
