//! The token vault: sealed with the configured keys, opened by any of them, never when tampered.

use super::*;

fn vault() -> TokenVault {
    TokenVault {
        id_token: "id.token.value".into(),
        refresh_token: Some("refresh-secret".into()),
        access: vec![CachedToken {
            scopes: vec!["User.Read".into()],
            token: "access-secret".into(),
            expires_at: 1,
        }],
    }
}

#[test]
fn sealed_vaults_hide_their_tokens_and_open_with_any_configured_key() {
    let old = SessionKey::new([1; 32]);
    let new = SessionKey::new([2; 32]);
    let (text, sealed_with) = vault().seal(std::slice::from_ref(&old)).unwrap();
    assert_eq!(sealed_with.as_deref(), Some(old.id()));
    for secret in ["refresh-secret", "access-secret", "id.token.value"] {
        assert!(!text.contains(secret), "{text}");
    }
    // Rotated: the new key seals, the old one still opens.
    let opened = TokenVault::open(&text, &[new.clone(), old]).unwrap();
    assert_eq!(opened.refresh_token.as_deref(), Some("refresh-secret"));
    // Without the old key the record cannot be read: signed out, not an error.
    assert!(TokenVault::open(&text, &[new]).is_none());
}

#[test]
fn a_tampered_vault_does_not_open() {
    let key = SessionKey::new([3; 32]);
    let (text, _) = vault().seal(std::slice::from_ref(&key)).unwrap();
    let mut bytes = text.into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert!(TokenVault::open(&tampered, &[key]).is_none());
    assert!(TokenVault::open("", &[]).is_none());
    assert!(TokenVault::open("{not json", &[]).is_none());
}

#[test]
fn without_keys_the_vault_is_stored_as_its_json_and_still_opens_once_a_key_is_set() {
    let (text, sealed_with) = vault().seal(&[]).unwrap();
    assert_eq!(sealed_with, None);
    let later = TokenVault::open(&text, &[SessionKey::new([4; 32])]).unwrap();
    assert_eq!(later.id_token, "id.token.value");
    assert!(!format!("{:?}", later).contains("secret"));
}
