//! `.env` text and environment values through the configuration loader and validator: see `msal_runtime::__fuzz::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| msal_runtime::__fuzz::config(data));
