//! Microsoft identity platform (Entra ID, B2C, External ID) and OpenID Connect sign-in for axum.
//!
//! With the `testing` feature, [`testing::TestIdp`] runs an Entra-compatible identity
//! provider on loopback, so sign-in, API protection and downstream token calls can all be
//! tested without an Azure tenant.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
