//! Hostile input (proptest): the `#[msal_protected(...)]` DSL parser, its validation and the
//! whole expansion (of the attribute and of `msal_rule!`) never panic, whatever tokens they
//! are given, and every input ends in exactly one of two clean outcomes: accepted (and then
//! the parsed rule is one validation allows, so nothing fails open) or refused with at least
//! one error that says something. The `max_age` duration parser never panics on any text.
//!
//! The number of cases per property follows `PROPTEST_CASES` (default below). Failures are
//! not persisted to disk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proc_macro2::{Span, TokenStream};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use quote::quote;
use syn::{Ident, LitStr};

use crate::parse::{self, Attr, Combinator, Item, Key};
use crate::{Errors, duration};

/// Cases per property when `PROPTEST_CASES` is not set: the whole module stays within a few
/// seconds in a debug build.
const DEFAULT_CASES: u32 = 512;

/// `PROPTEST_CASES` when set, otherwise [`DEFAULT_CASES`]; failures are not written to disk.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    config
}

// ---------------------------------------------------------------------------------------------
// Input generators
// ---------------------------------------------------------------------------------------------

/// Any text at all (bounded): mostly fails to lex, which is fine, the rest is token soup.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..512).prop_map(|c| c.into_iter().collect()),
        // The DSL's own alphabet, so that much more of it lexes.
        "[a-z_ =,\"()\\[\\]{}<>:;#!'.0-9\\\\&|*/+-]{0,600}",
        // Words the parser knows, in random order with random punctuation.
        proptest::collection::vec(
            prop_oneof![
                Just("scopes"),
                Just("roles"),
                Just("groups"),
                Just("app_permissions"),
                Just("tenants"),
                Just("acr"),
                Just("max_age"),
                Just("check"),
                Just("any"),
                Just("all"),
                Just("not"),
                Just("on_denied"),
                Just("crate"),
                Just("="),
                Just(","),
                Just("("),
                Just(")"),
                Just("["),
                Just("]"),
                Just("\"User.Read\""),
                Just("\"10m\""),
                Just("my_module::owns"),
                Just("\"\""),
                Just("\" \""),
                Just("::"),
                Just("x"),
                Just("1"),
            ],
            0..64,
        )
        .prop_map(|words| words.join(" ")),
    ]
}

/// A Rust string literal (as source text) with hostile content: escapes, whitespace of every
/// kind, quotes, GUID-like and empty text, raw strings, byte strings and suffixes.
fn string_literal() -> impl Strategy<Value = String> {
    let content = prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        Just("User.Read".to_owned()),
        Just("User.Read Mail.Read".to_owned()),
        Just("c0ffee00-0000-4000-8000-00000000c0de".to_owned()),
        Just("C0FFEE00-0000-4000-8000-00000000C0DE".to_owned()),
        Just("c0ffee00-0000-4000-8000-00000000c0dz".to_owned()),
        Just("::my_msal".to_owned()),
        Just("a b\u{85}c\u{2028}d".to_owned()),
        duration_text(),
        "[a-zA-Z0-9 ._:/-]{0,24}",
        proptest::collection::vec(any::<char>(), 0..24).prop_map(|c| c.into_iter().collect()),
    ];
    (content, 0..8u8).prop_map(|(text, form)| match form {
        // `{:?}` escapes like Rust source does, so this always lexes.
        0..=3 => format!("{text:?}"),
        4 => format!("r#{text:?}#"),
        5 => format!("b{text:?}"),
        6 => format!("{text:?}suffix"),
        _ => format!("c{text:?}"),
    })
}

/// Text for `max_age`: durations, near misses of every kind, and noise in its alphabet.
fn duration_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop_oneof![
            Just("10m"),
            Just("1h30m"),
            Just("365d"),
            Just("366d"),
            Just("30s"),
            Just("0m"),
            Just("10"),
            Just("10min"),
            Just("5x"),
            Just("-5m"),
            Just("+5m"),
            Just("1h 30m"),
            Just("1.5h"),
            Just("30m1h"),
            Just("99999999999999999999d"),
            Just("18446744073709551615s1s"),
            Just("m"),
        ]
        .prop_map(str::to_owned),
        "[0-9smhdwM+. -]{0,12}",
        proptest::collection::vec(
            (
                0..100_000u64,
                prop_oneof![Just('s'), Just('m'), Just('h'), Just('d')]
            ),
            1..4
        )
        .prop_map(|parts| parts.iter().map(|(n, u)| format!("{n}{u}")).collect()),
    ]
}

/// A value on the right of `=`: what the parser expects, and everything it does not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => string_literal(),
        3 => proptest::collection::vec(
            prop_oneof![4 => string_literal(), 1 => junk()],
            0..5,
        )
        .prop_map(|items| format!("[{}]", items.join(", "))),
        1 => Just(String::new()),
        1 => Just("42".to_owned()),
        1 => Just("my_module::denied".to_owned()),
        1 => Just("::a::b::<T>".to_owned()),
        1 => Just("foo<T>".to_owned()),
        1 => Just("(\"A\")".to_owned()),
        1 => Just("{ \"A\" }".to_owned()),
        1 => Just("'c'".to_owned()),
        1 => Just("true".to_owned()),
        1 => Just("[[\"A\"]]".to_owned()),
        1 => Just("[\"A\" \"B\"]".to_owned()),
        1 => Just("[\"A\",,]".to_owned()),
    ]
}

