//! Errors, and the one place that turns an authentication failure into an HTTP response
//! (the README's response table: browsers get redirects and pages, everything else problem+json).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::challenge::ClaimsRequest;
use crate::config::ConfigError;

/// Why msal-axum could not start or do what was asked.
///
/// Its `Debug` is its `Display` (every configuration problem and its fix, one per line), so
/// `main` returning `Result<(), msal_runtime::Error>` prints a readable error; `{:#?}` shows
/// the structure.
///
/// ```
/// let err = msal_runtime::MsalConfig::builder().build().unwrap_err();
/// let err = msal_runtime::Error::from(err);
/// assert_eq!(format!("{err:?}"), err.to_string());
/// assert!(err.to_string().contains("MSAL_CLIENT_ID"));
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; the message lists every problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The session store could not be set up.
    #[error("session store: {0}")]
    SessionStore(String),
    /// An I/O error (binding a listener, serving).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !f.alternate() {
            return std::fmt::Display::fmt(self, f);
        }
        match self {
            Error::Config(e) => f.debug_tuple("Config").field(e).finish(),
            Error::SessionStore(e) => f.debug_tuple("SessionStore").field(e).finish(),
            Error::Io(e) => f.debug_tuple("Io").field(e).finish(),
        }
    }
}

/// Why a request was not let through. Turned into a response by [`AuthRejection`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Nobody is signed in and no token was sent.
    #[error("sign-in required")]
    NotSignedIn,
    /// The token or session is invalid or expired.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The `Authorization` header is malformed (RFC 6750 `invalid_request`).
    #[error("malformed request: {0}")]
    BadRequest(String),
    /// Signed in, but without these delegated scopes.
    #[error("missing scopes: {}", .0.join(" "))]
    InsufficientScope(Vec<String>),
    /// The session's tokens can no longer be renewed silently (refresh token revoked or
    /// expired, consent missing): the user must sign in again.
    #[error("sign-in required again: {reason}")]
    ReauthenticationRequired {
        /// The scopes to ask for.
        scopes: Vec<String>,
        /// Who was signed in, to pre-fill the provider's page.
        login_hint: Option<String>,
        /// What the provider said.
        reason: String,
    },
    /// Conditional Access (MFA, an authentication context) or Continuous Access Evaluation
    /// asks for more than the caller's sign-in holds: these claims. A browser signs in again
    /// asking for them (with `login_hint`); any other caller gets 401 with
    /// `WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>"` to request a
    /// new token with.
    #[error("more claims required: {reason}")]
    InsufficientClaims {
        /// The claims request, JSON (`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`).
        claims: String,
        /// The scopes to ask for.
        scopes: Vec<String>,
        /// Who was signed in, to pre-fill the provider's page.
        login_hint: Option<String>,
        /// What asked for the claims.
        reason: String,
    },
    /// The user's sign-in is too old (a `max_age` rule) or not of an accepted level (an
    /// `acr` rule): RFC 9470 step-up. A browser signs in again with `max_age` and
    /// `acr_values` (`prompt=login` where the provider ignores `max_age`); any other caller
    /// gets 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"`
    /// and the `max_age` and `acr_values` its next token must meet.
    #[error("step-up required: {reason}")]
    StepUpRequired {
        /// The most seconds since the user's authentication.
        max_age: Option<u64>,
        /// The acceptable authentication levels, most preferred first.
        acr_values: Vec<String>,
        /// A claims request also missing (authentication contexts), for a browser's
        /// sign-in.
        claims: Option<String>,
        /// The scopes to ask for.
        scopes: Vec<String>,
        /// Who was signed in, to pre-fill the provider's page.
        login_hint: Option<String>,
        /// What the requirement needs, in words.
        reason: String,
    },
    /// The user or an administrator has not consented to these scopes (Entra's AADSTS65001).
    /// A browser signs in again to consent; any other caller gets 403 saying so.
    #[error("consent required for: {}", .scopes.join(" "))]
    ConsentRequired {
        /// The scopes consent is missing for.
        scopes: Vec<String>,
        /// Who was signed in, to pre-fill the provider's page.
        login_hint: Option<String>,
    },
    /// Signed in, but not allowed (role, group or tenant).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A fact the requirement needs could not be determined (group overage Microsoft Graph
    /// could not resolve, no `groups` or `tid` claim): refused, never allowed. 403.
    #[error("cannot be decided: {0}")]
    Undetermined(String),
    /// The sign-in could not complete: the response from the provider, its state or its ID
    /// token was refused. The status is 400 for a bad request, 401 for a refused token.
    #[error("{title}: {detail}")]
    SignInFailed {
        /// 400 or 401.
        status: u16,
        /// A short title.
        title: String,
        /// What happened and what to do; never contains a token or secret.
        detail: String,
    },
    /// A requirement's `check` could not decide (it returned a
    /// [`CheckError`](crate::CheckError)): refused with 503. The cause (the field) is
    /// logged; it is not in the `Display`, which an `on_denied` builder may show.
    #[error("access check unavailable")]
    CheckUnavailable(String),
    /// The identity provider could not be reached or answered garbage.
    #[error("identity provider unavailable: {0}")]
    ProviderUnavailable(String),
    /// The session store could not be reached.
    #[error("session store unavailable: {0}")]
    StoreUnavailable(String),
    /// The identity provider refused the app its own token (client credentials): a wrong
    /// secret or certificate, a permission not granted. What it said is in the `Display`
    /// (for the developer and the log), never in a response body. 500.
    #[error("the identity provider refused this app a token for {scopes}: {error}: {description}")]
    AppTokenRefused {
        /// The scopes asked for.
        scopes: String,
        /// The OAuth error code (`invalid_client`, …).
        error: String,
        /// The provider's description, escaped and bounded.
        description: String,
    },
    /// msal-axum is not wired up (e.g. `msal.layer()` missing).
    #[error("msal-axum is misconfigured: {0}")]
    Misconfigured(String),
}

