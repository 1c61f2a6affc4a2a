//! The DSL into a small AST. Every problem is collected; parsing goes on after an error so
//! one compile reports them all.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::{Ident, LitStr, Path, Token, bracketed, parenthesized};

use crate::{Errors, duration, tokens};

/// A key that takes strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Scopes,
    Roles,
    Groups,
    AppPermissions,
    Tenants,
    AuthContext,
    /// `acr`: the token carries one value, so the list means "one of these".
    Acr,
}

impl Key {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Key::Scopes => "scopes",
            Key::Roles => "roles",
            Key::Groups => "groups",
            Key::AppPermissions => "app_permissions",
            Key::Tenants => "tenants",
            Key::AuthContext => "auth_context",
            Key::Acr => "acr",
        }
    }

    /// What a value of this key looks like, for "expected a string" errors.
    fn examples(self) -> (&'static str, &'static str) {
        match self {
            Key::AuthContext => ("c1", "c2"),
            Key::Acr => ("phr", "phrh"),
            _ => ("User.Read", "Mail.Read"),
        }
    }
}

/// `any`, `all`, `not`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Combinator {
    Any,
    All,
    Not,
}

impl Combinator {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Combinator::Any => "any",
            Combinator::All => "all",
            Combinator::Not => "not",
        }
    }
}

/// One string value, with the span of the literal it came from.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub(crate) text: String,
    pub(crate) span: Span,
}

/// A rule item.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    /// `key = "a b"` or `key = ["a", "b"]`.
    List {
        key: Key,
        key_span: Span,
        values: Vec<Value>,
        /// The span of the whole value, for "empty" errors.
        value_span: Span,
    },
    /// `max_age = "10m"`: the duration read; its range is for validation to judge.
    MaxAge {
        key_span: Span,
        seconds: u64,
        /// The literal's text, for messages.
        text: String,
        /// The literal's span.
        span: Span,
    },
    /// `check = path::to_fn`.
    Check { path: Path },
    /// `any(...)`, `all(...)`, `not(...)`.
    Group {
        combinator: Combinator,
        span: Span,
        items: Vec<Item>,
    },
}

impl Item {
    /// Structural equality, ignoring spans and value order.
    pub(crate) fn same_as(&self, other: &Item) -> bool {
        match (self, other) {
            (
                Item::List {
                    key: a, values: va, ..
                },
                Item::List {
                    key: b, values: vb, ..
                },
            ) => {
                let mut x: Vec<&str> = va.iter().map(|v| v.text.as_str()).collect();
                let mut y: Vec<&str> = vb.iter().map(|v| v.text.as_str()).collect();
                x.sort_unstable();
                y.sort_unstable();
                a == b && x == y
            }
            (
                Item::Group {
                    combinator: a,
                    items: ia,
                    ..
                },
                Item::Group {
                    combinator: b,
                    items: ib,
                    ..
                },
            ) => a == b && ia.len() == ib.len() && ia.iter().zip(ib).all(|(x, y)| x.same_as(y)),
            (Item::MaxAge { seconds: a, .. }, Item::MaxAge { seconds: b, .. }) => a == b,
            (Item::Check { path: a, .. }, Item::Check { path: b, .. }) => {
                path_text(a) == path_text(b)
            }
            _ => false,
        }
    }
}

/// The whole attribute.
#[derive(Default)]
pub(crate) struct Attr {
    pub(crate) items: Vec<Item>,
    pub(crate) on_denied: Option<Path>,
    pub(crate) krate: Option<Path>,
}

const KEYS: [&str; 14] = [
    "scopes",
    "roles",
    "groups",
    "app_permissions",
    "tenants",
    "auth_context",
    "acr",
    "max_age",
    "check",
    "any",
    "all",
    "not",
    "on_denied",
    "crate",
];

