//! What a new user meets first: the demo driven by a real headless Chromium, and the
//! scaffold's generated app compiled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod scaffold;