/// A token or two that has no business being there.
fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(","),
        Just(",,"),
        Just("="),
        Just("=="),
        Just("=>"),
        Just("#"),
        Just("!"),
        Just("::"),
        Just(";"),
        Just("1"),
        Just("1.5e3"),
        Just("\"\""),
        Just("()"),
        Just("[]"),
        Just("{}"),
        Just("crate"),
        Just("self"),
        Just("Self"),
        Just("r#any"),
        Just("'a"),
        Just(".."),
        Just("?"),
        Just("b'x'"),
        Just("_"),
        Just("async"),
        Just("é"),
    ]
    .prop_map(str::to_owned)
}

/// A key: the real ones, misspellings and anything else.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop_oneof![
            Just("scopes"),
            Just("roles"),
            Just("groups"),
            Just("app_permissions"),
            Just("tenants"),
            Just("auth_context"),
            Just("acr"),
            Just("max_age"),
            Just("check"),
            Just("on_denied"),
            Just("crate"),
        ]
        .prop_map(str::to_owned),
        1 => prop_oneof![
            Just("scope"),
            Just("tenant"),
            Just("role"),
            Just("app_permission"),
            Just("r#scopes"),
            Just("Scopes"),
            Just("anyy"),
            Just("acrs"),
            Just("max_ages"),
            Just("maxage"),
            Just("auth_time"),
            Just("acr_values"),
            Just("checks"),
        ]
        .prop_map(str::to_owned),
        1 => "[a-zA-Z_][a-zA-Z0-9_]{0,12}",
    ]
}

/// `key = value`, and its malformed relatives (no `=`, doubled `=`, no value, parentheses).
fn entry() -> impl Strategy<Value = String> {
    (key(), 0..10u8, value()).prop_map(|(key, shape, value)| match shape {
        0..=6 => format!("{key} = {value}"),
        7 => format!("{key} {value}"),
        8 => format!("{key} == {value}"),
        _ => format!("{key}({value})"),
    })
}

/// How items are separated: mostly commas, sometimes not.
fn separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        12 => Just(", "),
        1 => Just(" "),
        1 => Just(",, "),
        1 => Just("; "),
        1 => Just(" = "),
    ]
}

/// DSL-shaped text from a small grammar: entries and nested `any`/`all`/`not` groups (and
/// groups named otherwise), with odd separators, trailing commas and junk tokens inserted.
fn dsl() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![6 => entry(), 1 => junk()];
    let tree = leaf.prop_recursive(6, 96, 6, |inner| {
        (
            prop_oneof![
                6 => prop_oneof![Just("any"), Just("all"), Just("not")].prop_map(str::to_owned),
                1 => prop_oneof![Just("scopes"), Just("crate"), Just("on_denied"), Just("nott")]
                    .prop_map(str::to_owned),
            ],
            0..8u8,
            proptest::collection::vec((inner, separator()), 0..6),
        )
            .prop_map(|(name, shape, items)| {
                let body: String = items
                    .iter()
                    .enumerate()
                    .map(|(i, (item, sep))| {
                        if i + 1 == items.len() {
                            item.clone()
                        } else {
                            format!("{item}{sep}")
                        }
                    })
                    .collect();
                match shape {
                    0..=5 => format!("{name}({body})"),
                    6 => format!("{name} = ({body})"),
                    _ => format!("{name}[{body}],"),
                }
            })
    });
    (
        proptest::collection::vec((tree, separator()), 0..6),
        any::<bool>(),
        proptest::collection::vec((any::<prop::sample::Index>(), junk()), 0..3),
    )
        .prop_map(|(items, trailing_comma, junk)| {
            let mut parts: Vec<String> = Vec::new();
            for (i, (item, sep)) in items.iter().enumerate() {
                parts.push(item.clone());
                if i + 1 < items.len() || trailing_comma {
                    parts.push(sep.trim_end().to_owned());
                }
            }
            for (at, token) in junk {
                let at = at.index(parts.len() + 1);
                parts.insert(at, token);
            }
            parts.join(" ")
        })
}

