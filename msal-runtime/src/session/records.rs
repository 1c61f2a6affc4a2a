//! msal's own records in the session store: pending sign-ins and Swagger codes (sealed,
//! each taken once), and the front-channel sign-out that ends every session of a `sid`.

use super::*;

/// The most bytes of a pending sign-in's record (before sealing): room for every scope a
/// sign-in asks for and a long `next`, not for whatever a stranger's query string holds.
pub(crate) const MAX_FLOW_BYTES: usize = 4096;

impl MsalStore {
    /// Stores a pending flow under its state, sealed when a session key is configured. A
    /// flow larger than [`MAX_FLOW_BYTES`] (a `next` or `scopes` nobody needs) is refused:
    /// strangers start sign-ins, and what each one may make the store hold is bounded.
    pub(crate) async fn put_flow(
        &self,
        state: &str,
        flow: &PendingFlow,
        keys: &[SessionKey],
    ) -> Result<(), AuthError> {
        let plain = serde_json::to_string(flow).map_err(unavailable)?;
        if plain.len() > MAX_FLOW_BYTES {
            return Err(AuthError::BadRequest(format!(
                "this sign-in request is {} bytes with its `next`, `scopes`, `claims` and \
                 `login_hint`; at most {MAX_FLOW_BYTES} are kept: ask for fewer scopes or a \
                 shorter `next`",
                plain.len()
            )));
        }
        self.put_sealed_text("flow", state, plain, Purpose::Flow, keys, FLOW_TTL)
            .await
    }

    /// Takes a pending flow: found at most once, whoever asks at the same time.
    pub(crate) async fn take_flow(
        &self,
        state: &str,
        keys: &[SessionKey],
    ) -> Result<Option<PendingFlow>, AuthError> {
        self.take_sealed("flow", state, Purpose::Flow, keys).await
    }

    /// Stores a Swagger code's grant, sealed when a session key is configured.
    #[cfg(feature = "openapi")]
    pub(crate) async fn put_swagger_grant<T: Serialize>(
        &self,
        code: &str,
        grant: &T,
        keys: &[SessionKey],
        ttl: Duration,
    ) -> Result<(), AuthError> {
        self.put_sealed("swagger", code, grant, Purpose::Swagger, keys, ttl)
            .await
    }

    /// Takes a Swagger code's grant: found at most once, whoever asks at the same time.
    #[cfg(feature = "openapi")]
    pub(crate) async fn take_swagger_grant<T: serde::de::DeserializeOwned>(
        &self,
        code: &str,
        keys: &[SessionKey],
    ) -> Result<Option<T>, AuthError> {
        self.take_sealed("swagger", code, Purpose::Swagger, keys)
            .await
    }

    #[cfg(feature = "openapi")]
    async fn put_sealed<T: Serialize>(
        &self,
        kind: &str,
        key: &str,
        value: &T,
        purpose: Purpose,
        keys: &[SessionKey],
        ttl: Duration,
    ) -> Result<(), AuthError> {
        let plain = serde_json::to_string(value).map_err(unavailable)?;
        self.put_sealed_text(kind, key, plain, purpose, keys, ttl)
            .await
    }

    async fn put_sealed_text(
        &self,
        kind: &str,
        key: &str,
        plain: String,
        purpose: Purpose,
        keys: &[SessionKey],
        ttl: Duration,
    ) -> Result<(), AuthError> {
        let (text, _) = seal::seal(plain, purpose, keys).map_err(unavailable)?;
        self.put_once(kind, key, text, ttl).await
    }

    async fn take_sealed<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        key: &str,
        purpose: Purpose,
        keys: &[SessionKey],
    ) -> Result<Option<T>, AuthError> {
        let Some(text) = self.take_once(kind, key).await? else {
            return Ok(None);
        };
        let value =
            seal::open(&text, purpose, keys).and_then(|plain| serde_json::from_str(&plain).ok());
        if value.is_none() {
            tracing::warn!(
                kind,
                "a single-use record that does not open: treated as unknown"
            );
        }
        Ok(value)
    }
}
