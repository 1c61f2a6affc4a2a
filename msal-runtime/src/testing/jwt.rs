//! Compact JWS: how TestIdp signs what it issues, forges what tests ask for, and checks the
//! assertions clients send it (on-behalf-of).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::TestIdpError;
use super::keys::{KeySet, foreign_key};

/// Claims or header fields as a JSON object.
pub type JsonObject = Map<String, Value>;

/// Which key and algorithm sign a [`Mint`]ed token.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MintKey {
    /// RS256 with the current signing key (what the IdP itself issues).
    #[default]
    Current,
    /// RS256 with a key this IdP has had, by `kid` (a retired or dropped one too).
    Kid(String),
    /// RS256 with a key no TestIdp ever publishes; the header names the current `kid`.
    Foreign,
    /// PS256 with the current signing key.
    Ps256,
    /// ES256 with the instance's P-256 key (in the JWKS only with
    /// [`TestIdpBuilder::publish_ec_key`](super::TestIdpBuilder::publish_ec_key)).
    Es256,
    /// HS256 keyed with the current RSA public key's PEM text: the classic algorithm
    /// confusion attack.
    Hs256WithPublicKey,
    /// HS256 with a secret of the test's choosing.
    Hs256(Vec<u8>),
    /// `alg: none` and an empty signature.
    None,
}

/// A token made to order: any claims, any header, any key. For negative tests.
///
/// Start from the claims of a valid token
/// ([`TestIdp::access_token_claims`](super::TestIdp::access_token_claims) and friends), change
/// what the test is about, and sign with [`TestIdp::mint`](super::TestIdp::mint).
///
/// ```no_run
/// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
/// use msal_runtime::testing::{Mint, MintKey, TestIdp, DEFAULT_CLIENT_ID};
/// let idp = TestIdp::start().await?;
/// let claims = idp.access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])?;
/// let expired = idp.mint(&Mint::new(claims.clone()).claim("exp", 1_000_000_000))?;
/// let unsigned = idp.mint(&Mint::new(claims.clone()).key(MintKey::None))?;
/// let no_kid = idp.mint(&Mint::new(claims).without_header("kid"))?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Mint {
    claims: JsonObject,
    header_set: JsonObject,
    header_remove: Vec<String>,
    key: MintKey,
    tamper: bool,
}

