//! Configuration: what each source and variable gives, and every bad value refused with its fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::sources::Sources;
use super::validator::parse_duration;
use super::*;

pub(super) const ID: &str = "11111111-2222-4333-8444-555555555555";
pub(super) const TID: &str = "c0ffee00-0000-4000-8000-00000000c0de";

fn sources(env: &[(&str, &str)], dir: &std::path::Path) -> Sources {
    Sources {
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        dotenv: Some(dir.join(".env")),
        default_secrets_dir: dir.join("secrets"),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "msal-config-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    dir
}

/// Every problem the builder reports, as text (the redis tests share it).
pub(super) fn problems_of(builder: MsalConfigBuilder) -> Vec<String> {
    builder
        .build()
        .unwrap_err()
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect()
}

pub(super) fn has(problems: &[String], needle: &str) {
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "no problem mentions {needle:?}: {problems:#?}"
    );
}

#[test]
fn minimal_entra_config_has_safe_defaults() {
    let config = MsalConfig::builder()
        .client_id(ID)
        .tenant_id(TID)
        .build()
        .unwrap();
    assert_eq!(
        config.authority.discovery_url().as_str(),
        format!("https://login.microsoftonline.com/{TID}/v2.0/.well-known/openid-configuration")
    );
    assert_eq!(config.route_prefix, "/auth");
    assert_eq!(config.cookie_name, "msal_session");
    assert_eq!(config.session_store, SessionStoreKind::Memory);
    assert_eq!(config.memory_sessions_max, 100_000);
    assert_eq!(config.response_mode, ResponseMode::Query);
    assert_eq!(config.token_auth_method, TokenAuthMethod::ClientSecretPost);
    assert_eq!(config.clock_skew, Duration::from_secs(300));
    assert!(config.secure_cookies(), "Secure unless http loopback");
    assert_eq!(config.redirect_uri(), None, "derived per request");
}

#[test]
fn missing_everything_lists_every_problem_at_once() {
    let problems = problems_of(MsalConfig::builder());
    assert_eq!(problems.len(), 2, "{problems:#?}");
    has(&problems, "MSAL_CLIENT_ID: is not set");
    has(&problems, "neither is MSAL_AUTHORITY");
}

#[test]
fn authority_conflicts_with_tenant_and_instance() {
    let problems = problems_of(
        MsalConfig::builder()
            .client_id(ID)
            .authority("https://login.microsoftonline.com/common")
            .tenant_id(TID)
            .instance("https://login.microsoftonline.us"),
    );
    has(
        &problems,
        "MSAL_TENANT_ID (from code): conflicts with MSAL_AUTHORITY",
    );
    has(
        &problems,
        "MSAL_INSTANCE (from code): conflicts with MSAL_AUTHORITY",
    );
}

#[test]
fn malformed_and_insecure_urls_are_refused() {
    let problems = problems_of(
        MsalConfig::builder()
            .client_id(ID)
            .authority("not a url")
            .public_url("http://app.contoso.com")
            .redirect_uri("https://app.contoso.com/cb#frag")
            .post_logout_redirect_uri("ftp://x"),
    );
    has(
        &problems,
        "MSAL_AUTHORITY (from code): 'not a url' is not a URL",
    );
    has(
        &problems,
        "MSAL_PUBLIC_URL (from code): 'http://app.contoso.com' uses http",
    );
    has(
        &problems,
        "MSAL_REDIRECT_URI (from code): a redirect URI must not have a #fragment",
    );
    has(
        &problems,
        "MSAL_POST_LOGOUT_REDIRECT_URI (from code): 'ftp://x' has scheme 'ftp'",
    );

    let problems = problems_of(
        MsalConfig::builder()
            .client_id(ID)
            .tenant_id(TID)
            .instance("http://login.example.com"),
    );
    has(&problems, "only https is allowed, except on loopback");
}

