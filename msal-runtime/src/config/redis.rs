//! The Redis forms `MSAL_SESSION_STORE` accepts, and the private CA of `MSAL_REDIS_CA_FILE`:
//! checked here, at start-up, so a Redis URL that cannot work is a configuration error
//! naming its fix rather than a 503 on every sign-in.
//!
//! | form | what |
//! | --- | --- |
//! | `redis://[[user]:password@]host[:port][/db]` | one server, plain TCP (port 6379, db 0) |
//! | `rediss://[[user]:password@]host[:port][/db]` | one server over TLS |
//! | `redis-cluster://[[user]:password@]host:port[?node=host:port&node=…]` | Redis Cluster |
//! | `rediss-cluster://…` | Redis Cluster over TLS |
//!
//! A cluster URL names one node in its authority and may name more as `node` query
//! parameters (fred's syntax); the client discovers the rest from any one of them.

#[cfg(feature = "redis")]
use std::fmt;
#[cfg(feature = "redis")]
use std::path::{Path, PathBuf};

#[cfg(feature = "redis")]
use url::Url;

#[cfg(feature = "redis")]
/// The schemes of the Redis forms msal accepts.
pub(super) const SCHEMES: [&str; 4] = ["redis", "rediss", "redis-cluster", "rediss-cluster"];

/// The accepted forms, for error messages.
pub(super) const FORMS: &str = "redis://host:6379, rediss://host:6380 (TLS), \
     redis-cluster://host:port?node=host:port (Redis Cluster) or rediss-cluster://… (TLS cluster)";

#[cfg(feature = "redis")]
const COMMA_HOSTS: &str = "lists several hosts separated by commas, which a URL cannot hold: \
     name one node in the URL and the others as node parameters \
     (redis-cluster://host1:6379?node=host2:6379&node=host3:6379)";

/// Whether `text` looks meant as a Redis URL (its scheme is one of Redis's), even if it
/// does not parse.
pub(super) fn looks_like_redis(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        let scheme = scheme.to_ascii_lowercase();
        scheme.starts_with("redis") || scheme.starts_with("valkey")
    })
}

#[cfg(feature = "redis")]
/// Why a text meant as a Redis URL does not parse, and what to do. Never echoes the text: it
/// may hold a password.
pub(super) fn unparsable(text: &str) -> String {
    let authority = text
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    if authority.contains(',') {
        return COMMA_HOSTS.into();
    }
    "is not a valid URL: percent-encode reserved characters in the password ('/' as %2F, \
     '@' as %40, '?' as %3F, '#' as %23, '%' as %25), as in rediss://:<access key>@host:6380"
        .into()
}

#[cfg(feature = "redis")]
/// Whether a Redis URL asks for TLS.
pub(crate) fn is_tls(url: &Url) -> bool {
    url.scheme().starts_with("rediss")
}

/// Whether a Redis URL names a Redis Cluster.
#[cfg(feature = "redis")]
pub(crate) fn is_cluster(url: &Url) -> bool {
    url.scheme().ends_with("-cluster")
}

/// The URL without TLS in its scheme (`rediss` → `redis`): fred then parses it without
/// building TLS of its own, and msal sets its own (its roots, or `MSAL_REDIS_CA_FILE`).
#[cfg(feature = "redis")]
pub(crate) fn without_tls(url: &Url) -> Result<Url, String> {
    let mut plain = url.clone();
    if is_tls(url) {
        let scheme = if is_cluster(url) {
            "redis-cluster"
        } else {
            "redis"
        };
        plain
            .set_scheme(scheme)
            .map_err(|()| format!("cannot read the scheme '{}'", url.scheme()))?;
    }
    Ok(plain)
}