impl Mint {
    /// A token with these claims, signed like the IdP's own.
    pub fn new(claims: JsonObject) -> Self {
        Self {
            claims,
            ..Self::default()
        }
    }
    /// Sets (or replaces) a claim.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }
    /// Sets (or replaces) a JOSE header field, e.g. `kid` to a value nobody publishes.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.header_set.insert(name.into(), value.into());
        self
    }
    /// Removes a JOSE header field, e.g. `kid`.
    pub fn without_header(mut self, name: impl Into<String>) -> Self {
        self.header_remove.push(name.into());
        self
    }
    /// Chooses the key and algorithm.
    pub fn key(mut self, key: MintKey) -> Self {
        self.key = key;
        self
    }
    /// Flips a bit of the signature after signing.
    pub fn tampered_signature(mut self) -> Self {
        self.tamper = true;
        self
    }

    pub(crate) fn sign(&self, keys: &KeySet) -> Result<String, TestIdpError> {
        let current = keys.current()?;
        let (alg, kid) = match &self.key {
            MintKey::Current | MintKey::Foreign | MintKey::Hs256WithPublicKey => {
                (Alg::Rs256, Some(current.kid.clone()))
            }
            MintKey::Kid(kid) => (Alg::Rs256, Some(kid.clone())),
            MintKey::Ps256 => (Alg::Ps256, Some(current.kid.clone())),
            MintKey::Es256 => (Alg::Es256, Some(keys.ec.kid.clone())),
            MintKey::Hs256(_) => (Alg::Hs256, None),
            MintKey::None => (Alg::None, None),
        };
        let alg = if self.key == MintKey::Hs256WithPublicKey {
            Alg::Hs256
        } else {
            alg
        };
        let mut header = JsonObject::new();
        header.insert("typ".into(), "JWT".into());
        header.insert("alg".into(), alg.name().into());
        if let Some(kid) = kid {
            header.insert("x5t".into(), kid.clone().into());
            header.insert("kid".into(), kid.into());
        }
        for (k, v) in &self.header_set {
            header.insert(k.clone(), v.clone());
        }
        for k in &self.header_remove {
            header.remove(k);
        }
        let signing_input = signing_input(&header, &self.claims)?;
        let mut signature = match &self.key {
            MintKey::Current | MintKey::Ps256 => alg.sign(current.key, &signing_input)?,
            MintKey::Kid(kid) => {
                let key = keys
                    .by_kid(kid)
                    .ok_or_else(|| TestIdpError::UnknownKid(kid.clone()))?;
                alg.sign(key.key, &signing_input)?
            }
            MintKey::Foreign => alg.sign(foreign_key(keys.source)?, &signing_input)?,
            MintKey::Es256 => {
                let sig: p256::ecdsa::Signature = keys.ec.key.sign(signing_input.as_bytes());
                sig.to_bytes().to_vec()
            }
            MintKey::Hs256WithPublicKey => {
                let pem = current
                    .key
                    .to_public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(|e| TestIdpError::Keys(e.to_string()))?;
                hs256(pem.as_bytes(), &signing_input)
            }
            MintKey::Hs256(secret) => hs256(secret, &signing_input),
            MintKey::None => Vec::new(),
        };
        if self.tamper {
            match signature.last_mut() {
                Some(byte) => *byte ^= 0x01,
                None => signature.push(0),
            }
        }
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[derive(Clone, Copy)]
enum Alg {
    Rs256,
    Ps256,
    Es256,
    Hs256,
    None,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Ps256 => "PS256",
            Alg::Es256 => "ES256",
            Alg::Hs256 => "HS256",
            Alg::None => "none",
        }
    }

    fn sign(self, key: &RsaPrivateKey, input: &str) -> Result<Vec<u8>, TestIdpError> {
        match self {
            Alg::Ps256 => {
                let signer = rsa::pss::BlindedSigningKey::<Sha256>::new(key.clone());
                Ok(signer
                    .try_sign_with_rng(&mut rand::rngs::OsRng, input.as_bytes())
                    .map_err(|e| TestIdpError::Keys(e.to_string()))?
                    .to_vec())
            }
            _ => rs256(key, input),
        }
    }
}

fn signing_input(header: &JsonObject, claims: &JsonObject) -> Result<String, TestIdpError> {
    let h = serde_json::to_vec(header).map_err(|e| TestIdpError::Keys(e.to_string()))?;
    let c = serde_json::to_vec(claims).map_err(|e| TestIdpError::Keys(e.to_string()))?;
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(h),
        URL_SAFE_NO_PAD.encode(c)
    ))
}

fn rs256(key: &RsaPrivateKey, input: &str) -> Result<Vec<u8>, TestIdpError> {
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    Ok(signer
        .try_sign(input.as_bytes())
        .map_err(|e| TestIdpError::Keys(e.to_string()))?
        .to_vec())
}