#[test]
fn loopback_http_is_allowed_and_makes_cookies_not_secure() {
    let config = MsalConfig::builder()
        .client_id(ID)
        .tenant_id(TID)
        .instance("http://127.0.0.1:5100")
        .public_url("http://127.0.0.1:5000")
        .build()
        .unwrap();
    assert!(!config.secure_cookies());
    assert_eq!(
        config.redirect_uri().unwrap().as_str(),
        "http://127.0.0.1:5000/auth/callback"
    );
    assert!(config.authority.is_loopback_http());
}

#[test]
fn instance_with_a_path_is_refused() {
    let problems = problems_of(
        MsalConfig::builder()
            .client_id(ID)
            .tenant_id(TID)
            .instance("https://login.microsoftonline.com/common"),
    );
    has(&problems, "must be only scheme and host");
}

#[test]
fn every_value_error_is_named() {
    let problems = problems_of(
        MsalConfig::builder()
            .client_id(ID)
            .tenant_id(TID)
            .allowed_tenants("contoso.com")
            .session_store("postgres://db")
            .cookie_name("bad name;")
            .route_prefix("auth/")
            .token_auth_method(TokenAuthMethod::ClientSecretBasic)
            .clock_skew(Duration::from_secs(3600))
            .set("MSAL_SESSION_LIFETIME", "8 weeks".into())
            .set("MSAL_RESPONSE_MODE", "fragment".into()),
    );
    for needle in [
        "MSAL_ALLOWED_TENANTS (from code): 'contoso.com' is not a tenant id",
        "MSAL_SESSION_STORE (from code): must be 'memory' or a redis://",
        "MSAL_COOKIE_NAME (from code): 'bad name;' is not a valid cookie name",
        "MSAL_ROUTE_PREFIX (from code): 'auth/' must be a path",
        "MSAL_TOKEN_AUTH_METHOD (from code): needs a client secret",
        "MSAL_CLOCK_SKEW (from code): must be at most 15m",
        "MSAL_SESSION_LIFETIME (from code): '8 weeks' has unknown unit",
        "MSAL_RESPONSE_MODE (from code): 'fragment' must be 'query' or 'form_post'",
    ] {
        has(&problems, needle);
    }
    assert_eq!(problems.len(), 8, "{problems:#?}");
}

#[test]
fn the_memory_store_cap_is_a_sensible_whole_number() {
    let with = |value: &str| {
        MsalConfig::builder()
            .client_id(ID)
            .tenant_id(TID)
            .set("MSAL_MEMORY_SESSIONS_MAX", value.into())
    };
    assert_eq!(
        with("250_000").build().unwrap().memory_sessions_max,
        250_000
    );
    for (value, needle) in [
        (
            "lots",
            "MSAL_MEMORY_SESSIONS_MAX (from code): must be a whole number of sessions",
        ),
        ("-5", "must be a whole number of sessions"),
        ("10", "must be between 100 and 100000000"),
        ("0", "must be between 100 and 100000000"),
        ("1000000000", "use MSAL_SESSION_STORE=redis://"),
    ] {
        let problems = problems_of(with(value));
        has(&problems, needle);
        assert_eq!(problems.len(), 1, "{value}: {problems:#?}");
    }
}

#[test]
fn allowed_tenants_must_include_a_single_tenant_authority() {
    let problems = problems_of(
        MsalConfig::builder()
            .client_id(ID)
            .tenant_id(TID)
            .allowed_tenants("0ddba11a-0000-4000-8000-000000000001"),
    );
    has(&problems, "does not include the configured tenant");
}

