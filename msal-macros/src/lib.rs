//! Procedural macros for [msal-axum](https://docs.rs/msal-runtime).
//!
//! Users depend on `msal-runtime`, which re-exports what this crate defines; the
//! `#[msal_protected]` attribute is built here, with no runtime logic of its own.
