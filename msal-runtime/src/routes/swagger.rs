//! How a sign-in that Swagger UI started ends: at the callback, the access token the
//! provider issued is validated as any bearer token is and kept under a one-time code for
//! Swagger to redeem (feature `openapi`; without it no such sign-in can start).

use super::SignIn;
use crate::client::TokenResponse;
use crate::error::AuthError;
use crate::session::SwaggerRequest;

/// What a Swagger code redeems for.
#[cfg(feature = "openapi")]
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct SwaggerGrant {
    pub(crate) access_token: String,
    pub(crate) expires_at: i64,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
}

/// How long Swagger has to redeem its code.
#[cfg(feature = "openapi")]
const CODE_TTL: std::time::Duration = std::time::Duration::from_secs(120);

/// Keeps the access token under a one-time code and returns where to send the browser
/// (Swagger's redirect page, with the code and state). The token must be one this API
/// accepts, validated as every bearer token is: a token for another resource (Graph, say)
/// never leaves the server.
#[cfg(feature = "openapi")]
pub(super) async fn code(
    ctx: &SignIn,
    swagger: &SwaggerRequest,
    tokens: &TokenResponse,
) -> Result<String, AuthError> {
    use secrecy::ExposeSecret;

    let access_token = tokens.access_token.expose_secret();
    let (_, expires_at) = ctx
        .callers
        .validate_bearer(access_token)
        .await
        .map_err(|e| match e {
            AuthError::InvalidToken(why) => AuthError::sign_in(
                400,
                "Swagger sign-in refused",
                format!("the identity provider's token is not one this API accepts: {why}"),
            ),
            other => other,
        })?;
    let code = super::random_token();
    let grant = SwaggerGrant {
        access_token: access_token.to_owned(),
        expires_at,
        redirect_uri: swagger.redirect_uri.clone(),
        code_challenge: swagger.code_challenge.clone(),
    };
    ctx.store
        .put_swagger_grant(&code, &grant, &ctx.config.session_keys, CODE_TTL)
        .await?;
    let mut target = url::Url::parse(&swagger.redirect_uri)
        .map_err(|e| AuthError::Misconfigured(format!("Swagger redirect: {e}")))?;
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = &swagger.state {
        target.query_pairs_mut().append_pair("state", state);
    }
    Ok(target.into())
}

/// Without the `openapi` feature no Swagger sign-in can start: a flow that says otherwise
/// is refused.
#[cfg(not(feature = "openapi"))]
pub(super) async fn code(
    _: &SignIn,
    _: &SwaggerRequest,
    _: &TokenResponse,
) -> Result<String, AuthError> {
    Err(AuthError::Misconfigured(
        "Swagger UI sign-in needs the `openapi` feature".into(),
    ))
}