#[test]
fn authorities_of_every_kind_parse() {
    let b2c = MsalConfig::builder()
        .client_id(ID)
        .instance("https://contoso.b2clogin.com")
        .tenant_id("contoso.onmicrosoft.com")
        .b2c_policy("B2C_1_signupsignin")
        .build()
        .unwrap();
    assert_eq!(
        b2c.authority.discovery_url().as_str(),
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin/v2.0/.well-known/openid-configuration"
    );
    let parsed =
        Authority::parse("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi")
            .unwrap();
    assert!(matches!(parsed, Authority::B2c { ref policy, .. } if policy == "B2C_1_susi"));
    let ciam = Authority::parse("https://contoso.ciamlogin.com/").unwrap();
    assert_eq!(
        ciam.discovery_url().as_str(),
        "https://contoso.ciamlogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
    );
    let ciam_id =
        Authority::parse("https://contoso.ciamlogin.com/c0ffee00-0000-4000-8000-00000000c0de")
            .unwrap();
    assert!(
        ciam_id
            .discovery_url()
            .as_str()
            .contains("/c0ffee00-0000-4000-8000-00000000c0de/v2.0/")
    );
    assert_eq!(
        ciam.issuer_rule(),
        IssuerRule::Ciam {
            name: "contoso".into()
        }
    );
    let common = Authority::parse("https://login.microsoftonline.com/common/v2.0").unwrap();
    assert_eq!(
        common.issuer_rule(),
        IssuerRule::TenantTemplate {
            template: "https://login.microsoftonline.com/{tenantid}/v2.0".into()
        }
    );
    assert!(Authority::parse("https://login.microsoftonline.com/").is_err());
    assert!(Authority::parse("https://x.b2clogin.com/only-tenant").is_err());
    let oidc = Authority::parse("https://accounts.example.com/realms/x").unwrap();
    assert_eq!(
        oidc.issuer_rule(),
        IssuerRule::Exact("https://accounts.example.com/realms/x".into())
    );
}

#[test]
fn precedence_is_code_then_environment_then_dotenv_then_secrets_dir() {
    let dir = temp_dir("precedence");
    std::fs::write(
        dir.join(".env"),
        "MSAL_CLIENT_ID=from-dotenv\nMSAL_TENANT_ID=organizations\nMSAL_COOKIE_NAME=dotenv_cookie\n",
    )
    .unwrap();
    std::fs::write(dir.join("secrets/msal_client_secret"), "from-secrets\n").unwrap();
    std::fs::write(dir.join("secrets/msal_cookie_name"), "secret_cookie").unwrap();
    std::fs::write(dir.join("secrets/msal_route_prefix"), "/signin").unwrap();
    let env = [("MSAL_CLIENT_ID", "from-env"), ("MSAL_TENANT_ID", TID)];
    let config = MsalConfig::builder()
        .tenant_id("common")
        .with_sources(&sources(&env, &dir))
        .build()
        .unwrap();
    assert_eq!(config.client_id, "from-env", "environment beats .env");
    assert!(
        matches!(
            config.authority,
            Authority::Entra {
                tenant: Tenant::Common,
                ..
            }
        ),
        "code beats environment"
    );
    assert_eq!(
        config.cookie_name, "dotenv_cookie",
        ".env beats secrets dir"
    );
    assert_eq!(config.route_prefix, "/signin", "secrets dir fills the rest");
    use secrecy::ExposeSecret;
    assert_eq!(
        config.client_secret().unwrap().expose_secret(),
        "from-secrets"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_secrets_dir_can_be_moved_by_the_environment() {
    let dir = temp_dir("moved");
    let other = dir.join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("msal_client_id"), ID).unwrap();
    let env = [
        ("MSAL_SECRETS_DIR", other.to_str().unwrap()),
        ("MSAL_TENANT_ID", TID),
    ];
    let config = MsalConfig::builder()
        .with_sources(&sources(&env, &dir))
        .build()
        .unwrap();
    assert_eq!(config.client_id, ID);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_malformed_dotenv_is_a_problem_not_ignored() {
    let dir = temp_dir("dotenv");
    std::fs::write(dir.join(".env"), "MSAL_CLIENT_ID='unterminated\n").unwrap();
    let problems = problems_of(
        MsalConfig::builder()
            .client_id(ID)
            .tenant_id(TID)
            .with_sources(&sources(&[], &dir)),
    );
    has(&problems, ".env is malformed");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn empty_values_count_as_unset() {
    let dir = temp_dir("empty");
    let problems = problems_of(
        MsalConfig::builder()
            .tenant_id(TID)
            .with_sources(&sources(&[("MSAL_CLIENT_ID", "  ")], &dir)),
    );
    has(&problems, "MSAL_CLIENT_ID (from environment): is not set");
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(feature = "redis")]
#[test]
fn secrets_never_appear_in_debug_or_errors() {
    let builder = MsalConfig::builder()
        .client_id(ID)
        .client_secret("hunter2-secret")
        .tenant_id(TID)
        .session_store("redis://:p4ssw0rd@127.0.0.1:6379");
    let debug = format!("{builder:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("p4ssw0rd"),
        "{debug}"
    );
    let config = builder.build().unwrap();
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("p4ssw0rd"),
        "{debug}"
    );
    assert!(debug.contains("REDACTED"));

    let err = MsalConfig::builder()
        .client_secret("hunter2-secret")
        .session_store("mysql://:p4ssw0rd@db")
        .build()
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("p4ssw0rd"),
        "{shown}"
    );
}

#[test]
fn durations_parse_in_every_unit() {
    assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("90m").unwrap(), Duration::from_secs(5400));
    assert_eq!(parse_duration("8h").unwrap(), Duration::from_secs(28800));
    assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
    assert!(parse_duration("h").is_err());
    assert!(parse_duration("-5s").is_err());
}

