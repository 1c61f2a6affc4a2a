//! [`Msal::require`]: a requirement as a layer, for what is not a handler (a `ServeDir`, a
//! nested router), judged by the same judge as `#[msal_protected]` with the same responses.
//!
//! ```ignore
//! use msal_runtime::msal_rule;
//! use tower_http::services::ServeDir;
//!
//! let app = Router::new()
//!     .nest_service("/files", ServeDir::new("files"))
//!     .nest("/admin", admin_router())
//!     .route_layer(msal.require(msal_rule!(roles = "Admin", max_age = "10m")))
//!     .merge(msal.routes())
//!     .layer(msal.layer());
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::msal::Msal;
use crate::principal::{Protected, Rule};

/// A requirement written with [`msal_rule!`](crate::msal_rule), for [`Msal::require`]:
/// the DSL of `#[msal_protected]`, registered like a handler's (so group look-ups and the
/// multi-tenant role check see it).
#[derive(Clone, Copy, Debug)]
pub struct Protection(&'static Protected);

impl Protection {
    /// What `msal_rule!` expands to.
    #[doc(hidden)]
    pub const fn new(protected: &'static Protected) -> Self {
        Protection(protected)
    }

    /// The requirement.
    pub fn rule(&self) -> &'static Rule {
        &self.0.rule
    }
}

impl Msal {
    /// A layer that lets a request through only when the caller meets `protection`, for
    /// `Router::route_layer`, `Router::layer` on a nested router, or any tower service (a
    /// `ServeDir`). It answers exactly as a `#[msal_protected]` handler with the same
    /// requirement would: a browser is sent to sign in (or to step up), any other caller
    /// gets 401/403 with its `WWW-Authenticate` challenge. `msal.layer()` must wrap it.
    ///
    /// ```ignore
    /// let files = Router::new()
    ///     .nest_service("/files", ServeDir::new("files"))
    ///     .route_layer(msal.require(msal_rule!()));        // any signed-in user
    /// ```
    pub fn require(&self, protection: Protection) -> RequireLayer {
        RequireLayer {
            protected: protection.0,
        }
    }
}

/// The layer of [`Msal::require`].
#[derive(Clone, Copy, Debug)]
pub struct RequireLayer {
    protected: &'static Protected,
}

impl RequireLayer {
    /// The requirement it enforces.
    pub fn rule(&self) -> &'static Rule {
        &self.protected.rule
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Require {
            inner,
            protected: self.protected,
        }
    }
}

/// The service of [`RequireLayer`]: judges, then calls the inner service.
#[derive(Clone, Debug)]
pub struct Require<S> {
    inner: S,
    protected: &'static Protected,
}

impl<S> Service<Request> for Require<S>
where
    S: Service<Request, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The ready service goes with this call; the clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let protected = self.protected;
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            // Under `nest`/`nest_service` the path is the nested one; a refusal's sign-in
            // comes back to the one the client asked for (`caller::asker`).
            let judged = crate::guard::judge(protected, &mut parts).await;
            if let Err(refused) = judged {
                return Ok(refused);
            }
            let response = inner.call(Request::from_parts(parts, body)).await?;
            Ok(response.into_response())
        })
    }
}
