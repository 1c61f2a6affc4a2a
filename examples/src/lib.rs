//! The examples' routes, as a library so the test suites can drive exactly what
//! `cargo run --example …` serves.
#![deny(missing_docs)]

pub mod api;
pub mod demo;