#[test]
fn external_id_issuers_must_have_entras_shape() {
    let tid = "c0ffee00-0000-4000-8000-00000000c0de";
    let rule = IssuerRule::Ciam {
        name: "contoso".into(),
    };
    assert!(rule.admits(&format!("https://{tid}.ciamlogin.com/{tid}/v2.0"), None));
    assert!(rule.admits(&format!("https://contoso.ciamlogin.com/{tid}/v2.0"), None));
    assert!(rule.admits(&format!("https://Contoso.ciamlogin.com/{tid}/v2.0"), None));
    for bad in [
        format!("https://fabrikam.ciamlogin.com/{tid}/v2.0"),
        "https://contoso.ciamlogin.com/contoso/v2.0".to_owned(),
        "https://evil.test/v2.0".to_owned(),
        format!("https://{tid}.ciamlogin.com.evil.test/{tid}/v2.0"),
        format!("https://{tid}.ciamlogin.com/0ddba11a-0000-4000-8000-000000000001/v2.0"),
        format!("http://{tid}.ciamlogin.com/{tid}/v2.0"),
        format!("https://{tid}.ciamlogin.com/{tid}/v2.0/extra"),
    ] {
        assert!(!rule.admits(&bad, None), "{bad}");
    }
}

#[test]
fn microsoft_authorities_keep_their_endpoints_on_their_own_host() {
    let entra =
        Authority::parse("https://login.microsoftonline.com/contoso.onmicrosoft.com").unwrap();
    let origin = entra.endpoint_origin().unwrap();
    assert_eq!(
        origin.ascii_serialization(),
        "https://login.microsoftonline.com"
    );
    let b2c = Authority::parse("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin")
        .unwrap();
    assert_eq!(
        b2c.endpoint_origin().unwrap().ascii_serialization(),
        "https://contoso.b2clogin.com"
    );
    // A generic issuer's token endpoint may live elsewhere.
    assert!(
        Authority::parse("https://accounts.example.com")
            .unwrap()
            .endpoint_origin()
            .is_none()
    );
}

