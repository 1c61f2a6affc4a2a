//! [`Msal`]: the configured library. It builds every handle from [`MsalConfig`] and wires
//! them together: the routes' state, the layer's request context, the app's own tokens.

use std::sync::Arc;

use axum::Router;

use crate::caller::{Callers, Ctx};
use crate::client::Provider;
use crate::config::{ConfigError, MsalConfig};
use crate::error::{AuthError, Error};
use crate::layer::MsalLayer;
use crate::principal::Protected;
use crate::routes::SignIn;
use crate::session::{AppBinding, MsalStore, WHO_CACHE_CAPACITY, WhoCache};
use crate::tokens::{AccessToken, TokenSource};
use crate::validate::TokenCache;

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
            "is not set while any tenant can sign in ({}), and {} requires {}: an admin of any tenant could consent to this app and assign themselves its app roles. Set MSAL_ALLOWED_TENANTS to the tenants you trust, or MSAL_ROLES_FROM_ANY_TENANT=true if the app checks the tenant ('tid') of every role itself",
            config.authority.discovery_url(),
            registered_at(protected),
            protected.rule.describe()
        ),
    )))
}

/// Where a requirement was written, for messages: `module::handler` for a
/// `#[msal_protected]` handler, "a msal_rule! in module" for a layer's (which has no
/// handler).
fn registered_at(protected: &Protected) -> String {
    if protected.handler.is_empty() {
        format!("a msal_rule! in {}", protected.module)
    } else {
        format!("{}::{}", protected.module, protected.handler)
    }
}

/// How many validated bearer tokens are remembered.
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
    pub(crate) config: Arc<MsalConfig>,
    pub(crate) store: MsalStore,
    /// What the layer puts into each request: judging callers, getting their tokens.
    pub(crate) ctx: Ctx,
    /// The sign-in routes' state.
    pub(crate) sign_in: Arc<SignIn>,
}

impl std::fmt::Debug for Msal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msal")
            .field("config", &self.config)
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
        let store = MsalStore::open(&config, &namespace)
            .await
            .map_err(Error::SessionStore)?;
        let app = AppBinding::of(&config);
        let provider = Provider::new(config.clone(), app.confirmed_issuer())
            .map_err(|e| Error::Io(std::io::Error::other(format!("HTTP client: {e}"))))?;
        let provider = Arc::new(provider);
        let sessions = Arc::new(WhoCache::new(WHO_CACHE_CAPACITY));
        let callers = Arc::new(Callers {
            config: config.clone(),
            provider: provider.clone(),
            app: app.clone(),
            tokens: TokenCache::new(TOKEN_CACHE_CAPACITY),
            sessions: sessions.clone(),
            store: store.clone(),
            api_only,
        });
        let tokens = Arc::new(TokenSource::new(
            config.clone(),
            provider.clone(),
            app.clone(),
            store.clone(),
        ));
        let sign_in = Arc::new(SignIn {
            config: config.clone(),
            provider: provider.clone(),
            store: store.clone(),
            app,
            sessions,
            #[cfg(feature = "openapi")]
            callers: callers.clone(),
        });
        if let Err(e) = provider.discovered().await {
            tracing::warn!(error = %e, "identity provider metadata not available yet; will retry on first sign-in");
        }
        Ok(Self {
            config,
            store,
            ctx: Ctx { callers, tokens },
            sign_in,
        })
    }

    /// [`MsalConfig::from_env`], then [`Msal::new`].
    pub async fn from_env() -> Result<Self, Error> {
        Self::new(MsalConfig::from_env()?).await
    }

    /// The configuration in use.
    pub fn config(&self) -> &MsalConfig {
        &self.config
    }

    /// The sign-in routes (`{prefix}/login`, `/callback`, `/logout`, `/signout-oidc`), to
    /// merge into the app's router.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        if self.ctx.callers.api_only {
            return Router::new();
        }
        crate::routes::router(self.sign_in.clone())
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
        crate::tokens::app_token(&self.ctx.tokens, &scopes, None).await
    }

    /// The layer that adds sessions and the request context; put it around the whole app.
    pub fn layer(&self) -> MsalLayer {
        MsalLayer::new(self.ctx.clone(), self.store.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::registered_at;
    use crate::principal::{Protected, Rule};

    fn protected(handler: &'static str) -> Protected {
        Protected {
            id: 1,
            rule: Rule::Roles(&["Admin"]),
            on_denied: None,
            handler,
            module: "shop::admin",
        }
    }

    #[test]
    fn a_handler_is_named_by_its_path_and_a_msal_rule_by_its_module() {
        assert_eq!(registered_at(&protected("users")), "shop::admin::users");
        assert_eq!(registered_at(&protected("")), "a msal_rule! in shop::admin");
    }
}
