//! What the soak recorded and the report it prints: requests and their statuses, 5xx inside
//! and outside the injected faults, p99 per route per time slice, the demo's resident
//! memory, the sessions checked across the Redis restart, and the must-holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One HTTP request the soak sent: when (seconds since the soak started), where, and how it
/// was answered (status 0: no answer, a transport error or the client's timeout).
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub start: f32,
    pub end: f32,
    pub route: &'static str,
    pub status: u16,
    /// A 4xx the step expected (a non-admin's 403 at `/admin`, a forged token's 401).
    pub expected: bool,
}

impl Sample {
    fn micros(&self) -> u64 {
        ((self.end - self.start).max(0.0) as f64 * 1e6) as u64
    }

    /// A failure: no answer, a 5xx, or a 4xx the step did not expect.
    fn failed(&self) -> bool {
        self.status == 0 || self.status >= 500 || (self.status >= 400 && !self.expected)
    }
}

/// A step of a simulated user that did not go as it should (a page that should have shown
/// the user did not, a session that vanished, a sign-in that did not complete).
#[derive(Clone, Debug)]
pub struct Outcome {
    pub start: f32,
    pub end: f32,
    pub who: String,
    pub what: String,
}

/// An injected fault: from `start` to `end`, plus `grace` seconds after it during which its
/// consequences may still be seen (a cooldown, a reconnect).
#[derive(Clone, Debug)]
pub struct Window {
    pub name: &'static str,
    pub start: f32,
    pub end: f32,
    pub grace: f32,
}

impl Window {
    /// Whether something that ran from `start` to `end` overlapped the fault or its grace.
    fn covers(&self, start: f32, end: f32) -> bool {
        start <= self.end + self.grace && end >= self.start
    }
}

/// The fault whose window (with its grace) overlapped `start..end`, if any.
fn fault_of(windows: &[Window], start: f32, end: f32) -> Option<&'static str> {
    windows
        .iter()
        .find(|w| w.covers(start, end))
        .map(|w| w.name)
}

/// The sessions checked across the Redis restart.
#[derive(Clone, Debug, Default)]
pub struct Restart {
    /// Browsers that never sign out, set aside for this check.
    pub sentinels: usize,
    /// Those signed in (`/me` answered their own user) just before Redis stopped.
    pub checked: usize,
    /// Of those, the ones not signed in as the same session afterwards, and why.
    pub lost: Vec<String>,
    /// From the stop to the restarted server answering `PING`.
    pub down_seconds: f32,
    /// Keys Redis held just before the stop and just after the restart.
    pub keys_before: Option<u64>,
    pub keys_after: Option<u64>,
    /// How the server was stopped.
    pub how: &'static str,
    /// Whether it happened at all (a very short soak ends first).
    pub done: bool,
}