/// Well-formed DSL from the same grammar without junk: most of it is accepted, so the
/// accepted path (soundness, round trip, expansion) is exercised as much as the refusals.
fn clean_dsl() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("User.Read"),
        Just("Mail.Read"),
        Just("Admin"),
        Just("api://x/.default"),
        Just("c0ffee00-0000-4000-8000-00000000c0de"),
        Just("0ddba11a-0000-4000-8000-000000000001"),
    ];
    let values = prop_oneof![
        proptest::collection::vec(word.clone(), 1..3).prop_map(|w| format!("{:?}", w.join(" "))),
        proptest::collection::vec(word, 1..3).prop_map(|w| {
            let items: Vec<String> = w.iter().map(|w| format!("{w:?}")).collect();
            format!("[{}]", items.join(", "))
        }),
    ];
    let contexts = prop_oneof![
        proptest::sample::subsequence(vec!["c1", "c2", "c99"], 1..3)
            .prop_map(|c| format!("{:?}", c.join(" "))),
        Just("[\"c7\"]".to_owned()),
    ];
    let acr = prop_oneof![
        Just("\"phr\""),
        Just("\"phr phrh\""),
        Just("[\"1\", \"urn:mace:incommon:iap:silver\"]"),
    ];
    let max_age = prop_oneof![
        Just("1m"),
        Just("10m"),
        Just("1h30m"),
        Just("2d"),
        Just("365d"),
    ];
    let check = prop_oneof![
        Just("owns"),
        Just("docs::owns_document"),
        Just("::app::checks::owner"),
        Just("checks::of::<u8>"),
    ];
    let leaf = prop_oneof![
        1 => acr.prop_map(|a| format!("acr = {a}")),
        1 => max_age.prop_map(|m| format!("max_age = {m:?}")),
        1 => check.prop_map(|c| format!("check = {c}")),
        5 => (
            prop_oneof![
                Just("scopes"),
                Just("roles"),
                Just("groups"),
                Just("app_permissions"),
                Just("tenants"),
            ],
            values,
        )
            .prop_map(|(key, values)| format!("{key} = {values}")),
        1 => contexts.prop_map(|c| format!("auth_context = {c}")),
    ];
    let tree = leaf.prop_recursive(4, 32, 4, |inner| {
        (
            prop_oneof![Just("any"), Just("all"), Just("not")],
            proptest::collection::vec(inner, 1..4),
        )
            .prop_map(|(name, items)| {
                let items = if name == "not" {
                    &items[..1]
                } else {
                    &items[..]
                };
                format!("{name}({})", items.join(", "))
            })
    });
    (
        proptest::collection::vec(tree, 0..4),
        proptest::option::of(Just("on_denied = pages::denied")),
        proptest::option::of(Just("crate = \"::my_msal\"")),
    )
        .prop_map(|(mut items, on_denied, krate)| {
            items.extend(on_denied.map(str::to_owned));
            items.extend(krate.map(str::to_owned));
            items.join(", ")
        })
}

/// The item the attribute sits on: a proper handler, and things it must refuse.
fn handler() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("async fn me(user: User) -> String { user.name }".to_owned()),
        1 => Just("async fn unit() {}".to_owned()),
        1 => Just("fn not_async() {}".to_owned()),
        1 => Just("async fn method(&self) {}".to_owned()),
        1 => Just("struct NotAFunction;".to_owned()),
        1 => Just(String::new()),
        1 => any_text(),
    ]
}

// ---------------------------------------------------------------------------------------------
// What every outcome must look like
// ---------------------------------------------------------------------------------------------

/// Parses and validates like the attribute does: the rule, and every error found.
fn parse_and_validate(tokens: TokenStream) -> (Attr, Result<(), syn::Error>) {
    let mut errors = Errors::default();
    let attr = parse::attr(tokens, &mut errors);
    crate::validate::attr(&attr, &mut errors);
    (attr, errors.into_result())
}

/// The one rule for an outcome: refused with at least one non-empty message, or accepted with
/// a rule validation allows and that survives being written out and read back.
fn check_outcome(tokens: TokenStream) -> Result<(), TestCaseError> {
    let (attr, result) = parse_and_validate(tokens);
    match result {
        Err(error) => {
            let messages: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
            prop_assert!(!messages.is_empty(), "an error with no messages");
            for message in &messages {
                prop_assert!(!message.trim().is_empty(), "an empty error message");
            }
        }
        Ok(()) => {
            check_sound(&attr.items, true)?;
            check_round_trip(&attr)?;
        }
    }
    Ok(())
}

