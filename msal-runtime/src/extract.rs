//! The layer that puts msal-axum into each request, and the extractors handlers take:
//! [`User`], `Option<User>`, [`Claims`], [`CsrfToken`].

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::Request;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tower::{Layer, Service};
use tower_sessions::{Session, SessionManagerLayer};

use crate::error::{Asker, AuthError, AuthRejection, is_navigation};
use crate::msal::Inner;
use crate::principal::{Principal, Undetermined, User, Verdict};
use crate::session::{self, MsalStore};
use crate::validate::{
    AccessKind, AccessTokenExpectations, ValidationError, validate_access_token,
};
use axum::http::header;

/// msal-axum's state, as the layer puts it into each request.
#[derive(Clone)]
pub(crate) struct Ctx(pub(crate) Arc<Inner>);

fn misconfigured() -> AuthError {
    AuthError::Misconfigured(
        "msal-axum's layer does not wrap this route: add `.layer(msal.layer())` to the \
         router, or, if it is there, move this route above it. A route added after \
         `.layer(...)` runs without it: axum layers wrap only the routes added before them \
         (`Router::new().route(...).merge(msal.routes()).layer(msal.layer())`)."
            .into(),
    )
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AuthRejection {
                error: misconfigured(),
                asker: Asker::new(&parts.method, &parts.uri, &parts.headers, "/auth"),
            })
    }
}

/// The request's session, put there by the session layer around ours.
pub(crate) struct Sess(pub(crate) Session);

impl<S: Send + Sync> FromRequestParts<S> for Sess {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .map(Sess)
            .ok_or_else(|| AuthRejection {
                error: misconfigured(),
                asker: Asker::new(&parts.method, &parts.uri, &parts.headers, "/auth"),
            })
    }
}

/// Applies msal-axum to a router: sessions (cookie with only an opaque id: `HttpOnly`,
/// `SameSite=Lax`, `Secure` except on http loopback) and the request context the extractors
/// and the `#[msal_protected]` guard read. Made by [`Msal::layer`](crate::Msal::layer).
#[derive(Clone)]
pub struct MsalLayer {
    inner: Arc<Inner>,
    sessions: SessionManagerLayer<MsalStore>,
}

impl MsalLayer {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        let config = &inner.config;
        let lifetime = time::Duration::seconds(config.session_lifetime.as_secs() as i64);
        let sessions = SessionManagerLayer::new(inner.store.clone())
            .with_name(cookie_name(&config.cookie_name))
            .with_http_only(true)
            .with_same_site(tower_sessions::cookie::SameSite::Lax)
            .with_secure(config.secure_cookies())
            .with_path("/")
            .with_expiry(tower_sessions::Expiry::OnInactivity(lifetime));
        Self { inner, sessions }
    }
}

/// The session cookie's name as tower-sessions keeps it: its service is cloned for every
/// request, so the default name is borrowed rather than copied each time.
fn cookie_name(name: &str) -> std::borrow::Cow<'static, str> {
    const DEFAULT: &str = "msal_session";
    if name == DEFAULT {
        std::borrow::Cow::Borrowed(DEFAULT)
    } else {
        std::borrow::Cow::Owned(name.to_owned())
    }
}

impl<S> Layer<S> for MsalLayer {
    /// With sessions for a web app; without them for a web API ([`Msal::api`](crate::Msal::api)),
    /// which judges bearer tokens only and so never reads a cookie. In front of both, the
    /// size limits of [`MsalEntry`].
    type Service = MsalEntry<
        tower::util::Either<
            <SessionManagerLayer<MsalStore> as Layer<MsalService<S>>>::Service,
            MsalService<S>,
        >,
    >;

    fn layer(&self, inner: S) -> Self::Service {
        let service = MsalService {
            inner: self.inner.clone(),
            next: inner,
        };
        MsalEntry(if self.inner.api_only {
            tower::util::Either::Right(service)
        } else {
            tower::util::Either::Left(self.sessions.layer(service))
        })
    }
}

