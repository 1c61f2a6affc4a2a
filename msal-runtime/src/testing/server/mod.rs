//! The HTTP face of TestIdp: Entra's v2.0 paths, the Graph stand-in, and shared plumbing
//! (parameters, OAuth error bodies, injected faults).

mod authorize;
mod discovery;
mod graph;
mod logout;
mod pages;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use url::Url;

use super::faults::Endpoint;
use super::model::random_guid;
use super::state::Shared;
use super::tokens::GrantError;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::v1_openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks))
        .route("/{tenant}/discovery/keys", get(discovery::jwks))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize::get).post(authorize::post),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route(
            "/{tenant}/oauth2/v2.0/logout",
            get(logout::get).post(logout::post),
        )
        .route("/graph/v1.0/me", get(graph::me))
        .route(
            "/graph/v1.0/me/getMemberObjects",
            post(graph::my_member_objects),
        )
        .route(
            "/graph/v1.0/users/{id}/getMemberObjects",
            post(graph::member_objects),
        )
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({
            "error": "not_found",
            "error_description": "TestIdp serves Entra's v2.0 paths: /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/discovery/v2.0/keys, /{tenant}/oauth2/v2.0/{authorize,token,logout}, the v1 metadata /{tenant}/.well-known/openid-configuration, and /graph/v1.0/me."
        })),
    )
        .into_response()
}

/// Request parameters in order, from a query string or a form body. OAuth forbids repeating
/// a parameter, so repeats are kept to be refused rather than silently collapsed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(raw: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A parameter's value; an empty value counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first parameter that appears more than once.
    pub(crate) fn repeated(&self) -> Option<&str> {
        self.0.iter().enumerate().find_map(|(i, (k, _))| {
            self.0[..i]
                .iter()
                .any(|(earlier, _)| earlier == k)
                .then_some(k.as_str())
        })
    }

    pub(crate) fn refuse_repeats(&self) -> Result<(), GrantError> {
        match self.repeated() {
            Some(name) => Err(GrantError::new(
                "invalid_request",
                90015,
                format!(
                    "Requested parameter '{name}' appears more than once; OAuth parameters must not repeat."
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The OAuth JSON error body, with Entra's extra fields.
pub(crate) fn oauth_error(err: &GrantError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut body = json!({
        "error": err.error,
        "error_description": err.text(),
        "error_codes": [err.code],
        "trace_id": random_guid(),
        "correlation_id": random_guid(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={}", err.code),
    });
    if let Some(suberror) = err.suberror {
        body["suberror"] = suberror.into();
    }
    if let Some(claims) = &err.claims {
        body["claims"] = claims.clone().into();
    }
    no_store(status, body)
}

/// JSON that must not be cached (token responses, errors).
pub(crate) fn no_store(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Counts the request and plays the injected fault, if any. `None`: answer normally.
pub(crate) async fn injected_fault(shared: &Shared, endpoint: Endpoint) -> Option<Response> {
    let fault = shared.take_fault(endpoint)?;
    if let Some(delay) = fault.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = fault.status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "error": "temporarily_unavailable",
            "error_description": format!("AADSTS90033: TestIdp injected fault: HTTP {}.", status.as_u16()),
        });
        return Some(no_store(status, body));
    }
    if fault.malformed_json {
        return Some(
            (
                [(header::CONTENT_TYPE, "application/json")],
                "{\"keys\": [{\"kty\": \"RSA\", \"n\": ",
            )
                .into_response(),
        );
    }
    None
}

/// The value of a cookie in the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether `given` matches the registered URI: exactly, or, for `http` loopback URIs, in
/// everything but the port (Entra's rule after RFC 8252). `given` must already be in
/// normal form, so `..` segments or odd encodings never sneak past the comparison.
pub(crate) fn uri_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    let (Ok(r), Ok(g)) = (Url::parse(registered), Url::parse(given)) else {
        return false;
    };
    let loopback = |u: &Url| match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    g.as_str() == given
        && r.scheme() == "http"
        && g.scheme() == "http"
        && loopback(&r)
        && r.host() == g.host()
        && r.username().is_empty()
        && g.username().is_empty()
        && g.password().is_none()
        && r.path() == g.path()
        && r.query() == g.query()
        && g.fragment().is_none()
}

/// `uri` with these parameters appended to its query.
pub(crate) fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        // query_pairs_mut would leave a bare '?' behind.
        return uri.to_owned();
    }
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.into()
        }
        Err(_) => uri.to_owned(),
    }
}

pub(crate) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => pages::error_page(&GrantError::new(
            "invalid_request",
            50011,
            "The redirect URI cannot be used in a Location header.",
        )),
    }
}

pub(crate) use pages::error_page;

#[cfg(test)]
mod tests {
    use super::{Params, uri_matches, with_query};

    #[test]
    fn loopback_uris_match_on_any_port_and_nothing_else() {
        let registered = "http://127.0.0.1/auth/callback";
        assert!(uri_matches(
            registered,
            "http://127.0.0.1:5000/auth/callback"
        ));
        assert!(uri_matches(registered, registered));
        assert!(!uri_matches(
            registered,
            "http://127.0.0.1:5000/auth/callback/"
        ));
        assert!(!uri_matches(
            registered,
            "http://127.0.0.1:5000/auth/x/../callback"
        ));
        assert!(!uri_matches(
            registered,
            "http://localhost:5000/auth/callback"
        ));
        assert!(!uri_matches(
            registered,
            "https://127.0.0.1:5000/auth/callback"
        ));
        let https = "https://app.test/cb";
        assert!(
            !uri_matches(https, "https://app.test:444/cb"),
            "ports count off loopback"
        );
        assert!(
            !uri_matches(https, "https://APP.test/cb"),
            "exact, no normalising"
        );
    }

    #[test]
    fn repeated_parameters_are_found() {
        assert_eq!(Params::parse(b"a=1&b=2&a=3").repeated(), Some("a"));
        assert_eq!(Params::parse(b"a=1&b=2").repeated(), None);
        assert_eq!(Params::parse(b"a=&b=2").get("a"), None, "empty is absent");
    }

    #[test]
    fn with_query_appends_and_leaves_no_bare_question_mark() {
        assert_eq!(with_query("http://x.test/cb", &[]), "http://x.test/cb");
        assert_eq!(
            with_query("http://x.test/cb?a=1", &[("b", "2 3")]),
            "http://x.test/cb?a=1&b=2+3"
        );
    }
}