impl AuthError {
    /// The refusal of a request that msal-axum's layer does not wrap: nothing can be judged
    /// there, so nothing is let through.
    pub(crate) fn unwired() -> Self {
        AuthError::Misconfigured(
            "msal-axum's layer does not wrap this route: add `.layer(msal.layer())` to the \
             router, or, if it is there, move this route above it. A route added after \
             `.layer(...)` runs without it: axum layers wrap only the routes added before them \
             (`Router::new().route(...).merge(msal.routes()).layer(msal.layer())`)."
                .into(),
        )
    }

    /// Whether a failure is the app's or a dependency's, not the caller's: it is answered as
    /// what it is, never read as "this caller is nobody" or "this fact is unknown".
    pub(crate) fn is_outage(&self) -> bool {
        matches!(
            self,
            AuthError::ProviderUnavailable(_)
                | AuthError::StoreUnavailable(_)
                | AuthError::Misconfigured(_)
                | AuthError::AppTokenRefused { .. }
        )
    }

    /// The refusal of a claims challenge the user answered by signing in a moment ago: the
    /// provider asks for the same again, so another sign-in would only ask again.
    pub(crate) fn claims_loop() -> Self {
        AuthError::sign_in(
            403,
            "Additional verification did not succeed",
            "The identity provider asked again for the verification you completed when you just signed in, so signing in again would only repeat it. Try again later, or ask your administrator about the Conditional Access policy.",
        )
    }

    /// The refusal of an `acr` step-up that goes round in a circle: this session answered
    /// these levels a moment ago, and another requirement replaced them since (one sign-in
    /// holds one level).
    pub(crate) fn step_up_loop(acr_values: &[String]) -> Self {
        AuthError::sign_in(
            403,
            "These pages need different sign-in levels",
            format!(
                "This page needs a sign-in of the authentication level {}, which you signed in with a moment ago; something else you opened since needed another level, and one sign-in holds only one. Signing in again would only go back and forth. Ask the app's developers: the requirements on this page contradict each other.",
                acr_values.join(" or ")
            ),
        )
    }

