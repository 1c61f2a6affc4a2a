//! Procedural macros for msal-axum. Users depend on `msal-runtime`, which re-exports them;
//! the language is documented there (`msal_runtime::msal_protected`).
//!
//! `lib.rs` is one line per macro; `parse` reads the DSL, `validate` checks its meaning,
//! `expand` writes the code.

mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;

/// Protects an axum handler. See `msal_runtime::msal_protected`.
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
