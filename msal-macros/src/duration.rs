//! `max_age = "1h30m"`: the duration grammar (one or more `<digits><unit>`, units `s`, `m`,
//! `h`, `d`, each once, largest first) and the range a sign-in age may take. Every refusal
//! says what to write instead.

/// The shortest `max_age`: a sign-in younger than this would already be too old again by the
/// time the browser is back from it.
pub(crate) const MIN_SECONDS: u64 = 60;

/// The longest `max_age`: 365 days.
pub(crate) const MAX_SECONDS: u64 = 365 * DAY;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// The units, largest first: letter and seconds.
const UNITS: [(char, u64); 4] = [('d', DAY), ('h', HOUR), ('m', MINUTE), ('s', 1)];

/// Reads a duration; the error is the whole message, naming the fix.
pub(crate) fn parse(text: &str) -> Result<u64, String> {
    const EXAMPLE: &str = "like \"10m\" or \"1h30m\"";
    if text.trim().is_empty() {
        return Err(format!(
            "empty `max_age`: write how long ago the user may have signed in, {EXAMPLE}"
        ));
    }
    if text.chars().any(char::is_whitespace) {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        return Err(match parse(&compact) {
            Ok(_) => format!("a duration has no spaces: write {compact:?}"),
            Err(_) => format!("a duration has no spaces: write it {EXAMPLE}"),
        });
    }
    if let Some(rest) = text.strip_prefix(['-', '+']) {
        let what = if text.starts_with('-') {
            "cannot be negative"
        } else {
            "has no sign"
        };
        // One sign is read back without it; more are not (a recursion per sign would
        // overflow the compiler's stack on a string of thousands of them).
        let unsigned = if rest.starts_with(['-', '+']) {
            None
        } else {
            parse(rest).ok()
        };
        return Err(match unsigned {
            Some(_) => format!("a duration {what}: write {rest:?}"),
            None => format!("a duration {what}: write it {EXAMPLE}"),
        });
    }
    if text.contains(['.', ',']) {
        return Err(
            "a duration has no fractions: write whole units, like \"1h30m\" for an hour and a half"
                .to_owned(),
        );
    }
    let mut total: Option<u64> = Some(0);
    let mut units: Vec<char> = Vec::new();
    let mut unknown: Option<(String, Option<(char, u64)>)> = None;
    let mut rest = text;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after) = rest.split_at(digits_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        rest = next;
        if digits.is_empty() {
            return Err(format!(
                "expected a number before `{unit}` in {text:?}: a duration is numbers with units, {EXAMPLE}"
            ));
        }
        if unit.is_empty() {
            return Err(format!(
                "{digits:?} has no unit: write \"{text}m\" for minutes or \"{text}s\" for seconds"
            ));
        }
        // Each number scaled to its unit; an unknown unit counts as its closest known one,
        // so that the suggestion can say the whole duration.
        let (letter, scale) = match UNITS
            .iter()
            .find(|(l, _)| unit.len() == 1 && unit.starts_with(*l))
        {
            Some(&(letter, _)) => (letter, 1),
            None => {
                let alias = alias(unit);
                if unknown.is_none() {
                    unknown = Some((unit.to_owned(), alias));
                }
                alias.unwrap_or(('s', 1))
            }
        };
        units.push(letter);
        let seconds = UNITS
            .iter()
            .find(|(l, _)| *l == letter)
            .map_or(1, |(_, s)| *s);
        total = digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .and_then(|n| n.checked_mul(seconds))
            .and_then(|n| total?.checked_add(n));
    }
    if let Some((unit, alias)) = unknown {
        return Err(match (alias.is_some(), total) {
            (true, Some(total)) => format!(
                "unknown unit `{unit}` in {text:?}: write {:?} (units: s, m, h, d)",
                format(total)
            ),
            _ => format!(
                "unknown unit `{unit}` in {text:?}: use s (seconds), m (minutes), h (hours) or d (days), {EXAMPLE}"
            ),
        });
    }
    let Some(total) = total else {
        return Err(format!(
            "{text:?} is far too long: `max_age` is at most 365 days (\"365d\")"
        ));
    };
    let rank = |l: &char| UNITS.iter().position(|(u, _)| u == l);
    if units.windows(2).any(|w| rank(&w[0]) >= rank(&w[1])) {
        return Err(if total == 0 {
            format!("write each unit once, largest first, {EXAMPLE}")
        } else {
            format!("write each unit once, largest first: {:?}", format(total))
        });
    }
    Ok(total)
}