    pub(crate) fn sign_in(status: u16, title: &str, detail: impl Into<String>) -> Self {
        AuthError::SignInFailed {
            status,
            title: title.to_owned(),
            detail: detail.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AuthError::NotSignedIn
            | AuthError::InvalidToken(_)
            | AuthError::ReauthenticationRequired { .. }
            | AuthError::InsufficientClaims { .. }
            | AuthError::StepUpRequired { .. } => StatusCode::UNAUTHORIZED,
            AuthError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::InsufficientScope(_)
            | AuthError::ConsentRequired { .. }
            | AuthError::Forbidden(_)
            | AuthError::Undetermined(_) => StatusCode::FORBIDDEN,
            AuthError::SignInFailed { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            AuthError::ProviderUnavailable(_)
            | AuthError::StoreUnavailable(_)
            | AuthError::CheckUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Misconfigured(_) | AuthError::AppTokenRefused { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn title(&self) -> String {
        match self {
            AuthError::NotSignedIn => "Sign-in required".into(),
            AuthError::InvalidToken(_) => "Invalid token".into(),
            AuthError::ReauthenticationRequired { .. } => "Sign-in required again".into(),
            AuthError::BadRequest(_) => "Malformed authorization".into(),
            AuthError::InsufficientScope(_) => "Insufficient scope".into(),
            AuthError::InsufficientClaims { .. } => "Additional verification required".into(),
            AuthError::StepUpRequired { .. } => "A fresh sign-in is required".into(),
            AuthError::CheckUnavailable(_) => "Access check unavailable".into(),
            AuthError::ConsentRequired { .. } => "Consent required".into(),
            AuthError::Forbidden(_) => "Forbidden".into(),
            AuthError::Undetermined(_) => "Access cannot be decided".into(),
            AuthError::SignInFailed { title, .. } => title.clone(),
            AuthError::ProviderUnavailable(_) => "Identity provider unavailable".into(),
            AuthError::StoreUnavailable(_) => "Session store unavailable".into(),
            AuthError::Misconfigured(_) => "Authentication is misconfigured".into(),
            AuthError::AppTokenRefused { .. } => {
                "The identity provider refused this app a token".into()
            }
        }
    }

    /// What the client is told. Outages are described generically: their causes go to the
    /// log, not to whoever is asking.
    fn detail(&self) -> String {
        match self {
            AuthError::NotSignedIn => "Sign in, or send a bearer token.".into(),
            AuthError::InvalidToken(why) | AuthError::BadRequest(why) => why.clone(),
            AuthError::ReauthenticationRequired { reason, .. } => {
                format!("Your session can no longer get tokens silently ({reason}); sign in again.")
            }
            AuthError::InsufficientScope(scopes) => {
                format!("This needs the scopes: {}.", scopes.join(" "))
            }
            AuthError::InsufficientClaims { reason, .. } => format!(
                "{reason}: request a new token with the claims in the WWW-Authenticate challenge."
            ),
            AuthError::StepUpRequired { reason, .. } => format!(
                "{reason}: authenticate again and request a new token meeting the max_age and acr_values in the WWW-Authenticate challenge."
            ),
            AuthError::CheckUnavailable(_) => {
                "The access check could not be completed right now. Try again shortly.".into()
            }
            AuthError::ConsentRequired { scopes, .. } => format!(
                "The user or an administrator has not consented to this app using {} on the user's behalf. Sign in again to consent, or ask an administrator to grant consent for the app registration.",
                scopes.join(" ")
            ),
            AuthError::Forbidden(why) | AuthError::Undetermined(why) => why.clone(),
            AuthError::SignInFailed { detail, .. } => detail.clone(),
            AuthError::ProviderUnavailable(_) => {
                "The identity provider cannot be reached right now. Try again shortly.".into()
            }
            AuthError::StoreUnavailable(_) => {
                "Sessions cannot be read or saved right now. Try again shortly.".into()
            }
            AuthError::Misconfigured(why) => why.clone(),
            AuthError::AppTokenRefused { scopes, error, .. } => format!(
                "The identity provider refused this app a token for {scopes} ({error}); the server log says why."
            ),
        }
    }
}

/// How the request asked, which decides the shape of a refusal. `Debug` shows the path
/// only: a query may carry an authorization code or a state.
#[derive(Clone)]
pub(crate) struct Asker {
    /// A browser navigation: GET/HEAD, `Accept: text/html`, no `Authorization`.
    pub(crate) browser: bool,
    /// Where to come back to after signing in.
    pub(crate) path_and_query: String,
    /// The sign-in route, e.g. `/auth/login`.
    pub(crate) login_path: String,
}

impl std::fmt::Debug for Asker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self
            .path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(path, _)| path);
        f.debug_struct("Asker")
            .field("browser", &self.browser)
            .field("path", &path)
            .finish_non_exhaustive()
    }
}

impl Asker {
    pub(crate) fn new(method: &Method, uri: &http::Uri, headers: &HeaderMap, prefix: &str) -> Self {
        Self::of(is_navigation(method, headers), uri, prefix)
    }

    pub(crate) fn of(browser: bool, uri: &http::Uri, prefix: &str) -> Self {
        Self {
            browser,
            path_and_query: uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into()),
            login_path: format!("{prefix}/login"),
        }
    }
}

