//! The confidential client: discovery (fetched and checked here, because openidconnect's own
//! discovery refuses Entra's `{tenantid}` issuer template), the authorization URL with PKCE,
//! and the code exchange on openidconnect + reqwest.

use std::sync::Arc;
use std::sync::PoisonError;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as URL_SAFE_NO_PAD_ENGINE;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenResponse,
};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    JsonWebKeySet, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse as _, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::challenge::{ClaimsRequest, request_claims};
use crate::config::{IssuerRule, MsalConfig, TokenAuthMethod, tenant_of_issuer};
use crate::error::untrusted;
use crate::validate::{KeyCache, ResolvedIssuer};

mod discovery;
mod refused;

use discovery::Failure;
pub(crate) use refused::{Refusal, RefusalKind};

/// What discovery told us, checked.
pub(crate) struct Discovered {
    pub(crate) issuer: ResolvedIssuer,
    /// Entra's v1 issuer for the same tenant(s), accepted on access tokens.
    pub(crate) v1_issuer: Option<ResolvedIssuer>,
    issuer_url: String,
    pub(crate) authorization_endpoint: Url,
    pub(crate) token_endpoint: Url,
    pub(crate) end_session_endpoint: Option<Url>,
    pub(crate) keys: Arc<KeyCache>,
}

/// Why a call to the provider failed.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum ProviderError {
    /// Unreachable, timed out, 5xx, or not the protocol: try again later.
    #[error("{0}")]
    Unavailable(String),
    /// The provider said no (`invalid_grant` and friends), with its description. Both are
    /// the provider's text, escaped and bounded (see [`untrusted`]): fit for a log line,
    /// never for a caller's response.
    #[error("{}: {}", .0.error, .0.description)]
    Refused(Refusal),
    /// The provider answered, but what it sent cannot be used.
    #[error("{0}")]
    Malformed(String),
}

/// A token response. `Debug` shows no token.
pub(crate) struct TokenResponse {
    pub(crate) id_token: Option<SecretString>,
    pub(crate) access_token: SecretString,
    pub(crate) refresh_token: Option<SecretString>,
    pub(crate) expires_in: Option<Duration>,
    /// The granted scopes (`scope` of the response; absent means what was asked for).
    pub(crate) scopes: Option<Vec<String>>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

fn response_of(response: &openidconnect::core::CoreTokenResponse) -> TokenResponse {
    TokenResponse {
        id_token: response
            .id_token()
            .map(|t| SecretString::from(t.to_string())),
        access_token: SecretString::from(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| SecretString::from(t.secret().clone())),
        expires_in: response.expires_in(),
        scopes: response
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect()),
    }
}

/// A prepared authorization request: where to send the browser and what to remember.
pub(crate) struct AuthorizationRequest {
    pub(crate) url: Url,
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
}

/// Hints passed through to the provider.
#[derive(Default)]
pub(crate) struct Hints<'a> {
    pub(crate) login_hint: Option<&'a str>,
    pub(crate) domain_hint: Option<&'a str>,
    pub(crate) prompt: Option<&'a str>,
    /// A claims challenge the sign-in answers.
    pub(crate) claims: Option<&'a ClaimsRequest>,
    /// `max_age`: the most seconds since the user's authentication.
    pub(crate) max_age: Option<u64>,
    /// `acr_values`: acceptable authentication levels, space-separated.
    pub(crate) acr_values: Option<&'a str>,
}

/// The provider as this app talks to it.
pub(crate) struct Provider {
    http: reqwest::Client,
    config: Arc<MsalConfig>,
    /// Where the issuer discovery confirmed is published (for reading stored sessions).
    confirmed_issuer: Arc<ArcSwapOption<IssuerRule>>,
    discovered: ArcSwapOption<Discovered>,
    fetching: tokio::sync::Mutex<()>,
    /// The last failed discovery, while requests wait out its backoff.
    failed: std::sync::Mutex<Option<Failure>>,
}

impl Provider {
    pub(crate) fn new(
        config: Arc<MsalConfig>,
        confirmed_issuer: Arc<ArcSwapOption<IssuerRule>>,
    ) -> Result<Self, reqwest::Error> {
        // No redirects: a token or metadata endpoint that redirects is a misconfiguration
        // or an attack (SSRF), never something to follow.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.http_timeout.min(Duration::from_secs(5)))
            .timeout(config.http_timeout)
            .user_agent(concat!("msal-axum/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            config,
            confirmed_issuer,
            discovered: ArcSwapOption::empty(),
            fetching: tokio::sync::Mutex::new(()),
            failed: std::sync::Mutex::new(None),
        })
    }

