//! Walks over token streams that never recurse: how deep groups nest, and a hash of the
//! tokens, for input of any depth (a recursive walk would overflow the compiler's stack on
//! thousands of nested parentheses before the DSL's own limit could answer).

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};

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

    #[test]
    fn the_hash_tells_tokens_and_their_grouping_apart() {
        let of = |text: &str| hash(0xcbf2_9ce4_8422_2325, &text.parse().unwrap());
        assert_eq!(of("a (b)"), of("a(b)"), "spacing is not a token");
        assert_ne!(of("a (b)"), of("a [b]"));
        assert_ne!(of("(a) b"), of("(a b)"));
        assert_ne!(of("ab"), of("a b"));
    }
}
