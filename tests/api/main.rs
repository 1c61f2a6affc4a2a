//! Web API protection: bearer tokens against TestIdp over real HTTP. The OpenID relying-party
//! conformance cases that apply, Entra's rules, and the JWKS cache under load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod challenges;
mod common;
mod conformance;
mod entra;
mod example;
mod keys;
mod limits;
