//! Compile-time behaviour of `#[msal_protected]`: what compiles, and the exact errors of
//! what does not.
//!
//! rustc's diagnostics drift between versions, so the `.stderr` files are pinned to the
//! toolchain they were written with (stable 1.95) and the failing cases run only there.
//! Regenerate them with `TRYBUILD=overwrite cargo test -p msal-tests --test ui`.

#[test]
fn every_supported_form_and_shape_compiles() {
    trybuild::TestCases::new().pass("ui/pass/*.rs");
}

#[rustversion::stable(1.95)]
#[test]
fn every_misuse_is_a_spanned_compile_error() {
    trybuild::TestCases::new().compile_fail("ui/fail/*.rs");
}
