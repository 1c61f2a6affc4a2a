//! The sign-in routes' query strings and form bodies through the real router: see `msal_runtime::__fuzz::callback`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| msal_runtime::__fuzz::callback(data));