/// The most bytes of `Authorization` headers a request may carry: a bearer token of Entra
/// with many claims is a few kilobytes; anything near this is not a token.
pub(crate) const MAX_AUTHORIZATION_BYTES: usize = 16 * 1024;
/// The most bytes of `Cookie` headers a request may carry (browsers send at most about this
/// much to one site; the session cookie itself is 22 bytes of id).
pub(crate) const MAX_COOKIE_BYTES: usize = 8 * 1024;

/// The outermost part of [`MsalLayer`]: a request whose `Authorization` or `Cookie` headers
/// exceed [`MAX_AUTHORIZATION_BYTES`] or [`MAX_COOKIE_BYTES`] is answered 431 (Request
/// Header Fields Too Large) before anything parses them.
#[derive(Clone)]
pub struct MsalEntry<S>(S);

/// The bytes of every `name` header of a request, together.
fn header_bytes(headers: &axum::http::HeaderMap, name: &header::HeaderName) -> usize {
    headers.get_all(name).iter().map(|v| v.len()).sum()
}

impl<S, B> Service<Request<B>> for MsalEntry<S>
where
    S: Service<Request<B>, Response = Response> + Send,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let headers = request.headers();
        for (name, limit) in [
            (header::AUTHORIZATION, MAX_AUTHORIZATION_BYTES),
            (header::COOKIE, MAX_COOKIE_BYTES),
        ] {
            let size = header_bytes(headers, &name);
            if size > limit {
                tracing::info!(header = %name, size, limit, "request refused: header too large");
                let response = crate::error::problem(
                    axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "Request header fields too large",
                    &format!(
                        "The {name} header is {size} bytes; this app accepts at most {limit}."
                    ),
                );
                return Box::pin(async move { Ok(response) });
            }
        }
        Box::pin(self.0.call(request))
    }
}

/// The service [`MsalLayer`] wraps around the app's (inside the session layer).
#[derive(Clone)]
pub struct MsalService<S> {
    inner: Arc<Inner>,
    next: S,
}

impl<S, B> Service<Request<B>> for MsalService<S>
where
    S: Service<Request<B>, Response = Response> + Send,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.next.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(Ctx(self.inner.clone()));
        let session = request.extensions().get::<Session>().cloned();
        // Only what a refusal would need, kept cheaply; the strings are built on failure.
        let browser = is_navigation(request.method(), request.headers());
        let uri = request.uri().clone();
        let inner = self.inner.clone();
        let future = self.next.call(request);
        Box::pin(async move {
            let response = future.await?;
            // Save here, so a store failure becomes a 503 page or problem; the session layer
            // would answer a bare 500. It skips its own save after a server error.
            if let Some(session) = session
                && session.is_modified()
                && !response.status().is_server_error()
                && !session.is_empty().await
                && let Err(e) = session.save().await
            {
                return Ok(AuthRejection {
                    error: AuthError::StoreUnavailable(e.to_string()),
                    asker: Asker::of(browser, &uri, &inner.config.route_prefix),
                }
                .into_response());
            }
            Ok(response)
        })
    }
}

async fn current_user(
    parts: &mut Parts,
) -> Result<Option<Arc<crate::session::Who>>, AuthRejection> {
    let refuse = |parts: &Parts, prefix: &str, error: AuthError| AuthRejection {
        error,
        asker: Asker::new(&parts.method, &parts.uri, &parts.headers, prefix),
    };
    let Some(ctx) = parts.extensions.get::<Ctx>() else {
        return Err(refuse(parts, "/auth", misconfigured()));
    };
    if ctx.0.api_only {
        // A web API has no sessions: nobody is signed in by a cookie.
        return Ok(None);
    }
    let Some(session) = parts.extensions.get::<Session>() else {
        return Err(refuse(parts, &ctx.0.config.route_prefix, misconfigured()));
    };
    let inner = &ctx.0;
    match session::who(
        session,
        &inner.config.session_keys,
        &inner.app,
        &inner.sessions,
    )
    .await
    {
        Ok(who) => Ok(who),
        Err(error) => Err(refuse(parts, &inner.config.route_prefix, error)),
    }
}

