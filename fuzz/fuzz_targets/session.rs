//! Session records, token vaults and pending sign-ins as the store holds them, decoded with fixed keys: see `msal_runtime::__fuzz::session`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| msal_runtime::__fuzz::session(data));