    /// The HTTP client (no redirects, timeouts), also for downstream calls.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn client(&self, d: &Discovered, redirect_uri: &Url) -> Result<OidcClient, ProviderError> {
        let issuer = IssuerUrl::new(d.issuer_url.clone())
            .map_err(|e| ProviderError::Malformed(format!("issuer: {e}")))?;
        let mut client = EntraClient::new(
            ClientId::new(self.config.client_id.clone()),
            issuer,
            JsonWebKeySet::default(),
        )
        .set_auth_uri(AuthUrl::from_url(d.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(d.token_endpoint.clone()))
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
        // The body carries `client_id`; with client_secret_basic the secret goes in the
        // header `send` adds (openidconnect's own would form-encode a secret's `~`).
        .set_auth_type(AuthType::RequestBody);
        if let (TokenAuthMethod::ClientSecretPost, Some(secret)) =
            (self.config.token_auth_method, self.config.client_secret())
        {
            client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
        }
        Ok(client)
    }

    /// The URL that starts a sign-in: code flow, PKCE S256, fresh `state` and `nonce`.
    pub(crate) fn authorization_request(
        &self,
        d: &Discovered,
        redirect_uri: &Url,
        scopes: &[String],
        hints: &Hints<'_>,
    ) -> Result<AuthorizationRequest, ProviderError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client(d, redirect_uri)?;
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if self.config.response_mode == crate::config::ResponseMode::FormPost {
            request = request.add_extra_param("response_mode", "form_post");
        }
        let claims = request_claims(hints.claims, self.capabilities());
        let max_age = hints.max_age.map(|s| s.to_string());
        for (name, value) in [
            ("login_hint", hints.login_hint),
            ("domain_hint", hints.domain_hint),
            ("prompt", hints.prompt),
            ("claims", claims.as_deref()),
            ("max_age", max_age.as_deref()),
            ("acr_values", hints.acr_values),
        ] {
            if let Some(value) = value {
                request = request.add_extra_param(name, value);
            }
        }
        let (url, state, nonce) = request.url();
        Ok(AuthorizationRequest {
            url,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Redeems an authorization code; the response must carry an ID token.
    pub(crate) async fn exchange_code(
        &self,
        d: &Discovered,
        redirect_uri: &Url,
        code: &str,
        pkce_verifier: &str,
        claims: Option<&ClaimsRequest>,
    ) -> Result<TokenResponse, ProviderError> {
        let client = self.client(d, redirect_uri)?;
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        for (name, value) in self.extra_params(d, claims)? {
            request = request.add_extra_param(name, value);
        }
        let response = request
            .request_async(&self.token_http())
            .await
            .map_err(token_error)?;
        let tokens = response_of(&response);
        if tokens.id_token.is_none() {
            return Err(ProviderError::Malformed(
                "the token response has no ID token (was 'openid' granted?)".into(),
            ));
        }
        Ok(tokens)
    }

    /// A new access token for `scopes` from a refresh token (which may rotate).
    pub(crate) async fn refresh(
        &self,
        d: &Discovered,
        refresh_token: &str,
        scopes: &[String],
        claims: Option<&ClaimsRequest>,
    ) -> Result<TokenResponse, ProviderError> {
        let client = self.client_without_redirect(d)?;
        let refresh_token = openidconnect::RefreshToken::new(refresh_token.to_owned());
        let mut request = client
            .exchange_refresh_token(&refresh_token)
            .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())));
        for (name, value) in self.extra_params(d, claims)? {
            request = request.add_extra_param(name, value);
        }
        let response = request
            .request_async(&self.token_http())
            .await
            .map_err(token_error)?;
        Ok(response_of(&response))
    }

    /// An app-only token (client credentials) for `scopes` (`<resource>/.default`).
    pub(crate) async fn client_credentials(
        &self,
        d: &Discovered,
        scopes: &[String],
        claims: Option<&ClaimsRequest>,
    ) -> Result<TokenResponse, ProviderError> {
        let client = self.client_without_redirect(d)?;
        let mut request = client
            .exchange_client_credentials()
            .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())));
        for (name, value) in self.extra_params(d, claims)? {
            request = request.add_extra_param(name, value);
        }
        let response = request
            .request_async(&self.token_http())
            .await
            .map_err(token_error)?;
        Ok(response_of(&response))
    }

    /// On-behalf-of: the incoming user token exchanged for one for `scopes`. The oauth2
    /// crate has no jwt-bearer grant, so this request is built here.
    pub(crate) async fn on_behalf_of(
        &self,
        d: &Discovered,
        assertion: &str,
        scopes: &[String],
        claims: Option<&ClaimsRequest>,
    ) -> Result<TokenResponse, ProviderError> {
        let scope = scopes.join(" ");
        let mut form = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("requested_token_use", "on_behalf_of"),
            ("assertion", assertion),
            ("scope", scope.as_str()),
        ];
        let extras = self.extra_params(d, claims)?;
        form.extend(extras.iter().map(|(k, v)| (*k, v.as_str())));
        let id = self.config.client_id.as_str();
        form.push(("client_id", id));
        let mut request = self.http.post(d.token_endpoint.clone());
        match self.basic_authorization() {
            Some(value) => request = request.header(reqwest::header::AUTHORIZATION, value),
            None => {
                if let Some(secret) = self.config.client_secret() {
                    form.push(("client_secret", secret.expose_secret()));
                }
            }
        }
        let response =
            request.form(&form).send().await.map_err(|e| {
                ProviderError::Unavailable(format!("token endpoint unreachable: {e}"))
            })?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| {
            ProviderError::Unavailable(format!(
                "token endpoint answered something that is not JSON: {e}"
            ))
        })?;
        let text = |name: &str| body.get(name).and_then(serde_json::Value::as_str);
        if !status.is_success() {
            let refusal = Refusal::from_json(&body);
            return Err(if status.is_server_error() {
                ProviderError::Unavailable(format!(
                    "token endpoint: {}: {}",
                    refusal.error, refusal.description
                ))
            } else {
                refusal_or_outage(refusal)
            });
        }
        let access_token = text("access_token").ok_or_else(|| {
            ProviderError::Malformed("the on-behalf-of response has no access_token".into())
        })?;
        Ok(TokenResponse {
            id_token: None,
            access_token: SecretString::from(access_token.to_owned()),
            refresh_token: text("refresh_token").map(|t| SecretString::from(t.to_owned())),
            expires_in: body
                .get("expires_in")
                .and_then(serde_json::Value::as_u64)
                .map(Duration::from_secs),
            scopes: text("scope").map(|s| s.split_whitespace().map(str::to_owned).collect()),
        })
    }

    /// The HTTP client of openidconnect's token requests: this app's, adding the
    /// `client_secret_basic` header when that is the configured method.
    fn token_http(&self) -> TokenHttp<'_> {
        TokenHttp {
            http: &self.http,
            basic: self.basic_authorization(),
        }
    }

    /// `Authorization: Basic …` for client_secret_basic (RFC 6749 §2.3.1): the client id and
    /// secret percent-encoded, except RFC 3986's unreserved characters (`-._~`), which stay
    /// as written. A server that decodes the credentials reads them the same either way,
    /// and one that does not (Entra) reads a secret's `~` as the `~` it issued. `None` with
    /// client_secret_post or no secret.
    fn basic_authorization(&self) -> Option<reqwest::header::HeaderValue> {
        if self.config.token_auth_method != TokenAuthMethod::ClientSecretBasic {
            return None;
        }
        let secret = self.config.client_secret()?;
        let pair = format!(
            "{}:{}",
            credential_encoded(&self.config.client_id),
            credential_encoded(secret.expose_secret())
        );
        let mut value = reqwest::header::HeaderValue::try_from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
        .ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// The client capabilities this app declares (`cp1`: it handles CAE claims challenges).
    fn capabilities(&self) -> &[String] {
        &self.config.client_capabilities
    }

    /// What every token request may add: a claims challenge with the client capabilities,
    /// and the client assertion of a certificate credential.
    fn extra_params(
        &self,
        d: &Discovered,
        claims: Option<&ClaimsRequest>,
    ) -> Result<Vec<(&'static str, String)>, ProviderError> {
        let mut params = Vec::new();
        if let Some(claims) = request_claims(claims, self.capabilities()) {
            params.push(("claims", claims));
        }
        if let Some(assertion) = self.assertion(d)? {
            params.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
            params.push(("client_assertion", assertion));
        }
        Ok(params)
    }

    /// A `private_key_jwt` client assertion, when the credential is a certificate: PS256,
    /// the certificate named by `x5t#S256`, for the token endpoint, valid ten minutes.
    fn assertion(&self, d: &Discovered) -> Result<Option<String>, ProviderError> {
        let Some(certificate) = self.config.client_certificate() else {
            return Ok(None);
        };
        let now = crate::validate::now();
        let id = &self.config.client_id;
        let claims = serde_json::json!({
            "aud": d.token_endpoint.as_str(),
            "iss": id,
            "sub": id,
            "jti": URL_SAFE_NO_PAD_ENGINE.encode(rand::random::<[u8; 16]>()),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
        header.x5t_s256 = Some(certificate.thumbprint.clone());
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(certificate.key_pem.expose_secret().as_bytes())
                .map_err(|e| {
                    ProviderError::Malformed(format!("the client certificate's key: {e}"))
                })?;
        jsonwebtoken::encode(&header, &claims, &key)
            .map(Some)
            .map_err(|e| ProviderError::Malformed(format!("signing the client assertion: {e}")))
    }

    fn client_without_redirect(&self, d: &Discovered) -> Result<OidcClient, ProviderError> {
        // Token requests other than the code exchange send no redirect URI; any URL will do
        // to complete the client's type.
        self.client(d, &d.authorization_endpoint)
    }
}

/// openidconnect's HTTP client for token requests: reqwest, with our own Basic header.
struct TokenHttp<'a> {
    http: &'a reqwest::Client,
    basic: Option<reqwest::header::HeaderValue>,
}

impl<'c> openidconnect::AsyncHttpClient<'c> for TokenHttp<'_> {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, Self::Error>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut request = reqwest::Request::try_from(request)?;
            if let Some(value) = &self.basic {
                request
                    .headers_mut()
                    .insert(reqwest::header::AUTHORIZATION, value.clone());
            }
            let response = self.http.execute(request).await?;
            let mut answer = openidconnect::HttpResponse::new(Vec::new());
            *answer.status_mut() = response.status();
            *answer.headers_mut() = response.headers().clone();
            *answer.body_mut() = response.bytes().await?.to_vec();
            Ok(answer)
        })
    }
}

