//! The app under test: handlers that take tokens. (Returning a token to the client is for
//! tests only: a real app must never do it.)

use axum::routing::get;
use axum::{Json, Router};
use msal_runtime::testing::DEFAULT_CLIENT_ID;
use msal_runtime::{AccessToken, AuthRejection, Tokens, User, msal_protected};
use serde_json::{Value, json};

#[msal_protected(scopes = "User.Read")]
async fn token(token: AccessToken) -> String {
    token.secret().to_owned()
}

/// Uses no token: the session's vault is never opened.
#[msal_protected]
async fn who(user: User) -> String {
    user.preferred_username.unwrap_or_default()
}

#[msal_protected]
async fn two_resources(tokens: Tokens) -> Result<Json<Value>, AuthRejection> {
    let graph = tokens.user_token(&["User.Read"]).await?;
    let api = tokens
        .user_token(&[&format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read")])
        .await?;
    Ok(Json(
        json!({ "graph": graph.secret(), "api": api.secret() }),
    ))
}

#[msal_protected(scopes = "User.Read")]
async fn graph_me(tokens: Tokens) -> Result<Json<Value>, AuthRejection> {
    Ok(Json(tokens.graph(&["User.Read"]).get("/me").await?))
}

#[msal_protected(scopes = "access_as_user")]
async fn obo(tokens: Tokens) -> Result<String, AuthRejection> {
    Ok(tokens
        .on_behalf_of(&["https://graph.microsoft.com/User.Read"])
        .await?
        .secret()
        .to_owned())
}

#[msal_protected(scopes = "access_as_user")]
async fn obo_graph(tokens: Tokens) -> Result<Json<Value>, AuthRejection> {
    Ok(Json(
        tokens
            .graph(&["https://graph.microsoft.com/User.Read"])
            .get("/me")
            .await?,
    ))
}

/// What `Debug` shows of every extractor that holds a secret, beside the secrets themselves
/// (for `tests/secrets` to compare).
#[msal_protected(scopes = "User.Read")]
async fn debug(
    token: AccessToken,
    tokens: Tokens,
    user: User,
    csrf: msal_runtime::SignOutCsrf,
) -> Json<Value> {
    Json(json!({
        "secrets": [token.secret(), csrf.as_str()],
        "debug": format!("{token:?} {tokens:?} {user:?} {csrf:?}"),
    }))
}

/// The caller's own bearer token, read through the one accessor that gives it.
#[msal_protected]
async fn incoming(tokens: Tokens) -> String {
    tokens
        .incoming_bearer()
        .map(|t| t.secret().to_owned())
        .unwrap_or_default()
}

/// The app's own token; a refusal answers with msal's rejection.
#[msal_protected]
async fn app_token(tokens: Tokens) -> Result<String, AuthRejection> {
    Ok(tokens
        .app_token(&[&format!("api://{DEFAULT_CLIENT_ID}/.default")])
        .await?
        .secret()
        .to_owned())
}

/// The orders API's `User.Read`, beside Graph's `User.Read` from sign-in.
#[msal_protected]
async fn orders_user_read(tokens: Tokens) -> Result<String, AuthRejection> {
    Ok(tokens
        .user_token(&["api://orders/User.Read"])
        .await?
        .secret()
        .to_owned())
}

/// The sign-out form's token.
async fn csrf(csrf: msal_runtime::SignOutCsrf) -> String {
    csrf.as_str().to_owned()
}

/// A refusal's `Debug`, as an `on_denied` builder might log it.
fn show_rejection(rejection: AuthRejection) -> String {
    format!("{rejection:?}")
}

#[msal_protected(roles = "Nobody", on_denied = show_rejection)]
async fn denied_debug() -> &'static str {
    "never"
}

pub fn routes() -> Router {
    Router::new()
        .route("/csrf", get(csrf))
        .route("/orders/user-read", get(orders_user_read))
        .route("/denied-debug", get(denied_debug))
        .route("/incoming", get(incoming))
        .route("/app-token", get(app_token))
        .route("/token", get(token))
        .route("/debug", get(debug))
        .route("/who", get(who))
        .route("/two", get(two_resources))
        .route("/graph/me", get(graph_me))
        .route("/obo", get(obo))
        .route("/obo/graph", get(obo_graph))
}
