//! Procedural macros for msal-axum. Users depend on `msal-runtime`, which re-exports them;
//! the language is documented there (`msal_runtime::msal_protected`, `msal_runtime::msal_rule`).
//!
//! `lib.rs` is one line per macro; `parse` reads the DSL (`duration` its `max_age` values),
//! `validate` checks its meaning, `expand` writes the code; `errors` gathers every problem into
//! one compile error.

mod duration;
mod errors;
mod expand;
mod parse;
mod tokens;
mod validate;

/// Hostile input (proptest): the DSL parser never panics.
#[cfg(test)]
mod hostile_tests;

use proc_macro::TokenStream;

pub(crate) use errors::Errors;

/// Protects an axum handler: the request reaches the body only if the caller meets the
/// requirement. Nothing is implied; top-level items are ANDed.
///
/// | form | meaning | example |
/// | --- | --- | --- |
/// | `#[msal_protected]` | any signed-in user (or valid bearer token) | `#[msal_protected]` |
/// | `scopes = "A B"` / `scopes = ["A", "B"]` | all these delegated scopes | `scopes = "User.Read"` |
/// | `roles = …` | all these app roles (`roles` claim) | `roles = "Admin"` |
/// | `groups = …` | membership of all these groups (object ids) | `groups = "0b7e…"` |
/// | `app_permissions = …` | an app-only token with these application permissions | `app_permissions = "Tasks.Read.All"` |
/// | `tenants = …` | the caller's tenant (`tid`) is one of these GUIDs | `tenants = "c0ffee00-…"` |
/// | `auth_context = …` | a user who met all these Conditional Access authentication contexts (`acrs` claim; ids `c1`…`c99`) | `auth_context = "c1"` |
/// | `acr = …` | the token's `acr` claim is **one of** these values: a token carries a single `acr`, so unlike `scopes` or `roles` a list means any of them | `acr = ["phr", "phrh"]` |
/// | `max_age = "…"` | a user who signed in (`auth_time`) at most this long ago: numbers with units `s`, `m`, `h`, `d`, largest first, from `"1m"` to `"365d"` | `max_age = "1h30m"` |
/// | `check = path` | your own decision about the resource: `async fn(&User, &mut Parts) -> Result<bool, E>` where `E: IntoResponse` (`msal_runtime::CheckError` is a ready one) | `check = docs::owns_document` |
/// | `any(...)`, `all(...)`, `not(...)` | boolean composition, nestable | `any(roles = "Admin", groups = "…")` |
/// | `on_denied = path` | build the refusal yourself: `fn(AuthRejection) -> impl IntoResponse` | `on_denied = pages::denied` |
/// | `crate = "path"` | msal-runtime under another name | `crate = "::my_msal"` |
///
/// Refusals follow one table: nobody signed in → a browser navigation is sent to sign in,
/// anything else gets 401 with `WWW-Authenticate: Bearer`; a missing delegated scope → the
/// browser goes through sign-in again asking for it (incremental consent), an API caller gets
/// 403 `insufficient_scope`; a missing authentication context → the user must sign in again
/// meeting it (a step-up the Conditional Access policy asks for; an app-only token never
/// meets one); a sign-in older than `max_age`, or of an `acr` not listed → a browser signs in
/// again asking for it (`max_age`, `acr_values`), a bearer caller hears RFC 9470's
/// `insufficient_user_authentication`; a `check` that answers `Ok(false)` → 403, `Err(e)` →
/// `e`'s response (503 for a `CheckError`); anything else → 403. A refused request never
/// reaches the body or any other extractor.
///
/// A `check` runs after the caller is known and receives the request's parts, so it can read
/// the path, query or headers with any `FromRequestParts` extractor. Its path is called as
/// written, from a function of its own: name a free function or an associated one through its
/// type (`Docs::owns`), not `Self::owns`. `app_permissions` beside `acr` or `max_age` is a
/// contradiction (an app-only token has no user sign-in), as beside `auth_context`; so are
/// `acr` lists that must hold together and share no level. `acr` and `max_age` cannot be
/// negated: most tokens carry no `acr`, and one without `auth_time` is not recent, so their
/// `not` would let those in.
///
/// ```ignore
/// use axum::extract::{FromRequestParts, Path};
/// use axum::http::request::Parts;
/// use msal_runtime::{CheckError, User, msal_protected};
///
/// #[msal_protected(scopes = "User.Read")]
/// async fn me(user: User) -> axum::Json<User> { axum::Json(user) }
///
/// #[msal_protected(roles = "Admin", any(tenants = "c0ffee00-0000-4000-8000-00000000c0de", groups = "…"))]
/// async fn admin() -> &'static str { "welcome, admin" }
///
/// // c1: an authentication context a Conditional Access policy ties to, say, fresh MFA.
/// #[msal_protected(scopes = "Tasks.Write", auth_context = "c1")]
/// async fn delete_all() -> &'static str { "deleted" }
///
/// // Signed in within the last 10 minutes, and the owner of this document.
/// async fn owns_document(user: &User, parts: &mut Parts) -> Result<bool, CheckError> {
///     let Path(id) = Path::<u64>::from_request_parts(parts, &())
///         .await
///         .map_err(|e| CheckError::new(e.body_text()))?;
///     Ok(documents::owner(id).await? == user.oid) // a database error answers 503
/// }
///
/// #[msal_protected(max_age = "10m", check = owns_document)]
/// async fn delete_document(Path(id): Path<u64>) -> &'static str { "deleted" }
/// ```
///
/// Every misuse (an empty value, an unknown or duplicated key, a non-string value, a tenant
/// that is not a GUID, an authentication context that is not `c1`…`c99`, a `max_age` that is
/// not a duration from one minute to 365 days, an `acr` level that is not printable ASCII,
/// a `check` that is not a function path, `not` with more than one item or around `acr` or
/// `max_age`, combinators nested more than 16 levels deep, a `check` or `on_denied` path of
/// more than 64 tokens (`::` counts as two), a `crate` that is not a module path, a
/// contradiction, a handler that is not an `async fn` or whose signature nests more than 32
/// levels deep…) is a
/// compile error on the token to change, all of them in one compile. For protecting a nested
/// router or a `ServeDir` rather than one handler, [`msal_rule!`] takes the same language.
#[proc_macro_attribute]
pub fn msal_protected(attr: TokenStream, item: TokenStream) -> TokenStream {
    let site = proc_macro::Span::call_site();
    let salt = format!("{}:{}:{}", site.file(), site.line(), site.column());
    expand::msal_protected(attr.into(), item.into(), &salt).into()
}

