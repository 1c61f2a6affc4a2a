//! Sealing: a text opens only with its key and for its purpose.

use super::*;

#[test]
fn a_sealed_text_opens_only_for_its_purpose_and_with_its_key() {
    let key = SessionKey::new([7; 32]);
    let keys = std::slice::from_ref(&key);
    let (text, id) = seal("{\"pkce\":\"verifier-secret\"}".into(), Purpose::Flow, keys).unwrap();
    assert_eq!(id.as_deref(), Some(key.id()));
    assert!(!text.contains("verifier-secret"), "{text}");
    assert_eq!(
        open(&text, Purpose::Flow, keys).as_deref(),
        Some("{\"pkce\":\"verifier-secret\"}")
    );
    assert_eq!(open(&text, Purpose::Swagger, keys), None);
    assert_eq!(open(&text, Purpose::Vault, keys), None);
    assert_eq!(
        open(&text, Purpose::Flow, &[SessionKey::new([8; 32])]),
        None
    );
}

#[test]
fn without_a_key_the_text_is_kept_as_it_is() {
    let (text, id) = seal("{\"a\":1}".into(), Purpose::Swagger, &[]).unwrap();
    assert_eq!((text.as_str(), id), ("{\"a\":1}", None));
    assert_eq!(
        open(&text, Purpose::Swagger, &[]).as_deref(),
        Some("{\"a\":1}")
    );
    assert_eq!(open("garbage", Purpose::Swagger, &[]), None);
}
