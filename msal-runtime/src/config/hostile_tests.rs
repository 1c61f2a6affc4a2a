//! Hostile input (proptest): the `MSAL_*` configuration from the environment, `.env` and the secrets directory
//! never panics the code that reads it, and garbage is refused cleanly. The generators,
//! keys and the small provider they share are in `crate::tests::hostile`.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use url::Url;

use crate::config::{MsalConfig, SECRET_VARIABLES, Sources, VARIABLES};

use crate::tests::hostile::*;

// ---------------------------------------------------------------------------------------------
// Configuration: environment, `.env`, secrets directory
// ---------------------------------------------------------------------------------------------

/// A secret value that cannot occur in a message by chance: a marker and random letters.
fn secret_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{12,24}".prop_map(|s| format!("Zq7{s}Xy"))
}

/// A value for one variable: plausible ones for it, near misses, and arbitrary text.
fn variable_value(name: &'static str) -> BoxedStrategy<String> {
    let arbitrary = proptest::collection::vec(any::<char>(), 0..200)
        .prop_map(|c| c.into_iter().collect::<String>());
    let duration = (
        "[0-9]{1,22}",
        proptest::sample::select(vec!["", "s", "m", "h", "d", "ms", "x", " m", "M"]),
    )
        .prop_map(|(n, u)| format!("{n}{u}"));
    let url = (
        proptest::sample::select(vec![
            "https://",
            "http://",
            "http://127.0.0.1:",
            "http://localhost",
            "redis://",
            "ftp://",
            "",
            "https://login.microsoftonline.com/",
            "https://x.b2clogin.com/",
            "https://x.ciamlogin.com/",
            "https://login.contoso.test/contoso.onmicrosoft.com/B2C_1_",
            "https://login.contoso.test/tfp/",
        ]),
        "[a-zA-Z0-9./:@?#%{}-]{0,60}",
    )
        .prop_map(|(a, b)| format!("{a}{b}"));
    let guid = prop_oneof![
        Just(TID.to_owned()),
        Just(TID.to_uppercase()),
        Just("common".to_owned()),
        Just("organizations".to_owned()),
        Just("consumers".to_owned()),
        "[0-9a-fA-F-]{30,40}",
        "[a-z.]{1,30}",
    ];
    let specific: BoxedStrategy<String> = match name {
        "MSAL_SESSION_LIFETIME" | "MSAL_CLOCK_SKEW" | "MSAL_JWKS_COOLDOWN"
        | "MSAL_HTTP_TIMEOUT" => duration.boxed(),
        "MSAL_INSTANCE" | "MSAL_AUTHORITY" | "MSAL_PUBLIC_URL" | "MSAL_REDIRECT_URI"
        | "MSAL_POST_LOGOUT_REDIRECT_URI" | "MSAL_GRAPH_URL" => url.boxed(),
        "MSAL_TENANT_ID" | "MSAL_CLIENT_ID" => guid.boxed(),
        "MSAL_ALLOWED_TENANTS" | "MSAL_AUDIENCE" | "MSAL_SCOPES" => {
            proptest::collection::vec(guid, 0..4)
                .prop_map(|g| g.join(", "))
                .boxed()
        }
        "MSAL_RESPONSE_MODE" => proptest::sample::select(vec!["query", "form_post", "Query", ""])
            .prop_map(str::to_owned)
            .boxed(),
        "MSAL_TOKEN_AUTH_METHOD" => proptest::sample::select(vec![
            "client_secret_post",
            "client_secret_basic",
            "private_key_jwt",
        ])
        .prop_map(str::to_owned)
        .boxed(),
        "MSAL_ACCEPT_UNSCOPED_TOKENS" => {
            proptest::sample::select(vec!["true", "FALSE", "1", "no", "yes please"])
                .prop_map(str::to_owned)
                .boxed()
        }
        "MSAL_CLIENT_CAPABILITIES" => proptest::collection::vec(
            prop_oneof![Just("cp1".to_owned()), "[A-Za-z0-9_]{1,6}", "[a-z0-9_;\"'-]{0,6}"],
            0..4,
        )
        .prop_map(|c| c.join(", "))
        .boxed(),
        "MSAL_ROUTE_PREFIX" | "MSAL_COOKIE_NAME" => "[/a-zA-Z0-9_ ?#{}*:-]{0,20}".boxed(),
        // Secrets: values made to be recognisable, so an echo is caught. A certificate is
        // given as PEM text here (a path is another test).
        "MSAL_CLIENT_SECRET" => secret_value().boxed(),
        "MSAL_SESSION_KEY" => prop_oneof![
            secret_value(),
            proptest::collection::vec(any::<u8>(), 32..=32).prop_map(|b| STANDARD.encode(b)),
        ]
        .boxed(),
        "MSAL_SESSION_OLD_KEYS" => proptest::collection::vec(secret_value(), 1..3)
            .prop_map(|k| k.join(","))
            .boxed(),
        "MSAL_SESSION_STORE" => prop_oneof![
            secret_value(),
            secret_value().prop_map(|s| format!("redis://user:{s}@cache.test:6379/0")),
            Just("memory".to_owned()),
        ]
        .boxed(),
        "MSAL_CLIENT_CERTIFICATE" => secret_value()
            .prop_map(|s| {
                format!(
                    "-----BEGIN CERTIFICATE-----\n{s}\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n{s}\n-----END PRIVATE KEY-----\n"
                )
            })
            .boxed(),
        _ => arbitrary.clone().boxed(),
    };
    let secret = SECRET_VARIABLES.contains(&name);
    if secret {
        specific
    } else {
        prop_oneof![3 => specific, 1 => arbitrary].boxed()
    }
}