#[test]
fn b2c_policies_are_the_configured_one_and_the_allowed_ones() {
    let config = MsalConfig::builder()
        .client_id("c")
        .instance("https://contoso.b2clogin.com")
        .tenant_id("contoso.onmicrosoft.com")
        .b2c_policy("B2C_1_SignIn")
        .b2c_allowed_policies("B2C_1_mfa, B2C_1_reset")
        .build()
        .unwrap();
    assert_eq!(
        config.b2c_policies,
        ["b2c_1_signin", "b2c_1_mfa", "b2c_1_reset"]
    );
    let err = MsalConfig::builder()
        .client_id("c")
        .tenant_id("contoso.onmicrosoft.com")
        .b2c_allowed_policies("B2C_1_mfa")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("MSAL_B2C_ALLOWED_POLICIES"),
        "{err}"
    );
    let entra = MsalConfig::builder()
        .client_id("c")
        .tenant_id("contoso.onmicrosoft.com")
        .build()
        .unwrap();
    assert!(entra.b2c_policies.is_empty());
}

#[test]
fn the_jwks_cooldown_has_a_lower_bound() {
    let err = MsalConfig::builder()
        .client_id("c")
        .tenant_id("contoso.onmicrosoft.com")
        .jwks_cooldown(std::time::Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("MSAL_JWKS_COOLDOWN"), "{err}");
    assert!(err.to_string().contains("at least 1s"), "{err}");
    let ok = MsalConfig::builder()
        .client_id("c")
        .tenant_id("contoso.onmicrosoft.com")
        .jwks_cooldown(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    assert_eq!(ok.jwks_cooldown, std::time::Duration::from_secs(1));
}

#[test]
fn any_tenant_signs_in_only_with_a_multi_tenant_authority_and_no_allow_list() {
    let build = |tenant: &str, allowed: Option<&str>| {
        let b = MsalConfig::builder().client_id("c").tenant_id(tenant);
        match allowed {
            Some(a) => b.allowed_tenants(a),
            None => b,
        }
        .build()
        .unwrap()
    };
    assert!(build("organizations", None).any_tenant_signs_in());
    assert!(build("common", None).any_tenant_signs_in());
    assert!(
        !build(
            "organizations",
            Some("c0ffee00-0000-4000-8000-00000000c0de")
        )
        .any_tenant_signs_in()
    );
    assert!(!build("c0ffee00-0000-4000-8000-00000000c0de", None).any_tenant_signs_in());
    assert!(!build("consumers", None).any_tenant_signs_in());
    assert!(!build("contoso.onmicrosoft.com", None).any_tenant_signs_in());
}

#[test]
fn the_tenant_of_an_issuer_is_its_last_segment_before_v2() {
    use super::tenant_of_issuer;
    let tid = "c0ffee00-0000-4000-8000-00000000c0de";
    for iss in [
        format!("https://login.microsoftonline.com/{tid}/v2.0"),
        format!("https://sts.windows.net/{tid}/"),
        format!("https://contoso.ciamlogin.com/{tid}/v2.0"),
        format!("https://contoso.b2clogin.com/{tid}/v2.0/"),
    ] {
        assert_eq!(tenant_of_issuer(&iss), Some(tid), "{iss}");
    }
    for iss in ["https://login.test", "https://login.test/", "no-scheme", ""] {
        assert_eq!(tenant_of_issuer(iss), None, "{iss}");
    }
}

#[test]
fn an_issuer_is_matched_exactly_as_written_trailing_slash_included() {
    use crate::validate::ResolvedIssuer;
    let auth0 = Authority::parse("https://tenant.auth0.com/").unwrap();
    let Authority::Issuer(ref issuer) = auth0 else {
        panic!("{auth0:?}")
    };
    assert_eq!(issuer.as_str(), "https://tenant.auth0.com/");
    assert_eq!(
        auth0.issuer_rule(),
        IssuerRule::Exact("https://tenant.auth0.com/".into())
    );
    // Discovery §4.1: the terminating `/` goes before the well-known path is appended.
    assert_eq!(
        auth0.discovery_url().as_str(),
        "https://tenant.auth0.com/.well-known/openid-configuration"
    );
    let google = Authority::parse("https://accounts.google.com").unwrap();
    assert_eq!(
        google.issuer_rule(),
        IssuerRule::Exact("https://accounts.google.com".into())
    );
    assert_eq!(
        google.discovery_url().as_str(),
        "https://accounts.google.com/.well-known/openid-configuration"
    );
    let realm = Authority::parse("https://keycloak.test/realms/x/").unwrap();
    assert_eq!(
        realm.discovery_url().as_str(),
        "https://keycloak.test/realms/x/.well-known/openid-configuration"
    );
    // Discovery §4.3: the document's issuer is the configured one, character for character.
    for (authority, discovered, ok) in [
        (&auth0, "https://tenant.auth0.com/", true),
        (&auth0, "https://tenant.auth0.com", false),
        (&google, "https://accounts.google.com", true),
        (&google, "https://accounts.google.com/", false),
        (&realm, "https://keycloak.test/realms/x/", true),
        (&realm, "https://keycloak.test/realms/x", false),
    ] {
        assert_eq!(
            ResolvedIssuer::from_discovery(&authority.issuer_rule(), discovered).is_ok(),
            ok,
            "{authority:?} and {discovered}"
        );
    }
    // The same from the environment, whitespace around it aside.
    let config = MsalConfig::builder()
        .client_id(ID)
        .authority(" https://tenant.auth0.com/ ")
        .build()
        .unwrap();
    assert_eq!(
        config.authority.issuer_rule(),
        IssuerRule::Exact("https://tenant.auth0.com/".into())
    );
    let problems = problems_of(
        MsalConfig::builder()
            .client_id(ID)
            .authority("https://tenant.auth0.com/?tenant=x"),
    );
    has(&problems, "query or fragment");
}

#[test]
fn entras_issuer_rules_are_unchanged_by_a_trailing_slash() {
    for text in [
        format!("https://login.microsoftonline.com/{TID}"),
        format!("https://login.microsoftonline.com/{TID}/"),
        format!("https://login.microsoftonline.com/{TID}/v2.0/"),
    ] {
        assert_eq!(
            Authority::parse(&text).unwrap().issuer_rule(),
            IssuerRule::Exact(format!("https://login.microsoftonline.com/{TID}/v2.0")),
            "{text}"
        );
    }
}

/// The B2C configuration of `MSAL_INSTANCE` + `MSAL_TENANT_ID` + `MSAL_B2C_POLICY`.
fn b2c_parts(instance: &str, tenant: &str, policy: &str) -> MsalConfig {
    MsalConfig::builder()
        .client_id(ID)
        .instance(instance)
        .tenant_id(tenant)
        .b2c_policy(policy)
        .b2c_allowed_policies("B2C_1_mfa")
        .build()
        .unwrap()
}

fn b2c_authority(authority: &str) -> MsalConfig {
    MsalConfig::builder()
        .client_id(ID)
        .authority(authority)
        .b2c_allowed_policies("B2C_1_mfa")
        .build()
        .unwrap()
}

#[test]
fn a_b2c_custom_domain_authority_is_the_same_config_as_instance_tenant_and_policy() {
    for (authority, instance, tenant, policy) in [
        (
            "https://login.contoso.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0",
            "https://login.contoso.com",
            "contoso.onmicrosoft.com",
            "B2C_1_signin",
        ),
        (
            &format!("https://login.contoso.com/{TID}/B2C_1_signin"),
            "https://login.contoso.com",
            TID,
            "B2C_1_signin",
        ),
        (
            "https://login.contoso.com/tfp/contoso.onmicrosoft.com/B2C_1A_signup_signin/",
            "https://login.contoso.com",
            "contoso.onmicrosoft.com",
            "B2C_1A_signup_signin",
        ),
        (
            "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin",
            "https://contoso.b2clogin.com",
            "contoso.onmicrosoft.com",
            "B2C_1_signin",
        ),
    ] {
        let whole = b2c_authority(authority);
        let parts = b2c_parts(instance, tenant, policy);
        assert_eq!(format!("{whole:?}"), format!("{parts:?}"), "{authority}");
        assert!(
            matches!(&whole.authority, Authority::B2c { policy: p, .. } if p == policy),
            "{authority}: {:?}",
            whole.authority
        );
        // The policy check applies: the configured flow and the allowed ones.
        assert_eq!(
            whole.b2c_policies,
            [policy.to_ascii_lowercase(), "b2c_1_mfa".into()]
        );
        // Secrets go only to the authority's own host.
        assert_eq!(
            whole
                .authority
                .endpoint_origin()
                .unwrap()
                .ascii_serialization(),
            instance
        );
        assert_eq!(
            whole.authority.issuer_rule(),
            IssuerRule::FromDiscovery {
                prefix: format!("{instance}/")
            }
        );
    }
}

#[test]
fn a_half_b2c_authority_is_refused_with_the_shape_it_needs() {
    for (authority, why) in [
        (
            "https://login.contoso.com/B2C_1_signin",
            "names a B2C policy",
        ),
        (
            "https://login.contoso.com/contoso.onmicrosoft.com/B2C_1_signin/extra",
            "names a B2C policy",
        ),
        (
            "https://login.contoso.com/contoso.onmicrosoft.com/B2C_1_a/B2C_1_b",
            "names a B2C policy",
        ),
        (
            "https://login.contoso.com/contoso/B2C_1_signin",
            "neither a domain nor a tenant id",
        ),
        (
            "https://x.b2clogin.com/only-tenant",
            "B2C host but not a B2C authority",
        ),
    ] {
        let problems = problems_of(MsalConfig::builder().client_id(ID).authority(authority));
        has(&problems, why);
        has(&problems, "<tenant>.onmicrosoft.com/<policy>");
    }
    // Both forms at once: which one is meant?
    let problems = problems_of(
        MsalConfig::builder()
            .client_id(ID)
            .authority("https://login.contoso.com/contoso.onmicrosoft.com/B2C_1_signin")
            .b2c_policy("B2C_1_signin"),
    );
    has(&problems, "conflicts with MSAL_AUTHORITY");
    // A path that merely starts like a policy is not one.
    assert!(matches!(
        Authority::parse("https://idp.test/realms/b2c_1_").unwrap(),
        Authority::Issuer(_)
    ));
}

#[test]
fn client_capabilities_are_names_listed_in_code_or_the_environment() {
    let dir = temp_dir("capabilities");
    let from_env = MsalConfig::builder()
        .with_sources(&sources(
            &[
                ("MSAL_CLIENT_ID", ID),
                ("MSAL_TENANT_ID", TID),
                ("MSAL_CLIENT_CAPABILITIES", " cp1, llt cp1 "),
            ],
            &dir,
        ))
        .build()
        .unwrap();
    assert_eq!(from_env.client_capabilities, ["cp1", "llt"]);
    let in_code = MsalConfig::builder()
        .client_id(ID)
        .tenant_id(TID)
        .client_capabilities(["cp1"])
        .build()
        .unwrap();
    assert_eq!(in_code.client_capabilities, ["cp1"]);
    let none = MsalConfig::builder()
        .client_id(ID)
        .tenant_id(TID)
        .build()
        .unwrap();
    assert!(none.client_capabilities.is_empty());

    for bad in ["cp-1", "cp1;x", "\"cp1\""] {
        let problems = problems_of(
            MsalConfig::builder()
                .client_id(ID)
                .tenant_id(TID)
                .with_sources(&sources(&[("MSAL_CLIENT_CAPABILITIES", bad)], &dir)),
        );
        has(&problems, "MSAL_CLIENT_CAPABILITIES");
        has(&problems, "such as cp1");
    }
    // In code each item is one name: a separator inside it is refused, not split.
    for bad in ["cp1 cp2", "cp1,cp2", "", "cp-1"] {
        let problems = problems_of(
            MsalConfig::builder()
                .client_id(ID)
                .tenant_id(TID)
                .client_capabilities(["cp1", bad]),
        );
        has(&problems, "MSAL_CLIENT_CAPABILITIES (from code)");
        has(&problems, "one name of letters, digits and '_'");
    }
}
