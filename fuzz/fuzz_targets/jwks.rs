//! A JWKS document through key parsing, selection by `kid` and signature checks: see `msal_runtime::__fuzz::jwks`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| msal_runtime::__fuzz::jwks(data));
