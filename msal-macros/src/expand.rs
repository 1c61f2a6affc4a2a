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

use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{FnArg, Pat, PatType, PatWild, Path, Signature, Type, Visibility};

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
    let function = match Handler::read(&item) {
        Ok(f) => Some(f),
        Err(e) => {
            errors.push(e);
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
        (Ok(()), Some(f)) => expand(&parsed, f, id),
        // The errors and the item untouched: one real error, no cascade.
        (Err(e), _) => {
            let compile_errors = e.to_compile_error();
            quote!(#compile_errors #item)
        }
        // Unreachable (no handler is an error above), and never an unguarded handler.
        (Ok(()), None) => {
            let error = syn::Error::new_spanned(&item, "#[msal_protected] found no handler")
                .to_compile_error();
            quote!(#error #item)
        }
    }
}

/// A handler as the attribute reads it: its signature (and visibility) parsed, its outer
/// attributes and body kept as the compiler's tokens. Neither is the attribute's to read, and
/// syn's parsers recurse (an attribute's value is an expression): an item the compiler takes
/// must never crash the macro (nor cost it the time of parsing its body).
struct Handler {
    /// The outer attributes (`#[...]`, doc comments included), as written.
    attrs: Vec<TokenTree>,
    vis: Visibility,
    sig: Signature,
    /// The body's inner attributes (`#![...]`), which stay first in it.
    inner: Vec<TokenTree>,
    /// The rest of the body.
    body: TokenStream,
    brace: Span,
}

/// How deep groups may nest in a handler's visibility and signature (its attributes and body
/// are not parsed): far beyond any real signature, and short of what syn's parsers could
/// meet on the compiler's stack.
const MAX_SIGNATURE_NESTING: usize = 32;

impl Handler {
    /// The handler, or the error to report: not a function with a body, or a signature
    /// nested deeper than [`MAX_SIGNATURE_NESTING`].
    fn read(item: &TokenStream) -> syn::Result<Self> {
        let not_a_handler =
            || syn::Error::new_spanned(item, "#[msal_protected] goes on an `async fn` handler");
        let mut trees: Vec<TokenTree> = item.clone().into_iter().collect();
        let Some(TokenTree::Group(block)) = trees.pop() else {
            return Err(not_a_handler());
        };
        if block.delimiter() != Delimiter::Brace {
            return Err(not_a_handler());
        }
        let attrs_len = leading_attributes(&trees, false);
        let signature: TokenStream = trees.split_off(attrs_len).into_iter().collect();
        if let Some(span) =
            crate::tokens::too_deep(&signature, MAX_SIGNATURE_NESTING, MAX_SIGNATURE_NESTING)
        {
            return Err(syn::Error::new(
                span,
                format!(
                    "#[msal_protected] reads the handler's signature, and this one nests more than {MAX_SIGNATURE_NESTING} levels deep: name the type with a `type` alias"
                ),
            ));
        }
        let head = |input: ParseStream| {
            let vis: Visibility = input.parse()?;
            let sig: Signature = input.parse()?;
            Ok((vis, sig))
        };
        let (vis, sig) = head.parse2(signature).map_err(|_| not_a_handler())?;
        let mut body: Vec<TokenTree> = block.stream().into_iter().collect();
        let rest = body.split_off(leading_attributes(&body, true));
        Ok(Self {
            attrs: trees,
            vis,
            sig,
            inner: body,
            body: rest.into_iter().collect(),
            brace: block.span(),
        })
    }
}

/// How many of `trees` are attributes at their start: `#` `[...]` pairs, or with `inner`,
/// `#` `!` `[...]` triples.
fn leading_attributes(trees: &[TokenTree], inner: bool) -> usize {
    let mut len = 0;
    loop {
        let rest = &trees[len..];
        let (bang, group) = match rest {
            [
                TokenTree::Punct(hash),
                TokenTree::Punct(bang),
                TokenTree::Group(group),
                ..,
            ] if inner && hash.as_char() == '#' && bang.as_char() == '!' => (1, group),
            [TokenTree::Punct(hash), TokenTree::Group(group), ..]
                if !inner && hash.as_char() == '#' =>
            {
                (0, group)
            }
            _ => return len,
        };
        if group.delimiter() != Delimiter::Bracket {
            return len;
        }
        len += 2 + bang;
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

/// The handler with its guard first among its parameters and its rule registered first in
/// its body. Nothing here is parsed again: the user's paths are written as tokens.
fn expand(attr: &Attr, f: Handler, id: u64) -> TokenStream {
    let Handler {
        attrs,
        vis,
        mut sig,
        inner,
        body,
        brace,
    } = f;
    let name = sig.ident.to_string();
    let (private, fields) = protected(attr, id, &name);
    let id = Literal::u64_unsuffixed(id);
    sig.inputs.insert(
        0,
        FnArg::Typed(PatType {
            attrs: Vec::new(),
            pat: Box::new(Pat::Wild(PatWild {
                attrs: Vec::new(),
                underscore_token: Default::default(),
            })),
            colon_token: Default::default(),
            ty: Box::new(Type::Verbatim(quote!(#private::Guard<#id>))),
        }),
    );
    let mut block = Group::new(
        Delimiter::Brace,
        quote! {
            #(#inner)*
            #[#private::linkme::distributed_slice(#private::PROTECTED)]
            #[linkme(crate = #private::linkme)]
            static __MSAL_PROTECTED: #private::Protected = #private::Protected #fields;
            #body
        },
    );
    block.set_span(brace);
    quote!(#(#attrs)* #vis #sig #block)
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
            let callee = callee(path);
            let call = quote_spanned!(path.span()=> #callee(rejection));
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

/// A function's path as an expression calls it: `a<T>` would read as a comparison there, so
/// it is written `a::<T>`.
fn callee(path: &Path) -> Path {
    let mut callee = path.clone();
    for segment in &mut callee.segments {
        if let syn::PathArguments::AngleBracketed(arguments) = &mut segment.arguments {
            arguments.colon2_token.get_or_insert_with(Default::default);
        }
    }
    callee
}

/// `check = path`: the user's async function behind a plain `fn` pointer, in a block of its
/// own so that several checks in one rule never clash.
fn check(path: &Path, private: &TokenStream) -> TokenStream {
    let name = parse::path_text(path);
    let callee = callee(path);
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