/// A unit written another way: its letter and how many of it one stands for.
fn alias(unit: &str) -> Option<(char, u64)> {
    Some(match unit {
        "S" | "sec" | "secs" | "second" | "seconds" => ('s', 1),
        "M" | "min" | "mins" | "minute" | "minutes" => ('m', 1),
        "H" | "hr" | "hrs" | "hour" | "hours" => ('h', 1),
        "D" | "day" | "days" => ('d', 1),
        "w" | "W" | "wk" | "wks" | "week" | "weeks" => ('d', 7),
        _ => return None,
    })
}

/// Whether a parsed duration is one `max_age` may take; the error names the fix.
pub(crate) fn check_range(seconds: u64, text: &str) -> Result<(), String> {
    if seconds == 0 {
        Err(
            "a `max_age` of zero: no sign-in is ever that recent, so nobody could pass; use at least \"1m\""
                .to_owned(),
        )
    } else if seconds < MIN_SECONDS {
        Err(format!(
            "{text:?} is under a minute: signing in takes longer, so the fresh sign-in would already be too old when the browser is back from it and the user would loop through sign-in; use at least \"1m\""
        ))
    } else if seconds > MAX_SECONDS {
        Err(format!(
            "{text:?} is more than 365 days: use at most \"365d\", or leave `max_age` out"
        ))
    } else {
        Ok(())
    }
}

