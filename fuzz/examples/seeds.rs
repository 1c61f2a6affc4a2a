//! Writes the fuzz targets' seed corpora to `fuzz/seeds/<target>/`:
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds` (while no target runs: the
//! tokens are minted by a TestIdp on the harness's fixed address).
//!
//! The bearer, JWKS and session seeds come from `msal_runtime::__fuzz::seeds` (real tokens,
//! key sets and encoded records); the others are the hand-picked inputs below. Each file is
//! a target's input as it reads it, control byte first where the target has one.

use std::path::Path;

use msal_runtime::__fuzz::{self, Seed};

fn with(control: u8, text: &str) -> Vec<u8> {
    let mut bytes = vec![control];
    bytes.extend(text.as_bytes());
    bytes
}

fn add(out: &mut Vec<Seed>, target: &'static str, name: &str, bytes: impl Into<Vec<u8>>) {
    out.push(Seed {
        target,
        name: name.to_owned(),
        bytes: bytes.into(),
    });
}

fn callback(out: &mut Vec<Seed>) {
    let iss = format!(
        "http%3A%2F%2F{}%2F{}%2Fv2.0",
        __fuzz::IDP_ADDR.replace(':', "%3A"),
        __fuzz::TENANT
    );
    let claims = "%7B%22id_token%22%3A%7B%22acrs%22%3A%7B%22essential%22%3Atrue%2C%22value%22%3A%22c1%22%7D%7D%7D";
    let seeds: &[(&str, u8, String)] = &[
        ("callback-code", 0, "code=0.AXYA&state=unknown-state&session_state=s1".into()),
        ("callback-no-state", 0, "code=0.AXYA".into()),
        ("callback-no-code", 0, "state=unknown-state".into()),
        (
            "callback-error",
            0,
            "error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent.&state=s".into(),
        ),
        (
            "callback-error-markup",
            4,
            "error=%3Cfuzz%3E&error_description=%3Cfuzz+onload%3Dx%3EAADSTS50058&state=x".into(),
        ),
        ("callback-empty", 0, String::new()),
        ("callback-post", 1, "code=0.AXYA&state=unknown-state&session_state=s1".into()),
        (
            "callback-post-error",
            5,
            "error=interaction_required&error_description=AADSTS50076+MFA&state=s".into(),
        ),
        ("callback-real-flow", 8, "code=not-a-real-code&state=STATE".into()),
        ("callback-real-flow-post", 9, "code=not-a-real-code&state=STATE".into()),
        ("callback-real-flow-error", 12, "error=login_required&state=STATE".into()),
        ("callback-real-flow-no-code", 8, "state=STATE".into()),
        (
            "login-hints",
            2,
            "next=%2Fafter%3Fx%3D1&login_hint=alice%40contoso.test&domain_hint=contoso.test&prompt=login&scopes=Mail.Read+api%3A%2F%2Fx%2F.default".into(),
        ),
        ("login-claims", 2, format!("claims={claims}&next=/docs")),
        ("login-bad-claims", 2, "claims=%7B%22id_token%22%3A".into()),
        ("login-step-up", 2, "max_age=300&acr_values=urn%3Ahigh+phr&next=/admin".into()),
        ("login-max-age-bad", 2, "max_age=-1".into()),
        ("login-max-age-huge", 2, "max_age=99999999999999999999999".into()),
        ("login-acr-bad", 2, "acr_values=%C3%A9%0A".into()),
        ("login-next-evil", 6, "next=%2F%2Fevil.test&prompt=none".into()),
        ("signout-oidc", 3, format!("sid=fuzz-sid&iss={iss}")),
        ("signout-oidc-other-issuer", 3, "sid=fuzz-sid&iss=https%3A%2F%2Fevil.test%2Fv2.0".into()),
        ("signout-oidc-no-sid", 7, "iss=x".into()),
    ];
    for (name, control, text) in seeds {
        add(out, "callback", name, with(*control, text));
    }
}

fn next(out: &mut Vec<Seed>) {
    let long = format!("/{}", "a".repeat(2047));
    let seeds = [
        ("root", "/"),
        ("path", "/me"),
        ("query", "/a/b?c=d&e=%2F%2F"),
        ("fragment", "/docs#intro"),
        ("encoded-slashes", "/%2F%2Fevil.test"),
        ("double-slash", "//evil.test"),
        ("slash-backslash", "/\\evil.test"),
        ("backslashes", "\\\\evil.test"),
        ("absolute", "https://evil.test/"),
        ("javascript", "javascript:alert(1)"),
        ("tab", "/\t/evil.test"),
        ("newline", "/\n/evil.test"),
        ("ideographic-space", "/\u{3000}/evil.test"),
        ("bom", "\u{feff}/x"),
        ("unicode", "/caf\u{e9}"),
        ("relative", "evil"),
        ("dots", "/../..//evil.test"),
        ("at", "/@evil.test"),
        ("empty", ""),
        ("longest", long.as_str()),
    ];
    for (name, text) in seeds {
        add(out, "next", name, text);
    }
    add(out, "next", "too-long", format!("{long}b"));
}

fn config(out: &mut Vec<Seed>) {
    let client = "MSAL_CLIENT_ID=11111111-2222-4333-8444-555555555555\n";
    let tenant = "MSAL_TENANT_ID=c0ffee00-0000-4000-8000-00000000c0de\n";
    let key = "MSAL_SESSION_KEY=XuXeXuXeXuXeXuXeXuXeXuXeXuXeXuXeXuXeXuXeXuU=\n";
    let seeds: Vec<(&str, String)> = vec![
        ("dotenv-minimal", format!("{client}{tenant}")),
        (
            "dotenv-web-app",
            format!(
                "{client}{tenant}MSAL_CLIENT_SECRET=Zq7secretValue42Xy\nMSAL_PUBLIC_URL=https://app.contoso.test\n\
                 MSAL_SCOPES=User.Read, api://x/Tasks.Read\nMSAL_CLIENT_CAPABILITIES=cp1\n{key}\
                 MSAL_SESSION_OLD_KEYS=Zq7oldKeyNotBase64Xy\nMSAL_SESSION_LIFETIME=1d\nMSAL_CLOCK_SKEW=5m\n\
                 MSAL_HTTP_TIMEOUT=1500ms\nMSAL_JWKS_COOLDOWN=5m\nMSAL_COOKIE_NAME=app_session\n\
                 MSAL_ROUTE_PREFIX=/signin\nMSAL_RESPONSE_MODE=form_post\nMSAL_TOKEN_AUTH_METHOD=client_secret_basic\n"
            ),
        ),
        (
            "dotenv-quoting",
            format!(
                "# comment\nexport {client}MSAL_TENANT_ID='c0ffee00-0000-4000-8000-00000000c0de'\n\
                 MSAL_CLIENT_SECRET=\"Zq7quoted00Xy\" # note\nMSAL_AUDIENCE=${{MSAL_CLIENT_ID}},api://x\n\
                 MSAL_GRAPH_URL=\"https://graph.microsoft.com\nMSAL_ROLES_FROM_ANY_TENANT=yes please\n"
            ),
        ),
        (
            "dotenv-crlf",
            format!("{}\r\n{}\r\n", client.trim(), tenant.trim()),
        ),
        (
            "b2c",
            format!(
                "{client}MSAL_AUTHORITY=https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin\n\
                 MSAL_B2C_ALLOWED_POLICIES=B2C_1A_mfa\n"
            ),
        ),
        (
            "ciam",
            format!(
                "{client}MSAL_AUTHORITY=https://contoso.ciamlogin.com/contoso.onmicrosoft.com\n"
            ),
        ),
        (
            "instance-and-tenants",
            format!(
                "{client}MSAL_INSTANCE=https://login.microsoftonline.us\nMSAL_TENANT_ID=organizations\n\
                 MSAL_ALLOWED_TENANTS=C0FFEE00-0000-4000-8000-00000000C0DE, 0ddba11a-0000-4000-8000-000000000001\n"
            ),
        ),
        (
            "redis",
            format!(
                "{client}{tenant}MSAL_SESSION_STORE=rediss://:Zq7redisPassword1Xy@cache.test:6380/0\n\
                 MSAL_REDIS_CA_FILE=missing-ca.pem\nMSAL_MEMORY_SESSIONS_MAX=50\n"
            ),
        ),
        (
            "certificate-path",
            format!("{client}{tenant}MSAL_CLIENT_CERTIFICATE=missing-certificate.pem\n"),
        ),
        (
            "certificate-pem",
            format!(
                "{client}{tenant}MSAL_CLIENT_CERTIFICATE=\"-----BEGIN CERTIFICATE-----\nZq7notACertificateXy\n-----END CERTIFICATE-----\n\
                 -----BEGIN PRIVATE KEY-----\nZq7notAKey00Xy\n-----END PRIVATE KEY-----\"\n"
            ),
        ),
        (
            "environment-wins",
            format!(
                "{client}MSAL_TENANT_ID=common\n\0MSAL_TENANT_ID=c0ffee00-0000-4000-8000-00000000c0de\nMSAL_CLIENT_SECRET=Zq7fromEnv0001Xy\n"
            ),
        ),
        (
            "environment-only",
            format!(
                "\0{client}{tenant}MSAL_REDIRECT_URI=https://app.test/cb#frag\nMSAL_POST_LOGOUT_REDIRECT_URI=http://localhost:3000/\n"
            ),
        ),
        (
            "malformed",
            "MSAL_CLIENT_ID\n=x\n'unterminated\nMSAL_TENANT_ID=\"open\n".into(),
        ),
    ];
    for (name, text) in seeds {
        add(out, "config", name, text);
    }
}

fn dsl(out: &mut Vec<Seed>) {
    let deep = |n: usize| format!("{}roles = \"Admin\"{}", "any(".repeat(n), ")".repeat(n));
    let tenant = __fuzz::TENANT;
    let seeds: Vec<(&str, u8, String)> = vec![
        ("signed-in", 0, String::new()),
        ("scopes", 0, "scopes = \"User.Read Mail.Read\"".into()),
        (
            "scopes-list",
            2,
            "scopes = [\"User.Read\", \"api://x/Tasks.Read\"]".into(),
        ),
        (
            "roles-any",
            0,
            format!(
                "roles = \"Admin\", any(tenants = \"{tenant}\", groups = \"00000000-0000-4000-8000-0000000000ad\")"
            ),
        ),
        (
            "auth-context",
            0,
            "scopes = \"Tasks.Write\", auth_context = \"c1\"".into(),
        ),
        (
            "max-age-check",
            2,
            "max_age = \"1h30m\", check = docs::owns_document".into(),
        ),
        ("acr", 0, "acr = [\"phr\", \"phrh\"]".into()),
        (
            "app-permissions",
            0,
            "app_permissions = \"Tasks.Read.All\"".into(),
        ),
        (
            "not",
            0,
            "not(roles = \"Guest\"), all(groups = \"00000000-0000-4000-8000-0000000000ad\")".into(),
        ),
        (
            "on-denied-crate",
            0,
            "roles = \"Admin\", on_denied = pages::denied, crate = \"::my_msal\"".into(),
        ),
        ("generic-check", 10, "check = Docs::<u64>::owns".into()),
        ("rule", 1, "roles = \"Admin\", max_age = \"1h\"".into()),
        ("rule-empty", 1, String::new()),
        ("rule-refused", 1, "roles = \"\"".into()),
        ("typo", 0, "rolse = \"Admin\"".into()),
        ("not-a-string", 0, "max_age = 5, roles = Admin".into()),
        ("check-string", 0, "check = \"owns\", check = owns()".into()),
        (
            "negated-acr",
            0,
            "not(acr = \"phr\"), not(max_age = \"5m\")".into(),
        ),
        (
            "contradiction",
            0,
            "acr = \"phr\", app_permissions = \"Tasks.Read.All\"".into(),
        ),
        ("acr-disjoint", 0, "acr = \"a\", all(acr = \"b\")".into()),
        (
            "bad-values",
            0,
            "tenants = \"contoso\", auth_context = \"c100\", max_age = \"30s\"".into(),
        ),
        ("on-sync-fn", 4, "roles = \"Admin\"".into()),
        ("on-method", 6, "roles = \"Admin\"".into()),
        ("on-struct", 8, "roles = \"Admin\"".into()),
        ("nesting-limit", 0, deep(16)),
        ("nesting-too-deep", 0, deep(17)),
    ];
    for (name, control, text) in seeds {
        add(out, "dsl", name, with(control, &text));
    }
}

fn main() {
    let mut seeds = __fuzz::seeds();
    callback(&mut seeds);
    next(&mut seeds);
    config(&mut seeds);
    dsl(&mut seeds);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut total = 0;
    for seed in &seeds {
        let dir = root.join(seed.target);
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(&seed.name), &seed.bytes));
        if let Err(e) = written {
            eprintln!("seeds: {}/{}: {e}", seed.target, seed.name);
            std::process::exit(1);
        }
        total += seed.bytes.len();
    }
    println!(
        "seeds: {} files, {total} bytes, in {}",
        seeds.len(),
        root.display()
    );
}
