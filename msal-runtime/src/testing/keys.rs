//! Signing keys of a TestIdp: RSA keys generated once per process (or, when a test asks by
//! name, the committed test-only pool), rotation, and the JWKS.
//!
//! The committed keys' private halves are in this repository for anyone to read: an app
//! whose TestIdp signed with them would accept tokens anyone can forge. So a TestIdp signs
//! with keys generated when the first one starts, unless its builder asks for
//! [`committed_test_keys`](super::TestIdpBuilder::committed_test_keys).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

use super::TestIdpError;

/// The committed test-only pool (see `keys/README.md`). The last one is the "foreign" key.
/// Used only by a builder that asks for [`KeySource::Committed`].
const POOL_PEM: [&str; 9] = [
    include_str!("keys/test-only-rsa-1.pem"),
    include_str!("keys/test-only-rsa-2.pem"),
    include_str!("keys/test-only-rsa-3.pem"),
    include_str!("keys/test-only-rsa-4.pem"),
    include_str!("keys/test-only-rsa-5.pem"),
    include_str!("keys/test-only-rsa-6.pem"),
    include_str!("keys/test-only-rsa-7.pem"),
    include_str!("keys/test-only-rsa-8.pem"),
    include_str!("keys/test-only-rsa-9.pem"),
];
/// How many RSA keys are generated per process: three to sign and rotate through, and one
/// that no TestIdp publishes (the "foreign" key). Generating 2048-bit keys takes a moment, so
/// it happens once, on two threads.
const GENERATED: usize = 4;

/// Where a TestIdp's RSA keys come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum KeySource {
    /// Generated in this process: nobody else has them.
    #[default]
    Generated,
    /// The committed test-only pool, whose private halves anyone can read.
    Committed,
}

/// Spreads instances over the pool, so two TestIdps in one process start on different keys.
static NEXT_START: AtomicUsize = AtomicUsize::new(0);

fn pool(source: KeySource) -> Result<&'static [RsaPrivateKey], TestIdpError> {
    static GENERATED_POOL: OnceLock<Result<Vec<RsaPrivateKey>, String>> = OnceLock::new();
    static COMMITTED_POOL: OnceLock<Result<Vec<RsaPrivateKey>, String>> = OnceLock::new();
    let pool = match source {
        KeySource::Generated => GENERATED_POOL.get_or_init(generate),
        KeySource::Committed => COMMITTED_POOL.get_or_init(|| {
            POOL_PEM
                .iter()
                .map(|pem| RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string()))
                .collect()
        }),
    };
    pool.as_ref()
        .map(Vec::as_slice)
        .map_err(|e| TestIdpError::Keys(e.clone()))
}

/// [`GENERATED`] fresh 2048-bit RSA keys, made on two threads.
fn generate() -> Result<Vec<RsaPrivateKey>, String> {
    std::thread::scope(|scope| {
        let halves: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    (0..GENERATED / 2)
                        .map(|_| {
                            RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                                .map_err(|e| e.to_string())
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut keys = Vec::with_capacity(GENERATED);
        for half in halves {
            keys.extend(
                half.join()
                    .map_err(|_| "generating test keys panicked".to_owned())??,
            );
        }
        Ok(keys)
    })
}

/// The RSA key no TestIdp with this source ever publishes.
pub(crate) fn foreign_key(source: KeySource) -> Result<&'static RsaPrivateKey, TestIdpError> {
    pool(source)?
        .last()
        .ok_or_else(|| TestIdpError::Keys("empty key pool".into()))
}

/// One RSA signing key as this IdP knows it.
pub(crate) struct RsaKey {
    pub(crate) kid: String,
    pub(crate) key: &'static RsaPrivateKey,
    pub(crate) published: bool,
}

/// The P-256 key for ES256 tokens; published only when the builder asks for it.
pub(crate) struct EcKey {
    pub(crate) kid: String,
    pub(crate) key: p256::ecdsa::SigningKey,
    pub(crate) published: bool,
}

/// All keys an instance has had, newest last; the newest RSA key signs.
pub(crate) struct KeySet {
    pub(crate) rsa: Vec<RsaKey>,
    pub(crate) ec: EcKey,
    pub(crate) source: KeySource,
    pool_start: usize,
}

/// What happens to the signing keys in use when [`TestIdp::rotate_keys`](super::TestIdp::rotate_keys)
/// adds a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRotation {
    /// The old keys stay in the JWKS (Entra's normal overlap): old tokens still verify.
    KeepOld,
    /// The old keys leave the JWKS at once: old tokens carry a `kid` nobody publishes.
    DropOld,
}

