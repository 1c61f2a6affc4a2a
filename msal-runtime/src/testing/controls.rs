//! How a test steers a running [`TestIdp`]: faults, the clock, tampering, overrides of
//! what it publishes, and the refresh tokens it issued.

use super::*;

impl TestIdp {
    /// Injects a fault into an endpoint (replacing any fault it had).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.set_fault(Endpoint::Token, Fault::status(503).times(1));
    /// # Ok(()) }
    /// ```
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.shared.faults).insert(endpoint, fault);
    }

    /// Removes the fault of one endpoint.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.clear_fault(Endpoint::Token);
    /// # Ok(()) }
    /// ```
    pub fn clear_fault(&self, endpoint: Endpoint) {
        lock(&self.shared.faults).remove(&endpoint);
    }

    /// Removes every injected fault.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.clear_faults();
    /// # Ok(()) }
    /// ```
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// How many requests reached an endpoint (faulted ones included) since start or the
    /// last [`reset_counts`](Self::reset_counts).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let token_calls = idp.requests(Endpoint::Token);
    /// # let _ = token_calls;
    /// # Ok(()) }
    /// ```
    pub fn requests(&self, endpoint: Endpoint) -> u64 {
        self.shared.counts[endpoint.index()].load(Ordering::Relaxed)
    }

    /// Sets every request count to zero.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.reset_counts();
    /// assert_eq!(idp.requests(Endpoint::Jwks), 0);
    /// # Ok(()) }
    /// ```
    pub fn reset_counts(&self) {
        for count in &self.shared.counts {
            count.store(0, Ordering::Relaxed);
        }
    }

    /// Moves this IdP's clock forward: what it issues and what it checks (code, refresh and
    /// Graph token expiry) see the later time. Tokens it issued earlier thereby look old.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.advance_clock(Duration::from_secs(3601)); // every token it issued has expired
    /// # Ok(()) }
    /// ```
    pub fn advance_clock(&self, by: Duration) {
        self.shared
            .clock_offset
            .fetch_add(by.as_secs() as i64, Ordering::Relaxed);
    }

    /// From now on, the token endpoint edits the claims of every ID token it issues and signs
    /// it with `key`: the way to test how a relying party treats a wrong `iss`, `aud`,
    /// `nonce`, an expired token or a bad signature arriving through a real code flow.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
    /// use msal_runtime::testing::{MintKey, TestIdp};
    /// let idp = TestIdp::start().await?;
    /// idp.tamper_id_tokens(MintKey::Current, |claims| {
    ///     claims.insert("nonce".into(), "not-the-one-you-sent".into());
    /// });
    /// idp.stop_tampering();
    /// # Ok(()) }
    /// ```
    pub fn tamper_id_tokens(
        &self,
        key: MintKey,
        edit: impl Fn(&mut JsonObject) + Send + Sync + 'static,
    ) {
        *lock(&self.shared.id_token_tamper) = Some(state::IdTokenTamper {
            edit: Arc::new(edit),
            key,
        });
    }

    /// Appends an entry to the JWKS as served (say, a key nobody can parse): clients must
    /// skip what they cannot use.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.add_jwks_entry(serde_json::json!({"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"}));
    /// # Ok(()) }
    /// ```
    pub fn add_jwks_entry(&self, entry: serde_json::Value) {
        lock(&self.shared.extra_jwks).push(entry);
    }

    /// Makes discovery documents claim this `issuer` (`None`: the real one again), to test
    /// that clients refuse a provider whose metadata names someone else.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.override_discovery_issuer(Some("https://evil.test/v2.0"));
    /// idp.override_discovery_issuer(None);
    /// # Ok(()) }
    /// ```
    pub fn override_discovery_issuer(&self, issuer: Option<&str>) {
        *lock(&self.shared.discovery_issuer) = issuer.map(str::to_owned);
    }

    /// Makes discovery documents carry `value` as the field `name` (`None`: the real one
    /// again): a token endpoint on another host, say, to test that clients refuse to send
    /// secrets there.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let idp = msal_runtime::testing::TestIdp::start().await?;
    /// idp.override_discovery_field("token_endpoint", Some("https://evil.test/token".into()));
    /// # Ok(()) }
    /// ```
    pub fn override_discovery_field(&self, name: &str, value: Option<serde_json::Value>) {
        let mut fields = lock(&self.shared.discovery_fields);
        match value {
            Some(value) => fields.insert(name.to_owned(), value),
            None => fields.remove(name),
        };
    }

    /// Serves this document as the JWKS instead of the real one (`None`: the real one
    /// again), such as a key set without a usable key.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.override_jwks(Some(serde_json::json!({"keys": []})));
    /// # Ok(()) }
    /// ```
    pub fn override_jwks(&self, jwks: Option<serde_json::Value>) {
        *lock(&self.shared.jwks_override) = jwks;
    }

    /// Changes the lifetime of the access and ID tokens issued from now on.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.set_token_lifetime(Duration::from_secs(60));
    /// # Ok(()) }
    /// ```
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared
            .token_lifetime_now
            .store(lifetime.as_secs().max(1), Ordering::Relaxed);
    }

    /// The Graph stand-in answers the next `times` requests with `401` and this claims
    /// challenge (`WWW-Authenticate: Bearer … error="insufficient_claims", claims="…"`),
    /// whatever token they carry, even one requested with those claims: a resource that
    /// keeps challenging, for testing that a client retries once and only once. For how
    /// Graph really challenges (CAE-capable tokens, after a critical event, until a token
    /// with the claims arrives) use [`cae_event`](Self::cae_event).
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// idp.challenge_graph(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#, 2);
    /// # }
    /// ```
    pub fn challenge_graph(&self, claims_json: &str, times: u32) {
        *lock(&self.shared.graph_challenge) = Some((claims_json.to_owned(), times));
    }

    /// Issues ID tokens untouched again.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.stop_tampering();
    /// # Ok(()) }
    /// ```
    pub fn stop_tampering(&self) {
        *lock(&self.shared.id_token_tamper) = None;
    }

    /// Seconds since the epoch on this IdP's clock (see [`advance_clock`](Self::advance_clock)).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let issued_at = idp.now();
    /// # let _ = issued_at;
    /// # Ok(()) }
    /// ```
    pub fn now(&self) -> i64 {
        self.shared.now()
    }

    /// Every refresh token issued to a user so far, spent or not: for tests that check a
    /// secret never shows up where it must not (logs, pages, `Debug` output).
    ///
    /// ```no_run
    /// # use msal_runtime::testing::{TestIdp, TestIdpError};
    /// # fn f(idp: &TestIdp) -> Result<(), TestIdpError> {
    /// let issued = idp.issued_refresh_tokens("alice@contoso.test")?;
    /// assert!(issued.iter().all(|token| !token.is_empty()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn issued_refresh_tokens(&self, username: &str) -> Result<Vec<String>, TestIdpError> {
        let oid = self.user(username)?.oid;
        Ok(lock(&self.shared.refresh_tokens)
            .iter()
            .filter(|(_, grant)| grant.oid == oid)
            .map(|(token, _)| token.clone())
            .collect())
    }

    /// Revokes every refresh token and IdP session of a user (as Entra's
    /// `revokeSignInSessions`). Returns how many refresh tokens were revoked.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let revoked = idp.revoke_refresh_tokens("alice@contoso.test")?;
    /// # let _ = revoked;
    /// # Ok(()) }
    /// ```
    pub fn revoke_refresh_tokens(&self, username: &str) -> Result<usize, TestIdpError> {
        let oid = self.user(username)?.oid;
        let mut revoked = 0;
        for grant in lock(&self.shared.refresh_tokens).values_mut() {
            if grant.oid == oid && grant.status == RefreshStatus::Active {
                grant.status = RefreshStatus::Revoked;
                revoked += 1;
            }
        }
        lock(&self.shared.sso).retain(|_, s| s.oid != oid);
        Ok(revoked)
    }

    /// Revokes the user's refresh tokens that were ever redeemed, leaving the ones not used
    /// yet. Entra does not spend a refresh token on use; a test that must prove a client
    /// keeps the refresh token each refresh returns (rather than the one it redeemed) calls
    /// this after the refresh. Returns how many were revoked.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// // After a refresh: only the refresh token it returned still works.
    /// idp.revoke_used_refresh_tokens("alice@contoso.test")?;
    /// # Ok(()) }
    /// ```
    pub fn revoke_used_refresh_tokens(&self, username: &str) -> Result<usize, TestIdpError> {
        let oid = self.user(username)?.oid;
        let mut revoked = 0;
        for grant in lock(&self.shared.refresh_tokens).values_mut() {
            if grant.oid == oid && grant.redeemed && grant.status == RefreshStatus::Active {
                grant.status = RefreshStatus::Revoked;
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// Whether the token endpoint URL-decodes `client_secret_basic` credentials (RFC 6749
    /// §2.3.1; default true). Off: the raw Basic value is compared, as Entra does, so a
    /// client that form-encodes a secret's `~` as `%7E` fails with AADSTS7000215.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// idp.decode_basic_credentials(false); // Entra's way
    /// # }
    /// ```
    pub fn decode_basic_credentials(&self, on: bool) {
        self.shared.decode_basic.store(on, Ordering::Relaxed);
    }

    /// Front-channel sign-out sends only `sid` (no `iss`), as Entra may.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// idp.front_channel_sid_only(true);
    /// # }
    /// ```
    pub fn front_channel_sid_only(&self, on: bool) {
        self.shared
            .front_channel_sid_only
            .store(on, Ordering::Relaxed);
    }

    /// Makes the v1 metadata (`/{tenant}/.well-known/openid-configuration`) claim this
    /// `issuer` (`None`: the real one again), to test that an app refuses a v1 issuer that
    /// is not its tenant's.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// idp.override_v1_discovery_issuer(Some("https://sts.windows.net/someone-else/"));
    /// # }
    /// ```
    pub fn override_v1_discovery_issuer(&self, issuer: Option<&str>) {
        *lock(&self.shared.v1_discovery_issuer) = issuer.map(str::to_owned);
    }

    /// Makes `username`'s sign-ins look `by` older: the `auth_time` of their current IdP
    /// (SSO) sessions and of their outstanding refresh-token grants moves back by `by`, so
    /// the next token from a silent re-sign-in (without `max_age`) or a refresh carries the
    /// older `auth_time`, and a `max_age` request finds the session too old. Returns how
    /// many sessions and grants were aged.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// // Alice signed in two hours ago, as far as the next token is concerned.
    /// let aged = idp.age_sign_in("alice@contoso.test", Duration::from_secs(7200))?;
    /// # let _ = aged;
    /// # Ok(()) }
    /// ```
    pub fn age_sign_in(&self, username: &str, by: Duration) -> Result<usize, TestIdpError> {
        let oid = self.user(username)?.oid;
        let by = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        let mut aged = 0;
        for session in lock(&self.shared.sso).values_mut() {
            if session.oid == oid {
                session.auth_time = session.auth_time.saturating_sub(by);
                aged += 1;
            }
        }
        for grant in lock(&self.shared.refresh_tokens).values_mut() {
            if grant.oid != oid || grant.status != RefreshStatus::Active {
                continue;
            }
            if let Some(auth_time) = grant.authn.auth_time.as_mut() {
                *auth_time = auth_time.saturating_sub(by);
                aged += 1;
            }
        }
        Ok(aged)
    }

    /// Makes `/authorize` ignore `max_age` (validation included), as a provider that does
    /// not support it: an SSO session is reused with its old `auth_time` however old.
    /// `prompt=login` still makes the user authenticate afresh, so a relying party that
    /// checks `auth_time` can fall back to it.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// idp.ignore_max_age(true);
    /// # }
    /// ```
    pub fn ignore_max_age(&self, on: bool) {
        self.shared.ignore_max_age.store(on, Ordering::Relaxed);
    }

    /// Makes `/authorize` ignore `acr_values`: the tokens carry no requested `acr`, so a
    /// relying party's refusal of a sign-in below the level it asked for can be tested.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// idp.ignore_acr_values(true);
    /// # }
    /// ```
    pub fn ignore_acr_values(&self, on: bool) {
        self.shared.ignore_acr_values.store(on, Ordering::Relaxed);
    }

    /// The parameters of the last request to `/authorize` (GET query or POST form, in
    /// order, faulted requests included, the picker page's own `testidp_` fields left out),
    /// or `None` before the first.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// if let Some(params) = idp.last_authorize_params() {
    ///     assert!(params.iter().any(|(name, _)| name == "client_id"));
    /// }
    /// # }
    /// ```
    pub fn last_authorize_params(&self) -> Option<Vec<(String, String)>> {
        lock(&self.shared.last_authorize).clone()
    }

    /// One parameter of the last request to `/authorize` (see
    /// [`last_authorize_params`](Self::last_authorize_params)), if it had it.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// // After a step-up: the app asked for a fresh sign-in.
    /// assert_eq!(idp.last_authorize_param("prompt").as_deref(), Some("login"));
    /// # }
    /// ```
    pub fn last_authorize_param(&self, name: &str) -> Option<String> {
        lock(&self.shared.last_authorize)
            .as_ref()?
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}
