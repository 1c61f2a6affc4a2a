//! The state one TestIdp instance shares between its handlers and its controls.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::consent::Consent;
use super::faults::{Endpoint, Fault};
use super::keys::KeySet;
use super::model::{TestClient, TestTenant, TestUser};
use super::policy::ArmedPolicy;
use super::tokens::Authn;

/// Locks ignore poisoning: every critical section here leaves the data consistent, and a
/// test identity provider must keep answering after a panicking test thread.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
pub(crate) fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}
pub(crate) fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

/// Lifetimes and limits chosen on the builder.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) token_lifetime: Duration,
    pub(crate) code_lifetime: Duration,
    pub(crate) refresh_lifetime: Duration,
    pub(crate) group_overage_limit: usize,
}

/// How the tenant segment of a URL resolved.
#[derive(Clone, Debug)]
pub(crate) enum TenantPath {
    Tenant(TestTenant),
    /// `common` or `organizations`: any tenant, issuer `{tenantid}` template in discovery.
    Any,
    /// `consumers`: Microsoft accounts only; TestIdp has none, so nobody can sign in there.
    Consumers,
}

/// Tenants, app registrations and users.
pub(crate) struct Registry {
    pub(crate) tenants: Vec<TestTenant>,
    pub(crate) clients: Vec<TestClient>,
    pub(crate) users: Vec<TestUser>,
}

impl Registry {
    pub(crate) fn tenant_path(&self, segment: &str) -> Option<TenantPath> {
        match segment.to_ascii_lowercase().as_str() {
            "common" | "organizations" => Some(TenantPath::Any),
            "consumers" => Some(TenantPath::Consumers),
            s => self
                .tenants
                .iter()
                .find(|t| t.id.eq_ignore_ascii_case(s) || t.domain.eq_ignore_ascii_case(s))
                .cloned()
                .map(TenantPath::Tenant),
        }
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<&TestClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// The app whose API an identifier (App ID URI or client id) names.
    pub(crate) fn resource(&self, identifier: &str) -> Option<&TestClient> {
        let identifier = identifier.trim_end_matches('/');
        self.clients.iter().find(|c| {
            c.client_id.eq_ignore_ascii_case(identifier)
                || c.app_id_uri.trim_end_matches('/') == identifier
        })
    }

    pub(crate) fn user_by_name(&self, name: &str) -> Option<&TestUser> {
        self.users
            .iter()
            .find(|u| u.preferred_username.eq_ignore_ascii_case(name))
    }

    pub(crate) fn user_by_oid(&self, oid: &str) -> Option<&TestUser> {
        self.users.iter().find(|u| u.oid.eq_ignore_ascii_case(oid))
    }

    /// The user's tenant id (the builder sets every user's tenant before start).
    pub(crate) fn user_tenant<'a>(&'a self, user: &'a TestUser) -> &'a str {
        user.tenant_id
            .as_deref()
            .or_else(|| self.tenants.first().map(|t| t.id.as_str()))
            .unwrap_or_default()
    }

    /// Users who may sign in through this tenant segment.
    pub(crate) fn users_in(&self, path: &TenantPath) -> Vec<&TestUser> {
        self.users
            .iter()
            .filter(|u| match path {
                TenantPath::Any => true,
                TenantPath::Consumers => false,
                TenantPath::Tenant(t) => self.user_tenant(u) == t.id,
            })
            .collect()
    }
}

/// An issued authorization code, waiting for its single redemption.
#[derive(Clone, Debug)]
pub(crate) struct CodeGrant {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) oid: String,
    pub(crate) scope: String,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: String,
    pub(crate) sid: String,
    pub(crate) expires: i64,
    /// What the user did at `/authorize` (MFA, authentication contexts).
    pub(crate) authn: Authn,
}

/// An outstanding refresh token. As at Entra, redeeming one does not spend it: it stays
/// valid until it expires or is revoked, though each refresh also returns a new one.
#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    pub(crate) status: RefreshStatus,
    /// Whether it was ever redeemed (for [`TestIdp::revoke_used_refresh_tokens`](super::TestIdp::revoke_used_refresh_tokens)).
    pub(crate) redeemed: bool,
    pub(crate) client_id: String,
    pub(crate) oid: String,
    pub(crate) scope: String,
    pub(crate) sid: String,
    pub(crate) expires: i64,
    /// What the user did at the sign-in this chain of refresh tokens started with.
    pub(crate) authn: Authn,
}

