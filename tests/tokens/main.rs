//! Tokens for downstream APIs over real HTTP, counting TestIdp's token-endpoint requests:
//! the session cache, single-flight refresh (in one process and across instances on one
//! Redis), revocation, two resources, Redis persistence, sealed sessions, app tokens,
//! on-behalf-of, and the Graph helper's claims challenge.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod cert;
mod challenges;
mod instances;
mod service;
mod user;
mod v1_user;
