//! AST + handler into code: the same function with one hidden first parameter (the guard),
//! and, inside its body, the requirement registered under the guard's id.
//!
//! Why an id and a registry rather than a generated requirement type `R` in `Guard<R>`: the
//! attribute cannot know whether it sits on a free function or inside an `impl` block, and a
//! type cannot be declared in an `impl` block. Everything the expansion adds therefore lives in
//! the signature (a const `u64`) or in the body (a `linkme` static), which works in both places.
//!
//! `msal_rule!(...)` writes the same registration as an expression: a block holding the static
//! and ending in a `Protection` that points at it, for `Msal::require`.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Path};

use crate::Errors;
use crate::parse::{self, Attr, Combinator, Item, Key};

/// The whole macro: `salt` makes guard ids unique per call site (file, line, column).
pub(crate) fn msal_protected(attr: TokenStream, item: TokenStream, salt: &str) -> TokenStream {
    if let Some(error) = too_deep(&attr) {
        return quote!(#error #item);
    }
    let mut errors = Errors::default();
    let id = guard_id(salt, &attr, &item);
    let parsed = parse::attr(attr, &mut errors);
    crate::validate::attr(&parsed, &mut errors);
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(f) => Some(f),
        Err(_) => {
            errors.push(syn::Error::new_spanned(
                &item,
                "#[msal_protected] goes on an `async fn` handler",
            ));
            None
        }
    };
    if let Some(f) = &function {
        if f.sig.asyncness.is_none() {
            errors.push(syn::Error::new(
                f.sig.fn_token.span,
                "#[msal_protected] handlers must be `async fn`",
            ));
        }
        if let Some(FnArg::Receiver(receiver)) = f.sig.inputs.first() {
            errors.push(syn::Error::new(
                receiver.span(),
                "#[msal_protected] handlers cannot take `self`: axum calls free or associated functions",
            ));
        }
    }
    match (errors.into_result(), function) {
        (Ok(()), Some(f)) => match expand(&parsed, f, id) {
            Ok(expanded) => expanded,
            Err(e) => {
                let compile_errors = e.to_compile_error();
                quote!(#compile_errors #item)
            }
        },
        // The errors and the item untouched: one real error, no cascade.
        (Err(e), _) => {
            let compile_errors = e.to_compile_error();
            quote!(#compile_errors #item)
        }
        (Ok(()), None) => item,
    }
}

/// The function-like macro: the same DSL as an expression, `salt` as for the attribute.
pub(crate) fn msal_rule(tokens: TokenStream, salt: &str) -> TokenStream {
    if let Some(error) = too_deep(&tokens) {
        return quote!({ #error });
    }
    let mut errors = Errors::default();
    let id = guard_id(salt, &tokens, &TokenStream::new());
    let parsed = parse::attr(tokens, &mut errors);
    crate::validate::attr(&parsed, &mut errors);
    match errors.into_result() {
        Ok(()) => {
            let (private, fields) = protected(&parsed, id, "");
            quote!({
                #[#private::linkme::distributed_slice(#private::PROTECTED)]
                #[linkme(crate = #private::linkme)]
                static __MSAL_RULE: #private::Protected = #private::Protected #fields;
                #private::Protection::new(&__MSAL_RULE)
            })
        }
        // The errors, and a `Protection` that is never made: a call, not a diverging
        // expression, so nothing else is reported, not even unreachable code after it.
        Err(e) => {
            let compile_errors = e.to_compile_error();
            let krate: Path = parsed
                .krate
                .unwrap_or_else(|| syn::parse_quote!(::msal_runtime));
            quote!({
                #compile_errors
                fn __msal_refused() -> #krate::__private::Protection {
                    ::core::unreachable!()
                }
                __msal_refused()
            })
        }
    }
}

/// The refusal of input nested far deeper than the DSL allows, before anything parses it:
/// parsing (syn's, and the DSL's) recurses once per level.
fn too_deep(tokens: &TokenStream) -> Option<TokenStream> {
    // any/all/not are the parentheses; a list of values may sit inside the deepest.
    let span = crate::tokens::too_deep(tokens, parse::MAX_NESTING, parse::MAX_NESTING + 1)?;
    let message = format!(
        "any(...), all(...) and not(...) nest at most {} levels deep: flatten the rule (any(a, any(b, c)) is any(a, b, c))",
        parse::MAX_NESTING
    );
    Some(syn::Error::new(span, message).to_compile_error())
}

/// A 64-bit FNV-1a hash of where and what: stable across builds, distinct per handler.
fn guard_id(salt: &str, attr: &TokenStream, item: &TokenStream) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in salt.bytes().chain([0]) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let hash = crate::tokens::hash(hash, attr);
    crate::tokens::hash(hash ^ 0xff, item)
}

/// The handler with its guard and registration; an error only if the code written with
/// `crate = "…"`'s path does not parse (never a panic).
fn expand(attr: &Attr, mut f: ItemFn, id: u64) -> syn::Result<TokenStream> {
    let name = f.sig.ident.to_string();
    let (private, fields) = protected(attr, id, &name);
    let id = Literal::u64_unsuffixed(id);
    let unusable = |_| {
        let span = attr
            .krate
            .as_ref()
            .map_or_else(Span::call_site, Spanned::span);
        syn::Error::new(
            span,
            "`crate` names msal-runtime by a module path, like crate = \"::my_msal\"",
        )
    };
    let guard: FnArg = syn::parse2(quote!(_: #private::Guard<#id>)).map_err(unusable)?;
    f.sig.inputs.insert(0, guard);
    let registration: syn::Stmt = syn::parse2(quote! {
        #[#private::linkme::distributed_slice(#private::PROTECTED)]
        #[linkme(crate = #private::linkme)]
        static __MSAL_PROTECTED: #private::Protected = #private::Protected #fields;
    })
    .map_err(unusable)?;
    f.block.stmts.insert(0, registration);
    Ok(quote!(#f))
}

/// The path to the runtime's `__private`, and the fields of the `Protected` registered for
/// `attr` under `id`, braces included.
fn protected(attr: &Attr, id: u64, handler: &str) -> (TokenStream, TokenStream) {
    let krate: Path = attr
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::msal_runtime));
    let private = quote!(#krate::__private);
    let id = Literal::u64_unsuffixed(id);
    let rule = match attr.items.as_slice() {
        [] => quote!(#private::Rule::Authenticated),
        [one] => rule(one, &private),
        many => {
            let rules = many.iter().map(|i| rule(i, &private));
            quote!(#private::Rule::All(&[#(#rules),*]))
        }
    };
    let on_denied = match &attr.on_denied {
        None => quote!(::core::option::Option::None),
        Some(path) => {
            // Spanned on the user's path: a wrong signature is reported there.
            let call = quote_spanned!(path.span()=> #path(rejection));
            quote!(::core::option::Option::Some({
                fn __msal_on_denied(rejection: #private::AuthRejection) -> #private::Response {
                    #private::IntoResponse::into_response(#call)
                }
                __msal_on_denied
            }))
        }
    };
    let fields = quote!({
        id: #id,
        rule: #rule,
        on_denied: #on_denied,
        handler: #handler,
        module: ::core::module_path!(),
    });
    (private, fields)
}

fn rule(item: &Item, private: &TokenStream) -> TokenStream {
    match item {
        Item::List { key, values, .. } => {
            let variant = match key {
                Key::Scopes => quote!(Scopes),
                Key::Roles => quote!(Roles),
                Key::Groups => quote!(Groups),
                Key::AppPermissions => quote!(AppPermissions),
                Key::Tenants => quote!(Tenants),
                Key::AuthContext => quote!(AuthContext),
                Key::Acr => quote!(Acr),
            };
            let texts = values.iter().map(|v| v.text.as_str());
            quote!(#private::Rule::#variant(&[#(#texts),*]))
        }
        Item::MaxAge { seconds, .. } => {
            let seconds = Literal::u64_unsuffixed(*seconds);
            quote!(#private::Rule::MaxAge(#seconds))
        }
        Item::Check { path, .. } => check(path, private),
        Item::Group {
            combinator, items, ..
        } => {
            let inner = items.iter().map(|i| rule(i, private));
            match combinator {
                Combinator::Any => quote!(#private::Rule::Any(&[#(#inner),*])),
                Combinator::All => quote!(#private::Rule::All(&[#(#inner),*])),
                Combinator::Not => match inner.collect::<Vec<_>>().as_slice() {
                    [only] => quote!(#private::Rule::Not(&#only)),
                    // Validation reports this; never reached, but fail closed, not panic.
                    _ => quote!(::core::compile_error!("`not` takes exactly one item")),
                },
            }
        }
    }
}

/// `check = path`: the user's async function behind a plain `fn` pointer, in a block of its
/// own so that several checks in one rule never clash.
fn check(path: &Path, private: &TokenStream) -> TokenStream {
    let name = parse::path_text(path);
    // `a<T>` reads as a comparison in an expression: written out as `a::<T>`.
    let mut callee = path.clone();
    for segment in &mut callee.segments {
        if let syn::PathArguments::AngleBracketed(arguments) = &mut segment.arguments {
            arguments.colon2_token.get_or_insert_with(Default::default);
        }
    }
    // Spanned on the user's path: a wrong signature, or something that is no function at
    // all, is reported there.
    let outcome = quote_spanned!(path.span()=> #private::check_outcome(#callee(user, parts).await));
    quote!(#private::Rule::Check(&#private::Check {
        name: #name,
        run: {
            fn __msal_check<'a>(
                user: &'a #private::User,
                parts: &'a mut #private::Parts,
            ) -> #private::CheckFuture<'a> {
                ::std::boxed::Box::pin(async move { #outcome })
            }
            __msal_check
        },
    }))
}

/// Expansion snapshots: each DSL form expanded and pretty-printed, compared with
/// `tests/expand/<name>.expanded.rs`. Regenerate with
/// `MSAL_BLESS=1 cargo test -p msal-macros`, then review the diff.
#[cfg(test)]
#[path = "expand_tests.rs"]
mod tests;