/// Whether a refresh token still works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshStatus {
    Active,
    Revoked,
}

/// The identity provider's own browser session (its SSO cookie).
#[derive(Clone, Debug)]
pub(crate) struct SsoSession {
    pub(crate) oid: String,
    pub(crate) sid: String,
    /// When the user last actively authenticated in this session (seconds, TestIdp's
    /// clock): SSO reuse keeps it; `max_age`, `prompt=login` or another user move it.
    pub(crate) auth_time: i64,
    /// Apps signed in through this session, for front-channel sign-out.
    pub(crate) clients: BTreeSet<String>,
}

/// A Microsoft Graph token this IdP issued, as the Graph stand-in knows it.
#[derive(Clone, Debug)]
pub(crate) struct GraphGrant {
    pub(crate) oid: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires: i64,
    /// The token request declared the client capability `cp1`: Graph may challenge it
    /// under Continuous Access Evaluation.
    pub(crate) cae_capable: bool,
    /// The `access_token.nbf` value of the claims it was requested with, if any.
    pub(crate) requested_nbf: Option<i64>,
}

/// Everything one instance shares.
pub(crate) struct Shared {
    pub(crate) base_url: String,
    /// `http://{the other loopback host}:{port}`: where v1 issuers live, as Entra's
    /// `https://sts.windows.net` is not its `https://login.microsoftonline.com`.
    pub(crate) v1_base: String,
    /// Name of the SSO cookie; it carries the port because cookies ignore ports, and two
    /// TestIdps on one host must not read each other's sessions.
    pub(crate) sso_cookie: String,
    pub(crate) settings: Settings,
    pub(crate) registry: RwLock<Registry>,
    pub(crate) keys: RwLock<KeySet>,
    pub(crate) codes: Mutex<HashMap<String, CodeGrant>>,
    pub(crate) redeemed_codes: Mutex<HashSet<String>>,
    pub(crate) refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    pub(crate) sso: Mutex<HashMap<String, SsoSession>>,
    pub(crate) graph_tokens: Mutex<HashMap<String, GraphGrant>>,
    pub(crate) faults: Mutex<HashMap<Endpoint, Fault>>,
    pub(crate) counts: [AtomicU64; Endpoint::ALL.len()],
    pub(crate) clock_offset: AtomicI64,
    pub(crate) id_token_tamper: Mutex<Option<IdTokenTamper>>,
    /// Entries appended to every JWKS (garbage keys, for tests).
    pub(crate) extra_jwks: Mutex<Vec<serde_json::Value>>,
    /// An `issuer` every discovery document claims instead of the real one.
    pub(crate) discovery_issuer: Mutex<Option<String>>,
    /// Fields every discovery document carries instead of the real ones.
    pub(crate) discovery_fields: Mutex<HashMap<String, serde_json::Value>>,
    /// A JWKS served instead of the real one.
    pub(crate) jwks_override: Mutex<Option<serde_json::Value>>,
    /// Token lifetime set while running (seconds; 0: the builder's).
    pub(crate) token_lifetime_now: AtomicU64,
    /// A claims challenge the Graph stand-in answers with, and how many more times.
    pub(crate) graph_challenge: Mutex<Option<(String, u32)>>,
    /// An `issuer` the v1 metadata claims instead of the real one.
    pub(crate) v1_discovery_issuer: Mutex<Option<String>>,
    /// Armed Conditional Access policies, in arming order.
    pub(crate) policies: Mutex<Vec<ArmedPolicy>>,
    /// Consent per (user oid, client id).
    pub(crate) consents: Mutex<HashMap<(String, String), Consent>>,
    /// The time of each user's last Continuous Access Evaluation critical event, by oid.
    pub(crate) cae_events: Mutex<HashMap<String, i64>>,
    /// Whether `client_secret_basic` credentials are URL-decoded (RFC 6749 2.3.1).
    pub(crate) decode_basic: AtomicBool,
    /// Whether front-channel sign-out leaves `iss` out.
    pub(crate) front_channel_sid_only: AtomicBool,
    /// `/authorize` ignores its `claims` parameter (a provider that does not honour claims
    /// requests), so a claims challenge cannot be satisfied.
    pub(crate) ignore_claims: AtomicBool,
    /// `/authorize` ignores `max_age` (SSO reuse keeps the old `auth_time`), as some
    /// providers do; `prompt=login` still works.
    pub(crate) ignore_max_age: AtomicBool,
    /// `/authorize` ignores `acr_values`: no requested `acr` is issued.
    pub(crate) ignore_acr_values: AtomicBool,
    /// The parameters of the last `/authorize` request (without the picker's `testidp_`
    /// fields), for tests to assert what an app asked for.
    pub(crate) last_authorize: Mutex<Option<Vec<(String, String)>>>,
}