/// Logs a refusal for an outage: at most one ERROR line a second for each kind (provider,
/// store, check), saying how many of that kind went to DEBUG since the last one. During an
/// outage every request that needs the dependency is one, and anyone can send requests; one
/// kind never hides another.
fn log_unavailable(error: &AuthError, cause: &str) {
    /// Per kind: the second (since the first outage logged) of its last ERROR line, and how
    /// many were quieter since.
    struct Bucket {
        second: AtomicU64,
        quieter: AtomicU64,
    }
    impl Bucket {
        const fn new() -> Self {
            Self {
                second: AtomicU64::new(u64::MAX),
                quieter: AtomicU64::new(0),
            }
        }
    }
    static BUCKETS: [Bucket; 3] = [Bucket::new(), Bucket::new(), Bucket::new()];
    static START: OnceLock<Instant> = OnceLock::new();
    let bucket = &BUCKETS[match error {
        AuthError::StoreUnavailable(_) => 1,
        AuthError::CheckUnavailable(_) => 2,
        _ => 0,
    }];
    let now = START.get_or_init(Instant::now).elapsed().as_secs();
    if bucket.second.swap(now, Ordering::Relaxed) != now {
        let since = bucket.quieter.swap(0, Ordering::Relaxed);
        tracing::error!(error = %error, cause = %cause, more_at_debug = since, "authentication dependency unavailable");
    } else {
        bucket.quieter.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(error = %error, cause = %cause, "authentication dependency unavailable");
    }
}

/// A browser navigation: GET/HEAD, `Accept: text/html`, no `Authorization`.
pub(crate) fn is_navigation(method: &Method, headers: &HeaderMap) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && !headers.contains_key(header::AUTHORIZATION)
        && headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"))
}

/// An [`AuthError`] with what is needed to answer it: the response of extractors and routes.
#[derive(Debug)]
pub struct AuthRejection {
    pub(crate) error: AuthError,
    pub(crate) asker: Asker,
}

impl AuthRejection {
    /// The reason.
    pub fn error(&self) -> &AuthError {
        &self.error
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let AuthRejection { error, asker } = self;
        match &error {
            AuthError::ProviderUnavailable(cause)
            | AuthError::StoreUnavailable(cause)
            | AuthError::CheckUnavailable(cause) => {
                log_unavailable(&error, cause);
            }
            AuthError::Misconfigured(_) | AuthError::AppTokenRefused { .. } => {
                tracing::error!(error = %error, "msal-axum misconfigured")
            }
            _ => tracing::debug!(error = %error, "request refused"),
        }
        if asker.browser {
            match &error {
                AuthError::NotSignedIn | AuthError::InvalidToken(_) => {
                    return sign_in_again(&asker, &SignInAsk::default());
                }
                AuthError::InsufficientScope(scopes) => {
                    let ask = SignInAsk {
                        scopes,
                        ..SignInAsk::default()
                    };
                    return sign_in_again(&asker, &ask);
                }
                AuthError::ReauthenticationRequired {
                    scopes, login_hint, ..
                }
                | AuthError::ConsentRequired { scopes, login_hint } => {
                    let ask = SignInAsk {
                        scopes,
                        login_hint: login_hint.as_deref(),
                        ..SignInAsk::default()
                    };
                    return sign_in_again(&asker, &ask);
                }
                AuthError::InsufficientClaims {
                    claims,
                    scopes,
                    login_hint,
                    ..
                } => {
                    let ask = SignInAsk {
                        scopes,
                        login_hint: login_hint.as_deref(),
                        claims: Some(claims),
                        ..SignInAsk::default()
                    };
                    return sign_in_again(&asker, &ask);
                }
                AuthError::StepUpRequired {
                    max_age,
                    acr_values,
                    claims,
                    scopes,
                    login_hint,
                    ..
                } => {
                    let ask = SignInAsk {
                        scopes,
                        login_hint: login_hint.as_deref(),
                        claims: claims.as_deref(),
                        max_age: *max_age,
                        acr_values,
                        prompt_login: false,
                    };
                    return sign_in_again(&asker, &ask);
                }
                _ => {}
            }
        }
        let status = error.status();
        let mut response = if asker.browser {
            // A sign-in that went wrong offers a new one (its flow is used up or unknown).
            let again = matches!(error, AuthError::SignInFailed { .. })
                .then(|| (asker.login_path.as_str(), "Sign in again"));
            html_page(status, &error.title(), &error.detail(), again)
        } else {
            problem(status, &error.title(), &error.detail())
        };
        let challenge = match &error {
            AuthError::NotSignedIn => Some("Bearer".to_owned()),
            AuthError::InvalidToken(why) => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                quoted(why)
            )),
            AuthError::ReauthenticationRequired { reason, .. } => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"sign in again: {}\"",
                quoted(reason)
            )),
            AuthError::BadRequest(why) => Some(format!(
                "Bearer error=\"invalid_request\", error_description=\"{}\"",
                quoted(why)
            )),
            AuthError::InsufficientScope(scopes) => Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                quoted(&scopes.join(" "))
            )),
            AuthError::InsufficientClaims { claims, reason, .. } => {
                ClaimsRequest::parse(claims).map(|claims| {
                    format!(
                        "Bearer error=\"insufficient_claims\", error_description=\"{}\", claims=\"{}\"",
                        quoted(reason),
                        claims.to_base64()
                    )
                })
            }
            AuthError::StepUpRequired {
                max_age,
                acr_values,
                reason,
                ..
            } => {
                let mut challenge = format!(
                    "Bearer error=\"insufficient_user_authentication\", error_description=\"{}\"",
                    quoted(reason)
                );
                if let Some(seconds) = max_age {
                    challenge.push_str(&format!(", max_age=\"{seconds}\""));
                }
                if !acr_values.is_empty() {
                    challenge.push_str(&format!(
                        ", acr_values=\"{}\"",
                        quoted(&acr_values.join(" "))
                    ));
                }
                Some(challenge)
            }
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// The most characters of an untrusted value (a token's `kid`, a provider's error text) that
/// go into a log line or a message.
const UNTRUSTED_MAX: usize = 120;

