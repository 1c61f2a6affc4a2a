//! [`MsalLayer`]: what msal-axum puts around an app. Outermost the header size limits (431),
//! then sessions (for a web app), then the request context the extractors and the guard read,
//! and after the handler the session save, whose failure is answered as an outage.

use std::task::{Context, Poll};

use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tower_sessions::{Session, SessionManagerLayer};

use crate::caller::Ctx;
use crate::error::{Asker, AuthError, AuthRejection, is_navigation};
use crate::session::MsalStore;

/// Applies msal-axum to a router: sessions (cookie with only an opaque id: `HttpOnly`,
/// `SameSite=Lax`, `Secure` except on http loopback) and the request context the extractors
/// and the `#[msal_protected]` guard read. Made by [`Msal::layer`](crate::Msal::layer).
#[derive(Clone)]
pub struct MsalLayer {
    ctx: Ctx,
    sessions: SessionManagerLayer<MsalStore>,
}

impl MsalLayer {
    pub(crate) fn new(ctx: Ctx, store: MsalStore) -> Self {
        let config = &ctx.callers.config;
        let lifetime = time::Duration::seconds(config.session_lifetime.as_secs() as i64);
        let sessions = SessionManagerLayer::new(store)
            .with_name(cookie_name(&config.cookie_name))
            .with_http_only(true)
            .with_same_site(tower_sessions::cookie::SameSite::Lax)
            .with_secure(config.secure_cookies())
            .with_path("/")
            .with_expiry(tower_sessions::Expiry::OnInactivity(lifetime));
        Self { ctx, sessions }
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
            ctx: self.ctx.clone(),
            next: inner,
        };
        MsalEntry(if self.ctx.callers.api_only {
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

/// The service [`MsalLayer`] wraps around the app's (inside the session layer).
#[derive(Clone)]
pub struct MsalService<S> {
    ctx: Ctx,
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
        let session = request.extensions().get::<Session>().cloned();
        // Only what a refusal would need, kept cheaply; the strings are built on failure.
        let browser = is_navigation(request.method(), request.headers());
        let uri = request.uri().clone();
        let callers = self.ctx.callers.clone();
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
                    asker: Asker::of(browser, &uri, &callers.config.route_prefix),
                }
                .into_response());
            }
            Ok(response)
        })
    }
}