fn not_signed_in(parts: &Parts) -> AuthRejection {
    let prefix = parts
        .extensions
        .get::<Ctx>()
        .map(|c| c.0.config.route_prefix.clone())
        .unwrap_or_else(|| "/auth".into());
    AuthRejection {
        error: AuthError::NotSignedIn,
        asker: Asker::new(&parts.method, &parts.uri, &parts.headers, &prefix),
    }
}

/// The user of a principal; an app-only token has none.
fn user_of(parts: &Parts, p: &Principal) -> Result<User, AuthRejection> {
    p.user().cloned().ok_or_else(|| AuthRejection {
        error: AuthError::Forbidden("this needs a user, and an app-only token has none".into()),
        asker: Asker::new(&parts.method, &parts.uri, &parts.headers, "/auth"),
    })
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match principal(parts).await? {
            Some(p) => user_of(parts, &p),
            None => Err(not_signed_in(parts)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for User {
    type Rejection = AuthRejection;

    /// `None` for anyone who is not a signed-in user: nobody signed in, an invalid or
    /// malformed token, an app-only caller. Only an outage (503) or a missing layer (500)
    /// rejects, as those say nothing about who is calling.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        match principal(parts).await {
            Ok(p) => Ok(p.and_then(|p| p.user().cloned())),
            Err(rejection) if is_outage(&rejection.error) => Err(rejection),
            Err(_) => Ok(None),
        }
    }
}

/// Whether a failure is the app's or a dependency's, not the caller's: it is answered as
/// what it is, never read as "this caller is nobody" or "this fact is unknown".
fn is_outage(error: &AuthError) -> bool {
    matches!(
        error,
        AuthError::ProviderUnavailable(_)
            | AuthError::StoreUnavailable(_)
            | AuthError::Misconfigured(_)
            | AuthError::AppTokenRefused { .. }
    )
}

/// The signed-in user's ID-token claims as your own type. Refuses with 403 when they do not
/// fit it.
///
/// ```
/// use msal_runtime::Claims;
///
/// #[derive(serde::Deserialize)]
/// struct Employee { oid: String, department: Option<String> }
///
/// async fn handler(Claims(me): Claims<Employee>) -> String {
///     me.department.unwrap_or_default()
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Claims<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <User as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        user.claims_as::<T>()
            .map(Claims)
            .map_err(|e| AuthRejection {
                error: AuthError::Forbidden(format!(
                    "the signed-in user's claims do not have what this page needs: {e}"
                )),
                asker: Asker::new(&parts.method, &parts.uri, &parts.headers, "/auth"),
            })
    }
}

/// The signed-in session's CSRF token, for the sign-out form (`POST {prefix}/logout` with the
/// field `csrf_token`, or the header `X-CSRF-Token`).
///
/// ```
/// use axum::response::Html;
/// use msal_runtime::CsrfToken;
///
/// async fn page(csrf: CsrfToken) -> Html<String> {
///     Html(format!(
///         r#"<form method="post" action="/auth/logout">{}<button>Sign out</button></form>"#,
///         csrf.hidden_input()
///     ))
/// }
/// ```
#[derive(Clone)]
pub struct CsrfToken(String);

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken([REDACTED])")
    }
}

