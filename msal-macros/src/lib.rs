//! Procedural macros for msal-axum. Users depend on `msal-runtime`, which re-exports them;
//! the language is documented there (`msal_runtime::msal_protected`).
//!
//! `lib.rs` is one line per macro; `parse` reads the DSL, `validate` checks its meaning,
//! `expand` writes the code.

mod expand;
mod parse;
mod validate;

/// Hostile input (proptest): the DSL parser never panics.
#[cfg(test)]
mod hostile_tests;

use proc_macro::TokenStream;

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
/// | `any(...)`, `all(...)`, `not(...)` | boolean composition, nestable | `any(roles = "Admin", groups = "…")` |
/// | `on_denied = path` | build the refusal yourself: `fn(AuthRejection) -> impl IntoResponse` | `on_denied = pages::denied` |
/// | `crate = "path"` | msal-runtime under another name | `crate = "::my_msal"` |
///
/// Refusals follow one table: nobody signed in → a browser navigation is sent to sign in,
/// anything else gets 401 with `WWW-Authenticate: Bearer`; a missing delegated scope → the
/// browser goes through sign-in again asking for it (incremental consent), an API caller gets
/// 403 `insufficient_scope`; a missing authentication context → the user must sign in again
/// meeting it (a step-up the Conditional Access policy asks for; an app-only token never
/// meets one); anything else → 403. A refused request never reaches the body or any other
/// extractor.
///
/// ```ignore
/// use msal_runtime::{msal_protected, User};
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
/// ```
///
/// Every misuse (an empty value, an unknown or duplicated key, a non-string value, a tenant
/// that is not a GUID, an authentication context that is not `c1`…`c99`, `not` with more
/// than one item, a contradiction, a handler that is not an `async fn`…) is a compile error
/// on the token to change, all of them in one compile.
#[proc_macro_attribute]
pub fn msal_protected(attr: TokenStream, item: TokenStream) -> TokenStream {
    let site = proc_macro::Span::call_site();
    let salt = format!("{}:{}:{}", site.file(), site.line(), site.column());
    expand::msal_protected(attr.into(), item.into(), &salt).into()
}

/// Every problem found, combined into one error.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn into_result(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
