//! Reading typed values out of the raw `MSAL_*` ones, every problem collected with its fix
//! instead of stopping at the first.

use super::*;

/// `MSAL_MEMORY_SESSIONS_MAX` by default: at about 2.5 KB a session and 1 KB a pending
/// sign-in, a full memory store stays within a few hundred megabytes.
const MEMORY_DEFAULT: u64 = 100_000;
/// Fewer would sign users out as soon as a few hundred strangers start a sign-in.
const MEMORY_LEAST: u64 = 100;
const MEMORY_MOST: u64 = 100_000_000;

/// Reads typed values out of the raw ones, collecting problems instead of stopping.
pub(super) struct Validator {
    pub(super) values: RawValues,
    pub(super) problems: Vec<ConfigProblem>,
}

impl Validator {
    fn get(&self, name: &'static str) -> Option<&str> {
        self.values
            .get(name)
            .map(|(v, _)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn problem(&mut self, name: &'static str, message: impl Into<String>) {
        let source = self.values.get(name).map(|(_, s)| *s);
        self.problems.push(ConfigProblem {
            variable: Some(name),
            source,
            message: message.into(),
        });
    }

    /// Parses an optional value; a parse failure becomes a problem and `None`.
    fn parse<T>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.get(name)?.to_owned();
        match f(&text) {
            Ok(v) => Some(v),
            Err(message) => {
                self.problem(name, message);
                None
            }
        }
    }

    pub(super) fn run(mut self) -> Result<MsalConfig, ConfigError> {
        let client_id = self.get("MSAL_CLIENT_ID").map(str::to_owned);
        if client_id.is_none() {
            self.problem(
                "MSAL_CLIENT_ID",
                "is not set: use the Application (client) ID of your app registration",
            );
        }
        let certificate = self.parse("MSAL_CLIENT_CERTIFICATE", |t| {
            let pem = if t.contains("-----BEGIN") {
                t.to_owned()
            } else {
                // The value may be a mangled PEM rather than a path: never echo it.
                std::fs::read_to_string(t).map_err(|e| {
                    format!("is neither PEM text nor the path of a readable file ({e})")
                })?
            };
            ClientCertificate::from_pem(&pem)
        });
        if certificate.is_some() && self.get("MSAL_CLIENT_SECRET").is_some() {
            self.problem(
                "MSAL_CLIENT_CERTIFICATE",
                "and MSAL_CLIENT_SECRET are both set: use one client credential",
            );
        }
        let client_credential = certificate.map(ClientCredential::Certificate).or_else(|| {
            self.get("MSAL_CLIENT_SECRET")
                .map(|s| ClientCredential::Secret(SecretString::from(s.to_owned())))
        });
        let authority = self.authority();
        let public_url = self.parse("MSAL_PUBLIC_URL", authority::parse_url);
        let explicit_redirect_uri = self.parse("MSAL_REDIRECT_URI", |t| {
            let url = authority::parse_url(t)?;
            if url.fragment().is_some() {
                return Err("a redirect URI must not have a #fragment".into());
            }
            Ok(url)
        });
        let explicit_post_logout_redirect_uri =
            self.parse("MSAL_POST_LOGOUT_REDIRECT_URI", authority::parse_url);
        let scopes: Vec<String> = self.get("MSAL_SCOPES").map(split_list).unwrap_or_default();
        let client_capabilities = self
            .parse("MSAL_CLIENT_CAPABILITIES", |t| {
                let mut capabilities: Vec<String> = Vec::new();
                for capability in split_list(t) {
                    if !is_capability(&capability) {
                        return Err(format!(
                            "'{capability}' is not a client capability: list names of letters, digits and '_', such as cp1, comma or space separated"
                        ));
                    }
                    if !capabilities.contains(&capability) {
                        capabilities.push(capability);
                    }
                }
                Ok(capabilities)
            })
            .unwrap_or_default();
        let allowed_tenants: Vec<String> = self
            .parse("MSAL_ALLOWED_TENANTS", |t| {
                let list = split_list(t);
                match list.iter().find(|t| !is_guid(t)) {
                    Some(bad) => Err(format!(
                        "'{bad}' is not a tenant id: list tenant GUIDs (the `tid` claim), comma separated"
                    )),
                    None => Ok(list.iter().map(|t| t.to_ascii_lowercase()).collect()),
                }
            })
            .unwrap_or_default();
        if let Some(Authority::Entra {
            tenant: Tenant::Id(id),
            ..
        }) = &authority
            && !allowed_tenants.is_empty()
            && !allowed_tenants.contains(id)
        {
            self.problem(
                "MSAL_ALLOWED_TENANTS",
                format!("does not include the configured tenant {id}, so nobody could sign in"),
            );
        }
        let session_store = self.parse("MSAL_SESSION_STORE", |t| {
            if t.eq_ignore_ascii_case("memory") {
                return Ok(SessionStoreKind::Memory);
            }
            if !redis::looks_like_redis(t) {
                return Err(format!(
                    "must be 'memory' or a redis:// URL (the forms: {})",
                    redis::FORMS
                ));
            }
            #[cfg(not(feature = "redis"))]
            return Err(NO_REDIS.into());
            #[cfg(feature = "redis")]
            {
                let url = Url::parse(t).map_err(|_| redis::unparsable(t))?;
                redis::check_url(&url)?;
                Ok(SessionStoreKind::Redis(url))
            }
        });
        // A store URL refused above is a problem already: the CA file is not judged by it.
        let store_refused = session_store.is_none() && self.get("MSAL_SESSION_STORE").is_some();
        let session_store = session_store.unwrap_or(SessionStoreKind::Memory);
        #[cfg(feature = "redis")]
        let redis_ca = self.parse("MSAL_REDIS_CA_FILE", |t| {
            if t.contains("-----BEGIN") {
                return Err(
                    "holds PEM text; it must be the path of a PEM file: write the CA \
                            certificate to a file and set its path"
                        .into(),
                );
            }
            let ca = RedisCa::from_pem_file(t)?;
            match &session_store {
                SessionStoreKind::Redis(url) if redis::is_tls(url) => Ok(ca),
                _ if store_refused => Ok(ca),
                _ => Err(
                    "is set, but MSAL_SESSION_STORE is not a TLS Redis URL (rediss:// or \
                          rediss-cluster://), so the CA would trust nothing: use rediss://, or \
                          unset MSAL_REDIS_CA_FILE"
                        .into(),
                ),
            }
        });
        #[cfg(not(feature = "redis"))]
        let _ = store_refused;
        #[cfg(not(feature = "redis"))]
        if self.get("MSAL_REDIS_CA_FILE").is_some() {
            self.problem(
                "MSAL_REDIS_CA_FILE",
                "is set, but this build has no Redis support: enable msal-runtime's cargo \
                 feature `redis`, or unset MSAL_REDIS_CA_FILE",
            );
        }
        let session_lifetime = self
            .parse("MSAL_SESSION_LIFETIME", |t| {
                let d = parse_duration(t)?;
                if d.is_zero() || d > Duration::from_secs(400 * 86400) {
                    return Err(
                        "must be longer than zero and at most 400d (browsers cap cookies there)"
                            .into(),
                    );
                }
                Ok(d)
            })
            .unwrap_or(Duration::from_secs(8 * 3600));
        let memory_sessions_max = self
            .parse("MSAL_MEMORY_SESSIONS_MAX", |t| {
                let max: u64 = t.replace('_', "").parse().map_err(|_| {
                    format!("must be a whole number of sessions, e.g. {MEMORY_DEFAULT}")
                })?;
                if !(MEMORY_LEAST..=MEMORY_MOST).contains(&max) {
                    return Err(format!(
                        "must be between {MEMORY_LEAST} and {MEMORY_MOST}; for more sessions \
                         than one process should hold, use MSAL_SESSION_STORE=redis://…"
                    ));
                }
                Ok(max)
            })
            .unwrap_or(MEMORY_DEFAULT);
        let cookie_name = self
            .parse("MSAL_COOKIE_NAME", |t| {
                let token = t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                if token {
                    Ok(t.to_owned())
                } else {
                    Err(format!(
                        "'{t}' is not a valid cookie name: use letters, digits, '-' and '_'"
                    ))
                }
            })
            .unwrap_or_else(|| "msal_session".to_owned());
        let route_prefix = self
            .parse("MSAL_ROUTE_PREFIX", |t| {
                let ok = t.starts_with('/')
                    && t.len() > 1
                    && !t.ends_with('/')
                    && !t.contains(['?', '#', ' ', '{', '}', '*', ':']);
                if ok {
                    Ok(t.to_owned())
                } else {
                    Err(format!("'{t}' must be a path like '/auth': a leading '/', no trailing '/', no query"))
                }
            })
            .unwrap_or_else(|| "/auth".to_owned());
        let response_mode = self
            .parse("MSAL_RESPONSE_MODE", |t| match t {
                "query" => Ok(ResponseMode::Query),
                "form_post" => Ok(ResponseMode::FormPost),
                _ => Err(format!("'{t}' must be 'query' or 'form_post'")),
            })
            .unwrap_or_default();
        let token_auth_method = self
            .parse("MSAL_TOKEN_AUTH_METHOD", |t| match t {
                "client_secret_post" => Ok(TokenAuthMethod::ClientSecretPost),
                "client_secret_basic" => Ok(TokenAuthMethod::ClientSecretBasic),
                _ => Err(format!(
                    "'{t}' must be 'client_secret_post' or 'client_secret_basic'"
                )),
            })
            .unwrap_or_default();
        if self.get("MSAL_TOKEN_AUTH_METHOD").is_some()
            && !matches!(client_credential, Some(ClientCredential::Secret(_)))
        {
            self.problem(
                "MSAL_TOKEN_AUTH_METHOD",
                "needs a client secret: set MSAL_CLIENT_SECRET",
            );
        }
        let clock_skew = self
            .parse("MSAL_CLOCK_SKEW", |t| {
                let d = parse_duration(t)?;
                if d > Duration::from_secs(15 * 60) {
                    return Err(
                        "must be at most 15m: a larger skew accepts long-expired tokens".into(),
                    );
                }
                Ok(d)
            })
            .unwrap_or(Duration::from_secs(300));
        let jwks_cooldown = self
            .parse("MSAL_JWKS_COOLDOWN", |t| {
                let d = parse_duration(t)?;
                if d < Duration::from_secs(1) {
                    return Err(
                        "must be at least 1s: a shorter cooldown lets random key ids make this app fetch the keys on every request"
                            .into(),
                    );
                }
                Ok(d)
            })
            .unwrap_or(Duration::from_secs(300));
        let http_timeout = self
            .parse("MSAL_HTTP_TIMEOUT", |t| {
                let d = parse_duration(t)?;
                if d.is_zero() || d > Duration::from_secs(300) {
                    return Err("must be more than zero and at most 5m".into());
                }
                Ok(d)
            })
            .unwrap_or(Duration::from_secs(15));
        let audiences = self
            .get("MSAL_AUDIENCE")
            .map(split_list)
            .or_else(|| {
                client_id
                    .as_ref()
                    .map(|id| vec![id.clone(), format!("api://{id}")])
            })
            .unwrap_or_default();
        let mut session_keys: Vec<SessionKey> = self
            .parse("MSAL_SESSION_KEY", SessionKey::parse)
            .into_iter()
            .collect();
        if let Some(old) = self.get("MSAL_SESSION_OLD_KEYS").map(split_list) {
            for key in old {
                match SessionKey::parse(&key) {
                    Ok(k) => session_keys.push(k),
                    Err(e) => self.problem("MSAL_SESSION_OLD_KEYS", format!("an entry {e}")),
                }
            }
            if self.get("MSAL_SESSION_KEY").is_none() {
                self.problem(
                    "MSAL_SESSION_OLD_KEYS",
                    "needs MSAL_SESSION_KEY: the current key seals, old keys only open",
                );
            }
        }
        let graph_url = self
            .parse("MSAL_GRAPH_URL", authority::parse_url)
            .or_else(|| Url::parse("https://graph.microsoft.com/v1.0").ok());
        let accept_unscoped_tokens = self
            .parse("MSAL_ACCEPT_UNSCOPED_TOKENS", parse_bool)
            .unwrap_or(false);
        let roles_from_any_tenant = self
            .parse("MSAL_ROLES_FROM_ANY_TENANT", parse_bool)
            .unwrap_or(false);
        let extra_policies = self.get("MSAL_B2C_ALLOWED_POLICIES").map(split_list);
        let b2c_policies = match &authority {
            Some(Authority::B2c { policy, .. }) => std::iter::once(policy.clone())
                .chain(extra_policies.unwrap_or_default())
                .map(|p| p.to_ascii_lowercase())
                .collect(),
            _ => {
                if extra_policies.is_some() {
                    self.problem(
                        "MSAL_B2C_ALLOWED_POLICIES",
                        "needs a B2C authority: set MSAL_B2C_POLICY (with MSAL_INSTANCE and MSAL_TENANT_ID)",
                    );
                }
                Vec::new()
            }
        };

        match (client_id, authority, graph_url, self.problems.is_empty()) {
            (Some(client_id), Some(authority), Some(graph_url), true) => Ok(MsalConfig {
                client_id,
                client_credential,
                authority,
                public_url,
                explicit_redirect_uri,
                explicit_post_logout_redirect_uri,
                scopes,
                client_capabilities,
                allowed_tenants,
                roles_from_any_tenant,
                b2c_policies,
                session_store,
                #[cfg(feature = "redis")]
                redis_ca,
                session_lifetime,
                memory_sessions_max,
                cookie_name,
                route_prefix,
                response_mode,
                token_auth_method,
                clock_skew,
                jwks_cooldown,
                http_timeout,
                audiences,
                accept_unscoped_tokens,
                session_keys,
                graph_url,
            }),
            _ => Err(ConfigError {
                problems: self.problems,
            }),
        }
    }

    fn authority(&mut self) -> Option<Authority> {
        let full = self.get("MSAL_AUTHORITY").map(str::to_owned);
        let tenant = self.get("MSAL_TENANT_ID").map(str::to_owned);
        let instance = self.get("MSAL_INSTANCE").map(str::to_owned);
        let policy = self.get("MSAL_B2C_POLICY").map(str::to_owned);
        if let Some(full) = full {
            let mut conflict = false;
            for other in ["MSAL_TENANT_ID", "MSAL_INSTANCE", "MSAL_B2C_POLICY"] {
                if self.get(other).is_some() {
                    conflict = true;
                    self.problem(
                        other,
                        "conflicts with MSAL_AUTHORITY: set either a full MSAL_AUTHORITY, or MSAL_INSTANCE + MSAL_TENANT_ID (+ MSAL_B2C_POLICY)",
                    );
                }
            }
            let parsed = self.parse("MSAL_AUTHORITY", |_| Authority::parse(&full));
            return parsed.filter(|_| !conflict);
        }
        let Some(tenant) = tenant else {
            self.problem(
                "MSAL_TENANT_ID",
                "is not set, and neither is MSAL_AUTHORITY: set MSAL_TENANT_ID to a tenant id, a domain, 'common', 'organizations' or 'consumers', or MSAL_AUTHORITY to a full authority or OpenID Connect issuer URL",
            );
            return None;
        };
        let instance_url = match instance {
            None => Url::parse(DEFAULT_INSTANCE).ok(),
            Some(_) => self.parse("MSAL_INSTANCE", |t| {
                let url = authority::parse_url(t)?;
                if url.path() != "/" || url.query().is_some() {
                    return Err(format!(
                        "'{t}' must be only scheme and host (like https://login.microsoftonline.com); put the tenant in MSAL_TENANT_ID"
                    ));
                }
                Ok(url)
            }),
        }?;
        if tenant.contains(['/', '?', '#', ' ']) {
            self.problem(
                "MSAL_TENANT_ID",
                format!("'{tenant}' must be one path segment: a tenant id, a domain, 'common', 'organizations' or 'consumers'"),
            );
            return None;
        }
        Some(match policy {
            Some(policy) => Authority::B2c {
                instance: instance_url,
                tenant,
                policy,
            },
            None => Authority::Entra {
                instance: instance_url,
                tenant: Tenant::parse(&tenant),
            },
        })
    }
}

/// Why a Redis URL is refused by a build without Redis.
#[cfg(not(feature = "redis"))]
const NO_REDIS: &str = "is a Redis URL, but this build has no Redis support: enable \
     msal-runtime's cargo feature `redis` (msal-runtime = { version = \"…\", features = \
     [\"redis\"] }), or use 'memory'";

pub(super) fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("'{text}' must be true or false")),
    }
}

/// A client capability's name: `[A-Za-z0-9_]+`, as Entra's `cp1`.
pub(super) fn is_capability(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(super) fn split_list(text: &str) -> Vec<String> {
    text.split([',', ' ', '\t', '\n'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `3600`, `3600s`, `90m`, `8h`, `1d`.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration: use seconds (3600) or 90m, 8h, 1d"))?;
    if unit == "ms" {
        return Ok(Duration::from_millis(n));
    }
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(format!(
                "'{text}' has unknown unit '{unit}': use ms, s, m, h or d"
            ));
        }
    };
    let secs = n
        .checked_mul(scale)
        .ok_or_else(|| format!("'{text}' is too long a duration"))?;
    Ok(Duration::from_secs(secs))
}
