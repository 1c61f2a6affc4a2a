//! Walks over token streams that never recurse: how deep groups nest, how long a path value
//! runs, and a hash of the tokens, for input of any depth (a recursive walk would overflow
//! the compiler's stack on thousands of nested parentheses before the DSL's own limit could
//! answer).

use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree};

/// Where the first parenthesis nested more than `parens` deep, or group of any kind nested
/// more than `groups` deep, opens (on the name before it: `any` in `any(`), if any.
pub(crate) fn too_deep(stream: &TokenStream, parens: usize, groups: usize) -> Option<Span> {
    // Each open level: its tokens, how many parentheses enclose them, and the span of the
    // last identifier read there.
    let mut open = vec![(stream.clone().into_iter(), 0, None::<Span>)];
    loop {
        let depth = open.len();
        let (level, enclosing, named) = open.last_mut()?;
        match level.next() {
            Some(TokenTree::Group(group)) => {
                let inside = *enclosing + usize::from(group.delimiter() == Delimiter::Parenthesis);
                if inside > parens || depth > groups {
                    return Some(named.unwrap_or_else(|| group.span_open()));
                }
                open.push((group.stream().into_iter(), inside, None));
            }
            Some(TokenTree::Ident(ident)) => *named = Some(ident.span()),
            Some(_) => *named = None,
            None => {
                open.pop();
            }
        }
    }
}

/// How far a value written as a path (`check = …`, `on_denied = …`) runs: to the next `,`
/// outside `<…>`, or the end. Returns how many trees of `trees` it takes, and how many tokens
/// those hold (a group counts its delimiters and everything inside); once past `limit`, the
/// count stops.
///
/// syn's path and type parsers recurse once per `<`, `&`, `*`, `->` and group, none of which
/// a group-depth walk sees all of (`<` and `&` are punctuation); bounding the tokens bounds
/// them all. The `<`/`>` count follows syn's reading: `->` (and `=>`) close nothing.
pub(crate) fn path_value(
    trees: impl IntoIterator<Item = TokenTree>,
    limit: usize,
) -> (usize, usize) {
    let mut taken = 0;
    let mut count = 0;
    let mut angles = 0usize;
    let mut arrow = false;
    for tree in trees {
        if let TokenTree::Punct(punct) = &tree {
            match punct.as_char() {
                ',' if angles == 0 => break,
                '<' => angles += 1,
                '>' if !arrow => angles = angles.saturating_sub(1),
                _ => {}
            }
            arrow = matches!(punct.as_char(), '-' | '=') && punct.spacing() == Spacing::Joint;
        } else {
            arrow = false;
        }
        taken += 1;
        if count <= limit {
            count += match &tree {
                TokenTree::Group(group) => 2 + len(&group.stream(), limit - count),
                _ => 1,
            };
        }
    }
    (taken, count)
}

/// How many tokens `stream` holds (groups: their delimiters and contents); once past
/// `limit`, the count stops.
pub(crate) fn len(stream: &TokenStream, limit: usize) -> usize {
    let mut count = 0;
    let mut open = vec![stream.clone().into_iter()];
    while let Some(level) = open.last_mut() {
        if count > limit {
            break;
        }
        match level.next() {
            Some(TokenTree::Group(group)) => {
                count += 2;
                open.push(group.stream().into_iter());
            }
            Some(_) => count += 1,
            None => {
                open.pop();
            }
        }
    }
    count
}

/// Feeds every token's text (and every group's delimiters) to FNV-1a 64.
pub(crate) fn hash(mut hash: u64, stream: &TokenStream) -> u64 {
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let mut open = vec![(stream.clone().into_iter(), Delimiter::None)];
    while let Some((level, _)) = open.last_mut() {
        match level.next() {
            Some(TokenTree::Group(group)) => {
                feed(opening(group.delimiter()).as_bytes());
                open.push((group.stream().into_iter(), group.delimiter()));
            }
            Some(leaf) => {
                feed(leaf.to_string().as_bytes());
                feed(b" ");
            }
            None => {
                if let Some((_, delimiter)) = open.pop() {
                    feed(closing(delimiter).as_bytes());
                }
            }
        }
    }
    hash
}

fn opening(delimiter: Delimiter) -> &'static str {
    match delimiter {
        Delimiter::Parenthesis => "(",
        Delimiter::Brace => "{",
        Delimiter::Bracket => "[",
        Delimiter::None => "\u{2}",
    }
}

fn closing(delimiter: Delimiter) -> &'static str {
    match delimiter {
        Delimiter::Parenthesis => ")",
        Delimiter::Brace => "}",
        Delimiter::Bracket => "]",
        Delimiter::None => "\u{3}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> TokenStream {
        format!("{}x{}", "(".repeat(depth), ")".repeat(depth))
            .parse()
            .unwrap()
    }

    #[test]
    fn depth_is_measured_to_the_limit() {
        assert!(too_deep(&nested(3), 3, 9).is_none());
        assert!(too_deep(&nested(4), 3, 9).is_some());
        assert!(too_deep(&nested(4), 9, 3).is_some(), "groups of any kind");
        let mixed: TokenStream = "a [b] (c {d}) ([e])".parse().unwrap();
        assert!(too_deep(&mixed, 1, 2).is_none());
        assert!(too_deep(&mixed, 0, 2).is_some());
        assert!(too_deep(&mixed, 1, 1).is_some());
    }

    fn value(text: &str, limit: usize) -> (usize, usize) {
        path_value(text.parse::<TokenStream>().unwrap(), limit)
    }

    #[test]
    fn a_path_value_runs_to_the_comma_outside_angle_brackets() {
        assert_eq!(value("a::b, c", 64), (4, 4));
        assert_eq!(
            value("a::<B, C>, d", 64),
            (8, 8),
            "a comma inside <> is the path's"
        );
        assert_eq!(value("a::<B<C>>, d", 64), (9, 9), ">> closes two");
        assert_eq!(
            value("a::<Fn(u8) -> B>, d", 64),
            (10, 12),
            "-> closes nothing"
        );
        assert_eq!(value("a > b, c", 64), (3, 3), "a stray > opens nothing");
        assert_eq!(value("a::<<<<", 64), (7, 7), "unclosed: to the end");
        assert_eq!(value("", 64), (0, 0));
        // Groups count their delimiters and contents; the count stops past the limit, the
        // walk to the comma does not.
        assert_eq!(value("a((b, c)), d", 64), (2, 8));
        let long = format!("a::<{}T{}>, d", "&".repeat(100), "");
        assert_eq!(value(&long, 10), (106, 11));
    }

    #[test]
    fn length_counts_inside_groups_to_the_limit() {
        let of = |text: &str, limit| len(&text.parse().unwrap(), limit);
        assert_eq!(of("a (b [c]) d", 64), 8);
        assert_eq!(of("", 64), 0);
        assert_eq!(of(&"x ".repeat(1000), 64), 65);
        assert!(of(&format!("{}x{}", "(".repeat(100), ")".repeat(100)), 64) <= 66);
    }

    #[test]
    fn the_hash_tells_tokens_and_their_grouping_apart() {
        let of = |text: &str| hash(0xcbf2_9ce4_8422_2325, &text.parse().unwrap());
        assert_eq!(of("a (b)"), of("a(b)"), "spacing is not a token");
        assert_ne!(of("a (b)"), of("a [b]"));
        assert_ne!(of("(a) b"), of("(a b)"));
        assert_ne!(of("ab"), of("a b"));
    }
}
