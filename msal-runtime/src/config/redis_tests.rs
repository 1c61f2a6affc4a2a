//! The Redis forms of `MSAL_SESSION_STORE` and the private CA of `MSAL_REDIS_CA_FILE`: each
//! accepted form, and every form the client would misread refused at start-up with its fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

use super::tests::{ID, TID, has, problems_of};

fn base() -> MsalConfigBuilder {
    MsalConfig::builder().client_id(ID).tenant_id(TID)
}

/// A temporary file, removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn with(contents: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!(
            "msal-redis-ca-{}-{}.pem",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A self-signed certificate: any CA certificate will do for reading.
#[cfg(feature = "redis")]
const CA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/test-only-client.cert.pem"
);

#[cfg(feature = "redis")]
#[test]
fn every_redis_form_users_deploy_is_accepted() {
    for url in [
        "redis://127.0.0.1",
        "redis://cache.internal:6379/2",
        "redis://user:p4ss@cache.internal:6379",
        // Azure Cache for Redis: TLS on 6380, the access key as the password.
        "rediss://:k3y%2Fwith%2Bslash=@contoso.redis.cache.windows.net:6380",
        "rediss://:k3y@contoso.redis.cache.windows.net:6380/0",
        "redis-cluster://10.0.0.1:7000",
        "redis-cluster://10.0.0.1:7000?node=10.0.0.2:7001&node=10.0.0.3:7002",
        "rediss-cluster://:k3y@contoso.redis.cache.windows.net:6380?node=contoso.redis.cache.windows.net:15000",
        "REDISS://:k3y@contoso.redis.cache.windows.net:6380",
    ] {
        let config = base()
            .session_store(url)
            .build()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(
            matches!(config.session_store, SessionStoreKind::Redis(_)),
            "{url}"
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("k3y") && !shown.contains("p4ss"), "{shown}");
    }
}

#[cfg(feature = "redis")]
#[test]
fn redis_urls_the_client_would_misread_are_refused_with_their_fix() {
    for (url, needle) in [
        (
            "redis-cluster://a:7000,b:7001,c:7002",
            "separated by commas",
        ),
        ("redis-cluster://a,b:7001", "separated by commas"),
        (
            "redis://a:6379?node=b:6379",
            "a single Redis server ignores",
        ),
        (
            "redis-cluster://a:7000?nodes=b:7001",
            "takes only node=host:port",
        ),
        ("redis-cluster://a:7000?node=b", "which is not host:port"),
        ("redis-cluster://a:7000?node=b:0", "which is not host:port"),
        (
            "redis-cluster://a:7000/3",
            "Redis Cluster has only database 0",
        ),
        ("redis://a:6379/db1", "not a database number"),
        ("redis://a:6379/256", "not a database number"),
        ("redis-sentinel://a:26379", "does not support"),
        ("valkeys://a:6380", "does not support"),
        ("redis://:p4ss#w0rd@a:6379", "'#' as %23"),
        ("redis://a:6379/0#x", "#fragment"),
        // An Azure access key with an unencoded '/' breaks the URL.
        (
            "rediss://:p4ss/w0rd=@contoso.redis.cache.windows.net:6380",
            "percent-encode",
        ),
        ("redis://", "has no host"),
        ("redis-cluster://:p4ss@a:99999", "percent-encode"),
    ] {
        let problems = problems_of(base().session_store(url));
        has(&problems, "MSAL_SESSION_STORE (from code)");
        has(&problems, needle);
        let shown = problems.join("\n");
        assert!(
            !shown.contains("p4ss") && !shown.contains("w0rd"),
            "{url}: {shown}"
        );
    }
    let problems = problems_of(base().session_store("postgres://db"));
    has(&problems, "must be 'memory' or a redis:// URL");
    has(&problems, "rediss-cluster://");
}

