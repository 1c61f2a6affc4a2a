//! Discovery: the provider's metadata fetched and checked here (openidconnect's own
//! discovery refuses Entra's `{tenantid}` issuer template), cached, and after a failure not
//! asked again until a backoff has passed.

use super::*;

#[derive(Deserialize)]
struct RawMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: Option<String>,
}

/// A failed discovery: until `at + backoff(attempts)` requests get this answer at once
/// instead of each calling (and perhaps waiting on) a provider that just failed.
pub(super) struct Failure {
    at: std::time::Instant,
    attempts: u32,
    error: ProviderError,
}

/// How long after the `attempts`-th failure in a row discovery is not tried again: 200 ms,
/// doubling, at most 30 s.
fn backoff(attempts: u32) -> Duration {
    Duration::from_millis(200)
        .saturating_mul(1 << attempts.saturating_sub(1).min(8))
        .min(Duration::from_secs(30))
}

impl Provider {
    /// The provider's metadata, fetched once and cached; a failed fetch is retried by the
    /// next caller, one at a time.
    pub(crate) async fn discovered(&self) -> Result<Arc<Discovered>, ProviderError> {
        if let Some(d) = self.discovered.load_full() {
            return Ok(d);
        }
        self.recent_failure()?;
        let _one_at_a_time = self.fetching.lock().await;
        if let Some(d) = self.discovered.load_full() {
            return Ok(d);
        }
        // A fetch that failed while this request waited answers it too.
        self.recent_failure()?;
        match self.discover().await {
            Ok(d) => {
                let d = Arc::new(d);
                let confirmed = match &d.issuer {
                    ResolvedIssuer::Exact(iss) => IssuerRule::Exact(iss.clone()),
                    ResolvedIssuer::Template(template) => IssuerRule::TenantTemplate {
                        template: template.clone(),
                    },
                };
                self.confirmed_issuer.store(Some(Arc::new(confirmed)));
                self.discovered.store(Some(d.clone()));
                *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = None;
                Ok(d)
            }
            Err(error) => {
                let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
                let attempts = failed.as_ref().map_or(0, |f| f.attempts) + 1;
                tracing::warn!(%error, attempts, retry_in = ?backoff(attempts), "provider discovery failed");
                *failed = Some(Failure {
                    at: std::time::Instant::now(),
                    attempts,
                    error: error.clone(),
                });
                Err(error)
            }
        }
    }

    /// The last discovery failure, while its backoff lasts.
    fn recent_failure(&self) -> Result<(), ProviderError> {
        let failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        match &*failed {
            Some(f) if f.at.elapsed() < backoff(f.attempts) => Err(f.error.clone()),
            _ => Ok(()),
        }
    }

    async fn discover(&self) -> Result<Discovered, ProviderError> {
        let url = self.config.authority.discovery_url();
        let response = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("GET {url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProviderError::Unavailable(format!(
                "GET {url}: HTTP {status}"
            )));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("GET {url}: {e}")))?;
        let raw: RawMetadata = serde_json::from_slice(&body).map_err(|e| {
            ProviderError::Unavailable(format!(
                "GET {url}: not an OpenID Connect discovery document: {e}"
            ))
        })?;
        let issuer =
            ResolvedIssuer::from_discovery(&self.config.authority.issuer_rule(), &raw.issuer)
                .map_err(ProviderError::Malformed)?;
        let endpoint = |name: &str, value: &str| {
            crate::config::parse_endpoint(value)
                .map_err(|e| ProviderError::Malformed(format!("discovery's {name}: {e}")))
        };
        let jwks_uri = endpoint("jwks_uri", &raw.jwks_uri)?;
        let authorization_endpoint =
            endpoint("authorization_endpoint", &raw.authorization_endpoint)?;
        let token_endpoint = endpoint("token_endpoint", &raw.token_endpoint)?;
        let end_session_endpoint = raw
            .end_session_endpoint
            .as_deref()
            .map(|e| endpoint("end_session_endpoint", e))
            .transpose()?;
        if let Some(origin) = self.config.authority.endpoint_origin() {
            // Secrets go only to the authority's own host: a tampered or look-alike
            // discovery document must not send them (or fetch keys) anywhere else. External
            // ID may also serve them from its issuer's host, `{tenant id}.ciamlogin.com`,
            // whose shape the issuer rule has just checked.
            let mut allowed = vec![origin.clone()];
            if matches!(self.config.authority, crate::config::Authority::Ciam { .. })
                && let Ok(issuer) = Url::parse(&raw.issuer)
            {
                allowed.push(issuer.origin());
            }
            let named = [
                ("authorization_endpoint", Some(&authorization_endpoint)),
                ("token_endpoint", Some(&token_endpoint)),
                ("jwks_uri", Some(&jwks_uri)),
                ("end_session_endpoint", end_session_endpoint.as_ref()),
            ];
            for (name, url) in named {
                if let Some(url) = url
                    && !allowed.contains(&url.origin())
                {
                    return Err(ProviderError::Malformed(format!(
                        "discovery's {name} {} is not on the authority's host {}: refused, so no secret or token goes there",
                        untrusted(url.as_str()),
                        origin.ascii_serialization()
                    )));
                }
            }
        }
        let v1_issuer = self
            .config
            .authority
            .v1_issuer_base()
            .map(|base| match &issuer {
                ResolvedIssuer::Exact(v2) => {
                    let tid = tenant_of_issuer(v2).unwrap_or_default();
                    ResolvedIssuer::Exact(format!("{base}/{tid}/"))
                }
                ResolvedIssuer::Template(_) => {
                    ResolvedIssuer::Template(format!("{base}/{{tenantid}}/"))
                }
            });
        Ok(Discovered {
            v1_issuer,
            issuer,
            issuer_url: raw.issuer,
            authorization_endpoint,
            token_endpoint,
            end_session_endpoint,
            keys: Arc::new(KeyCache::new(
                self.http.clone(),
                jwks_uri,
                self.config.jwks_cooldown,
            )),
        })
    }
}