impl CsrfToken {
    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<input type="hidden" name="csrf_token" value="…">`.
    pub fn hidden_input(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
            crate::error::escape_html(&self.0)
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match current_user(parts).await? {
            Some(who) => Ok(CsrfToken(who.csrf.clone())),
            None => Err(not_signed_in(parts)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CsrfToken {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(current_user(parts)
            .await?
            .map(|s| CsrfToken(s.csrf.clone())))
    }
}

/// The caller as requirements judge it, loaded once per request and kept in its extensions.
/// A request with an `Authorization` header is judged by that header only, never by a
/// cookie. `Ok(None)`: nobody signed in and no token.
pub(crate) async fn principal(parts: &mut Parts) -> Result<Option<Arc<Principal>>, AuthRejection> {
    if let Some(p) = parts.extensions.get::<Arc<Principal>>() {
        return Ok(Some(p.clone()));
    }
    let Some(ctx) = parts.extensions.get::<Ctx>().cloned() else {
        return Err(AuthRejection {
            error: misconfigured(),
            asker: Asker::new(&parts.method, &parts.uri, &parts.headers, "/auth"),
        });
    };
    let refuse = |parts: &Parts, error: AuthError| AuthRejection {
        error,
        asker: Asker::new(
            &parts.method,
            &parts.uri,
            &parts.headers,
            &ctx.0.config.route_prefix,
        ),
    };
    let found = bearer_header(&parts.headers).map_err(|error| refuse(parts, error))?;
    let p = if let Some(value) = found {
        match bearer(&ctx, value).await {
            Ok(p) => p,
            Err(error) => return Err(refuse(parts, error)),
        }
    } else if ctx.0.api_only {
        return Ok(None);
    } else {
        let Some(who) = current_user(parts).await? else {
            return Ok(None);
        };
        who.principal.clone()
    };
    parts.extensions.insert(p.clone());
    Ok(Some(p))
}

/// The request's `Authorization` header when it uses the Bearer scheme. Another scheme
/// (`Basic` added by a proxy, say) is not ours to judge, and does not hide the session
/// cookie: the request is judged as if it had none.
/// Two bearer headers are refused: which one is the caller is not for us to guess.
pub(crate) fn bearer_header(
    headers: &axum::http::HeaderMap,
) -> Result<Option<&axum::http::HeaderValue>, AuthError> {
    let mut bearers = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter(|v| is_bearer_scheme(v.as_bytes()));
    let first = bearers.next();
    if bearers.next().is_some() {
        return Err(AuthError::BadRequest(
            "expected one `Authorization: Bearer` header, got several".into(),
        ));
    }
    Ok(first)
}

/// Whether an `Authorization` value names the Bearer scheme (case-insensitive).
pub(crate) fn is_bearer_scheme(value: &[u8]) -> bool {
    let scheme = value
        .iter()
        .position(|&b| b == b' ')
        .map_or(value, |space| &value[..space]);
    scheme.eq_ignore_ascii_case(b"bearer")
}

/// RFC 6750 `b64token` characters, judged byte by byte (a token is a few kilobytes).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Where a bearer token is looked up in the cache of validated tokens: the tail of its
/// signature, which differs between any two tokens the provider signed. Cheaper than a
/// digest of the whole token, and safe because a hit is only taken after the cached
/// principal's token is compared with this one in full.
fn bearer_key(token: &str) -> [u8; 32] {
    let tail = &token.as_bytes()[token.len().saturating_sub(32)..];
    let mut key = [0u8; 32];
    key[32 - tail.len()..].copy_from_slice(tail);
    key
}

/// The principal of an `Authorization: Bearer` header: from the cache of validated tokens,
/// or validated now.
pub(crate) async fn bearer(
    ctx: &Ctx,
    value: &axum::http::HeaderValue,
) -> Result<Arc<Principal>, AuthError> {
    let bytes = value.as_bytes();
    let rest = match bytes.iter().position(|&b| b == b' ') {
        Some(space) => &bytes[space + 1..],
        None => &[][..],
    };
    if !is_bearer_scheme(bytes) {
        // Another scheme is not ours to judge; it is not a sign-in either.
        return Err(AuthError::NotSignedIn);
    }
    let token = rest.trim_ascii();
    // Every byte is judged (no early exit), so the check runs as a vector loop.
    let well_formed = token.iter().fold(true, |ok, &b| ok & is_token_byte(b));
    let token = match std::str::from_utf8(token) {
        Ok(token) if well_formed && !token.is_empty() => token,
        _ => {
            return Err(AuthError::BadRequest(
                "expected `Authorization: Bearer <token>` with one token".into(),
            ));
        }
    };
    let inner = &ctx.0;
    let key = bearer_key(token);
    if let Some(p) = inner.tokens.get(&key, inner.config.clock_skew)
        && p.raw.as_ref().is_some_and(|raw| *raw.0 == *token)
    {
        return Ok(p);
    }
    let (p, exp) = validate_bearer(inner, token).await?;
    let p = Arc::new(p);
    inner.tokens.insert(key, p.clone(), exp);
    Ok(p)
}

/// Validates an access token with the provider's keys (no cache): the principal it names
/// and its expiry.
pub(crate) async fn validate_bearer(
    inner: &Inner,
    token: &str,
) -> Result<(Principal, i64), AuthError> {
    let d = inner
        .provider
        .discovered()
        .await
        .map_err(|e| AuthError::ProviderUnavailable(e.to_string()))?;
    let expect = AccessTokenExpectations {
        audiences: &inner.config.audiences,
        issuer: &d.issuer,
        v1_issuer: d.v1_issuer.as_ref(),
        skew: inner.config.clock_skew,
        allowed_tenants: &inner.config.allowed_tenants,
        b2c_policies: &inner.config.b2c_policies,
        allow_no_permissions: inner.config.accept_unscoped_tokens,
    };
    let (claims, kind) = validate_access_token(&d.keys, token, &expect)
        .await
        .map_err(|e| match e {
            ValidationError::KeysUnavailable(why) => AuthError::ProviderUnavailable(why),
            ValidationError::Invalid(why) => AuthError::InvalidToken(why),
        })?;
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or_default();
    Ok((
        Principal::bearer(claims, kind == AccessKind::App, token, inner.app.this_api()),
        exp,
    ))
}

/// The requirement that admitted the request, left by the guard: [`AccessToken`](crate::AccessToken)
/// gets the token for the delegated scopes it names.
#[derive(Clone, Debug)]
pub(crate) struct Requirement(pub(crate) &'static crate::principal::Rule);

/// The guard `#[msal_protected]` adds as a handler's first parameter: it runs before every
/// other extractor and before the body, and lets the request through only when the
/// handler's requirement holds. `ID` names the requirement the macro registered.
#[doc(hidden)]
pub struct Guard<const ID: u64>(());

impl<S: Send + Sync, const ID: u64> FromRequestParts<S> for Guard<ID> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Built only for a refusal: an admitted request allocates nothing here.
        let refuse = |parts: &Parts, error: AuthError| {
            let prefix = parts
                .extensions
                .get::<Ctx>()
                .map_or("/auth", |c| c.0.config.route_prefix.as_str());
            AuthRejection {
                error,
                asker: Asker::new(&parts.method, &parts.uri, &parts.headers, prefix),
            }
        };
        let Some(protected) = crate::principal::registered(ID) else {
            // Fail closed: a guard whose requirement cannot be found lets nobody in.
            return Err(refuse(
                parts,
                AuthError::Misconfigured(format!(
                    "no requirement is registered for guard {ID:#x}; rebuild, and report a bug if it persists"
                )),
            )
            .into_response());
        };
        let deny = |parts: &Parts, error: AuthError| {
            let rejection = refuse(parts, error);
            match protected.on_denied {
                Some(custom) => custom(rejection),
                None => rejection.into_response(),
            }
        };
        let mut principal = match principal(parts).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(deny(parts, AuthError::NotSignedIn)),
            Err(rejection) => return Err(deny(parts, rejection.error)),
        };
        let mut verdict = protected.rule.evaluate(&principal);
        if matches!(verdict, Verdict::Unknown(_))
            && principal.groups_unknown()
            && protected.rule.names_groups()
        {
            // The token did not say which groups (overage, or no claim): ask Graph, then
            // judge again. An outage is answered as one; whatever Graph cannot answer stays
            // Unknown, and Unknown is refused.
            match resolve_groups(parts, &principal).await {
                Ok(Some(resolved)) => {
                    principal = resolved;
                    parts.extensions.insert(principal.clone());
                    verdict = protected.rule.evaluate(&principal);
                }
                Ok(None) => {}
                Err(error) => return Err(deny(parts, error)),
            }
        }
        match verdict {
            Verdict::Allow => {
                parts.extensions.insert(Requirement(&protected.rule));
                Ok(Guard(()))
            }
            Verdict::MissingScopes => {
                let missing = protected.rule.missing_scopes(&principal);
                let missing = missing.iter().map(|s| (*s).to_owned()).collect();
                Err(deny(parts, AuthError::InsufficientScope(missing)))
            }
            Verdict::Deny => Err(deny(
                parts,
                AuthError::Forbidden(format!("This needs {}.", protected.rule.describe())),
            )),
            Verdict::Unknown(why) => Err(deny(parts, undetermined(protected, why))),
        }
    }
}

