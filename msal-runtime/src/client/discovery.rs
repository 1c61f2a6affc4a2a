//! Discovery: the provider's metadata fetched and checked here (openidconnect's own
//! discovery refuses Entra's `{tenantid}` issuer template), cached, and after a failure not
//! asked again until a backoff has passed.

use super::*;

/// Entra's v1 metadata: only its issuer is read.
#[derive(Deserialize)]
struct V1Metadata {
    issuer: String,
}

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
        let v1_issuer = match (
            self.config.authority.v1_issuer_base(),
            &self.config.authority,
        ) {
            (Some(base), _) => Some(match &issuer {
                ResolvedIssuer::Exact(v2) => {
                    let tid = tenant_of_issuer(v2).unwrap_or_default();
                    ResolvedIssuer::Exact(format!("{base}/{tid}/"))
                }
                ResolvedIssuer::Template(_) => {
                    ResolvedIssuer::Template(format!("{base}/{{tenantid}}/"))
                }
            }),
            (None, crate::config::Authority::Entra { instance, tenant }) => {
                self.v1_issuer_from_metadata(instance, tenant, &issuer)
                    .await
            }
            (None, _) => None,
        };
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

impl Provider {
    /// A custom Entra instance's v1 issuer, from its v1 metadata
    /// (`{instance}/{tenant}/.well-known/openid-configuration`): Entra's v1 issuer lives on
    /// a host of its own (`https://sts.windows.net`), so it cannot be derived from the
    /// instance. Fails closed: metadata that cannot be fetched, or that names anything but
    /// a v1 issuer of the same tenant, leaves no v1 issuer, and v1 access tokens are refused.
    async fn v1_issuer_from_metadata(
        &self,
        instance: &Url,
        tenant: &crate::config::Tenant,
        v2: &ResolvedIssuer,
    ) -> Option<ResolvedIssuer> {
        let url = format!(
            "{}/{}/.well-known/openid-configuration",
            crate::config::trim(instance),
            tenant.segment()
        );
        let learned = async {
            let response = self
                .http
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("unreachable: {e}"))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            let doc: V1Metadata = serde_json::from_slice(&body)
                .map_err(|e| format!("not a metadata document: {e}"))?;
            v1_issuer_of(v2, &doc.issuer)
        }
        .await;
        match learned {
            Ok(v1) => Some(v1),
            Err(reason) => {
                tracing::warn!(
                    %url,
                    %reason,
                    "no v1 issuer learned from the v1 metadata: v1 access tokens will be refused"
                );
                None
            }
        }
    }
}

/// The v1 issuer a v1 metadata document names, if it is one for the tenant(s) of the v2
/// issuer: `{origin}/{tenant id}/` (`{origin}/{tenantid}/` for a template), over https or
/// loopback http. Any host: Entra's v1 issuer is not on the authority's own, and the
/// document comes from the authority itself; the tokens are still checked against the
/// authority's keys.
fn v1_issuer_of(v2: &ResolvedIssuer, candidate: &str) -> Result<ResolvedIssuer, String> {
    let shown = untrusted(candidate);
    let url =
        Url::parse(candidate).map_err(|e| format!("the v1 issuer '{shown}' is not a URL ({e})"))?;
    if url.scheme() != "https" && !crate::config::is_loopback_http(&url) {
        return Err(format!(
            "the v1 issuer '{shown}' is neither https nor on loopback"
        ));
    }
    let (tenant, template) = match v2 {
        ResolvedIssuer::Exact(v2) => (tenant_of_issuer(v2).unwrap_or_default(), false),
        ResolvedIssuer::Template(_) => ("{tenantid}", true),
    };
    let expected = format!("{}/{tenant}/", url.origin().ascii_serialization());
    if url.origin().is_tuple() && candidate == expected {
        Ok(if template {
            ResolvedIssuer::Template(expected)
        } else {
            ResolvedIssuer::Exact(expected)
        })
    } else {
        Err(format!(
            "the v1 metadata names issuer '{shown}', which is not a v1 issuer of tenant '{tenant}' ({{origin}}/{tenant}/)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{ResolvedIssuer, v1_issuer_of};

    const TID: &str = "c0ffee00-0000-4000-8000-00000000c0de";

    #[test]
    fn a_v1_issuer_must_name_the_same_tenant_and_nothing_more() {
        let v2 = ResolvedIssuer::Exact(format!("https://login.example.test/{TID}/v2.0"));
        let ok = |candidate: &str| v1_issuer_of(&v2, candidate).ok();
        assert_eq!(
            ok(&format!("https://sts.example.test/{TID}/")),
            Some(ResolvedIssuer::Exact(format!(
                "https://sts.example.test/{TID}/"
            )))
        );
        assert!(ok(&format!("http://localhost:5100/{TID}/")).is_some());
        for refused in [
            format!("http://sts.example.test/{TID}/"),
            format!("https://sts.example.test/{TID}"),
            format!("https://sts.example.test/{TID}/v2.0"),
            format!("https://sts.example.test/x/{TID}/"),
            format!("https://sts.example.test/{TID}/?x=1"),
            format!("https://user@sts.example.test/{TID}/"),
            "https://sts.example.test/0ddba11a-0000-4000-8000-000000000001/".to_owned(),
            "https://sts.example.test/{tenantid}/".to_owned(),
            "not a url".to_owned(),
        ] {
            assert_eq!(ok(&refused), None, "{refused}");
        }
    }

    #[test]
    fn a_template_v2_issuer_takes_only_a_template_v1_issuer() {
        let v2 = ResolvedIssuer::Template("https://login.example.test/{tenantid}/v2.0".into());
        assert_eq!(
            v1_issuer_of(&v2, "https://sts.example.test/{tenantid}/").ok(),
            Some(ResolvedIssuer::Template(
                "https://sts.example.test/{tenantid}/".into()
            ))
        );
        assert!(v1_issuer_of(&v2, &format!("https://sts.example.test/{TID}/")).is_err());
    }
}