impl KeySet {
    pub(crate) fn new(publish_ec: bool, source: KeySource) -> Result<Self, TestIdpError> {
        let pool_start = NEXT_START.fetch_add(1, Ordering::Relaxed);
        let mut set = Self {
            rsa: Vec::new(),
            ec: EcKey {
                kid: new_kid(),
                key: p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng),
                published: publish_ec,
            },
            source,
            pool_start,
        };
        set.add_rsa()?;
        Ok(set)
    }

    fn add_rsa(&mut self) -> Result<&RsaKey, TestIdpError> {
        let pool = pool(self.source)?;
        // The last key of the pool is the foreign one: never published.
        let signing = pool.len().saturating_sub(1).max(1);
        let index = (self.pool_start + self.rsa.len()) % signing;
        let key = pool
            .get(index)
            .ok_or_else(|| TestIdpError::Keys("key pool index out of range".into()))?;
        self.rsa.push(RsaKey {
            kid: new_kid(),
            key,
            published: true,
        });
        self.current()
    }

    /// The key that signs new tokens.
    pub(crate) fn current(&self) -> Result<&RsaKey, TestIdpError> {
        self.rsa
            .last()
            .ok_or_else(|| TestIdpError::Keys("no signing key".into()))
    }

    pub(crate) fn rotate(&mut self, rotation: KeyRotation) -> Result<String, TestIdpError> {
        if rotation == KeyRotation::DropOld {
            for key in &mut self.rsa {
                key.published = false;
            }
        }
        Ok(self.add_rsa()?.kid.clone())
    }

    pub(crate) fn by_kid(&self, kid: &str) -> Option<&RsaKey> {
        self.rsa.iter().find(|k| k.kid == kid)
    }

    pub(crate) fn published_kids(&self) -> Vec<String> {
        self.rsa
            .iter()
            .filter(|k| k.published)
            .map(|k| k.kid.clone())
            .collect()
    }

    /// The JWKS document, in Entra's shape (`kty`, `use`, `kid`, `x5t`, `n`, `e`, `issuer`).
    pub(crate) fn jwks(&self, issuer: &str) -> Value {
        let mut keys: Vec<Value> = self
            .rsa
            .iter()
            .filter(|k| k.published)
            .map(|k| rsa_jwk(&k.kid, &k.key.to_public_key(), issuer))
            .collect();
        if self.ec.published {
            let point = self.ec.key.verifying_key().to_encoded_point(false);
            let coord = |c: Option<&p256::FieldBytes>| {
                c.map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default()
            };
            keys.push(json!({
                "kty": "EC",
                "use": "sig",
                "kid": self.ec.kid,
                "crv": "P-256",
                "x": coord(point.x()),
                "y": coord(point.y()),
                "issuer": issuer,
            }));
        }
        json!({ "keys": keys })
    }
}

fn rsa_jwk(kid: &str, key: &RsaPublicKey, issuer: &str) -> Value {
    json!({
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "x5t": kid,
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        "issuer": issuer,
    })
}

/// Key ids look like Entra's (27 base64url characters) and are unique per instance and
/// rotation, even when the pool's material comes round again.
fn new_kid() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 20]>())
}