/// The caller's group memberships from Microsoft Graph, for a token that did not carry them
/// (Entra's overage marker, or no `groups` claim): with the signed-in user's Graph token, or
/// on behalf of a bearer caller when the app has a credential. Only the groups some
/// requirement names are kept, with the session (or with the validated token), so Graph is
/// asked once. `Ok(None)` when Graph cannot say (the groups stay unknown, and so does any
/// rule that needs them); `Err` for an outage or a session that must sign in again, which
/// are answered as such.
async fn resolve_groups(
    parts: &Parts,
    principal: &Principal,
) -> Result<Option<Arc<Principal>>, AuthError> {
    let Some(ctx) = parts.extensions.get::<Ctx>() else {
        return Ok(None);
    };
    let inner = &ctx.0;
    let scopes = [crate::graph::MEMBERSHIP_SCOPE.to_owned()];
    let token = match principal.kind {
        crate::PrincipalKind::Session => {
            let Some(session) = parts.extensions.get::<Session>() else {
                return Ok(None);
            };
            crate::tokens::user_token(inner, session, &scopes, None).await
        }
        crate::PrincipalKind::BearerUser if inner.config.client_credential.is_some() => {
            crate::tokens::on_behalf_of(inner, principal, &scopes, None).await
        }
        _ => return Ok(None),
    };
    let token = match token {
        Ok(token) => token,
        Err(e) if is_outage(&e) || matches!(e, AuthError::ReauthenticationRequired { .. }) => {
            return Err(e);
        }
        Err(e) => {
            tracing::warn!(error = %e, "no Microsoft Graph token to look up group memberships; group rules stay undetermined");
            return Ok(None);
        }
    };
    let looked_up = crate::graph::member_objects(
        inner.provider.http(),
        &inner.config.graph_url,
        token.secret(),
    )
    .await;
    let mut groups = match looked_up {
        Ok(groups) => groups,
        Err(crate::graph::MembershipFailure::Outage(why)) => {
            return Err(AuthError::ProviderUnavailable(why));
        }
        Err(crate::graph::MembershipFailure::Refused(why)) => {
            tracing::warn!(
                why,
                "Microsoft Graph did not list the group memberships; group rules stay undetermined"
            );
            return Ok(None);
        }
    };
    let named = crate::principal::named_groups();
    groups.retain(|g| named.contains(&g.to_ascii_lowercase()));
    let resolved = Arc::new(principal.with_groups(groups.clone()));
    match (&principal.raw, parts.extensions.get::<Session>()) {
        (Some(raw), _) => {
            let exp = principal.expires_at.unwrap_or_default();
            inner
                .tokens
                .insert(bearer_key(&raw.0), resolved.clone(), exp);
        }
        (None, Some(session)) => {
            if let Err(e) =
                session::remember_groups(session, &inner.config.session_keys, &inner.app, groups)
                    .await
            {
                // This request is judged on the answer; the next one asks Graph again.
                tracing::warn!(error = %e, "group memberships could not be kept with the session");
            }
        }
        (None, None) => {}
    }
    Ok(Some(resolved))
}