/// A random subset of the variables, each with a value; secrets directory not used.
fn environment() -> impl Strategy<Value = BTreeMap<String, String>> {
    let each: Vec<BoxedStrategy<Option<(String, String)>>> = VARIABLES
        .iter()
        .filter(|name| **name != "MSAL_SECRETS_DIR")
        .map(|name| {
            let weight = if matches!(*name, "MSAL_CLIENT_ID" | "MSAL_TENANT_ID") {
                4
            } else {
                1
            };
            prop_oneof![
                2 => Just(None),
                weight => variable_value(name).prop_map(move |v| Some(((*name).to_owned(), v))),
            ]
            .boxed()
        })
        .collect();
    each.prop_map(|pairs| pairs.into_iter().flatten().collect())
}

/// The secret parts of `values` that must not be shown: whole values (trimmed), each
/// comma-separated entry, and a Redis URL's password.
fn secrets_in(values: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in values {
        if !SECRET_VARIABLES.contains(&name.as_str()) {
            continue;
        }
        for part in value.split(',').map(str::trim).filter(|p| p.len() >= 8) {
            match Url::parse(part) {
                Ok(url) if url.password().is_some() => {
                    out.extend(url.password().map(str::to_owned));
                }
                _ => {
                    // Secret-marked text only: a valid base64 key is checked as a whole.
                    out.push(part.to_owned());
                    out.extend(
                        part.split(['\n', '/', '@', ':'])
                            .filter(|p| p.starts_with("Zq7"))
                            .map(str::to_owned),
                    );
                }
            }
        }
    }
    out
}

/// Builds from these sources and checks the outcome: `Ok`, or an error listing at least one
/// problem, each with a message; no secret in the error's `Display` or `Debug`, nor in the
/// `Debug` of the builder or of the configuration; and an accepted configuration holds
/// only validated values.
fn check_config(sources: &Sources, secrets: &[String]) -> TestCaseResult {
    let builder = MsalConfig::builder().with_sources(sources);
    let builder_debug = format!("{builder:?}");
    let shown = match builder.build() {
        Ok(config) => {
            prop_assert!(
                config.route_prefix.starts_with('/') && !config.route_prefix.ends_with('/')
            );
            prop_assert!(config.clock_skew <= Duration::from_secs(15 * 60));
            prop_assert!(!config.session_lifetime.is_zero());
            prop_assert!(!config.cookie_name.is_empty());
            prop_assert!(
                config
                    .allowed_tenants
                    .iter()
                    .all(|t| is_guid(t) && *t == t.to_ascii_lowercase())
            );
            prop_assert!(!config.client_id.trim().is_empty());
            prop_assert!(config.client_capabilities.iter().all(
                |c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            ));
            format!("{config:?}")
        }
        Err(error) => {
            prop_assert!(!error.problems().is_empty(), "an error without problems");
            for problem in error.problems() {
                prop_assert!(!problem.message.trim().is_empty(), "an empty problem");
            }
            format!("{error}\n{error:?}")
        }
    };
    for secret in secrets {
        prop_assert!(
            !shown.contains(secret.as_str()),
            "secret {:?} shown:\n{}",
            secret,
            shown
        );
        prop_assert!(
            !builder_debug.contains(secret.as_str()),
            "secret {:?} in the builder's Debug",
            secret
        );
    }
    Ok(())
}