/// Untrusted text made safe for log lines and messages: control characters (a `\n` that
/// would forge a log line), quotes and backslashes escaped, and at most [`UNTRUSTED_MAX`]
/// characters kept.
pub(crate) fn untrusted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(UNTRUSTED_MAX + 3));
    for (i, c) in text.chars().enumerate() {
        if i == UNTRUSTED_MAX {
            out.push('…');
            break;
        }
        match c {
            '"' | '\\' | '\'' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                out.extend(c.escape_default());
            }
            c => out.push(c),
        }
    }
    out
}

/// Makes text safe inside a quoted-string of `WWW-Authenticate`.
fn quoted(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\')
        .collect()
}

/// What a sign-in is asked to get, beyond a signed-in user.
#[derive(Default)]
pub(crate) struct SignInAsk<'a> {
    /// Extra scopes (incremental consent).
    pub(crate) scopes: &'a [String],
    /// Who to pre-fill the provider's page with.
    pub(crate) login_hint: Option<&'a str>,
    /// A claims request (JSON) to answer.
    pub(crate) claims: Option<&'a str>,
    /// The most seconds since the user's authentication.
    pub(crate) max_age: Option<u64>,
    /// Acceptable authentication levels, most preferred first.
    pub(crate) acr_values: &'a [String],
    /// `prompt=login`: the provider must authenticate the user afresh.
    pub(crate) prompt_login: bool,
}

/// The redirect to the sign-in route: back to this request afterwards, asking for `ask`.
fn sign_in_again(asker: &Asker, ask: &SignInAsk<'_>) -> Response {
    let location = login_location(&asker.login_path, &asker.path_and_query, ask);
    redirect(StatusCode::FOUND, &location)
}

/// The one way a sign-in route URL is written: `{login_path}?next=…` with what to ask the
/// provider for.
pub(crate) fn login_location(login_path: &str, next: &str, ask: &SignInAsk<'_>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("next", next);
    if !ask.scopes.is_empty() {
        query.append_pair("scopes", &ask.scopes.join(" "));
    }
    if let Some(hint) = ask.login_hint {
        query.append_pair("login_hint", hint);
    }
    if let Some(claims) = ask.claims {
        query.append_pair("claims", claims);
    }
    if let Some(seconds) = ask.max_age {
        query.append_pair("max_age", &seconds.to_string());
    }
    if !ask.acr_values.is_empty() {
        query.append_pair("acr_values", &ask.acr_values.join(" "));
    }
    if ask.prompt_login {
        query.append_pair("prompt", "login");
    }
    format!("{login_path}?{}", query.finish())
}

pub(crate) fn redirect(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (status, [(header::LOCATION, value)]).into_response(),
        Err(_) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Bad redirect",
            "A redirect target could not be encoded.",
        ),
    }
}

/// RFC 9457 problem details.
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [
            (header::CONTENT_TYPE, "application/problem+json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A small page for people, with a link to act on it (`href`, label) before the one home.
fn html_page(
    status: StatusCode,
    title: &str,
    detail: &str,
    action: Option<(&str, &str)>,
) -> Response {
    let action = action.map_or_else(String::new, |(href, label)| {
        format!(
            "<a href=\"{}\">{}</a> · ",
            escape_html(href),
            escape_html(label)
        )
    });
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{d}</p><p>{action}<a href=\"/\">Home</a></p></body></html>\n",
        t = escape_html(title),
        d = escape_html(detail)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// Escapes text for HTML content and attributes.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
