//! TestIdp's own suite: every endpoint over real loopback HTTP, every issued token verified
//! independently, every refusal asserted with its exact error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authorize;
mod cae;
mod code_flow;
mod common;
mod conditional_access;
mod consent;
mod controls;
mod discovery;
mod graph;
mod logout;
mod refresh;
mod service_tokens;
mod shapes;
mod step_up;
mod token;
