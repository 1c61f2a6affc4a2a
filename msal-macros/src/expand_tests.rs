//! Expansion snapshots: what `#[msal_protected]` and `msal_rule!` write for each form of the
//! DSL.

use quote::quote;

fn check(name: &str, attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) {
    snapshot(name, super::msal_protected(attr, item, "snapshot"));
}

/// `msal_rule!(tokens)`, shown as the initializer of a `let` in a function.
fn rule(name: &str, tokens: proc_macro2::TokenStream) {
    let expression = super::msal_rule(tokens, "snapshot");
    snapshot(
        name,
        quote!(
            fn router() {
                let protection = #expression;
            }
        ),
    );
}

fn snapshot(name: &str, expanded: proc_macro2::TokenStream) {
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
fn auth_context_string_and_list() {
    check(
        "auth_context",
        quote!(scopes = "Tasks.Write", auth_context = "c1 c2"),
        quote!(
            async fn h() {}
        ),
    );
    check(
        "auth_context_list",
        quote!(any(roles = "Admin", auth_context = ["c1", "c25"])),
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

#[test]
fn max_age() {
    check(
        "max_age",
        quote!(scopes = "Tasks.Write", max_age = "1h30m"),
        quote!(
            async fn h() {}
        ),
    );
}

#[test]
fn acr_string_and_list() {
    check(
        "acr",
        quote!(acr = "phr"),
        quote!(
            async fn h() {}
        ),
    );
    check(
        "acr_list",
        quote!(roles = "Admin", acr = ["phr", "phrh"]),
        quote!(
            async fn h() {}
        ),
    );
}

#[test]
fn check_alone() {
    check(
        "check",
        quote!(check = documents::owns_document),
        quote!(
            async fn h() {}
        ),
    );
}

#[test]
fn checks_inside_combinators_each_in_their_own_block() {
    check(
        "check_nested",
        quote!(
            max_age = "10m",
            any(roles = "Admin", check = owns::<Document>),
            not(check = ::app::is_archived)
        ),
        quote!(
            async fn h() {}
        ),
    );
}

#[test]
fn msal_rule_with_every_kind_of_item() {
    rule(
        "msal_rule",
        quote!(
            roles = "Admin",
            max_age = "1h",
            any(acr = "phr", check = owns),
            on_denied = pages::denied,
            crate = "::my_msal"
        ),
    );
}

#[test]
fn msal_rule_empty_is_any_signed_in_user() {
    rule("msal_rule_empty", quote!());
}

#[test]
fn msal_rule_errors_are_an_expression_of_any_type() {
    rule("msal_rule_error", quote!(max_age = "10", acrs = "c1"));
}