#[cfg(feature = "redis")]
/// Checks a parsed URL with a Redis scheme: one of the accepted forms, with nothing the
/// client would silently ignore.
pub(super) fn check_url(url: &Url) -> Result<(), String> {
    let scheme = url.scheme();
    if !SCHEMES.contains(&scheme) {
        return Err(format!(
            "has the scheme '{scheme}', which msal does not support: use {FORMS}"
        ));
    }
    let cluster = scheme.ends_with("-cluster");
    let host = url.host_str().unwrap_or("");
    if host.is_empty() {
        return Err(format!("has no host: use {FORMS}"));
    }
    if host.contains(',') {
        return Err(COMMA_HOSTS.into());
    }
    if url.fragment().is_some() {
        return Err(
            "has a #fragment: remove it (percent-encode a '#' in the password as %23)".into(),
        );
    }
    let path = url.path().trim_start_matches('/');
    if cluster {
        if !(path.is_empty() || path == "0") {
            return Err(
                "names a database, but Redis Cluster has only database 0: remove the /<db>".into(),
            );
        }
    } else if !path.is_empty() && path.parse::<u8>().is_err() {
        return Err(
            "has a path that is not a database number: use /0 to /255 (or nothing, for 0)".into(),
        );
    }
    for (key, value) in url.query_pairs() {
        if !cluster {
            return Err(format!(
                "has a query parameter '{key}', which a single Redis server ignores: for Redis \
                 Cluster use redis-cluster:// (or rediss-cluster://) with ?node=host:port"
            ));
        }
        if key != "node" {
            return Err(format!(
                "has a query parameter '{key}': a cluster URL takes only node=host:port, once \
                 per further node"
            ));
        }
        let ok = value.rsplit_once(':').is_some_and(|(h, p)| {
            !h.is_empty() && !h.contains(':') && p.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !ok {
            return Err(format!(
                "has node='{value}', which is not host:port: name each further cluster node as \
                 node=host:port (an IPv6 address is not supported there)"
            ));
        }
    }
    #[cfg(feature = "redis")]
    fred::types::config::Config::from_url(without_tls(url)?.as_str())
        .map_err(|e| format!("is not a Redis URL the client can use ({e}): use {FORMS}"))?;
    Ok(())
}

/// The certificate authority a TLS Redis must be signed by (`MSAL_REDIS_CA_FILE`): read and
/// checked at start-up, and then the only one trusted for Redis. `Debug` shows the file and
/// how many certificates it holds.
#[cfg(feature = "redis")]
#[derive(Clone, PartialEq, Eq)]
pub struct RedisCa {
    path: PathBuf,
    pub(crate) certificates: Vec<rustls::pki_types::CertificateDer<'static>>,
}

#[cfg(feature = "redis")]
impl fmt::Debug for RedisCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCa")
            .field("path", &self.path)
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

#[cfg(feature = "redis")]
impl RedisCa {
    /// Reads a PEM file of one or more CA certificates (`-----BEGIN CERTIFICATE-----`);
    /// other blocks in it (a key, say) are ignored.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        let path = path.as_ref();
        let shown = path.display();
        let bytes = std::fs::read(path).map_err(|e| {
            format!(
                "'{shown}' cannot be read ({e}): set it to the path of a readable PEM file \
                 holding the CA certificate that signed the Redis server's certificate"
            )
        })?;
        let certificates = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                format!("'{shown}' is not valid PEM ({e}): use the CA certificate in PEM form")
            })?;
        if certificates.is_empty() {
            return Err(format!(
                "'{shown}' holds no certificate (no -----BEGIN CERTIFICATE----- block): use the \
                 PEM of the CA that signed the Redis server's certificate"
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        for (n, certificate) in certificates.iter().enumerate() {
            roots.add(certificate.clone()).map_err(|e| {
                format!(
                    "'{shown}': certificate {} of {} is not a usable X.509 certificate ({e})",
                    n + 1,
                    certificates.len()
                )
            })?;
        }
        Ok(Self {
            path: path.to_owned(),
            certificates,
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many certificates it holds.
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// Never true: a CA file without a certificate is refused.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }
}