/// A requirement as a value, in the language of [`msal_protected`], for `Msal::require`:
/// protecting a nested router, a `ServeDir` or any other service rather than one handler.
///
/// Every item of the attribute is accepted, `on_denied = path` and `crate = "path"` included,
/// with the same meaning and the same compile errors; `msal_rule!()` alone means any
/// signed-in user. The expression is a `Protection`; the rule is registered like an
/// attribute's, so the docs and group ids the runtime gathers include it.
///
/// ```ignore
/// use msal_runtime::msal_rule;
/// use tower_http::services::ServeDir;
///
/// // Admins who signed in within the hour: every route of the router and every file.
/// let admin = Router::new()
///     .route("/users", get(users))
///     .nest_service("/files", ServeDir::new("admin-files"))
///     .route_layer(msal.require(msal_rule!(roles = "Admin", max_age = "1h")));
///
/// // Any signed-in user.
/// let reports = Router::new()
///     .nest_service("/reports", ServeDir::new("reports"))
///     .route_layer(msal.require(msal_rule!()));
/// ```
#[proc_macro]
pub fn msal_rule(tokens: TokenStream) -> TokenStream {
    let site = proc_macro::Span::call_site();
    let salt = format!("{}:{}:{}", site.file(), site.line(), site.column());
    expand::msal_rule(tokens.into(), &salt).into()
}
