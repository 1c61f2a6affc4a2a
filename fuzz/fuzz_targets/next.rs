//! The `next` sanitiser: its output is always a same-origin path. See `msal_runtime::__fuzz::next`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| msal_runtime::__fuzz::next(data));