/// A client credential encoded for the Basic scheme: every byte but RFC 3986's unreserved
/// characters percent-encoded.
fn credential_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A refusal, unless its error says the provider is having trouble (try again later).
fn refusal_or_outage(refusal: Refusal) -> ProviderError {
    if matches!(
        refusal.error.as_str(),
        "temporarily_unavailable" | "server_error"
    ) {
        ProviderError::Unavailable(format!(
            "token endpoint: {}: {}",
            refusal.error, refusal.description
        ))
    } else {
        ProviderError::Refused(refusal)
    }
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// openidconnect's core client, with an error type that keeps what Entra adds to a refusal
/// (`suberror`, `claims`).
type EntraClient<
    HasAuthUrl = openidconnect::EndpointNotSet,
    HasTokenUrl = openidconnect::EndpointNotSet,
> = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    refused::EntraErrorResponse,
    CoreTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    HasAuthUrl,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    HasTokenUrl,
    openidconnect::EndpointNotSet,
>;

type OidcClient = EntraClient<openidconnect::EndpointSet, openidconnect::EndpointSet>;

fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, refused::EntraErrorResponse>,
) -> ProviderError {
    match e {
        RequestTokenError::ServerResponse(response) => {
            refusal_or_outage(Refusal::from_response(&response))
        }
        RequestTokenError::Request(e) => {
            ProviderError::Unavailable(format!("token endpoint unreachable: {e}"))
        }
        RequestTokenError::Parse(e, body) => {
            // A readable token response whose ID token could not be parsed is the token's
            // fault; anything else (an HTML error page, garbage) is an outage.
            let looks_like_tokens = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .is_some_and(|v| v.get("access_token").is_some());
            if looks_like_tokens {
                ProviderError::Malformed(format!(
                    "the ID token in the token response cannot be read: {e}"
                ))
            } else {
                ProviderError::Unavailable(format!(
                    "token endpoint answered something that is not OAuth: {e}"
                ))
            }
        }
        RequestTokenError::Other(e) => ProviderError::Unavailable(format!("token endpoint: {e}")),
    }
}
