//! TestIdp's own suite: every endpoint over real loopback HTTP, every issued token verified
//! independently, every refusal asserted with its exact error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authorize;
mod code_flow;
mod controls;
mod discovery;
mod graph;
mod logout;
mod refresh;
mod service_tokens;
mod token;