/// How the token endpoint spoils the ID tokens it issues, for relying-party tests.
#[derive(Clone)]
pub(crate) struct IdTokenTamper {
    pub(crate) edit: std::sync::Arc<dyn Fn(&mut super::jwt::JsonObject) + Send + Sync>,
    pub(crate) key: super::jwt::MintKey,
}

impl Shared {
    pub(crate) fn new(
        host: &str,
        port: u16,
        settings: Settings,
        registry: Registry,
        keys: KeySet,
    ) -> Self {
        let v1_host = if host == "127.0.0.1" {
            "localhost"
        } else {
            "127.0.0.1"
        };
        Self {
            base_url: format!("http://{host}:{port}"),
            v1_base: format!("http://{v1_host}:{port}"),
            sso_cookie: format!("testidp_sso_{port}"),
            settings,
            registry: RwLock::new(registry),
            keys: RwLock::new(keys),
            codes: Mutex::default(),
            redeemed_codes: Mutex::default(),
            refresh_tokens: Mutex::default(),
            sso: Mutex::default(),
            graph_tokens: Mutex::default(),
            faults: Mutex::default(),
            counts: Default::default(),
            clock_offset: AtomicI64::new(0),
            id_token_tamper: Mutex::default(),
            extra_jwks: Mutex::default(),
            discovery_issuer: Mutex::default(),
            discovery_fields: Mutex::default(),
            jwks_override: Mutex::default(),
            token_lifetime_now: AtomicU64::new(0),
            graph_challenge: Mutex::default(),
            v1_discovery_issuer: Mutex::default(),
            policies: Mutex::default(),
            consents: Mutex::default(),
            cae_events: Mutex::default(),
            decode_basic: AtomicBool::new(true),
            front_channel_sid_only: AtomicBool::new(false),
            ignore_claims: AtomicBool::new(false),
            ignore_max_age: AtomicBool::new(false),
            ignore_acr_values: AtomicBool::new(false),
            last_authorize: Mutex::default(),
        }
    }

    /// Seconds since the epoch, as this IdP's (possibly advanced) clock reads.
    pub(crate) fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        real + self.clock_offset.load(Ordering::Relaxed)
    }

    /// The lifetime of access and ID tokens issued now.
    pub(crate) fn token_lifetime(&self) -> u64 {
        match self.token_lifetime_now.load(Ordering::Relaxed) {
            0 => self.settings.token_lifetime.as_secs(),
            secs => secs,
        }
    }

    pub(crate) fn v2_issuer(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/v2.0", self.base_url)
    }

    pub(crate) fn v1_issuer(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/", self.v1_base)
    }

    pub(crate) fn graph_base(&self) -> String {
        format!("{}/graph/v1.0", self.base_url)
    }

    /// Counts a request and takes the fault to apply to it, if any.
    pub(crate) fn take_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        self.counts[endpoint.index()].fetch_add(1, Ordering::Relaxed);
        let mut faults = lock(&self.faults);
        let fault = faults.get_mut(&endpoint)?;
        if fault.remaining == Some(0) {
            faults.remove(&endpoint);
            return None;
        }
        let taken = fault.clone();
        if let Some(n) = fault.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                faults.remove(&endpoint);
            }
        }
        Some(taken)
    }
}
