//! The vault's properties: sealing, opening, wrong keys, tampering, rotation.

use super::*;

const AAD: Aad<'static> = Aad { org_id: "org_1", record_id: "cred_1", field: "client_secret" };

fn ring() -> KeyRing {
    KeyRing::new(vec![MasterKey::generate()]).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A directory removed when the test ends (the key file tests in `keys` use it too).
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new() -> Self {
        let path = std::env::temp_dir().join(format!("perch-vault-test-{:016x}", OsRng.next_u64()));
        fs::create_dir(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A.2: what is sealed opens again, for the same place.
#[test]
fn round_trip_returns_the_plaintext() {
    let ring = ring();
    for plaintext in [&b""[..], b"x", b"a client secret", &[0u8; 1000]] {
        let blob = ring.encrypt(plaintext, &AAD);
        assert_eq!(ring.decrypt(&blob, &AAD).unwrap().as_slice(), plaintext);
    }
    let blob = ring.encrypt_str("s3cr3t ✓", &AAD);
    assert_eq!(ring.decrypt_string(&blob, &AAD).unwrap().expose_secret(), "s3cr3t ✓");
}

/// A.2: version, key id, 96-bit nonce, ciphertext and tag, in that order.
#[test]
fn blob_is_version_key_id_nonce_ciphertext_and_tag() {
    let ring = ring();
    let blob = ring.encrypt(b"12345", &AAD);
    assert_eq!(blob.len(), 1 + 4 + 12 + 5 + 16);
    assert_eq!(blob[0], FORMAT_VERSION);
    assert_eq!(u32::from_be_bytes(blob[1..5].try_into().unwrap()), ring.newest_key_id());
}

/// A.7: key ids are stable and derived from the key alone.
#[test]
fn key_id_is_a_prefix_of_a_domain_separated_sha256_of_the_key() {
    let bytes = [7u8; KEY_LEN];
    let digest = Sha256::digest([&b"perch.vault.key-id"[..], &bytes].concat());
    assert_eq!(MasterKey::from_bytes(&bytes).id(), u32::from_be_bytes(digest[..4].try_into().unwrap()));
}

/// A.5: a fresh nonce for every encryption, so equal plaintexts give unrelated blobs.
#[test]
fn encrypting_twice_uses_a_fresh_nonce_each_time() {
    let ring = ring();
    let a = ring.encrypt(b"same secret", &AAD);
    let b = ring.encrypt(b"same secret", &AAD);
    assert_ne!(a[5..17], b[5..17], "nonces repeat");
    assert_ne!(a[17..], b[17..], "ciphertexts repeat");
}

/// A.4 and A.2: flipping any single bit fails, with the opaque error unless the flip lands
/// in the version or key id, and never panics.
#[test]
fn every_single_bit_flip_fails_closed() {
    let ring = ring();
    let blob = ring.encrypt(b"client secret", &AAD);
    for bit in 0..blob.len() * 8 {
        let mut tampered = blob.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let err = ring.decrypt(&tampered, &AAD).unwrap_err();
        match bit / 8 {
            0 => assert_eq!(err, VaultError::UnknownVersion(tampered[0]), "bit {bit}"),
            1..=4 => assert!(matches!(err, VaultError::UnknownKey(_)), "bit {bit}: {err:?}"),
            _ => assert_eq!(err, VaultError::Undecryptable, "bit {bit}"),
        }
    }
}

/// A.4: every truncation gives the one opaque error.
#[test]
fn every_truncation_fails_with_the_opaque_error() {
    let ring = ring();
    let blob = ring.encrypt(b"client secret", &AAD);
    for len in 0..blob.len() {
        assert_eq!(ring.decrypt(&blob[..len], &AAD).unwrap_err(), VaultError::Undecryptable, "length {len}");
    }
    // Trailing bytes are damage too.
    let mut longer = blob.clone();
    longer.push(0);
    assert_eq!(ring.decrypt(&longer, &AAD).unwrap_err(), VaultError::Undecryptable);
}

/// A.3: a blob copied to another organization, record or column does not decrypt.
#[test]
fn blob_moved_to_another_org_record_or_field_does_not_decrypt() {
    let ring = ring();
    let blob = ring.encrypt(b"client secret", &AAD);
    for elsewhere in
        [Aad { org_id: "org_2", ..AAD }, Aad { record_id: "cred_2", ..AAD }, Aad { field: "access_token", ..AAD }]
    {
        assert_eq!(ring.decrypt(&blob, &elsewhere).unwrap_err(), VaultError::Undecryptable, "{elsewhere:?}");
    }
}

/// A.3: the associated data is unambiguous: shifting characters between parts is another place.
#[test]
fn aad_parts_are_length_prefixed_so_shifted_boundaries_do_not_decrypt() {
    let ring = ring();
    let blob = ring.encrypt(b"client secret", &Aad { org_id: "ab", record_id: "c", field: "f" });
    let shifted = Aad { org_id: "a", record_id: "bc", field: "f" };
    assert_eq!(ring.decrypt(&blob, &shifted).unwrap_err(), VaultError::Undecryptable);
    assert_ne!(Aad { org_id: "ab", record_id: "c", field: "f" }.encode(1, 0), shifted.encode(1, 0));
}

/// A.2: a blob of an unknown format version fails closed, with the version named.
#[test]
fn unknown_version_fails_closed() {
    let ring = ring();
    let mut blob = ring.encrypt(b"client secret", &AAD);
    for version in [0u8, 2, 255] {
        blob[0] = version;
        assert_eq!(ring.decrypt(&blob, &AAD).unwrap_err(), VaultError::UnknownVersion(version));
    }
    assert_eq!(ring.decrypt(&[2], &AAD).unwrap_err(), VaultError::UnknownVersion(2));
}

/// A.2: a blob sealed under a key the ring does not hold fails closed, with the id in hex.
#[test]
fn unknown_key_id_fails_closed() {
    let other = ring();
    let blob = other.encrypt(b"client secret", &AAD);
    let err = ring().decrypt(&blob, &AAD).unwrap_err();
    assert_eq!(err, VaultError::UnknownKey(other.newest_key_id()));
    assert!(err.to_string().contains(&format!("{:#010x}", other.newest_key_id())), "{err}");
}

/// A.6: after a new key is added, old blobs still decrypt and new ones use the new key; a
/// rewrap moves an old blob to the new key so the old key can go.
#[test]
fn rotation_keeps_old_blobs_readable_and_rewrap_moves_them_to_the_newest_key() {
    let old = [1u8; KEY_LEN];
    let new = [2u8; KEY_LEN];
    let before = KeyRing::new(vec![MasterKey::from_bytes(&old)]).unwrap();
    let old_blob = before.encrypt(b"client secret", &AAD);

    let after = KeyRing::new(vec![MasterKey::from_bytes(&old), MasterKey::from_bytes(&new)]).unwrap();
    assert_eq!(after.newest_key_id(), MasterKey::from_bytes(&new).id());
    assert_eq!(after.decrypt(&old_blob, &AAD).unwrap().as_slice(), b"client secret");

    let new_blob = after.encrypt(b"another", &AAD);
    assert_eq!(new_blob[1..5], after.newest_key_id().to_be_bytes());
    assert!(!after.needs_rewrap(&new_blob));
    assert!(after.needs_rewrap(&old_blob));

    let rewrapped = after.rewrap(&old_blob, &AAD).unwrap();
    assert!(!after.needs_rewrap(&rewrapped));
    assert_eq!(after.decrypt(&rewrapped, &AAD).unwrap().as_slice(), b"client secret");

    let without_old = KeyRing::new(vec![MasterKey::from_bytes(&new)]).unwrap();
    assert_eq!(without_old.decrypt(&rewrapped, &AAD).unwrap().as_slice(), b"client secret");
    assert!(matches!(without_old.decrypt(&old_blob, &AAD), Err(VaultError::UnknownKey(_))));
}

/// A.6: a rewrap is bound to the same place, and refuses a blob it cannot open.
#[test]
fn rewrap_keeps_the_place_and_refuses_what_it_cannot_open() {
    let ring = ring();
    let blob = ring.encrypt(b"client secret", &AAD);
    let elsewhere = Aad { org_id: "org_2", ..AAD };
    assert_eq!(ring.rewrap(&blob, &elsewhere).unwrap_err(), VaultError::Undecryptable);
    let rewrapped = ring.rewrap(&blob, &AAD).unwrap();
    assert_eq!(ring.decrypt(&rewrapped, &elsewhere).unwrap_err(), VaultError::Undecryptable);
    // Unreadable headers are reported by a rewrap pass, not skipped.
    assert!(ring.needs_rewrap(b""));
    assert!(ring.needs_rewrap(&[9, 0, 0]));
}

/// A.1: a canary never appears in a blob, nor in the hex or base64 a dump would show.
#[test]
fn canary_plaintext_never_appears_in_the_blob() {
    let canary = "CANARY-client-secret-7f3a9c";
    let ring = ring();
    let blob = ring.encrypt_str(canary, &AAD);
    let needles =
        [canary.to_owned(), hex(canary.as_bytes()), hex(canary.as_bytes()).to_uppercase(), b64(canary.as_bytes())];
    let haystacks = [String::from_utf8_lossy(&blob).into_owned(), hex(&blob), hex(&blob).to_uppercase(), b64(&blob)];
    for needle in &needles {
        assert!(!blob.windows(needle.len()).any(|w| w == needle.as_bytes()), "{needle} in the blob");
        for haystack in &haystacks {
            assert!(!haystack.contains(needle.as_str()), "{needle} in {haystack}");
        }
    }
}

/// A.7: `Debug` of every key-holding type shows ids and counts, never key bytes.
#[test]
fn debug_of_key_types_prints_a_redaction() {
    let key = MasterKey::generate();
    let encoded = key.to_base64();
    let hexed = hex(&key.bytes[..]);
    let debug_key = format!("{key:?}");
    assert_eq!(debug_key, format!("MasterKey {{ id: {:#010x} }}", key.id()));

    let ring = KeyRing::new(vec![MasterKey::generate(), key]).unwrap();
    let debug_ring = format!("{ring:?}");
    assert_eq!(debug_ring, format!("KeyRing {{ keys: 2, newest: {:#010x} }}", ring.newest_key_id()));

    let dir = TempDir::new();
    let source = KeySource::new(Some(encoded.to_string()), None, &dir.0);
    let debug_source = format!("{source:?}");
    let loaded = load(source).unwrap();
    let debug_loaded = format!("{loaded:?}");

    for debug in [&debug_key, &debug_ring, &debug_source, &debug_loaded] {
        assert!(!debug.contains(encoded.as_str()), "{debug}");
        assert!(!debug.contains(encoded.trim_end_matches('=')), "{debug}");
        assert!(!debug.contains(&hexed), "{debug}");
    }
}

/// Issue 11: a blob's key id is read from its header, so the key it needs can be named
/// without opening it; a ring tells which of those it lacks.
#[test]
fn blob_key_id_reads_the_header_and_missing_key_names_what_the_ring_lacks() {
    let (ours, theirs) = (ring(), ring());
    let blob = theirs.encrypt(b"client secret", &AAD);
    assert_eq!(blob_key_id(&blob), Some(theirs.newest_key_id()));
    assert_eq!(blob_key_id(&blob[..5]), Some(theirs.newest_key_id()));
    for not_a_header in [&[][..], &[FORMAT_VERSION, 0, 0, 0][..], &[2, 0, 0, 0, 0][..]] {
        assert_eq!(blob_key_id(not_a_header), None, "{not_a_header:?}");
    }
    assert_eq!(ours.missing_key(&blob), Some(theirs.newest_key_id()));
    assert_eq!(theirs.missing_key(&blob), None);
    assert!(theirs.holds(theirs.newest_key_id()) && !ours.holds(theirs.newest_key_id()));
    assert_eq!(ours.key_ids(), vec![ours.newest_key_id()]);
}

/// A.7: a generated key for `PERCH_MASTER_KEY` loads, and each is new.
#[test]
fn generate_key_base64_gives_a_fresh_loadable_key() {
    let (a, b) = (generate_key_base64(), generate_key_base64());
    assert_ne!(a, b);
    assert_eq!(a.len(), KEY_BASE64_LEN);
    let dir = TempDir::new();
    assert!(load(KeySource::new(Some(a), None, &dir.0)).is_ok());
}

/// A.7: a ring must hold at least one key, each once.
#[test]
fn key_ring_refuses_no_keys_and_repeated_keys() {
    assert!(matches!(KeyRing::new(vec![]), Err(VaultError::Config { .. })));
    let bytes = [3u8; KEY_LEN];
    let err = KeyRing::new(vec![MasterKey::from_bytes(&bytes), MasterKey::from_bytes(&bytes)]).unwrap_err();
    assert!(err.to_string().contains("key 2 repeats the key of key 1"), "{err}");
}

/// A.4: text that is not UTF-8 is reported as the opaque error, not a panic.
#[test]
fn decrypt_string_of_non_utf8_is_undecryptable() {
    let ring = ring();
    let blob = ring.encrypt(&[0xff, 0xfe], &AAD);
    assert_eq!(ring.decrypt_string(&blob, &AAD).unwrap_err(), VaultError::Undecryptable);
}
