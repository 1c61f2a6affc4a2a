//! [`Msal`]: the configured library, handing out the routes and the layer.

use std::sync::Arc;

use axum::Router;

use crate::client::Provider;
use crate::config::{ConfigError, MsalConfig};
use crate::error::AuthError;
use crate::error::Error;
use crate::extract::MsalLayer;
use crate::principal::Principal;
use crate::session::{AppBinding, MsalStore};
use crate::tokens::{AccessToken, Flights};
use crate::validate::TokenCache;

/// What the routes, the layer and the extractors share.
pub(crate) struct Inner {
    pub(crate) config: Arc<MsalConfig>,
    pub(crate) provider: Provider,
    pub(crate) store: MsalStore,
    /// What a session record must have been made for to be read here.
    pub(crate) app: AppBinding,
    /// Validated bearer tokens.
    pub(crate) tokens: TokenCache<Principal>,
    /// A web API: bearer tokens only, no sessions, no sign-in routes.
    pub(crate) api_only: bool,
    /// One token refresh at a time per user.
    pub(crate) flights: Flights,
    /// The app's own tokens, by scope set.
    pub(crate) app_tokens: std::sync::Mutex<std::collections::HashMap<Vec<String>, AccessToken>>,
    pub(crate) app_flights: Flights,
    /// On-behalf-of tokens by the hash of the incoming token and the scopes.
    pub(crate) obo: TokenCache<AccessToken>,
    /// Signed-in records decoded, by session.
    pub(crate) sessions: crate::session::WhoCache,
}

/// A multi-tenant app (any tenant signs in) whose handlers require app roles or application
/// permissions would let any tenant's admin consent to it and assign themselves those roles:
/// it does not start, unless told that it scopes every role by tenant itself.
fn refuse_roles_from_any_tenant(config: &MsalConfig) -> Result<(), Error> {
    if !config.any_tenant_signs_in() || config.roles_from_any_tenant {
        return Ok(());
    }
    let Some(protected) = crate::principal::PROTECTED
        .iter()
        .find(|p| p.rule.names_app_roles())
    else {
        return Ok(());
    };
    Err(Error::Config(ConfigError::single(
        "MSAL_ALLOWED_TENANTS",
        format!(
            "is not set while any tenant can sign in ({}), and {}::{} requires {}: an admin of any tenant could consent to this app and assign themselves its app roles. Set MSAL_ALLOWED_TENANTS to the tenants you trust, or MSAL_ROLES_FROM_ANY_TENANT=true if the app checks the tenant ('tid') of every role itself",
            config.authority.discovery_url(),
            protected.module,
            protected.handler,
            protected.rule.describe()
        ),
    )))
}

/// How many validated tokens are remembered.
const TOKEN_CACHE_CAPACITY: usize = 10_000;

/// msal-axum, configured: [`routes`](Self::routes) to merge into the app and
/// [`layer`](Self::layer) to put around it.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use msal_runtime::{Msal, User};
///
/// # async fn run() -> Result<(), msal_runtime::Error> {
/// let msal = Msal::from_env().await?;
/// let app: Router = Router::new()
///     .route("/me", get(|user: User| async move { user.name.unwrap_or_default() }))
///     .merge(msal.routes())
///     .layer(msal.layer());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Msal {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Msal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msal")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Msal {
    /// Sets up with this configuration: opens the session store and prepares the client.
    /// The provider's metadata is fetched on first use (and retried until it answers), so a
    /// provider outage at start-up does not keep the app from starting.
    pub async fn new(config: MsalConfig) -> Result<Self, Error> {
        Self::build(config, false).await
    }

    /// Sets up a web API: requests are judged by their `Authorization: Bearer` token only.
    /// It needs no client secret and no session store, and serves no sign-in routes.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), msal_runtime::Error> {
    /// use msal_runtime::{Msal, MsalConfig};
    /// let api = Msal::api(MsalConfig::builder().client_id("…").tenant_id("…").build()?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn api(config: MsalConfig) -> Result<Self, Error> {
        Self::build(config, true).await
    }

    async fn build(mut config: MsalConfig, api_only: bool) -> Result<Self, Error> {
        if api_only {
            // Nothing is kept per user: any configured store would go unused.
            config.session_store = crate::config::SessionStoreKind::Memory;
        }
        refuse_roles_from_any_tenant(&config)?;
        let config = Arc::new(config);
        // One namespace per app: apps sharing a Redis never read each other's records.
        let namespace = format!("msal:{}:", config.client_id);
        let store = MsalStore::open(&config.session_store, &namespace)
            .await
            .map_err(Error::SessionStore)?;
        let app = AppBinding::of(&config);
        let provider = Provider::new(config.clone(), app.confirmed_issuer())
            .map_err(|e| Error::Io(std::io::Error::other(format!("HTTP client: {e}"))))?;
        let msal = Self {
            inner: Arc::new(Inner {
                app,
                config,
                provider,
                store,
                tokens: TokenCache::new(TOKEN_CACHE_CAPACITY),
                api_only,
                flights: Flights::default(),
                app_tokens: Default::default(),
                app_flights: Flights::default(),
                obo: TokenCache::new(TOKEN_CACHE_CAPACITY),
                sessions: crate::session::WhoCache::new(crate::session::WHO_CACHE_CAPACITY),
            }),
        };
        if let Err(e) = msal.inner.provider.discovered().await {
            tracing::warn!(error = %e, "identity provider metadata not available yet; will retry on first sign-in");
        }
        Ok(msal)
    }

    /// [`MsalConfig::from_env`], then [`Msal::new`].
    pub async fn from_env() -> Result<Self, Error> {
        Self::new(MsalConfig::from_env()?).await
    }

    /// The configuration in use.
    pub fn config(&self) -> &MsalConfig {
        &self.inner.config
    }

    /// The sign-in routes (`{prefix}/login`, `/callback`, `/logout`, `/signout-oidc`), to
    /// merge into the app's router.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        if self.inner.api_only {
            return Router::new();
        }
        crate::routes::router(&self.inner.config.route_prefix)
    }

    /// The app's own token (client credentials) for `scopes` (`<resource>/.default`), cached
    /// in this process and renewed five minutes before it expires. Works without a web
    /// server, as in a daemon.
    ///
    /// ```no_run
    /// # async fn f(msal: msal_runtime::Msal) -> Result<(), msal_runtime::AuthError> {
    /// let token = msal.app_token(&["https://graph.microsoft.com/.default"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn app_token(&self, scopes: &[&str]) -> Result<AccessToken, AuthError> {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        crate::tokens::app_token(&self.inner, &scopes, None).await
    }

    /// The layer that adds sessions and the request context; put it around the whole app.
    pub fn layer(&self) -> MsalLayer {
        MsalLayer::new(self.inner.clone())
    }
}