/// The refusal of a requirement that could not be decided: what it needs, and what could
/// not be determined.
fn undetermined(protected: &crate::principal::Protected, why: Undetermined) -> AuthError {
    AuthError::Undetermined(format!(
        "This needs {}. {}",
        protected.rule.describe(),
        why.reason()
    ))
}

/// Who asked, kept for refusals built after extraction.
#[derive(Clone)]
struct Requester {
    browser: bool,
    uri: axum::http::Uri,
    prefix: String,
}

impl Requester {
    fn of(parts: &Parts, ctx: &Ctx) -> Self {
        Self {
            browser: crate::error::is_navigation(&parts.method, &parts.headers),
            uri: parts.uri.clone(),
            prefix: ctx.0.config.route_prefix.clone(),
        }
    }

    fn refuse(&self, error: AuthError) -> AuthRejection {
        AuthRejection {
            error,
            asker: Asker::of(self.browser, &self.uri, &self.prefix),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for crate::AccessToken {
    type Rejection = AuthRejection;

    /// The signed-in user's token for the scopes the handler's
    /// `#[msal_protected(scopes = …)]` names: from the cache or a silent refresh. A bearer
    /// request is refused (500, a programming error): there those scopes are this API's
    /// own, held by the caller's token, which must never be handed on; a handler calls
    /// [`Tokens::on_behalf_of`] with the downstream API's scopes instead, and reads the
    /// caller's token, if it must, with [`Tokens::incoming_bearer`].
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let scopes: Vec<String> = parts
            .extensions
            .get::<Requirement>()
            .map(|r| {
                r.0.required_scopes()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if scopes.is_empty() {
            return Err(AuthRejection {
                error: AuthError::Misconfigured(
                    "AccessToken gives the token for the scopes of #[msal_protected(scopes = \"…\")]; this handler names none (use Tokens::user_token for others)".into(),
                ),
                asker: Asker::new(&parts.method, &parts.uri, &parts.headers, "/auth"),
            });
        }
        let tokens = <Tokens as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if tokens.principal.kind != crate::PrincipalKind::Session {
            return Err(tokens.refuse(AuthError::Misconfigured(
                "AccessToken holds a browser session's token; on a bearer request this handler's scopes are the caller's scopes for this API, and its token must never be handed on: call Tokens::on_behalf_of(&[\"<downstream API>/<scope>\"]) for a downstream API, or Tokens::incoming_bearer() to read the caller's own token".into(),
            )));
        }
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        tokens.user_token(&scopes).await
    }
}

/// Tokens for downstream APIs, on demand: the signed-in user's ([`user_token`](Self::user_token)),
/// on-behalf-of the calling user ([`on_behalf_of`](Self::on_behalf_of)), the app's own
/// ([`app_token`](Self::app_token)), and a Microsoft Graph helper ([`graph`](Self::graph)).
///
/// ```
/// use axum::Json;
/// use msal_runtime::{AuthRejection, Tokens, msal_protected};
///
/// #[msal_protected(scopes = "User.Read")]
/// async fn graph_me(tokens: Tokens) -> Result<Json<serde_json::Value>, AuthRejection> {
///     Ok(Json(tokens.graph(&["User.Read"]).get("/me").await?))
/// }
/// ```
#[derive(Clone)]
pub struct Tokens {
    inner: Arc<crate::msal::Inner>,
    session: Option<Session>,
    principal: Arc<Principal>,
    requester: Requester,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("principal", &self.principal.kind)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tokens {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(principal) = principal(parts).await? else {
            return Err(not_signed_in(parts));
        };
        let Some(ctx) = parts.extensions.get::<Ctx>().cloned() else {
            return Err(AuthRejection {
                error: misconfigured(),
                asker: Asker::new(&parts.method, &parts.uri, &parts.headers, "/auth"),
            });
        };
        Ok(Tokens {
            requester: Requester::of(parts, &ctx),
            inner: ctx.0,
            session: parts.extensions.get::<Session>().cloned(),
            principal,
        })
    }
}

fn owned(scopes: &[&str]) -> Vec<String> {
    scopes.iter().map(|s| (*s).to_owned()).collect()
}

impl Tokens {
    /// The signed-in user's token for `scopes` (one resource): cached in the session, renewed
    /// silently. When that is no longer possible, a browser is sent to sign in again with
    /// these scopes and an API caller gets 401.
    pub async fn user_token(&self, scopes: &[&str]) -> Result<crate::AccessToken, AuthRejection> {
        self.user_token_with_claims(&owned(scopes), None).await
    }

    async fn user_token_with_claims(
        &self,
        scopes: &[String],
        claims: Option<&str>,
    ) -> Result<crate::AccessToken, AuthRejection> {
        let Some(session) = &self.session else {
            return Err(self.requester.refuse(AuthError::NotSignedIn));
        };
        if self.principal.kind != crate::PrincipalKind::Session {
            return Err(self.requester.refuse(AuthError::Forbidden(
                "a bearer request has no session tokens: use on_behalf_of".into(),
            )));
        }
        crate::tokens::user_token(&self.inner, session, scopes, claims)
            .await
            .map_err(|e| self.requester.refuse(e))
    }

    /// A token for `scopes` on behalf of the user whose bearer token called this API.
    pub async fn on_behalf_of(&self, scopes: &[&str]) -> Result<crate::AccessToken, AuthRejection> {
        crate::tokens::on_behalf_of(&self.inner, &self.principal, &owned(scopes), None)
            .await
            .map_err(|e| self.requester.refuse(e))
    }

    /// The caller's own bearer token, exactly as it arrived, for a bearer request (`None`
    /// for a session). It is a token for this API: read it, log nothing of it, and never
    /// hand it to another service (one that received it could call this API as the
    /// caller). For a downstream API use [`on_behalf_of`](Self::on_behalf_of).
    pub fn incoming_bearer(&self) -> Option<crate::AccessToken> {
        let raw = self.principal.raw.as_ref()?;
        Some(crate::AccessToken::new(
            &raw.0,
            self.principal.expires_at.unwrap_or_default(),
            self.principal.scopes.clone(),
        ))
    }

    /// The app's own token (client credentials) for `scopes`.
    pub async fn app_token(&self, scopes: &[&str]) -> Result<crate::AccessToken, AuthRejection> {
        crate::tokens::app_token(&self.inner, &owned(scopes), None)
            .await
            .map_err(|e| self.requester.refuse(e))
    }

    /// Calls Microsoft Graph with the caller's token for `scopes`: the signed-in user's, or
    /// on-behalf-of the bearer caller.
    pub fn graph(&self, scopes: &[&str]) -> crate::graph::Graph<'_> {
        crate::graph::Graph::new(self, owned(scopes))
    }

    /// A token for the Graph helper, with a claims challenge when retrying.
    pub(crate) async fn for_graph(
        &self,
        scopes: &[String],
        claims: Option<&str>,
    ) -> Result<crate::AccessToken, AuthRejection> {
        match self.principal.kind {
            crate::PrincipalKind::Session => self.user_token_with_claims(scopes, claims).await,
            crate::PrincipalKind::BearerUser => {
                crate::tokens::on_behalf_of(&self.inner, &self.principal, scopes, claims)
                    .await
                    .map_err(|e| self.requester.refuse(e))
            }
            _ => crate::tokens::app_token(&self.inner, scopes, claims)
                .await
                .map_err(|e| self.requester.refuse(e)),
        }
    }

    pub(crate) fn graph_url(&self) -> &url::Url {
        &self.inner.config.graph_url
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        self.inner.provider.http()
    }

    pub(crate) fn refuse(&self, error: AuthError) -> AuthRejection {
        self.requester.refuse(error)
    }
}