/// `8-4-4-4-12` hex digits (the DSL's own definition of a tenant id).
fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An accepted rule never holds what validation exists to refuse: empty or blank values,
/// values with spaces, a value twice, a non-GUID tenant, an authentication context other than
/// `c1`…`c99`, a `max_age` outside one minute to 365 days, an empty `any`/`all`, a `not` of
/// anything but one item, one key (or one `check`) twice where items are ANDed, or
/// `auth_context`, `acr` or `max_age` ANDed with `app_permissions`.
fn check_sound(items: &[Item], and: bool) -> Result<(), TestCaseError> {
    let mut keys: Vec<Key> = Vec::new();
    let mut max_ages = 0;
    let mut checks: Vec<String> = Vec::new();
    for item in items {
        match item {
            Item::MaxAge { seconds, .. } => {
                prop_assert!(
                    (60..=365 * 86_400).contains(seconds),
                    "accepted max_age of {} seconds",
                    seconds
                );
                if and {
                    max_ages += 1;
                }
            }
            Item::Check { path, .. } => {
                let text = quote!(#path).to_string();
                if and {
                    prop_assert!(!checks.contains(&text), "accepted `check = {}` twice", text);
                    checks.push(text);
                }
            }
            Item::List { key, values, .. } => {
                if and {
                    prop_assert!(!keys.contains(key), "accepted `{}` twice", key.name());
                    keys.push(*key);
                }
                prop_assert!(!values.is_empty(), "accepted an empty `{}`", key.name());
                for (i, value) in values.iter().enumerate() {
                    prop_assert!(!value.text.is_empty(), "accepted an empty value");
                    prop_assert!(
                        !value.text.chars().any(char::is_whitespace),
                        "accepted a value with whitespace: {:?}",
                        value.text
                    );
                    prop_assert!(
                        !values[..i].iter().any(|v| v.text == value.text),
                        "accepted {:?} twice",
                        value.text
                    );
                    if *key == Key::Tenants {
                        prop_assert!(is_guid(&value.text), "accepted tenant {:?}", value.text);
                    }
                    if *key == Key::AuthContext {
                        prop_assert!(
                            is_auth_context(&value.text),
                            "accepted auth context {:?}",
                            value.text
                        );
                    }
                }
            }
            Item::Group {
                combinator, items, ..
            } => {
                match combinator {
                    Combinator::Not => prop_assert_eq!(items.len(), 1, "accepted a bad `not`"),
                    _ => prop_assert!(!items.is_empty(), "accepted an empty group"),
                }
                check_sound(items, *combinator == Combinator::All)?;
            }
        }
    }
    prop_assert!(
        !(keys.contains(&Key::AppPermissions) && keys.contains(&Key::AuthContext)),
        "accepted app_permissions and auth_context side by side"
    );
    prop_assert!(
        !(keys.contains(&Key::AppPermissions) && keys.contains(&Key::Acr)),
        "accepted app_permissions and acr side by side"
    );
    prop_assert!(max_ages <= 1, "accepted max_age twice");
    prop_assert!(
        !(keys.contains(&Key::AppPermissions) && max_ages > 0),
        "accepted app_permissions and max_age side by side"
    );
    Ok(())
}

/// `c1` to `c99` (the DSL's own definition of an authentication context id).
fn is_auth_context(text: &str) -> bool {
    (1..=99).any(|n| text == format!("c{n}"))
}

/// Writes an accepted rule back as DSL tokens (lists always in `[...]` form).
fn render(attr: &Attr) -> TokenStream {
    fn render_item(item: &Item) -> TokenStream {
        match item {
            Item::List { key, values, .. } => {
                let key = Ident::new(key.name(), Span::call_site());
                let values = values
                    .iter()
                    .map(|v| LitStr::new(&v.text, Span::call_site()));
                quote!(#key = [#(#values),*])
            }
            Item::MaxAge { seconds, .. } => {
                let text = LitStr::new(&format!("{seconds}s"), Span::call_site());
                quote!(max_age = #text)
            }
            Item::Check { path } => quote!(check = #path),
            Item::Group {
                combinator, items, ..
            } => {
                let name = Ident::new(combinator.name(), Span::call_site());
                let items = items.iter().map(render_item);
                quote!(#name(#(#items),*))
            }
        }
    }
    let mut parts: Vec<TokenStream> = attr.items.iter().map(render_item).collect();
    if let Some(path) = &attr.on_denied {
        parts.push(quote!(on_denied = #path));
    }
    if let Some(path) = &attr.krate {
        let text = LitStr::new(&quote!(#path).to_string(), Span::call_site());
        parts.push(quote!(crate = #text));
    }
    quote!(#(#parts),*)
}

/// What was accepted means the same when written out and read again: the parser loses and
/// invents nothing.
fn check_round_trip(attr: &Attr) -> Result<(), TestCaseError> {
    let rendered = render(attr);
    let (again, result) = parse_and_validate(rendered.clone());
    prop_assert!(
        result.is_ok(),
        "re-reading the accepted rule `{}` failed: {:?}",
        rendered,
        result.err().map(|e| e.to_string())
    );
    prop_assert_eq!(again.items.len(), attr.items.len());
    for (a, b) in attr.items.iter().zip(&again.items) {
        prop_assert!(a.same_as(b), "`{}` did not read back the same", rendered);
    }
    let text = |p: &Option<syn::Path>| p.as_ref().map(|p| quote!(#p).to_string());
    prop_assert_eq!(text(&attr.on_denied), text(&again.on_denied));
    prop_assert_eq!(text(&attr.krate), text(&again.krate));
    Ok(())
}

/// Lexes like rustc would before calling the macro; text that does not lex never reaches it.
fn lex(text: &str) -> Option<TokenStream> {
    text.parse::<TokenStream>().ok()
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// Arbitrary text that lexes: parsing and validating never panic, and the outcome is
    /// either a clean refusal with messages or a rule that validation allows (and that reads
    /// back identically).
    #[test]
    fn hostile_arbitrary_tokens_are_parsed_or_refused_cleanly(text in any_text()) {
        if let Some(tokens) = lex(&text) {
            check_outcome(tokens)?;
        }
    }

    /// DSL-shaped input from a grammar (nesting up to six levels, junk tokens, odd
    /// separators, every literal kind), half of it well-formed: the same guarantee as for
    /// arbitrary tokens.
    #[test]
    fn hostile_dsl_shaped_input_is_parsed_or_refused_cleanly(
        text in prop_oneof![dsl(), clean_dsl()],
    ) {
        if let Some(tokens) = lex(&text) {
            check_outcome(tokens)?;
        }
    }

    /// The whole macro, on any attribute and any item: never panics, and always answers in
    /// one of two ways. Refused (bad DSL or not an `async fn` without `self`): the output
    /// carries `compile_error!`. Accepted: the output is the handler as a valid `fn` with the
    /// guard added as its first parameter, and no `compile_error!`.
    #[test]
    fn hostile_macro_expansion_is_an_error_or_a_guarded_handler(
        attr in prop_oneof![dsl(), clean_dsl(), any_text()],
        item in handler(),
    ) {
        let (Some(attr), Some(item)) = (lex(&attr), lex(&item)) else {
            return Ok(());
        };
        let (_, dsl_result) = parse_and_validate(attr.clone());
        // A handler by its signature: the body is the compiler's to read, not the macro's.
        let mut head: Vec<proc_macro2::TokenTree> = item.clone().into_iter().collect();
        let body_is_block = matches!(
            head.pop(),
            Some(proc_macro2::TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace
        );
        head.push(proc_macro2::Group::new(proc_macro2::Delimiter::Brace, TokenStream::new()).into());
        let handler_ok = body_is_block
            && syn::parse2::<syn::ItemFn>(head.into_iter().collect())
                .is_ok_and(|f| f.sig.asyncness.is_some()
                    && !matches!(f.sig.inputs.first(), Some(syn::FnArg::Receiver(_))));
        let output = crate::expand::msal_protected(attr, item, "hostile");
        let text = output.to_string();
        if dsl_result.is_ok() && handler_ok {
            prop_assert!(!text.contains("compile_error"), "accepted, yet: {}", text);
            let f = syn::parse2::<syn::ItemFn>(output);
            prop_assert!(f.is_ok(), "the expansion is not a fn: {}", text);
            let f = f.unwrap();
            let guard = f.sig.inputs.first().map(|a| quote!(#a).to_string()).unwrap_or_default();
            let id = guard
                .split_once("Guard < ")
                .map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect::<String>())
                .unwrap_or_default();
            prop_assert!(!id.is_empty(), "no guard parameter: {}", text);
            // The rule is registered under the guard's id, in the body.
            prop_assert!(
                text.contains("static __MSAL_PROTECTED") && text.contains(&format!("{{ id : {id} ,")),
                "the rule is not registered under the guard's id {}: {}",
                id,
                text
            );
        } else {
            prop_assert!(text.contains("compile_error"), "refused silently: {}", text);
        }
    }

    /// `msal_rule!` on any tokens: never panics, and answers an expression either way.
    /// Accepted: a block registering the rule and ending in a `Protection`, with no
    /// `compile_error!`. Refused: the errors, and a call that stands for the `Protection` (so
    /// nothing else is reported).
    #[test]
    fn hostile_msal_rule_is_an_error_or_a_protection(
        tokens in prop_oneof![dsl(), clean_dsl(), any_text()],
    ) {
        let Some(tokens) = lex(&tokens) else {
            return Ok(());
        };
        let (_, result) = parse_and_validate(tokens.clone());
        let output = crate::expand::msal_rule(tokens, "hostile");
        let text = output.to_string();
        let block = syn::parse2::<syn::ExprBlock>(output);
        prop_assert!(block.is_ok(), "not a block expression: {}", text);
        if result.is_ok() {
            prop_assert!(!text.contains("compile_error"), "accepted, yet: {}", text);
            prop_assert!(text.contains("Protection :: new (& __MSAL_RULE)"), "no protection: {}", text);
        } else {
            prop_assert!(text.contains("compile_error"), "refused silently: {}", text);
            prop_assert!(text.contains("__msal_refused ()"), "refused without an expression: {}", text);
        }
    }

    /// The duration parser on any text: no panic; what it accepts is digits and units
    /// only, and reads back the same from its shortest form.
    #[test]
    fn hostile_durations_are_read_or_refused_cleanly(
        text in prop_oneof![duration_text(), any::<String>()],
    ) {
        match duration::parse(&text) {
            Ok(seconds) => {
                prop_assert!(text.chars().all(|c| c.is_ascii_digit() || "smhd".contains(c)), "accepted {:?}", text);
                prop_assert_eq!(duration::parse(&duration::format(seconds)), Ok(seconds));
            }
            Err(message) => prop_assert!(!message.trim().is_empty()),
        }
    }

    /// Every number of seconds, written in its shortest form, reads back as itself.
    #[test]
    fn hostile_every_duration_reads_back(seconds in any::<u64>()) {
        prop_assert_eq!(duration::parse(&duration::format(seconds)), Ok(seconds));
    }

    /// Deeply nested groups (up to 48 levels of `any`/`all`/`not`) are handled like shallow
    /// ones: no panic, and a clean outcome.
    #[test]
    fn hostile_deep_nesting_is_parsed_or_refused_cleanly(
        combinators in proptest::collection::vec(0..3usize, 1..48),
        leaf in entry(),
    ) {
        let names = ["any", "all", "not"];
        let mut text = String::new();
        for c in &combinators {
            text.push_str(names[*c]);
            text.push('(');
        }
        text.push_str(&leaf);
        text.push_str(&")".repeat(combinators.len()));
        if let Some(tokens) = lex(&text) {
            check_outcome(tokens)?;
        }
    }
}

/// The generators reach the interesting outcomes: some DSL-shaped inputs are accepted and
/// some refused, so the properties above are not vacuously true.
#[test]
fn hostile_generators_reach_both_outcomes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = prop_oneof![dsl(), clean_dsl()];
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..500 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        if let Some(tokens) = lex(&text) {
            match parse_and_validate(tokens).1 {
                Ok(()) => accepted += 1,
                Err(_) => refused += 1,
            }
        }
    }
    eprintln!("DSL-shaped inputs: {accepted} accepted, {refused} refused (of 500)");
    assert!(
        accepted > 0 && refused > 0,
        "accepted {accepted}, refused {refused}"
    );
}

/// Nesting far past any rule a person writes (thousands of `any(`): a spanned error naming
/// the limit, not a stack overflow that crashes the user's build.
#[test]
fn hostile_deep_nesting_is_refused_with_its_limit_not_a_stack_overflow() {
    for depth in [
        crate::parse::MAX_NESTING,
        crate::parse::MAX_NESTING + 1,
        5_000,
    ] {
        let text = format!(
            "{}roles = \"Admin\"{}",
            "any(".repeat(depth),
            ")".repeat(depth)
        );
        let tokens = lex(&text).expect("balanced parentheses lex");
        // Outside a compiler, proc-macro2's own tokens drop recursively: keep them alive
        // (rustc owns the real ones).
        std::mem::forget(tokens.clone());
        let output = crate::expand::msal_protected(
            tokens.clone(),
            quote::quote!(
                async fn h() {}
            ),
            "hostile",
        )
        .to_string();
        let refused = output.contains("compile_error");
        assert_eq!(
            refused,
            depth > crate::parse::MAX_NESTING,
            "depth {depth}: {}",
            &output[..output.len().min(300)]
        );
        if refused {
            assert!(output.contains("levels deep"), "depth {depth}");
            assert!(!output.contains("empty"), "one error, no cascade: {output}");
        }
        let rule = crate::expand::msal_rule(tokens, "hostile").to_string();
        assert_eq!(
            rule.contains("compile_error"),
            refused,
            "msal_rule! at depth {depth}"
        );
    }
}

/// Attributes whose path values nest `depth` levels in every way syn's path and type parsers
/// recurse without a group the nesting limit would see: `<` (generic arguments, qualified
/// paths), `&`, `*const`, `fn() ->`, `impl Fn() ->`, in `check`, `on_denied`, `crate`
/// strings and `check` strings, at the top level and inside `any(...)`.
fn deep_paths(depth: usize) -> Vec<String> {
    let n = depth;
    vec![
        format!("check = Docs::{}", "<".repeat(n)),
        format!("check = a::<{}T{}>", "b<".repeat(n), ">".repeat(n)),
        format!("on_denied = a::<{}T{}>", "b<".repeat(n), ">".repeat(n)),
        format!("check = a::<{}T>", "&".repeat(n)),
        format!("check = a::<{}T>", "& mut ".repeat(n)),
        format!("check = a::<{}T>", "*const ".repeat(n)),
        format!("check = a::<{}T>", "fn() -> ".repeat(n)),
        format!("check = a::<{}T>", "impl Fn() -> ".repeat(n)),
        format!("check = {}T{}", "<".repeat(n), " as A>::b".repeat(n)),
        format!("roles = \"Admin\", any(check = a::<{}T>)", "&".repeat(n)),
        format!("crate = \"a::<{}T{}>\"", "b<".repeat(n), ">".repeat(n)),
        format!("crate = \"a{}\"", "<".repeat(n)),
        format!("check = \"a::<{}T>\"", "&".repeat(n)),
    ]
}

/// Runs `f` on a thread of `stack` bytes: a stack overflow there fails the test (the process
/// aborts) instead of passing unseen on a main thread's larger stack.
fn on_stack<T: Send + 'static>(stack: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Paths nested thousands of levels deep through `<`, `&`, `*`, `->` (punctuation, which the
/// group-depth limit does not see; found by the `dsl` fuzz target): refused with a spanned
/// error naming the limit before syn reads them, on a stack of a sixteenth of the 8 MiB rustc
/// gives a proc macro, in this unoptimised build. Without the bound, syn's parsers overflow.
#[test]
fn hostile_deep_generic_paths_are_refused_not_a_stack_overflow() {
    for text in deep_paths(5_000) {
        let shown = text[..text.len().min(60)].to_owned();
        // Token streams are not `Send`: lexed on the small stack, too.
        let (attribute, rule) = on_stack(512 * 1024, move || {
            let tokens = lex(&text).expect("the hostile attribute lexes");
            // Outside a compiler, proc-macro2's own tokens drop recursively: keep them alive.
            std::mem::forget(tokens.clone());
            let attribute = crate::expand::msal_protected(
                tokens.clone(),
                quote!(
                    async fn h() {}
                ),
                "hostile",
            );
            let rule = crate::expand::msal_rule(tokens, "hostile");
            (attribute.to_string(), rule.to_string())
        });
        for output in [&attribute, &rule] {
            assert!(output.contains("compile_error"), "{shown}: accepted");
            // A string after `check` is refused for being a string, whatever it holds.
            assert!(
                output.contains("at most 64 tokens") || output.contains("not a string"),
                "{shown}: refused for another reason: {}",
                &output[..output.len().min(400)]
            );
        }
        if shown.starts_with("roles") {
            assert!(!attribute.contains("expected"), "no cascade: {attribute}");
        }
    }
}

/// The same shapes at every depth up to the bound expand within a quarter of the 8 MiB rustc
/// gives a proc macro, in this unoptimised build (as cargo's dev profile builds proc macros):
/// the bound, not luck, keeps syn within the compiler's stack. The deepest a shape gets
/// within 64 tokens is the case that matters (about 58 `&`: some 1.8 MiB here, against 1 MiB
/// for 33 of them); each shape reaches syn at some depth.
#[test]
fn paths_up_to_the_token_bound_expand_within_a_quarter_of_the_compilers_stack() {
    let deepest = on_stack(2 << 20, || {
        let shapes = deep_paths(1).len();
        let mut deepest = vec![0; shapes];
        for depth in 1..=64 {
            for (shape, text) in deep_paths(depth).into_iter().enumerate() {
                let Some(tokens) = lex(&text) else { continue };
                let output = crate::expand::msal_protected(
                    tokens,
                    quote!(
                        async fn h() {}
                    ),
                    "hostile",
                )
                .to_string();
                if !output.contains("at most 64 tokens") {
                    deepest[shape] = depth;
                }
            }
        }
        deepest
    });
    assert!(
        deepest.iter().all(|&d| d >= 8),
        "every shape reached syn: {deepest:?}"
    );
    let real = "check = crate::documents::access::owns_document::<Document, Reader>";
    let output = crate::expand::msal_protected(
        lex(real).unwrap(),
        quote!(
            async fn h() {}
        ),
        "hostile",
    )
    .to_string();
    assert!(!output.contains("compile_error"), "{output}");
}

/// `crate = "…"` with generic arguments (found by the bound's own test: the expansion's
/// attribute paths do not take them, and syn's `parse_quote!` panicked on the result), and
/// every keyword a module path may start with: refused or expanded, never a macro panic.
#[test]
fn crate_paths_are_module_paths_refused_with_a_message_not_a_panic() {
    for (krate, accepted) in [
        ("a::<b<T>>", false),
        ("a::b<T>", false),
        ("a<T>::b", false),
        ("a(u8)", false),
        ("::my_msal", true),
        ("my_app::auth::msal", true),
        ("crate::msal", true),
        ("self::msal", true),
        ("super::msal", true),
        ("Self", true),
        ("r#type::msal", true),
    ] {
        let attr = lex(&format!("roles = \"Admin\", crate = \"{krate}\"")).unwrap();
        let output = crate::expand::msal_protected(
            attr.clone(),
            quote!(
                async fn h() {}
            ),
            "hostile",
        )
        .to_string();
        let rule = crate::expand::msal_rule(attr, "hostile").to_string();
        for output in [&output, &rule] {
            assert_eq!(
                !output.contains("compile_error"),
                accepted,
                "{krate}: {output}"
            );
            if !accepted {
                assert!(output.contains("is not a module path"), "{krate}: {output}");
            }
        }
    }
}

/// Found by review: a macro's fragment arrives as an invisible (None-delimited) group, which
/// syn reads through as if it were not there. `check = $e` with `$e = a < b` hid a `<` from
/// the token count, and syn, inside generic arguments, read on past the comma into thousands
/// of `&`. The value is now parsed from exactly the tokens counted.
#[test]
fn an_invisible_group_hides_no_angle_bracket_from_the_path_bound() {
    for rule in [false, true] {
        let output = on_stack(512 * 1024, move || {
            use proc_macro2::{Delimiter, Group};
            let hidden = Group::new(Delimiter::None, lex("a < b").unwrap());
            let mut tokens = lex("check =").unwrap();
            tokens.extend([proc_macro2::TokenTree::Group(hidden)]);
            tokens.extend(lex(&format!(", {}T>", "&".repeat(5_000))).unwrap());
            std::mem::forget(tokens.clone());
            if rule {
                crate::expand::msal_rule(tokens, "hostile").to_string()
            } else {
                crate::expand::msal_protected(
                    tokens,
                    quote!(
                        async fn h() {}
                    ),
                    "hostile",
                )
                .to_string()
            }
        });
        assert!(output.contains("compile_error"), "accepted: {output:.300}");
    }
}

/// The deepest rule the DSL takes (16 levels of `any`) around the longest path it takes,
/// expanded within a quarter of the compiler's stack in this unoptimised build.
#[test]
fn the_deepest_rule_around_the_longest_path_expands_within_a_quarter_of_the_stack() {
    let depth = crate::parse::MAX_NESTING;
    let text = format!(
        "{}check = a::<{}T>{}",
        "any(".repeat(depth),
        "&".repeat(58),
        ")".repeat(depth)
    );
    let (attribute, rule) = on_stack(2 << 20, move || {
        let tokens = lex(&text).unwrap();
        let attribute = crate::expand::msal_protected(
            tokens.clone(),
            quote!(
                async fn h() {}
            ),
            "hostile",
        );
        (
            attribute.to_string(),
            crate::expand::msal_rule(tokens, "hostile").to_string(),
        )
    });
    for output in [attribute, rule] {
        assert!(!output.contains("compile_error"), "{output:.300}");
    }
}

/// Found by review: the handler's body was parsed by syn, whose expression parsers recurse;
/// a body the compiler takes (thousands of nested blocks) overflowed the macro's stack. The
/// body is now the compiler's tokens, passed through unread, inner attributes first.
#[test]
fn a_deeply_nested_handler_body_is_passed_through_unread() {
    use proc_macro2::{Delimiter, Group, TokenTree};
    let (refused, inner_first, depth) = on_stack(512 * 1024, || {
        // Built inside out, without recursion (the compiler's lexer made the real one).
        let mut body = lex("1").unwrap();
        for _ in 0..5_000 {
            body = TokenTree::Group(Group::new(Delimiter::Brace, body)).into();
        }
        let mut item = lex("async fn h() -> u8").unwrap();
        let mut block = lex("#![allow(unused_braces)] #![allow(clippy::all)]").unwrap();
        block.extend(body);
        item.extend([TokenTree::Group(Group::new(Delimiter::Brace, block))]);
        let output =
            crate::expand::msal_protected(lex("roles = \"Admin\"").unwrap(), item, "hostile");
        let trees: Vec<TokenTree> = output.into_iter().collect();
        let refused = trees
            .iter()
            .any(|t| matches!(t, TokenTree::Ident(i) if i == "compile_error"));
        let Some(TokenTree::Group(block)) = trees.last() else {
            panic!("no body");
        };
        let inside: Vec<TokenTree> = block.stream().into_iter().collect();
        let text = |t: &TokenTree| t.to_string();
        let inner_first = inside.len() > 7
            && text(&inside[0]) == "#"
            && text(&inside[1]) == "!"
            && text(&inside[2]).contains("unused_braces")
            && text(&inside[5]).contains("clippy")
            && inside[6..].iter().any(|t| text(t) == "__MSAL_PROTECTED");
        // How deep the body the handler ends with nests, walked without recursion.
        let mut depth = 0;
        let mut level = inside.last().cloned();
        while let Some(TokenTree::Group(group)) = level {
            depth += 1;
            level = group.stream().into_iter().next();
        }
        (refused, inner_first, depth)
    });
    assert!(!refused, "refused");
    assert!(
        inner_first,
        "inner attributes stay first, the registration after them"
    );
    assert_eq!(depth, 5_000, "the body came through whole");
}

/// Found by review: `on_denied = pages::denied<Html>` was written as a comparison in the
/// call the expansion makes (and, re-parsed, blamed on `crate`); it is a turbofish now, as
/// `check`'s path always was.
#[test]
fn an_on_denied_path_with_generic_arguments_is_called_with_a_turbofish() {
    let output = crate::expand::msal_protected(
        lex("roles = \"Admin\", on_denied = pages::denied<Html>").unwrap(),
        quote!(
            async fn h() {}
        ),
        "hostile",
    )
    .to_string();
    assert!(!output.contains("compile_error"), "{output}");
    assert!(
        output.contains("pages :: denied :: < Html > (rejection)"),
        "{output}"
    );
}

/// Found by the second review: what precedes the body was still syn's to read whole. An outer
/// attribute's value is an expression to syn (thousands of nested parentheses overflowed it),
/// and a signature can nest groups in array lengths and const generics. Outer attributes now
/// pass through as tokens; a signature nested past 32 levels is refused, before syn reads it,
/// with a spanned error.
#[test]
fn deep_outer_attributes_pass_through_and_deep_signatures_are_refused() {
    use proc_macro2::{Delimiter, Group, TokenTree};
    let nested = |delimiter, inside: &str| {
        let mut stream = lex(inside).unwrap();
        for _ in 0..5_000 {
            stream = TokenTree::Group(Group::new(delimiter, stream)).into();
        }
        stream
    };
    let (attribute_refused, attribute_kept, signature_refused, message) = on_stack(
        512 * 1024,
        move || {
            // #[doc = ((((…1…))))] async fn h() {}
            let mut doc = lex("doc =").unwrap();
            doc.extend(nested(Delimiter::Parenthesis, "1"));
            let mut item = lex("#").unwrap();
            item.extend([TokenTree::Group(Group::new(Delimiter::Bracket, doc))]);
            item.extend(lex("async fn h() {}").unwrap());
            let output = crate::expand::msal_protected(TokenStream::new(), item, "hostile");
            let trees: Vec<TokenTree> = output.into_iter().collect();
            let attribute_refused = trees
                .iter()
                .any(|t| matches!(t, TokenTree::Ident(i) if i == "compile_error"));
            let attribute_kept = matches!(&trees[..2], [TokenTree::Punct(p), TokenTree::Group(g)]
                if p.as_char() == '#' && g.stream().into_iter().next().is_some_and(|t| t.to_string() == "doc"));
            // async fn h(_: [u8; {{{{…0…}}}}]) {}
            let mut length = lex("u8;").unwrap();
            length.extend(nested(Delimiter::Brace, "0"));
            let mut parameter = lex("_:").unwrap();
            parameter.extend([TokenTree::Group(Group::new(Delimiter::Bracket, length))]);
            let mut item = lex("async fn h").unwrap();
            item.extend([TokenTree::Group(Group::new(
                Delimiter::Parenthesis,
                parameter,
            ))]);
            item.extend(lex("{}").unwrap());
            let output = crate::expand::msal_protected(TokenStream::new(), item, "hostile");
            // `::core::compile_error! { "…" }`, then the item as written (not printed here).
            let trees: Vec<TokenTree> = output.into_iter().collect();
            let at = trees
                .iter()
                .position(|t| matches!(t, TokenTree::Ident(i) if i == "compile_error"));
            let signature_refused = at.is_some();
            let message = at
                .and_then(|at| trees.get(at + 2))
                .map(|t| t.to_string())
                .unwrap_or_default();
            (
                attribute_refused,
                attribute_kept,
                signature_refused,
                message,
            )
        },
    );
    assert!(
        !attribute_refused,
        "a deep attribute value is the compiler's to read"
    );
    assert!(
        attribute_kept,
        "the attribute comes through first, as written"
    );
    assert!(
        signature_refused,
        "a signature nested 5,000 deep is refused"
    );
    assert!(message.contains("more than 32 levels deep"), "{message}");
}