/// Parses the attribute's (or `msal_rule!`'s) tokens; problems go to `errors`.
pub(crate) fn attr(tokens: TokenStream, errors: &mut Errors) -> Attr {
    let mut attr = Attr::default();
    let parser = |input: ParseStream| {
        attr.items = entries(input, true, errors, &mut attr.on_denied, &mut attr.krate);
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    attr
}

/// How deep `any`/`all`/`not` may nest: far beyond what a person writes, far short of what
/// would overflow the compiler's stack parsing it. The macros refuse deeper input before
/// anything here reads it (`expand::too_deep`).
pub(crate) const MAX_NESTING: usize = 16;

/// How many tokens a path the DSL takes (`check`, `on_denied`, `crate`) may hold, generic
/// arguments included: several times a real handler's path, and few enough that syn's
/// parsers, which recurse once per `<`, `&` or group, never come near the compiler's stack.
pub(crate) const MAX_PATH_TOKENS: usize = 64;

/// The path after `key =` and what follows it in the value. The value runs to the next `,`
/// outside `<…>` (or the end) and is taken out of `input` whole; syn parses those tokens
/// alone, so it never reads past what was counted (whatever `<` a macro's invisible group
/// hides), and a value of more than [`MAX_PATH_TOKENS`] tokens is refused unparsed.
fn path_value(input: ParseStream, key: &str, usage: &str) -> syn::Result<(Path, TokenStream)> {
    let span = input.span();
    let trees = std::iter::successors(input.cursor().token_tree(), |(_, next)| next.token_tree())
        .map(|(tree, _)| tree);
    let (taken, len) = tokens::path_value(trees, MAX_PATH_TOKENS);
    let value = input.step(|cursor| {
        let mut rest = *cursor;
        let mut value = TokenStream::new();
        for _ in 0..taken {
            if let Some((tree, next)) = rest.token_tree() {
                value.extend([tree]);
                rest = next;
            }
        }
        Ok((value, rest))
    })?;
    if taken == 0 {
        return Err(syn::Error::new(
            span,
            format!("expected a function path after `{key} =`: {usage}"),
        ));
    }
    if len > MAX_PATH_TOKENS {
        return Err(too_long(span, key, usage));
    }
    let parser = |value: ParseStream| {
        let path: Path = value.parse()?;
        let rest: TokenStream = value.parse()?;
        Ok((path, rest))
    };
    parser.parse2(value).map_err(|e| {
        // Running out of the value is reported on it, not on the whole attribute.
        let at = if e.to_string().contains("end of input") {
            span
        } else {
            e.span()
        };
        syn::Error::new(at, format!("`{key}` takes a function path: {usage}"))
    })
}

/// What follows a path in its value is an error: a call (`f(x)`) is named as one, anything
/// else wants the `,` that ends an item.
fn nothing_after(path: &Path, rest: TokenStream, key: &str) -> syn::Result<()> {
    match rest.into_iter().next() {
        None => Ok(()),
        Some(TokenTree::Group(call)) if call.delimiter() == Delimiter::Parenthesis => {
            Err(syn::Error::new(
                call.span(),
                format!(
                    "`{key}` takes the function itself, not a call: {key} = {}",
                    path_text(path)
                ),
            ))
        }
        Some(other) => Err(syn::Error::new(other.span(), "expected `,` between items")),
    }
}

/// The path written in a string (`crate = "…"`, or `check = "…"` by mistake), refused when
/// it is none or longer than [`MAX_PATH_TOKENS`] tokens.
fn path_in_string(lit: &LitStr, key: &str, usage: &str) -> syn::Result<Path> {
    path_in_string_with(lit, key, usage, "a path", |input| input.parse())
}

/// [`path_in_string`] for `crate`: a module path, without generic arguments (`a::<T>` names
/// no crate, and would not parse where the expansion writes it: in attributes).
fn module_path_in_string(lit: &LitStr) -> syn::Result<Path> {
    path_in_string_with(
        lit,
        "crate",
        "crate = \"my_msal\"",
        "a module path",
        Path::parse_mod_style,
    )
}

fn path_in_string_with(
    lit: &LitStr,
    key: &str,
    usage: &str,
    what: &str,
    parser: fn(ParseStream) -> syn::Result<Path>,
) -> syn::Result<Path> {
    let not_a_path = || {
        syn::Error::new(
            lit.span(),
            format!("{:?} is not {what}: {usage}", shortened(&lit.value())),
        )
    };
    // Lexing recurses per group too: a string far longer than any path is not lexed.
    if lit.value().len() > 8 * MAX_PATH_TOKENS {
        return Err(too_long(lit.span(), key, usage));
    }
    let stream: TokenStream = lit.parse().map_err(|_| not_a_path())?;
    if tokens::len(&stream, MAX_PATH_TOKENS) > MAX_PATH_TOKENS {
        return Err(too_long(lit.span(), key, usage));
    }
    parser.parse2(stream).map_err(|_| not_a_path())
}

/// At most the first 40 characters of `text`, for quoting it in a message.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

fn too_long(span: Span, key: &str, usage: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "`{key}` takes a path of at most {MAX_PATH_TOKENS} tokens (generic arguments included, `::` counts as two): bring it into scope with `use` or name the type with a `type` alias ({usage})"
        ),
    )
}

