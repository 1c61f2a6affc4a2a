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
    let sealed = StoredVault::seal(&vault(), std::slice::from_ref(&old)).unwrap();
    let text = serde_json::to_string(&sealed).unwrap();
    for secret in ["refresh-secret", "access-secret", "id.token.value"] {
        assert!(!text.contains(secret), "{text}");
    }
    // Rotated: the new key seals, the old one still opens.
    let opened = sealed.open(&[new.clone(), old]).unwrap();
    assert_eq!(opened.refresh_token.as_deref(), Some("refresh-secret"));
    // Without the old key the record cannot be read: signed out, not an error.
    assert!(sealed.open(&[new]).is_none());
}

#[test]
fn a_tampered_vault_does_not_open() {
    let key = SessionKey::new([3; 32]);
    let StoredVault::Sealed(text) =
        StoredVault::seal(&vault(), std::slice::from_ref(&key)).unwrap()
    else {
        panic!("sealed expected");
    };
    let mut bytes = text.into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let tampered = StoredVault::Sealed(String::from_utf8(bytes).unwrap());
    assert!(tampered.open(&[key]).is_none());
}

#[test]
fn without_keys_the_vault_is_stored_as_is() {
    let stored = StoredVault::seal(&vault(), &[]).unwrap();
    assert!(matches!(stored, StoredVault::Plain(_)));
    assert!(!format!("{stored:?}").contains("secret"));
}
