//! The `Authorization` header (after a control byte) through bearer parsing and access-token validation against a fixed key set: see `msal_runtime::__fuzz::bearer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| msal_runtime::__fuzz::bearer(data));
