//! Web-app sign-in end to end: the app under test and TestIdp over real loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bounded;
mod concurrency;
mod features;
mod flow;
mod isolation;
mod issuers;
mod outages;
mod redis;
mod redis_deploy;
mod rejections;
