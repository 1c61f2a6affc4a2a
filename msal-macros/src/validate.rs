//! What the DSL means: no empty sets, no duplicates, no contradictions, well-formed ids,
//! a `max_age` a sign-in can meet. Nothing is implied and nothing fails open.

use proc_macro2::Span;

use crate::parse::{Attr, Combinator, Item, Key, Value, path_text};
use crate::{Errors, duration};

pub(crate) fn attr(attr: &Attr, errors: &mut Errors) {
    level(&attr.items, true, errors);
    acr_component(&attr.items, errors);
}

/// A step-up negated would let in whoever lacks the fact: most tokens carry no `acr`, and
/// one without `auth_time` counts as not recent. Reported on every such key inside `not`.
fn forbid_negated(items: &[Item], errors: &mut Errors) {
    for item in items {
        match item {
            Item::List {
                key: Key::Acr,
                key_span,
                ..
            } => errors.push(syn::Error::new(
                *key_span,
                "`acr` cannot be negated: a token without an `acr` (most have none) would pass `not(acr = ...)`; list the levels that may pass in `acr = [...]`",
            )),
            Item::MaxAge { key_span, .. } => errors.push(syn::Error::new(
                *key_span,
                "`max_age` cannot be negated: a token without `auth_time` counts as not recent and would pass `not(max_age = ...)`",
            )),
            Item::Group { items, .. } => forbid_negated(items, errors),
            _ => {}
        }
    }
}

/// The `acr` lists that must all hold at once along `items` (this level and the `all(...)`
/// inside it), each with the span of its key and whether it sits inside an `all(...)`.
fn anded_acrs<'a>(items: &'a [Item], nested: bool, out: &mut Vec<(&'a [Value], Span, bool)>) {
    for item in items {
        match item {
            Item::List {
                key: Key::Acr,
                key_span,
                values,
                ..
            } => out.push((values, *key_span, nested)),
            Item::Group {
                combinator: Combinator::All,
                items,
                ..
            } => anded_acrs(items, true, out),
            _ => {}
        }
    }
}

/// A token has one `acr`: two lists that must hold at once and share no level refuse
/// everyone (and would send a browser between two step-ups). Checked for every set of
/// items that must hold together.
fn acr_component(items: &[Item], errors: &mut Errors) {
    let mut anded = Vec::new();
    anded_acrs(items, false, &mut anded);
    // Lists side by side at one level are already a duplicate `acr`.
    let nested = anded.iter().any(|(_, _, nested)| *nested);
    if let Some(((first, _, _), rest)) = anded.split_first().filter(|_| nested) {
        let mut common: Vec<&str> = first.iter().map(|v| v.text.as_str()).collect();
        for (values, span, _) in rest {
            common.retain(|c| values.iter().any(|v| v.text == *c));
            if common.is_empty() {
                errors.push(syn::Error::new(
                    *span,
                    "contradiction: a token has one `acr`, and no level is in every `acr` list that must hold here, so nobody could pass; keep one list of the levels that may pass",
                ));
                break;
            }
        }
    }
    // Each alternative of an `any`, and what a `not` holds, is a set of its own.
    fn alternatives<'a>(items: &'a [Item], out: &mut Vec<&'a Item>) {
        for item in items {
            if let Item::Group {
                combinator,
                items: inner,
                ..
            } = item
            {
                match combinator {
                    Combinator::All => alternatives(inner, out),
                    Combinator::Any | Combinator::Not => out.extend(inner.iter()),
                }
            }
        }
    }
    let mut separate = Vec::new();
    alternatives(items, &mut separate);
    for item in separate {
        acr_component(std::slice::from_ref(item), errors);
    }
}