fn hs256(secret: &[u8], input: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this constructor cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Signs what the IdP issues: RS256 with the current key.
pub(crate) fn issue(keys: &KeySet, claims: &JsonObject) -> Result<String, TestIdpError> {
    Mint::new(claims.clone()).sign(keys)
}

/// Signs a Microsoft Graph access token the way Entra does: the header carries a `nonce`,
/// but the signature covers the header with the SHA-256 of that nonce instead. Standard
/// validation of such a token fails, which is the point: apps must never validate Graph
/// tokens, only pass them to Graph.
pub(crate) fn issue_graph(keys: &KeySet, claims: &JsonObject) -> Result<String, TestIdpError> {
    let current = keys.current()?;
    let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hashed = URL_SAFE_NO_PAD.encode(Sha256::digest(nonce.as_bytes()));
    let header = |n: &str| {
        let mut h = JsonObject::new();
        h.insert("typ".into(), "JWT".into());
        h.insert("nonce".into(), n.into());
        h.insert("alg".into(), "RS256".into());
        h.insert("x5t".into(), current.kid.clone().into());
        h.insert("kid".into(), current.kid.clone().into());
        h
    };
    let signed_input = signing_input(&header(&hashed), claims)?;
    let signature = rs256(current.key, &signed_input)?;
    let shown_input = signing_input(&header(&nonce), claims)?;
    Ok(format!(
        "{shown_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// A compact JWS, split and decoded (nothing verified).
struct Compact {
    header: JsonObject,
    claims: JsonObject,
    signature: Vec<u8>,
    /// `header.claims` as sent: what the signature covers.
    signed: String,
}

impl Compact {
    fn parse(token: &str) -> Result<Self, AssertionError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AssertionError::Malformed);
        };
        let decode_obj = |part: &str| -> Result<JsonObject, AssertionError> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| AssertionError::Malformed)?;
            serde_json::from_slice(&bytes).map_err(|_| AssertionError::Malformed)
        };
        Ok(Self {
            header: decode_obj(h)?,
            claims: decode_obj(c)?,
            signature: URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| AssertionError::Malformed)?,
            signed: format!("{h}.{c}"),
        })
    }
}

/// Why an assertion presented to the token endpoint was refused.
pub(crate) enum AssertionError {
    Malformed,
    BadSignature,
    UnknownKey,
}

/// Verifies a `private_key_jwt` client assertion against the client's registered
/// certificates (by `x5t#S256`), RS256 or PS256. Returns the claims; the caller checks them.
pub(crate) fn verify_client_assertion(
    token: &str,
    certificates: &[(String, String)],
) -> Result<JsonObject, AssertionError> {
    use rsa::pkcs8::DecodePublicKey;
    let Compact {
        header,
        claims,
        signature,
        signed,
    } = Compact::parse(token)?;
    let thumbprint = header
        .get("x5t#S256")
        .and_then(Value::as_str)
        .ok_or(AssertionError::UnknownKey)?;
    let (_, pem) = certificates
        .iter()
        .find(|(t, _)| t == thumbprint)
        .ok_or(AssertionError::UnknownKey)?;
    let public = RsaPublicKey::from_public_key_pem(pem).map_err(|_| AssertionError::UnknownKey)?;
    let message = signed;
    let verified = match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => rsa::pkcs1v15::Signature::try_from(signature.as_slice())
            .ok()
            .is_some_and(|sig| {
                rsa::pkcs1v15::VerifyingKey::<Sha256>::new(public)
                    .verify(message.as_bytes(), &sig)
                    .is_ok()
            }),
        Some("PS256") => rsa::pss::Signature::try_from(signature.as_slice())
            .ok()
            .is_some_and(|sig| {
                rsa::pss::VerifyingKey::<Sha256>::new(public)
                    .verify(message.as_bytes(), &sig)
                    .is_ok()
            }),
        _ => false,
    };
    if verified {
        Ok(claims)
    } else {
        Err(AssertionError::BadSignature)
    }
}

/// Parses a compact JWS and checks its RS256 signature against the published keys.
/// Returns the claims; the caller checks them.
pub(crate) fn verify(keys: &KeySet, token: &str) -> Result<JsonObject, AssertionError> {
    let Compact {
        header,
        claims,
        signature,
        signed,
    } = Compact::parse(token)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(AssertionError::BadSignature);
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let key = kid
        .and_then(|kid| keys.by_kid(kid))
        .filter(|k| k.published)
        .ok_or(AssertionError::BadSignature)?;
    let public: RsaPublicKey = key.key.to_public_key();
    let verifier = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(public);
    let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice())
        .map_err(|_| AssertionError::BadSignature)?;
    verifier
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| AssertionError::BadSignature)?;
    Ok(claims)
}