/// A directory that does not exist, so no real secrets directory is read.
fn nowhere() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("msal-hostile-nowhere-{}", std::process::id()))
}

/// A fresh temporary directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "msal-hostile-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(dir.join("secrets")).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Any values for any subset of the `MSAL_*` variables (environment): building never
    /// panics; it is `Ok` with validated values or an error listing its problems; and no
    /// secret value (client secret, certificate, session keys, Redis password) is shown.
    #[test]
    fn hostile_environment_is_ok_or_a_clean_error(env in environment()) {
        let secrets = secrets_in(&env);
        let sources = Sources { env, dotenv: None, default_secrets_dir: nowhere() };
        check_config(&sources, &secrets)?;
    }

    /// A secrets directory of files holding arbitrary bytes (not UTF-8, empty, huge
    /// lines): never panics, a clean outcome, and the files' secret contents never shown.
    #[test]
    fn hostile_secrets_dir_is_ok_or_a_clean_error(
        env in environment(),
        files in proptest::collection::vec(
            // Not the certificate: a file of it holding a path is another test.
            (proptest::sample::select(VARIABLES[..2].iter().chain(&VARIABLES[3..]).copied().collect::<Vec<_>>()), prop_oneof![
                secret_value().prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..256),
            ]),
            0..6,
        ),
    ) {
        let dir = TempDir::new();
        let mut shown_values = env.clone();
        for (name, bytes) in &files {
            let path = dir.0.join("secrets").join(name.to_ascii_lowercase());
            std::fs::write(&path, bytes).unwrap();
            if let Ok(text) = std::str::from_utf8(bytes) {
                shown_values.entry((*name).to_owned()).or_insert_with(|| text.to_owned());
            }
        }
        let secrets = secrets_in(&shown_values);
        let sources = Sources { env, dotenv: None, default_secrets_dir: dir.0.join("secrets") };
        check_config(&sources, &secrets)?;
    }

    /// A `.env` file of hostile lines (every quoting style, `export`, comments, `${VAR}`
    /// substitution, unterminated quotes, stray bytes, CRLF): reading it never panics and the
    /// outcome is `Ok` or an error listing its problems.
    #[test]
    fn hostile_dotenv_is_ok_or_a_clean_error(text in dotenv_text(false)) {
        let dir = TempDir::new();
        let path = dir.0.join(".env");
        std::fs::write(&path, &text).unwrap();
        let sources = Sources {
            env: BTreeMap::new(),
            dotenv: Some(path),
            default_secrets_dir: nowhere(),
        };
        check_config(&sources, &[])?;
    }
}

/// One `.env` line.
fn dotenv_line(secrets_only: bool) -> impl Strategy<Value = String> {
    let name = if secrets_only {
        proptest::sample::select(SECRET_VARIABLES.to_vec()).boxed()
    } else {
        proptest::sample::select(VARIABLES.to_vec()).boxed()
    };
    let value = if secrets_only {
        secret_value().boxed()
    } else {
        prop_oneof![
            secret_value(),
            proptest::collection::vec(any::<char>(), 0..60)
                .prop_map(|c| c.into_iter().collect::<String>()),
            "[a-zA-Z0-9 '\"\\\\$={}#-]{0,40}",
        ]
        .boxed()
    };
    let quoting = proptest::sample::select(vec![
        "{v}",
        "'{v}'",
        "\"{v}\"",
        "\"{v}",
        "'{v}",
        "{v} x",
        "{v} # note",
        "${{{v}}}",
        "\"{v}\\\"",
        "{v}\\",
        "$({v})",
    ]);
    (
        proptest::sample::select(vec!["", "export ", "  ", "#"]),
        name,
        proptest::sample::select(vec!["=", " = ", "=\t", ":", ""]),
        quoting,
        value,
        proptest::sample::select(vec!["\n", "\r\n", "\n\n"]),
    )
        .prop_map(|(lead, name, eq, quoting, value, end)| {
            let value = quoting
                .replace("{v}", &value)
                .replace("{{", "{")
                .replace("}}", "}");
            format!("{lead}{name}{eq}{value}{end}")
        })
}

