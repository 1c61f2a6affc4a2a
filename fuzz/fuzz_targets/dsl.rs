//! The `#[msal_protected]` / `msal_rule!` DSL through the macros' own entry points,
//! `expand::msal_protected(attr, item, salt)` and `expand::msal_rule(tokens, salt)`.
//!
//! msal-macros is a proc-macro crate, whose functions no other crate can call, so its
//! sources are compiled into this target (`#[path]` below). Input: a control byte (bit 0:
//! `msal_rule!` instead of the attribute; bits 1–3: which handler the attribute sits on),
//! then UTF-8 text lexed by proc-macro2 (what does not lex is skipped: rustc would not get
//! that far). Properties: no panic; the same input expands the same way twice; an accepted
//! attribute expands to one function, and only on an `async fn` without `self`; a refused
//! one to compile errors and the handler untouched; `msal_rule!` always to an expression.
//!
//! Depth: the macros refuse `any`/`all`/`not` past 16 levels (`expand::too_deep`) before
//! anything recursive reads the tokens, and proc-macro2 (1.0.107 here) drops token trees
//! without recursion, so deep input needs no `mem::forget` and no length cap: inputs are as
//! long as libFuzzer's `-max_len` (4096 bytes unless told otherwise). What does recurse
//! (syn's parsers) runs on a thread of [`STACK`] bytes: rustc runs a proc macro on its own
//! 8 MiB stack, and a proc macro built without optimisation (cargo's dev profile) takes
//! several times the stack per level that this optimised build does, so 8 MiB here would
//! hide overflows a developer's build meets.
#![no_main]

use std::str::FromStr;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock, PoisonError};

use proc_macro2::{TokenStream, TokenTree};

#[allow(dead_code)]
#[path = "../../msal-macros/src/duration.rs"]
mod duration;
#[allow(dead_code)]
#[path = "../../msal-macros/src/errors.rs"]
mod errors;
#[allow(dead_code)]
#[path = "../../msal-macros/src/expand.rs"]
mod expand;
#[allow(dead_code)]
#[path = "../../msal-macros/src/parse.rs"]
mod parse;
#[allow(dead_code)]
#[path = "../../msal-macros/src/tokens.rs"]
mod tokens;
#[allow(dead_code)]
#[path = "../../msal-macros/src/validate.rs"]
mod validate;

/// What msal-macros' own modules name as `crate::Errors`.
pub(crate) use errors::Errors;

/// The stack the expansion runs on: an eighth of rustc's, for the frames of an unoptimised
/// proc macro (see the module documentation).
const STACK: usize = 1 << 20;

/// Where the macro is called, as rustc's span would say.
const SALT: &str = "src/fuzz.rs:1:1";

/// The handlers an attribute may sit on; only the first two can be protected.
const ITEMS: [&str; 6] = [
    "async fn handler() -> &'static str { \"ok\" }",
    "pub async fn me(user: User, Path(id): Path<u64>) -> String { user.name.unwrap_or_default() }",
    "fn not_async() {}",
    "async fn method(&self) {}",
    "struct NotAFunction;",
    "async fn generic<T: Send>(t: T) where T: Sync {}",
];

/// Whether the expansion holds a `compile_error!`: the input was refused.
fn refused(stream: &TokenStream) -> bool {
    let mut open = vec![stream.clone().into_iter()];
    let mut last_was_compile_error = false;
    while let Some(level) = open.last_mut() {
        match level.next() {
            Some(TokenTree::Group(group)) => {
                last_was_compile_error = false;
                open.push(group.stream().into_iter());
            }
            Some(TokenTree::Ident(ident)) => last_was_compile_error = ident == "compile_error",
            Some(TokenTree::Punct(punct)) => {
                if last_was_compile_error && punct.as_char() == '!' {
                    return true;
                }
                last_was_compile_error = false;
            }
            Some(TokenTree::Literal(_)) => last_was_compile_error = false,
            None => {
                open.pop();
            }
        }
    }
    false
}

/// The thread expansions run on, and the channels to it: inputs in, "done" back.
struct Worker {
    inputs: SyncSender<Vec<u8>>,
    done: Receiver<()>,
}

fn worker() -> &'static Mutex<Worker> {
    static WORKER: OnceLock<Mutex<Worker>> = OnceLock::new();
    WORKER.get_or_init(|| {
        let (inputs, input) = sync_channel::<Vec<u8>>(0);
        let (finished, done) = sync_channel(0);
        let spawned = std::thread::Builder::new()
            .name("expansion".into())
            .stack_size(STACK)
            .spawn(move || {
                for data in input {
                    expand_once(&data);
                    if finished.send(()).is_err() {
                        return;
                    }
                }
            });
        // The harness's own failure, not a finding.
        if let Err(e) = spawned {
            panic!("fuzz harness setup: the expansion's thread: {e}");
        }
        Mutex::new(Worker { inputs, done })
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // A panic on the worker aborts the process (libfuzzer-sys's panic hook): a send or a
    // receive that fails means the harness broke.
    let worker = worker().lock().unwrap_or_else(PoisonError::into_inner);
    let handed = worker.inputs.send(data.to_vec());
    let answered = worker.done.recv();
    if handed.is_err() || answered.is_err() {
        panic!("the expansion's thread is gone");
    }
});

fn expand_once(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(attr) = TokenStream::from_str(text) else {
        return;
    };
    if control & 1 == 1 {
        let output = expand::msal_rule(attr.clone(), SALT);
        let again = expand::msal_rule(attr, SALT);
        assert_eq!(output.to_string(), again.to_string(), "not deterministic");
        if let Err(e) = syn::parse2::<syn::Expr>(output.clone()) {
            panic!("msal_rule! expanded to no expression ({e}): {output}");
        }
        return;
    }
    let index = usize::from(control >> 1) % ITEMS.len();
    // The harness's own handlers always lex.
    let item = TokenStream::from_str(ITEMS[index]).unwrap_or_default();
    let output = expand::msal_protected(attr.clone(), item.clone(), SALT);
    let again = expand::msal_protected(attr, item.clone(), SALT);
    assert_eq!(output.to_string(), again.to_string(), "not deterministic");
    if refused(&output) {
        let file = match syn::parse2::<syn::File>(output.clone()) {
            Ok(file) => file,
            Err(e) => panic!("a refusal that is not items ({e}): {output}"),
        };
        // The handler comes back untouched after the errors.
        let last = file.items.last().map(|i| quote::quote!(#i).to_string());
        let original = syn::parse2::<syn::Item>(item).map(|i| quote::quote!(#i).to_string());
        assert_eq!(last, original.ok(), "a refusal changed the handler");
    } else {
        assert!(
            index < 2 || index == 5,
            "protected a handler that is not an async fn: {}",
            ITEMS[index]
        );
        if let Err(e) = syn::parse2::<syn::ItemFn>(output.clone()) {
            panic!("an accepted attribute expanded to no function ({e}): {output}");
        }
    }
}
