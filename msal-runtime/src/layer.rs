//! [`MsalLayer`]: what msal-axum puts around an app. Outermost the header size limits (431),
//! then the request context the extractors and the guard read and, for a web app, the
//! session: its id read from the cookie, and after the handler the session saved and its
//! cookie set, a store failure answered as an outage.
//!
//! The session is a `tower_sessions::Session` over msal's store (any
//! `tower_sessions::SessionStore` would do): handlers use it as they would under
//! tower-sessions' own layer, which this one replaces because it parses every cookie into a
//! jar and clones its configuration on each request.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tower_sessions::{Expiry, Session};

use crate::caller::Ctx;
use crate::error::{Asker, AuthError, AuthRejection, is_navigation};
use crate::session::{MsalStore, SessionCookie};

/// Applies msal-axum to a router: sessions (cookie with only an opaque id: `HttpOnly`,
/// `SameSite=Lax`, `Secure` except on http loopback) and the request context the extractors
/// and the `#[msal_protected]` guard read. Made by [`Msal::layer`](crate::Msal::layer).
#[derive(Clone)]
pub struct MsalLayer {
    ctx: Ctx,
    sessions: Option<Arc<Sessions>>,
}

/// What a web app's requests need to have a session: the store, the cookie, the expiry, and
/// the sign-in prefix its refusals link to.
struct Sessions {
    store: Arc<MsalStore>,
    cookie: SessionCookie,
    expiry: Expiry,
    route_prefix: String,
}

impl MsalLayer {
    pub(crate) fn new(ctx: Ctx, store: MsalStore) -> Self {
        let config = &ctx.callers.config;
        // A web API judges bearer tokens only and so never reads a cookie.
        let sessions = (!ctx.callers.api_only).then(|| {
            let lifetime = i64::try_from(config.session_lifetime.as_secs()).unwrap_or(i64::MAX);
            Arc::new(Sessions {
                store: Arc::new(store),
                cookie: SessionCookie::new(config),
                expiry: Expiry::OnInactivity(time::Duration::seconds(lifetime)),
                route_prefix: config.route_prefix.clone(),
            })
        });
        Self { ctx, sessions }
    }
}

impl<S> Layer<S> for MsalLayer {
    /// The app's service with the context and sessions, behind the size limits of
    /// [`MsalEntry`].
    type Service = MsalEntry<MsalService<S>>;

    fn layer(&self, inner: S) -> Self::Service {
        MsalEntry(MsalService {
            ctx: self.ctx.clone(),
            sessions: self.sessions.clone(),
            next: inner,
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
/// exceed 16 KiB (`Authorization`) or 8 KiB (`Cookie`) is answered 431 (Request
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

/// The service [`MsalLayer`] wraps around the app's: the request context, the session, and
/// after the handler the session's save and cookie.
#[derive(Clone)]
pub struct MsalService<S> {
    ctx: Ctx,
    sessions: Option<Arc<Sessions>>,
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
        request.extensions_mut().insert(self.ctx.clone());
        let Some(sessions) = self.sessions.clone() else {
            return Box::pin(self.next.call(request));
        };
        let id = sessions.cookie.id_in(request.headers());
        let session = Session::new(id, sessions.store.clone(), Some(sessions.expiry));
        request.extensions_mut().insert(session.clone());
        // Only what a refusal would need, kept cheaply; the strings are built on failure.
        let browser = is_navigation(request.method(), request.headers());
        let uri = request.uri().clone();
        let future = self.next.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            let failed = response.status().is_server_error();
            let outcome = finish(&session, id.is_some(), &sessions.cookie, failed).await;
            match outcome {
                Ok(Some(cookie)) => {
                    response.headers_mut().append(header::SET_COOKIE, cookie);
                }
                Ok(None) => {}
                Err(error) => {
                    return Ok(AuthRejection {
                        error,
                        asker: Asker::of(browser, &uri, &sessions.route_prefix),
                    }
                    .into_response());
                }
            }
            Ok(response)
        })
    }
}

/// After the handler: a changed session is saved (not after a server error) and its cookie
/// set; an ended or unknown one has its cookie removed. A store failure is an outage (a 503
/// page or problem), never a bare 500.
async fn finish(
    session: &Session,
    had_cookie: bool,
    cookie: &SessionCookie,
    server_error: bool,
) -> Result<Option<axum::http::HeaderValue>, AuthError> {
    let modified = session.is_modified();
    if !modified && !had_cookie {
        return Ok(None);
    }
    // Empty: ended (flushed), or the cookie named a record the store does not have.
    if session.is_empty().await {
        return Ok(if had_cookie { cookie.remove() } else { None });
    }
    if !modified || server_error {
        return Ok(None);
    }
    session
        .save()
        .await
        .map_err(|e| AuthError::StoreUnavailable(e.to_string()))?;
    let id = session
        .id()
        .ok_or_else(|| AuthError::StoreUnavailable("the store gave the session no id".into()))?;
    Ok(cookie.keep(&id))
}