fn dotenv_text(secrets_only: bool) -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(dotenv_line(secrets_only), 0..10),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
    )
        .prop_map(|(lines, junk)| {
            let mut text = lines.concat().into_bytes();
            if let Some(junk) = junk {
                text.extend(junk);
            }
            text
        })
}

proptest! {
    #![proptest_config(config(256))]

    /// A `.env` file whose lines set the secret variables, some of them malformed: the
    /// error never shows a secret value.
    #[test]
    fn hostile_dotenv_errors_never_echo_secret_values(text in dotenv_text(true)) {
        let dir = TempDir::new();
        let path = dir.0.join(".env");
        std::fs::write(&path, &text).unwrap();
        let secrets: Vec<String> = String::from_utf8_lossy(&text)
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.starts_with("Zq7") && w.ends_with("Xy"))
            .map(str::to_owned)
            .collect();
        let sources = Sources {
            env: BTreeMap::new(),
            dotenv: Some(path),
            default_secrets_dir: nowhere(),
        };
        check_config(&sources, &secrets)?;
    }

    /// `MSAL_CLIENT_CERTIFICATE` is a secret variable: when its value is not PEM text it is
    /// read as a path, and the error must still not show the value (it may be key material
    /// pasted without its PEM armour).
    #[test]
    fn hostile_certificate_errors_never_echo_the_value(value in secret_value()) {
        let env: BTreeMap<String, String> = [
            ("MSAL_CLIENT_ID".to_owned(), CLIENT.to_owned()),
            ("MSAL_TENANT_ID".to_owned(), TID.to_owned()),
            ("MSAL_CLIENT_CERTIFICATE".to_owned(), value.clone()),
        ]
        .into();
        let sources = Sources { env, dotenv: None, default_secrets_dir: nowhere() };
        check_config(&sources, &[value])?;
    }
}

/// A B2C authority's parts: a custom domain or `*.b2clogin.com`, a tenant (domain or id, in
/// any case), a user flow or custom policy, and the optional `/tfp/` and `/v2.0`.
fn b2c_parts() -> impl Strategy<Value = (String, String, String, bool, bool)> {
    (
        prop_oneof![
            "login\\.[a-z]{1,10}\\.(test|com|co\\.uk)",
            "[a-z]{1,10}\\.b2clogin\\.com",
        ],
        prop_oneof![
            Just(TID.to_owned()),
            Just(TID.to_uppercase()),
            "[a-z0-9]{1,10}\\.onmicrosoft\\.com",
        ],
        "[Bb]2[Cc]_1[Aa]?_[A-Za-z0-9_]{1,12}",
        any::<bool>(),
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// A B2C authority given whole (`MSAL_AUTHORITY`, custom domain or not) is the same
    /// configuration as its parts (`MSAL_INSTANCE` + `MSAL_TENANT_ID` + `MSAL_B2C_POLICY`):
    /// the same authority, policy check and host rule.
    #[test]
    fn hostile_b2c_authority_and_its_parts_are_the_same_config(
        (host, tenant, policy, tfp, v2) in b2c_parts()
    ) {
        let whole = format!(
            "https://{host}/{}{tenant}/{policy}{}",
            if tfp { "tfp/" } else { "" },
            if v2 { "/v2.0" } else { "" },
        );
        let from_whole = MsalConfig::builder().client_id(TID).authority(&whole).build();
        let from_parts = MsalConfig::builder()
            .client_id(TID)
            .instance(format!("https://{host}"))
            .tenant_id(&tenant)
            .b2c_policy(&policy)
            .build();
        match (from_whole, from_parts) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
                prop_assert_eq!(a.b2c_policies, vec![policy.to_ascii_lowercase()]);
            }
            (a, b) => prop_assert!(false, "{} gave {:?}, its parts {:?}", whole, a.err(), b.err()),
        }
    }
}