/// Items side by side; `and` when they are all required (top level, `all`).
fn level(items: &[Item], and: bool, errors: &mut Errors) {
    if and {
        let mut seen: Vec<Key> = Vec::new();
        for item in items {
            if let Item::List { key, key_span, .. } = item {
                if seen.contains(key) && *key == Key::Acr {
                    errors.push(syn::Error::new(
                        *key_span,
                        "duplicate `acr`: a token has one `acr`, so list every level it may have in one `acr = [...]`",
                    ));
                } else if seen.contains(key) {
                    errors.push(syn::Error::new(
                        *key_span,
                        format!(
                            "duplicate `{0}`: list every value in one `{0} = [...]`, or use any(...) for alternatives",
                            key.name()
                        ),
                    ));
                } else {
                    seen.push(*key);
                }
            }
        }
        let mut max_age = false;
        let mut checks: Vec<String> = Vec::new();
        for item in items {
            match item {
                Item::MaxAge { key_span, .. } if max_age => errors.push(syn::Error::new(
                    *key_span,
                    "duplicate `max_age`: one sign-in age applies; keep the one you mean, or use any(...) for alternatives",
                )),
                Item::MaxAge { .. } => max_age = true,
                Item::Check { path, .. } => {
                    let text = path_text(path);
                    if checks.contains(&text) {
                        errors.push(syn::Error::new_spanned(
                            path,
                            format!("duplicate `check = {text}`: it already runs once here; remove this one"),
                        ));
                    } else {
                        checks.push(text);
                    }
                }
                _ => {}
            }
        }
        if seen.contains(&Key::AppPermissions) {
            for item in items {
                let (span, what) = match item {
                    Item::List {
                        key: Key::AuthContext,
                        key_span,
                        ..
                    } => (key_span, "no user to meet `auth_context`"),
                    Item::List {
                        key: Key::Acr,
                        key_span,
                        ..
                    } => (key_span, "no user sign-in and so no `acr`"),
                    Item::MaxAge { key_span, .. } => {
                        (key_span, "no user sign-in for `max_age` to measure")
                    }
                    _ => continue,
                };
                errors.push(syn::Error::new(
                    *span,
                    format!("contradiction: `app_permissions` admits only app-only tokens, which have {what}; use any(...) if either will do"),
                ));
            }
        }
        for item in items {
            if let Item::Group {
                combinator: Combinator::Not,
                span,
                items: negated,
            } = item
                && let [inner] = negated.as_slice()
                && items.iter().any(|sibling| sibling.same_as(inner))
            {
                errors.push(syn::Error::new(
                    *span,
                    "contradiction: this requires something and its `not` at once, so nobody could ever pass",
                ));
            }
        }
    }
    for item in items {
        match item {
            Item::List {
                key,
                values,
                value_span,
                ..
            } => list(*key, values, *value_span, errors),
            Item::MaxAge {
                seconds,
                text,
                span,
                ..
            } => {
                if let Err(message) = duration::check_range(*seconds, text) {
                    errors.push(syn::Error::new(*span, message));
                }
            }
            Item::Check { .. } => {}
            Item::Group {
                combinator,
                span,
                items,
            } => {
                match combinator {
                    Combinator::Any | Combinator::All if items.is_empty() => {
                        errors.push(syn::Error::new(
                            *span,
                            format!(
                                "empty `{}()`: it would {} everyone; list the alternatives inside",
                                combinator.name(),
                                if *combinator == Combinator::Any {
                                    "refuse"
                                } else {
                                    "admit"
                                }
                            ),
                        ));
                    }
                    Combinator::Not if items.len() != 1 => {
                        forbid_negated(items, errors);
                        errors.push(syn::Error::new(
                            *span,
                            format!("`not` takes exactly one item, found {}: use not(any(...)) or not(all(...))", items.len()),
                        ));
                    }
                    Combinator::Not => forbid_negated(items, errors),
                    _ => {}
                }
                level(items, *combinator == Combinator::All, errors);
            }
        }
    }
}

/// The longest `acr` level the DSL takes (the sign-in route takes 512 characters of them).
const MAX_ACR: usize = 128;

fn list(
    key: Key,
    values: &[crate::parse::Value],
    value_span: proc_macro2::Span,
    errors: &mut Errors,
) {
    if values.is_empty() {
        errors.push(syn::Error::new(
            value_span,
            format!(
                "empty `{0}`: name at least one, or remove `{0}`",
                key.name()
            ),
        ));
    }
    for (i, value) in values.iter().enumerate() {
        if values[..i].iter().any(|v| v.text == value.text) {
            errors.push(syn::Error::new(
                value.span,
                format!("`{}` lists {:?} twice", key.name(), value.text),
            ));
        }
        if key == Key::AuthContext && !is_auth_context(&value.text) {
            let mut message = format!(
                "{:?} is not an authentication context id: use its id from Conditional Access > Authentication contexts, \"c1\" to \"c99\"",
                value.text
            );
            if let Some(fixed) = nearest_auth_context(&value.text) {
                message.push_str(&format!("; did you mean {fixed:?}?"));
            }
            errors.push(syn::Error::new(value.span, message));
        }
        if key == Key::Acr
            && (value.text.len() > MAX_ACR
                || !value
                    .text
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'))
        {
            errors.push(syn::Error::new(
                value.span,
                format!(
                    "{:?} cannot be an `acr` level: levels travel in a URL and a WWW-Authenticate header, so write printable ASCII without quotes or backslashes, at most {MAX_ACR} characters",
                    value.text
                ),
            ));
        }
        if key == Key::Tenants && !is_guid(&value.text) {
            errors.push(syn::Error::new(
                value.span,
                format!(
                    "{:?} is not a tenant id: use the tenant's GUID (the `tid` claim)",
                    value.text
                ),
            ));
        }
    }
}

/// `c1` to `c99`: the ids Entra gives Conditional Access authentication contexts.
fn is_auth_context(text: &str) -> bool {
    text.strip_prefix('c').is_some_and(|n| {
        !n.starts_with('0') && (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The id a near miss means: `C1` or `c01` is `c1`.
fn nearest_auth_context(text: &str) -> Option<String> {
    let digits = text.strip_prefix(['c', 'C'])?.trim_start_matches('0');
    let fixed = format!("c{digits}");
    is_auth_context(&fixed).then_some(fixed)
}

fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}