#[cfg(feature = "redis")]
#[test]
fn a_ca_file_is_read_at_start_up_and_trusted_alone() {
    let config = base()
        .session_store("rediss://:k3y@127.0.0.1:6380")
        .redis_ca_file(CA)
        .build()
        .unwrap();
    let ca = config.redis_ca.as_ref().unwrap();
    assert_eq!(ca.len(), 1);
    assert_eq!(ca.path(), std::path::Path::new(CA));
    assert!(format!("{config:?}").contains("certificates: 1"));
    // No CA file: the public roots.
    let config = base()
        .session_store("rediss-cluster://127.0.0.1:7000")
        .build()
        .unwrap();
    assert!(config.redis_ca.is_none());
    // A bundle of two, with a key among them, is two certificates.
    let pem = std::fs::read_to_string(CA).unwrap();
    let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let bundle = TempFile::with(format!("{pem}{key}{pem}").as_bytes());
    let config = base()
        .session_store("rediss-cluster://127.0.0.1:7000")
        .redis_ca_file(bundle.path())
        .build()
        .unwrap();
    assert_eq!(config.redis_ca.unwrap().len(), 2);
}

#[cfg(feature = "redis")]
#[test]
fn a_ca_file_that_cannot_work_is_a_start_up_error() {
    let tls = "rediss://127.0.0.1:6380";
    let missing = std::env::temp_dir().join("msal-no-such-ca.pem");
    let problems = problems_of(
        base()
            .session_store(tls)
            .redis_ca_file(missing.display().to_string()),
    );
    has(&problems, "MSAL_REDIS_CA_FILE (from code): '");
    has(&problems, "cannot be read");

    let empty = TempFile::with(b"not a certificate\n");
    let problems = problems_of(base().session_store(tls).redis_ca_file(empty.path()));
    has(&problems, "holds no certificate");

    let key_only =
        TempFile::with(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    let problems = problems_of(base().session_store(tls).redis_ca_file(key_only.path()));
    has(&problems, "holds no certificate");

    let garbage =
        TempFile::with(b"-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n");
    let problems = problems_of(base().session_store(tls).redis_ca_file(garbage.path()));
    has(
        &problems,
        "certificate 1 of 1 is not a usable X.509 certificate",
    );

    let unterminated = TempFile::with(b"-----BEGIN CERTIFICATE-----\nAAAAAAAA\n");
    let problems = problems_of(base().session_store(tls).redis_ca_file(unterminated.path()));
    has(&problems, "is not valid PEM");

    let pem = std::fs::read_to_string(CA).unwrap();
    let problems = problems_of(base().session_store(tls).redis_ca_file(pem));
    has(&problems, "it must be the path of a PEM file");

    // A CA for a store that is not TLS would trust nothing: refused, not ignored.
    for store in [
        None,
        Some("memory"),
        Some("redis://127.0.0.1:6379"),
        Some("redis-cluster://127.0.0.1:7000"),
    ] {
        let mut builder = base().redis_ca_file(CA);
        if let Some(store) = store {
            builder = builder.session_store(store);
        }
        let problems = problems_of(builder);
        has(&problems, "MSAL_SESSION_STORE is not a TLS Redis URL");
        assert_eq!(problems.len(), 1, "{problems:#?}");
    }
    // A refused store URL is one problem, not two.
    let problems = problems_of(base().session_store("rediss://a,b:1").redis_ca_file(CA));
    assert_eq!(problems.len(), 1, "{problems:#?}");
}

#[cfg(not(feature = "redis"))]
#[test]
fn without_the_redis_feature_redis_settings_say_so() {
    for url in [
        "redis://127.0.0.1:6379",
        "rediss://:k@h:6380",
        "redis-cluster://h:7000",
    ] {
        let problems = problems_of(base().session_store(url));
        has(
            &problems,
            "MSAL_SESSION_STORE (from code): is a Redis URL, but this build has no Redis support",
        );
    }
    let ca = TempFile::with(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    let problems = problems_of(base().redis_ca_file(ca.path()));
    has(
        &problems,
        "MSAL_REDIS_CA_FILE (from code): is set, but this build has no Redis support",
    );
    let config = base().session_store("memory").build().unwrap();
    assert_eq!(config.session_store, SessionStoreKind::Memory);
}