/// Everything one soak run recorded.
pub struct Run {
    pub seconds: f32,
    pub slices: usize,
    pub browsers: usize,
    pub bearers: usize,
    pub samples: Vec<Sample>,
    pub outcomes: Vec<Outcome>,
    pub windows: Vec<Window>,
    /// `(seconds, bytes)` of the demo's resident memory, every few seconds.
    pub memory: Vec<(f32, u64)>,
    pub restart: Restart,
    /// Requests TestIdp saw per endpoint (the demo's calls included).
    pub idp_counts: Vec<(&'static str, u64)>,
    pub demo_alive: bool,
    /// Lines at WARN or ERROR in the demo's log, most frequent first (message, count).
    pub demo_log: Vec<(String, usize)>,
    pub machine: String,
    pub command: String,
}

const MIB: f64 = 1024.0 * 1024.0;

/// The `p`-quantile (0..=1) of sorted values, nearest rank.
fn quantile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(micros: u64) -> String {
    let ms = micros as f64 / 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

/// The resident memory nearest to `at` seconds.
fn memory_at(memory: &[(f32, u64)], at: f32) -> u64 {
    memory
        .iter()
        .min_by(|a, b| (a.0 - at).abs().total_cmp(&(b.0 - at).abs()))
        .map_or(0, |m| m.1)
}

/// The memory criterion: from the middle of the run to its end, resident memory grows by no
/// more than 10 % of the middle's or 8 MiB, whichever is larger. The first slice fills the
/// demo's bounded caches (decoded sessions, validated tokens, keys); a leak keeps growing
/// through the second half as through the first.
pub fn memory_flat(middle: u64, end: u64) -> (bool, u64) {
    let allowed = (middle / 10).max(8 * 1024 * 1024);
    (end <= middle + allowed, allowed)
}

/// The report as plain text, as a markdown block, and the must-holds (`(what, held)`).
/// A status as the report names it: 0 is a request that got no answer.
fn status_name(status: u16) -> String {
    if status == 0 {
        "no answer".to_owned()
    } else {
        status.to_string()
    }
}

/// `401×12  503×3 (expected)`: each error status with its count, `times` between them,
/// `sep` between entries, and whether the step expected it.
fn errors_by_status(errors: &BTreeMap<(u16, bool), usize>, times: &str, sep: &str) -> String {
    if errors.is_empty() {
        return "none".to_owned();
    }
    errors
        .iter()
        .map(|((status, failed), n)| {
            let expected = if *failed { "" } else { " (expected)" };
            format!("{}{times}{n}{expected}", status_name(*status))
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// `5099 (token endpoint), 328 (Redis)`: requests per fault window, or `0`.
fn per_fault(counts: &BTreeMap<&'static str, usize>) -> String {
    if counts.is_empty() {
        return "0".to_owned();
    }
    counts
        .iter()
        .map(|(fault, n)| format!("{n} ({fault})"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn report(run: &Run) -> (String, String, Vec<(String, bool)>) {
    let mut text = String::new();
    let mut md = String::new();
    let slice = run.seconds / run.slices as f32;
    let slice_of = |t: f32| ((t / slice) as usize).min(run.slices - 1);

    // Totals and statuses.
    let total = run.samples.len();
    let demo_requests = run
        .samples
        .iter()
        .filter(|s| !s.route.starts_with("idp "))
        .count();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut errors: BTreeMap<(u16, bool), usize> = BTreeMap::new();
    let mut fivexx_in: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut fivexx_out: Vec<&Sample> = Vec::new();
    for s in &run.samples {
        *statuses.entry(s.status).or_default() += 1;
        if s.status == 0 || s.status >= 400 {
            *errors.entry((s.status, s.failed())).or_default() += 1;
        }
        if s.status == 0 || s.status >= 500 {
            match fault_of(&run.windows, s.start, s.end) {
                Some(fault) => *fivexx_in.entry(fault).or_default() += 1,
                None => fivexx_out.push(s),
            }
        }
    }
    let _ = writeln!(
        text,
        "\n== soak: {} s, {} browsers, {} bearer clients ==",
        run.seconds, run.browsers, run.bearers
    );
    let _ = writeln!(
        text,
        "requests: {total} ({demo_requests} to the demo, {} to TestIdp's pages), {:.0}/s",
        total - demo_requests,
        total as f64 / run.seconds as f64
    );
    let _ = writeln!(
        text,
        "statuses: {}",
        statuses
            .iter()
            .map(|(s, n)| format!("{}×{n}", status_name(*s)))
            .collect::<Vec<_>>()
            .join("  ")
    );
    let _ = writeln!(
        text,
        "errors by status (a 4xx the step expected is not a failure): {}",
        errors_by_status(&errors, "×", "  ")
    );
    let _ = writeln!(
        text,
        "5xx or no answer inside fault windows: {}; outside: {}",
        per_fault(&fivexx_in),
        fivexx_out.len()
    );
    for s in fivexx_out.iter().take(10) {
        let _ = writeln!(
            text,
            "  outside a fault: {} at {} ({:.1}–{:.1} s)",
            status_name(s.status),
            s.route,
            s.start,
            s.end
        );
    }

    // The fault windows.
    let _ = writeln!(text, "\nfault windows (grace after each):");
    for w in &run.windows {
        let inside: Vec<&Sample> = run
            .samples
            .iter()
            .filter(|s| w.covers(s.start, s.end))
            .collect();
        let five = inside
            .iter()
            .filter(|s| s.status == 0 || s.status >= 500)
            .count();
        let steps = run
            .outcomes
            .iter()
            .filter(|o| w.covers(o.start, o.end))
            .count();
        let _ = writeln!(
            text,
            "  {:<28} {:>6.1}–{:>6.1} s (+{:.0} s): {} requests, {five} 5xx/no answer, {steps} steps gone wrong",
            w.name,
            w.start,
            w.end,
            w.grace,
            inside.len()
        );
    }

    // Steps that went wrong.
    let (outcomes_in, outcomes_out): (Vec<&Outcome>, Vec<&Outcome>) = run
        .outcomes
        .iter()
        .partition(|o| fault_of(&run.windows, o.start, o.end).is_some());
    let _ = writeln!(
        text,
        "\nsteps gone wrong: {} inside fault windows, {} outside",
        outcomes_in.len(),
        outcomes_out.len()
    );
    let mut kinds: BTreeMap<(bool, &str), usize> = BTreeMap::new();
    for o in &run.outcomes {
        let inside = fault_of(&run.windows, o.start, o.end).is_some();
        *kinds.entry((inside, o.what.as_str())).or_default() += 1;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    for ((inside, what), n) in kinds.iter().take(25) {
        let _ = writeln!(
            text,
            "  {n:>6} × {} {what}",
            if *inside { "[fault]  " } else { "[OUTSIDE]" }
        );
    }
    for o in outcomes_out.iter().take(10) {
        let _ = writeln!(
            text,
            "  outside a fault at {:.1}–{:.1} s, {}: {}",
            o.start, o.end, o.who, o.what
        );
    }

    // Routes: counts and latency over the run.
    let mut by_route: BTreeMap<&'static str, Vec<&Sample>> = BTreeMap::new();
    for s in &run.samples {
        by_route.entry(s.route).or_default().push(s);
    }
    let _ = writeln!(
        text,
        "\n{:<22} {:>8} {:>9} {:>9} {:>9}  statuses",
        "route", "requests", "p50 ms", "p99 ms", "max ms"
    );
    for (route, samples) in &by_route {
        let mut micros: Vec<u64> = samples.iter().map(|s| s.micros()).collect();
        micros.sort_unstable();
        let mut st: BTreeMap<u16, usize> = BTreeMap::new();
        for s in samples {
            *st.entry(s.status).or_default() += 1;
        }
        let _ = writeln!(
            text,
            "{:<22} {:>8} {:>9} {:>9} {:>9}  {}",
            route,
            samples.len(),
            ms(quantile(&micros, 0.5)),
            ms(quantile(&micros, 0.99)),
            ms(*micros.last().unwrap_or(&0)),
            st.iter()
                .map(|(s, n)| format!("{}×{n}", status_name(*s)))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }

    // p99 per route per slice.
    let slice_names: Vec<String> = (0..run.slices)
        .map(|i| format!("{:.0}–{:.0}s", i as f32 * slice, (i + 1) as f32 * slice))
        .collect();
    let marks: Vec<String> = (0..run.slices)
        .map(|i| {
            let (a, b) = (i as f32 * slice, (i + 1) as f32 * slice);
            run.windows
                .iter()
                .filter(|w| w.start < b && w.end + w.grace > a)
                .map(|w| w.name.split_whitespace().next().unwrap_or(w.name))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    let p99_cells = |samples: &[&Sample]| -> Vec<String> {
        let mut per: Vec<Vec<u64>> = vec![Vec::new(); run.slices];
        for s in samples {
            per[slice_of(s.start)].push(s.micros());
        }
        per.into_iter()
            .map(|mut v| {
                v.sort_unstable();
                if v.is_empty() {
                    "–".to_owned()
                } else {
                    ms(quantile(&v, 0.99))
                }
            })
            .collect()
    };
    // Resident memory at the end of each slice.
    let resident_cells: Vec<String> = (0..run.slices)
        .map(|i| {
            let at = (i + 1) as f32 * slice;
            format!("{:.1}", memory_at(&run.memory, at) as f64 / MIB)
        })
        .collect();
    let _ = writeln!(text, "\np99 latency (ms) per route per time slice:");
    let _ = write!(text, "{:<22}", "route");
    for (name, mark) in slice_names.iter().zip(&marks) {
        let label = if mark.is_empty() {
            name.clone()
        } else {
            format!("{name}*")
        };
        let _ = write!(text, " {label:>11}");
    }
    let _ = writeln!(text);
    for (route, samples) in &by_route {
        let _ = write!(text, "{route:<22}");
        for cell in p99_cells(samples) {
            let _ = write!(text, " {cell:>11}");
        }
        let _ = writeln!(text);
    }
    let _ = write!(text, "{:<22}", "requests/s");
    let mut per_slice = vec![0usize; run.slices];
    for s in &run.samples {
        per_slice[slice_of(s.start)] += 1;
    }
    for n in &per_slice {
        let _ = write!(text, " {:>11.0}", *n as f32 / slice);
    }
    let _ = writeln!(text);
    let _ = write!(text, "{:<22}", "demo resident MiB");
    for cell in &resident_cells {
        let _ = write!(text, " {cell:>11}");
    }
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "(* a fault window overlaps the slice: {})",
        marks
            .iter()
            .zip(&slice_names)
            .filter(|(m, _)| !m.is_empty())
            .map(|(m, n)| format!("{n} {m}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Memory.
    let start_at = slice;
    let start = memory_at(&run.memory, start_at);
    let middle = memory_at(&run.memory, run.seconds / 2.0);
    let end = run.memory.last().map_or(0, |m| m.1);
    let first = run.memory.first().map_or(0, |m| m.1);
    let peak = run.memory.iter().map(|m| m.1).max().unwrap_or(0);
    let (flat, allowed) = memory_flat(middle, end);
    let _ = writeln!(
        text,
        "\ndemo resident memory: {:.1} MiB before traffic; {:.1} MiB at {:.0} s (after warm-up), \
         {:.1} MiB at {:.0} s (middle), {:.1} MiB at the end; peak {:.1} MiB",
        first as f64 / MIB,
        start as f64 / MIB,
        start_at,
        middle as f64 / MIB,
        run.seconds / 2.0,
        end as f64 / MIB,
        peak as f64 / MIB
    );
    let _ = writeln!(
        text,
        "  flat: middle→end {:+.1} MiB, allowed {:.1} MiB (10 % of the middle or 8 MiB, whichever is larger)",
        (end as f64 - middle as f64) / MIB,
        allowed as f64 / MIB
    );

    // The restart.
    let r = &run.restart;
    if r.done {
        let _ = writeln!(
            text,
            "\nredis restart ({}, {:.1} s down): {} of {} never-signing-out browsers signed in before; \
             {} lost after; keys {} before, {} after",
            r.how,
            r.down_seconds,
            r.checked,
            r.sentinels,
            r.lost.len(),
            r.keys_before.map_or("?".into(), |k| k.to_string()),
            r.keys_after.map_or("?".into(), |k| k.to_string()),
        );
        for why in r.lost.iter().take(10) {
            let _ = writeln!(text, "  lost: {why}");
        }
    } else {
        let _ = writeln!(
            text,
            "\nredis restart: not reached (the soak was too short)"
        );
    }

    let _ = writeln!(
        text,
        "\nTestIdp served: {}",
        run.idp_counts
            .iter()
            .map(|(e, n)| format!("{e} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let warn_total: usize = run.demo_log.iter().map(|(_, n)| n).sum();
    let _ = writeln!(text, "demo log: {warn_total} lines at WARN or ERROR");
    for (line, n) in run.demo_log.iter().take(12) {
        let _ = writeln!(text, "  {n:>6} × {line}");
    }

    // Must-holds.
    let mut holds = vec![
        (
            format!(
                "no 5xx (nor unanswered request) outside the fault windows: {}",
                fivexx_out.len()
            ),
            fivexx_out.is_empty(),
        ),
        (
            format!(
                "no step gone wrong outside the fault windows: {}",
                outcomes_out.len()
            ),
            outcomes_out.is_empty(),
        ),
        (
            format!(
                "resident memory flat from the middle to the end: {:.1} → {:.1} MiB (≤ +{:.1} MiB)",
                middle as f64 / MIB,
                end as f64 / MIB,
                allowed as f64 / MIB
            ),
            flat,
        ),
        (
            format!("the demo ran to the end: {}", run.demo_alive),
            run.demo_alive,
        ),
    ];
    if r.done {
        holds.push((
            format!(
                "no session lost across the Redis restart: {} of {} lost",
                r.lost.len(),
                r.checked
            ),
            r.lost.is_empty() && r.checked > 0,
        ));
    }
    let _ = writeln!(text, "\nmust hold:");
    for (what, held) in &holds {
        let _ = writeln!(text, "  [{}] {what}", if *held { "PASS" } else { "FAIL" });
    }

    // The markdown block.
    let _ = writeln!(md, "`{}` — {}", run.command, run.machine);
    let _ = writeln!(md);
    let _ = writeln!(md, "| figure | value |");
    let _ = writeln!(md, "| --- | --- |");
    let _ = writeln!(
        md,
        "| traffic | {} s; {} browsers, {} bearer clients |",
        run.seconds, run.browsers, run.bearers
    );
    let _ = writeln!(
        md,
        "| requests | {total} ({demo_requests} to the demo, {} to TestIdp's pages), {:.0}/s |",
        total - demo_requests,
        total as f64 / run.seconds as f64
    );
    let _ = writeln!(
        md,
        "| errors by status | {} |",
        errors_by_status(&errors, " × ", ", ")
    );
    let _ = writeln!(
        md,
        "| 5xx inside fault windows | {} |",
        per_fault(&fivexx_in)
    );
    let _ = writeln!(
        md,
        "| **5xx outside fault windows** | **{}** |",
        fivexx_out.len()
    );
    let _ = writeln!(
        md,
        "| steps gone wrong | {} inside fault windows, **{} outside** |",
        outcomes_in.len(),
        outcomes_out.len()
    );
    let _ = writeln!(
        md,
        "| demo resident memory | {:.1} MiB after warm-up ({:.0} s), {:.1} MiB at the middle, {:.1} MiB at the end (peak {:.1}); flat: middle→end {:+.1} MiB ≤ {:.1} MiB |",
        start as f64 / MIB,
        start_at,
        middle as f64 / MIB,
        end as f64 / MIB,
        peak as f64 / MIB,
        (end as f64 - middle as f64) / MIB,
        allowed as f64 / MIB
    );
    if r.done {
        let _ = writeln!(
            md,
            "| sessions lost across the Redis restart | **{}** of {} signed in before ({}, {:.1} s down) |",
            r.lost.len(),
            r.checked,
            r.how,
            r.down_seconds
        );
    }
    let _ = writeln!(
        md,
        "| TestIdp served | {} |",
        run.idp_counts
            .iter()
            .map(|(e, n)| format!("{e} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(md);
    let _ = write!(md, "| p99 ms |");
    for (name, mark) in slice_names.iter().zip(&marks) {
        if mark.is_empty() {
            let _ = write!(md, " {name} |");
        } else {
            let _ = write!(md, " {name} ({mark}) |");
        }
    }
    let _ = writeln!(md, " requests |");
    let _ = writeln!(md, "|{}", " --- |".repeat(run.slices + 2));
    for (route, samples) in &by_route {
        let _ = write!(md, "| `{route}` |");
        for cell in p99_cells(samples) {
            let _ = write!(md, " {cell} |");
        }
        let _ = writeln!(md, " {} |", samples.len());
    }
    let _ = write!(md, "| demo resident MiB at the slice's end |");
    for cell in &resident_cells {
        let _ = write!(md, " {cell} |");
    }
    let _ = writeln!(md, " |");
    let _ = writeln!(md);
    for (what, held) in &holds {
        let _ = writeln!(md, "- {} {what}", if *held { "PASS" } else { "FAIL" });
    }
    (text, md, holds)
}
