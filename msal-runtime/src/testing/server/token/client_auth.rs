//! How the token endpoint authenticates a client: a secret (Basic or in the form) or a
//! signed assertion (certificate), each checked as Entra does.

use super::*;

pub(super) fn invalid_client(code: u32, description: impl Into<String>) -> GrantError {
    GrantError::new("invalid_client", code, description).status(401)
}

/// Identifies the client and checks its secret. Returns how it authenticated, which ends
/// up in `azpacr`/`appidacr`.
pub(super) fn authenticate<'r>(
    shared: &Shared,
    reg: &'r Registry,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(&'r TestClient, ClientAuth), GrantError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let (client_id, secret) = match basic {
        Some(encoded) => {
            if params.get("client_secret").is_some() {
                return Err(GrantError::new(
                    "invalid_request",
                    90014,
                    "The client authenticated with more than one method (client_secret_basic and client_secret_post); use exactly one.",
                ));
            }
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid_client(7000215, "The Basic authorization header is not valid base64 of 'client_id:client_secret'."))?;
            let (id, secret) = decoded.split_once(':').ok_or_else(|| {
                invalid_client(
                    7000215,
                    "The Basic authorization header has no ':' between client id and secret.",
                )
            })?;
            // RFC 6749 2.3.1: both halves are form-urlencoded before base64. Entra compares
            // them as they are, which a test can ask for.
            let decode = shared.decode_basic.load(Ordering::Relaxed);
            let form = |s: &str| if decode { form_decode(s) } else { s.to_owned() };
            let id = form(id);
            if params.get("client_id").is_some_and(|p| p != id) {
                return Err(GrantError::new(
                    "invalid_request",
                    90014,
                    "client_id in the body differs from the one in the Basic authorization header.",
                ));
            }
            (id, Some(form(secret)))
        }
        None => (
            params
                .get("client_id")
                .ok_or_else(|| GrantError::missing("client_id"))?
                .to_owned(),
            params.get("client_secret").map(str::to_owned),
        ),
    };
    let client = reg.client(&client_id).ok_or_else(|| {
        GrantError::new(
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory."),
        )
    })?;
    match (&client.secret, secret) {
        (Some(expected), Some(given))
            if constant_time_eq(expected.as_bytes(), given.as_bytes()) =>
        {
            Ok((client, ClientAuth::Secret))
        }
        (Some(_), Some(_)) => Err(invalid_client(
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )),
        (Some(_), None) => Err(invalid_client(
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )),
        (None, Some(_)) => Err(invalid_client(
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        )),
        (None, None) => Ok((client, ClientAuth::Public)),
    }
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `private_key_jwt`: the client proves itself with an assertion signed by a registered
/// certificate's key, addressed to this token endpoint.
pub(super) fn authenticate_assertion<'r>(
    shared: &Shared,
    reg: &'r Registry,
    tenant: &str,
    headers: &HeaderMap,
    params: &Params,
    assertion: &str,
) -> Result<(&'r TestClient, ClientAuth), GrantError> {
    if params.get("client_secret").is_some() || headers.contains_key(header::AUTHORIZATION) {
        return Err(GrantError::new(
            "invalid_request",
            90014,
            "The client authenticated with more than one method; use exactly one.",
        ));
    }
    if params.get("client_assertion_type") != Some(ASSERTION_TYPE) {
        return Err(GrantError::new(
            "invalid_request",
            700026,
            format!("client_assertion_type must be '{ASSERTION_TYPE}'."),
        ));
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| GrantError::missing("client_id"))?;
    let client = reg.client(client_id).ok_or_else(|| {
        GrantError::new(
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory."),
        )
    })?;
    let claims = jwt::verify_client_assertion(assertion, &client.certificates).map_err(|e| match e {
        AssertionError::UnknownKey => invalid_client(
            700027,
            "The certificate used to sign the client assertion is not registered on the application.",
        ),
        AssertionError::Malformed => invalid_client(700025, "The client assertion is malformed."),
        AssertionError::BadSignature => invalid_client(700027, "Client assertion failed signature validation."),
    })?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let endpoint = |segment: &str| format!("{}/{segment}/oauth2/v2.0/token", shared.base_url);
    let aud_ok = text("aud").is_some_and(|aud| {
        aud == endpoint(tenant) || reg.tenants.iter().any(|t| aud == endpoint(&t.id))
    });
    if !aud_ok {
        return Err(invalid_client(
            700021,
            "The client assertion's audience is not this token endpoint.",
        ));
    }
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(invalid_client(
            700021,
            "The client assertion's iss and sub must be the client id.",
        ));
    }
    let now = shared.now();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    if exp <= now || text("jti").is_none() {
        return Err(invalid_client(
            700024,
            "Client assertion is not within its valid time range (or has no jti).",
        ));
    }
    Ok((client, ClientAuth::Certificate))
}

pub(super) fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