/// Entries up to the end of `input`. `top` allows `on_denied` and `crate`.
fn entries(
    input: ParseStream,
    top: bool,
    errors: &mut Errors,
    on_denied: &mut Option<Path>,
    krate: &mut Option<Path>,
) -> Vec<Item> {
    let mut items = Vec::new();
    while !input.is_empty() {
        match entry(input, top, errors, on_denied, krate) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => {}
            Err(e) => {
                errors.push(e);
                skip_to_comma(input);
            }
        }
        if input.is_empty() {
            break;
        }
        if let Err(e) = input.parse::<Token![,]>() {
            errors.push(syn::Error::new(e.span(), "expected `,` between items"));
            skip_to_comma(input);
            let _ = input.parse::<Token![,]>();
        }
    }
    items
}

/// Skips tokens up to (not including) the next `,` at this level.
fn skip_to_comma(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if let TokenTree::Punct(p) = &tt
                && p.as_char() == ','
            {
                return Ok(((), rest));
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

fn entry(
    input: ParseStream,
    top: bool,
    errors: &mut Errors,
    on_denied: &mut Option<Path>,
    krate: &mut Option<Path>,
) -> syn::Result<Option<Item>> {
    if input.peek(Token![crate]) {
        let token = input.parse::<Token![crate]>()?;
        input.parse::<Token![=]>()?;
        let lit: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "`crate` takes the path as a string: crate = \"my_msal\"",
            )
        })?;
        let path = module_path_in_string(&lit)?;
        if !top {
            errors.push(syn::Error::new(
                token.span,
                "`crate` belongs at the top level, outside any(...), all(...) and not(...)",
            ));
        } else if krate.is_some() {
            errors.push(syn::Error::new(token.span, "duplicate `crate`"));
        } else {
            *krate = Some(path);
        }
        return Ok(None);
    }
    let key: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected a key: one of {}", KEYS.join(", ")),
        )
    })?;
    let name = key.to_string();
    let span = key.span();
    let combinator = match name.as_str() {
        "any" => Some(Combinator::Any),
        "all" => Some(Combinator::All),
        "not" => Some(Combinator::Not),
        _ => None,
    };
    if let Some(combinator) = combinator {
        if input.peek(Token![=]) {
            return Err(syn::Error::new(
                span,
                format!("`{name}` takes items in parentheses: {name}(roles = \"Admin\", ...)"),
            ));
        }
        let content;
        parenthesized!(content in input);
        let mut inner_on_denied = None;
        let mut inner_krate = None;
        let items = entries(
            &content,
            false,
            errors,
            &mut inner_on_denied,
            &mut inner_krate,
        );
        return Ok(Some(Item::Group {
            combinator,
            span,
            items,
        }));
    }
    let list_key = match name.as_str() {
        "scopes" => Some(Key::Scopes),
        "roles" => Some(Key::Roles),
        "groups" => Some(Key::Groups),
        "app_permissions" => Some(Key::AppPermissions),
        "tenants" => Some(Key::Tenants),
        "auth_context" => Some(Key::AuthContext),
        "acr" => Some(Key::Acr),
        _ => None,
    };
    if name == "max_age" {
        return max_age(input, span).map(Some);
    }
    if name == "check" {
        return check(input, span).map(Some);
    }
    if name == "on_denied" {
        input.parse::<Token![=]>()?;
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            return Err(syn::Error::new(
                lit.span(),
                "`on_denied` takes a function path, not a string: on_denied = my_module::denied",
            ));
        }
        let (path, rest) = path_value(input, "on_denied", "on_denied = my_module::denied")?;
        nothing_after(&path, rest, "on_denied")?;
        if !top {
            errors.push(syn::Error::new(
                span,
                "`on_denied` belongs at the top level, outside any(...), all(...) and not(...)",
            ));
        } else if on_denied.is_some() {
            errors.push(syn::Error::new(span, "duplicate `on_denied`"));
        } else {
            *on_denied = Some(path);
        }
        return Ok(None);
    }
    let Some(key_kind) = list_key else {
        let mut message = format!("unknown key `{name}`");
        if let Some(best) = claim_key(&name).or_else(|| nearest(&name)) {
            message.push_str(&format!("; did you mean `{best}`?"));
        } else {
            message.push_str(&format!("; expected one of {}", KEYS.join(", ")));
        }
        // Skip its value so the next item still parses.
        if input.peek(Token![=]) {
            let _ = input.parse::<Token![=]>();
        }
        skip_to_comma(input);
        return Err(syn::Error::new(span, message));
    };
    if input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            span,
            format!("`{name}` takes a value: {name} = \"...\" or {name} = [\"...\", \"...\"]"),
        ));
    }
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{name}`")))?;
    let (values, value_span) = values(input, key_kind, errors)?;
    Ok(Some(Item::List {
        key: key_kind,
        key_span: span,
        values,
        value_span,
    }))
}

/// `= "1h30m"`, after `max_age`: a duration string and nothing else.
fn max_age(input: ParseStream, key_span: Span) -> syn::Result<Item> {
    const USAGE: &str = "max_age = \"10m\"";
    if input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            key_span,
            format!("`max_age` takes a value: {USAGE}"),
        ));
    }
    let eq = input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `max_age`: {USAGE}")))?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        let text = lit.value();
        return match duration::parse(&text) {
            Ok(seconds) => Ok(Item::MaxAge {
                key_span,
                seconds,
                text,
                span: lit.span(),
            }),
            Err(message) => Err(syn::Error::new(lit.span(), message)),
        };
    }
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(
            eq.span,
            format!("expected a duration after `max_age =`: {USAGE}"),
        ));
    }
    let message = if input.peek(syn::token::Bracket) {
        format!("`max_age` takes one duration, not a list: {USAGE}")
    } else if input.peek(syn::LitInt) {
        format!("`max_age` takes a duration string with its unit, not a number: {USAGE}")
    } else {
        format!("`max_age` takes a duration string: {USAGE}")
    };
    let tt: TokenTree = input.parse()?;
    Err(syn::Error::new(tt.span(), message))
}

/// `= path::to_fn`, after `check`: a path to a function, not a string or a call.
fn check(input: ParseStream, key_span: Span) -> syn::Result<Item> {
    const USAGE: &str = "check = my_module::owns_document";
    if input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            key_span,
            format!("`check` takes a function path, not arguments: {USAGE}"),
        ));
    }
    let eq = input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `check`: {USAGE}")))?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        let usage = match path_in_string(&lit, "check", USAGE) {
            Ok(path) => format!("check = {}", path_text(&path)),
            Err(_) => USAGE.to_owned(),
        };
        return Err(syn::Error::new(
            lit.span(),
            format!("`check` takes a function path, not a string: {usage}"),
        ));
    }
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(
            eq.span,
            format!("expected a function path after `check =`: {USAGE}"),
        ));
    }
    let (path, rest) = path_value(input, "check", USAGE)?;
    nothing_after(&path, rest, "check")?;
    for segment in &path.segments {
        if let syn::PathArguments::Parenthesized(arguments) = &segment.arguments {
            return Err(syn::Error::new(
                arguments.paren_token.span.join(),
                format!("`check` takes a function path: {USAGE}"),
            ));
        }
    }
    Ok(Item::Check { path })
}

/// A path as one would write it: `a::b::<T>`, without the spaces of a token stream.
pub(crate) fn path_text(path: &Path) -> String {
    let mut out = String::new();
    if path.leading_colon.is_some() {
        out.push_str("::");
    }
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        out.push_str(&segment.ident.to_string());
        if let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments {
            let args = quote::ToTokens::to_token_stream(&arguments.args).to_string();
            out.push_str("::<");
            out.push_str(&compact(&args));
            out.push('>');
        }
    }
    out
}

/// Token-stream text without the spaces around punctuation: `Vec < u8 >` is `Vec<u8>`.
fn compact(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let glue = |c: char| matches!(c, ':' | '<' | '>' | ',' | '&');
        if c == ' ' && (out.ends_with(glue) || chars.peek().is_some_and(|n| glue(*n))) {
            if out.ends_with(',') {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// `"a b"` (split on whitespace) or `["a", "b"]` (one value each).
fn values(input: ParseStream, key: Key, errors: &mut Errors) -> syn::Result<(Vec<Value>, Span)> {
    let (one, two) = key.examples();
    if input.peek(syn::token::Bracket) {
        let content;
        let bracket = bracketed!(content in input);
        let mut out = Vec::new();
        let mut rejected = false;
        while !content.is_empty() {
            if content.peek(LitStr) {
                let lit: LitStr = content.parse()?;
                let text = lit.value();
                if text.trim().is_empty() {
                    rejected = true;
                    errors.push(syn::Error::new(
                        lit.span(),
                        "empty value: write a name, or remove it",
                    ));
                } else if text.chars().any(char::is_whitespace) {
                    rejected = true;
                    errors.push(syn::Error::new(
                        lit.span(),
                        format!("a list item is one value, without spaces: split {text:?} into separate strings"),
                    ));
                } else {
                    out.push(Value {
                        text,
                        span: lit.span(),
                    });
                }
            } else {
                rejected = true;
                let tt: TokenTree = content.parse()?;
                errors.push(syn::Error::new(
                    tt.span(),
                    format!("expected a string literal, like \"{one}\""),
                ));
            }
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        if rejected && out.is_empty() {
            // Its items were reported one by one; "empty" would only repeat them.
            out.push(Value {
                text: String::new(),
                span: bracket.span.join(),
            });
        }
        return Ok((out, bracket.span.join()));
    }
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        let values = lit
            .value()
            .split_whitespace()
            .map(|t| Value {
                text: t.to_owned(),
                span: lit.span(),
            })
            .collect();
        return Ok((values, lit.span()));
    }
    let tt: TokenTree = input.parse()?;
    Err(syn::Error::new(
        tt.span(),
        format!("expected a string like \"{one} {two}\" or a list like [\"{one}\", \"{two}\"]"),
    ))
}

/// The key for a claim or parameter written by its token name (`acrs` is read by
/// `auth_context`, `auth_time` by `max_age`), which no spelling distance would find.
fn claim_key(name: &str) -> Option<&'static str> {
    match name {
        "acrs" | "authentication_context" => Some("auth_context"),
        "auth_time" => Some("max_age"),
        "acr_values" => Some("acr"),
        _ => None,
    }
}

/// The known key closest to a misspelling, if it is close enough.
fn nearest(name: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (distance(name, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_key_suggestions() {
        assert_eq!(nearest("scope"), Some("scopes"));
        assert_eq!(nearest("role"), Some("roles"));
        assert_eq!(nearest("app_permission"), Some("app_permissions"));
        assert_eq!(nearest("tenant"), Some("tenants"));
        assert_eq!(nearest("auth_contexts"), Some("auth_context"));
        assert_eq!(nearest("zzzzzzzz"), None);
        assert_eq!(claim_key("acrs"), Some("auth_context"));
        assert_eq!(claim_key("acr"), None);
        assert_eq!(claim_key("auth_time"), Some("max_age"));
        assert_eq!(claim_key("acr_values"), Some("acr"));
        assert_eq!(nearest("max_ages"), Some("max_age"));
        assert_eq!(nearest("maxage"), Some("max_age"));
        assert_eq!(nearest("maxAge"), Some("max_age"));
        assert_eq!(nearest("checks"), Some("check"));
        assert_eq!(nearest("chek"), Some("check"));
    }

    fn path(text: &str) -> Path {
        syn::parse_str(text).unwrap()
    }

    #[test]
    fn paths_read_as_written() {
        assert_eq!(path_text(&path("owns")), "owns");
        assert_eq!(path_text(&path("::a::b")), "::a::b");
        assert_eq!(path_text(&path("a::b::<T>")), "a::b::<T>");
        assert_eq!(path_text(&path("a<T>")), "a::<T>");
        assert_eq!(
            path_text(&path("a::<Vec<u8>, &'static str>")),
            "a::<Vec<u8>, &'static str>"
        );
    }
}
