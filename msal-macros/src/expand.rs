//! AST + handler into code: the same function with one hidden first parameter (the guard),
//! and, inside its body, the requirement registered under the guard's id.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Path};

use crate::Errors;
use crate::parse::{self, Attr, Combinator, Item, Key};

/// The whole macro: `salt` makes guard ids unique per call site (file, line, column).
pub(crate) fn msal_protected(attr: TokenStream, item: TokenStream, salt: &str) -> TokenStream {
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
        (Ok(()), Some(f)) => expand(&parsed, f, id),
        // The errors and the item untouched: one real error, no cascade.
        (Err(e), _) => {
            let compile_errors = e.to_compile_error();
            quote!(#compile_errors #item)
        }
        (Ok(()), None) => item,
    }
}

/// A 64-bit FNV-1a hash of where and what: stable across builds, distinct per handler.
fn guard_id(salt: &str, attr: &TokenStream, item: &TokenStream) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in salt
        .bytes()
        .chain([0])
        .chain(attr.to_string().bytes())
        .chain([0])
        .chain(item.to_string().bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn expand(attr: &Attr, mut f: ItemFn, id: u64) -> TokenStream {
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
    let name = f.sig.ident.to_string();
    let guard: FnArg = syn::parse_quote!(_: #private::Guard<#id>);
    f.sig.inputs.insert(0, guard);
    let registration: syn::Stmt = syn::parse_quote! {
        #[#private::linkme::distributed_slice(#private::PROTECTED)]
        #[linkme(crate = #private::linkme)]
        static __MSAL_PROTECTED: #private::Protected = #private::Protected {
            id: #id,
            rule: #rule,
            on_denied: #on_denied,
            handler: #name,
            module: ::core::module_path!(),
        };
    };
    f.block.stmts.insert(0, registration);
    quote!(#f)
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
            };
            let texts = values.iter().map(|v| v.text.as_str());
            quote!(#private::Rule::#variant(&[#(#texts),*]))
        }
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

/// Expansion snapshots: each DSL form expanded and pretty-printed, compared with
/// `tests/expand/<name>.expanded.rs`. Regenerate with
/// `MSAL_BLESS=1 cargo test -p msal-macros`, then review the diff.
#[cfg(test)]
mod tests {
    use quote::quote;

    fn check(name: &str, attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) {
        let expanded = super::msal_protected(attr, item, "snapshot");
        let file: syn::File = syn::parse2(expanded).expect("the expansion parses");
        let pretty = prettyplease::unparse(&file);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/expand")
            .join(format!("{name}.expanded.rs"));
        if std::env::var_os("MSAL_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &pretty).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "no snapshot at {}: run MSAL_BLESS=1 cargo test -p msal-macros",
                path.display()
            )
        });
        assert_eq!(
            pretty, expected,
            "expansion of {name} changed; rerun with MSAL_BLESS=1 and review"
        );
    }

    #[test]
    fn bare() {
        check(
            "bare",
            quote!(),
            quote!(
                async fn me(user: User) -> Json<User> {
                    Json(user)
                }
            ),
        );
    }

    #[test]
    fn scopes_string_and_list() {
        check(
            "scopes",
            quote!(scopes = "User.Read Mail.Read"),
            quote!(
                async fn h() {}
            ),
        );
        check(
            "scopes_list",
            quote!(scopes = ["User.Read", "Mail.Read"]),
            quote!(
                async fn h() {}
            ),
        );
    }

    #[test]
    fn every_key_at_the_top_level_is_anded() {
        check(
            "all_keys",
            quote!(
                roles = "Admin",
                groups = "g-1",
                app_permissions = "Tasks.Read.All",
                tenants = "c0ffee00-0000-4000-8000-00000000c0de"
            ),
            quote!(
                async fn h() {}
            ),
        );
    }

    #[test]
    fn combinators_nest() {
        check(
            "combinators",
            quote!(any(
                roles = "Admin",
                all(scopes = "Tasks.Read", not(roles = "Guest"))
            )),
            quote!(
                async fn h() {}
            ),
        );
    }

    #[test]
    fn on_denied_and_crate() {
        check(
            "on_denied",
            quote!(
                roles = "Admin",
                on_denied = responses::denied,
                crate = "::my_msal"
            ),
            quote!(
                pub(crate) async fn h(State(s): State<AppState>) -> impl IntoResponse {
                    s.0
                }
            ),
        );
    }

    #[test]
    fn generics_attributes_and_where_clauses_are_kept() {
        check(
            "generic",
            quote!(roles = "Admin"),
            quote!(
                /// Docs stay.
                #[allow(unused)]
                async fn h<T>(Path(id): Path<u32>) -> String
                where
                    T: Default + ToString,
                {
                    T::default().to_string()
                }
            ),
        );
    }

    #[test]
    fn errors_keep_the_item_unchanged() {
        check(
            "error",
            quote!(scope = "x", roles = ""),
            quote!(
                async fn h() {}
            ),
        );
    }
}