/// A number of seconds as the shortest duration text: `5400` is `"1h30m"`, `0` is `"0s"`.
pub(crate) fn format(seconds: u64) -> String {
    let mut out = String::new();
    let mut left = seconds;
    for (letter, size) in UNITS {
        if left >= size {
            out.push_str(&format!("{}{letter}", left / size));
            left %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match parse(text) {
            Ok(seconds) => panic!("{text:?} parsed as {seconds}"),
            Err(message) => message,
        }
    }

    #[test]
    fn durations_in_every_unit_and_combination() {
        assert_eq!(parse("30s"), Ok(30));
        assert_eq!(parse("5m"), Ok(300));
        assert_eq!(parse("1h"), Ok(3600));
        assert_eq!(parse("2d"), Ok(172_800));
        assert_eq!(parse("1h30m"), Ok(5400));
        assert_eq!(parse("1d2h3m4s"), Ok(93_784));
        assert_eq!(parse("010m"), Ok(600));
        assert_eq!(parse("1h0m"), Ok(3600));
        assert_eq!(parse("0m"), Ok(0));
    }

    #[test]
    fn empty_and_blank() {
        assert!(error("").starts_with("empty `max_age`"));
        assert!(error("  ").starts_with("empty `max_age`"));
    }

    #[test]
    fn spaces_suggest_the_compact_form() {
        assert_eq!(error("1h 30m"), "a duration has no spaces: write \"1h30m\"");
        assert_eq!(error(" 10m"), "a duration has no spaces: write \"10m\"");
        assert!(error("1 x").starts_with("a duration has no spaces: write it like"));
    }

    #[test]
    fn signs() {
        assert_eq!(
            error("-10m"),
            "a duration cannot be negative: write \"10m\""
        );
        assert_eq!(error("+10m"), "a duration has no sign: write \"10m\"");
        assert!(error("-x").starts_with("a duration cannot be negative: write it like"));
        assert!(error("--10m").starts_with("a duration cannot be negative: write it like"));
    }

    /// Found by review: each leading sign recursed once, so a string of 100,000 of them
    /// overflowed the compiler's stack. Read here on a 256 KiB stack.
    #[test]
    fn thousands_of_signs_are_refused_without_recursing() {
        let message = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| error(&format!("{}1m", "-+".repeat(50_000))))
            .unwrap()
            .join()
            .unwrap();
        assert!(message.starts_with("a duration cannot be negative: write it like"));
    }

    #[test]
    fn fractions() {
        assert!(error("1.5h").starts_with("a duration has no fractions"));
        assert!(error("1,5h").starts_with("a duration has no fractions"));
    }

    #[test]
    fn a_number_without_a_unit() {
        assert_eq!(
            error("10"),
            "\"10\" has no unit: write \"10m\" for minutes or \"10s\" for seconds"
        );
        assert_eq!(
            error("1h30"),
            "\"30\" has no unit: write \"1h30m\" for minutes or \"1h30s\" for seconds"
        );
    }

    #[test]
    fn a_unit_without_a_number() {
        assert!(error("m").starts_with("expected a number before `m` in \"m\""));
        assert!(error("h10m").starts_with("expected a number before `h`"));
        assert!(error("1hm").contains("unknown unit `hm`"));
    }

    #[test]
    fn unknown_units_suggest_the_known_spelling() {
        assert_eq!(
            error("10min"),
            "unknown unit `min` in \"10min\": write \"10m\" (units: s, m, h, d)"
        );
        assert_eq!(
            error("1hr30mins"),
            "unknown unit `hr` in \"1hr30mins\": write \"1h30m\" (units: s, m, h, d)"
        );
        assert_eq!(
            error("2w"),
            "unknown unit `w` in \"2w\": write \"14d\" (units: s, m, h, d)"
        );
        assert_eq!(
            error("10M"),
            "unknown unit `M` in \"10M\": write \"10m\" (units: s, m, h, d)"
        );
        assert_eq!(
            error("90seconds"),
            "unknown unit `seconds` in \"90seconds\": write \"1m30s\" (units: s, m, h, d)"
        );
        assert!(error("5x").starts_with(
            "unknown unit `x` in \"5x\": use s (seconds), m (minutes), h (hours) or d (days)"
        ));
        assert!(error("1ms").starts_with("unknown unit `ms`"));
        // An alias whose total overflows still names the unit, without a suggestion.
        assert!(error("99999999999999999999weeks").starts_with("unknown unit `weeks` in"));
    }

    #[test]
    fn overflow() {
        assert!(error("99999999999999999999s").contains("is far too long"));
        assert!(error("18446744073709551615d").contains("is far too long"));
        assert!(error("18446744073709551615s1s").contains("is far too long"));
    }

    #[test]
    fn each_unit_once_largest_first() {
        assert_eq!(
            error("30m1h"),
            "write each unit once, largest first: \"1h30m\""
        );
        assert_eq!(
            error("5m5m"),
            "write each unit once, largest first: \"10m\""
        );
        assert!(error("0m0m").starts_with("write each unit once, largest first, like"));
    }

    #[test]
    fn ranges() {
        assert!(check_range(0, "0m").is_err_and(|m| m.contains("zero")));
        assert!(check_range(59, "59s").is_err_and(|m| m.contains("loop through sign-in")));
        assert_eq!(check_range(60, "60s"), Ok(()));
        assert_eq!(check_range(MAX_SECONDS, "365d"), Ok(()));
        assert!(
            check_range(MAX_SECONDS + 1, "365d1s").is_err_and(|m| m.contains("at most \"365d\""))
        );
    }

    #[test]
    fn format_is_the_shortest_text_and_reads_back() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(45), "45s");
        assert_eq!(format(600), "10m");
        assert_eq!(format(5400), "1h30m");
        assert_eq!(format(93_784), "1d2h3m4s");
        assert_eq!(format(MAX_SECONDS), "365d");
        for seconds in [1, 59, 60, 61, 3599, 3600, 86_399, 86_400, MAX_SECONDS] {
            assert_eq!(parse(&format(seconds)), Ok(seconds));
        }
    }
}
