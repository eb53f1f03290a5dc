//! The vault: how Perch encrypts a secret before it is stored (docs/security.md A).
//!
//! Every secret at rest (an X app's Client Secret, an account's tokens, a PKCE verifier) is one
//! AES-256-GCM blob (NIST SP 800-38D), stored as bytes:
//!
//! ```text
//! [version: u8 = 1][key id: u32 big-endian][nonce: 12 bytes][ciphertext || tag: 16 bytes]
//! ```
//!
//! - The version and key id come first so a reader knows how to open a blob before trying to
//!   (A.2); anything it does not know is refused with an error, never a panic.
//! - The nonce is 96 random bits from the OS, fresh for every encryption (A.5). With random nonces
//!   one key may seal about 2^32 values (SP 800-38D §8.3); Perch writes a few per tenant, and
//!   rotation starts a new count.
//! - The associated data ([`Aad`]) names the blob's place (organization, record, field) and
//!   repeats its version and key id, so a blob copied anywhere else does not decrypt (A.3).
//! - Every failure to open a well-formed blob is the one opaque [`VaultError::Undecryptable`]:
//!   the caller learns nothing about which byte was wrong (A.4).
//!
//! The master keys form a [`KeyRing`], newest last: new blobs use the newest key, old blobs name
//! theirs by key id, and [`KeyRing::rewrap`] moves a blob to the newest key without its
//! plaintext leaving this module (A.6). [`load`] reads the ring from `PERCH_MASTER_KEY`,
//! `PERCH_MASTER_KEY_FILE` or `<data dir>/master.key`, generating the last on first run (A.7).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInPlace as _, Key, KeyInit as _, Nonce, Tag};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore as _;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize as _, ZeroizeOnDrop, Zeroizing};

/// The blob format this module writes, and the only one it reads.
pub const FORMAT_VERSION: u8 = 1;
/// The setting holding one or more base64 master keys, newest last.
pub const ENV_KEY: &str = "PERCH_MASTER_KEY";
/// The setting naming a file of base64 master keys, one a line, newest last.
pub const ENV_KEY_FILE: &str = "PERCH_MASTER_KEY_FILE";
/// The key file used, and generated on first run, when neither setting is given.
pub const DEFAULT_KEY_FILE: &str = "master.key";

const KEY_LEN: usize = 32;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;
/// The shortest v1 blob: the header and a tag around an empty plaintext.
const MIN_BLOB_LEN: usize = HEADER_LEN + TAG_LEN;
/// Length of a key in padded base64.
const KEY_BASE64_LEN: usize = KEY_LEN.div_ceil(3) * 4;

/// Domain tags keep these hashes and associated data from ever meaning something else.
const AAD_DOMAIN: &[u8] = b"perch.vault.v1";
const KEY_ID_DOMAIN: &[u8] = b"perch.vault.key-id";

/// Standard alphabet; padding optional, since `openssl rand -base64 32` pads and hand-trimmed
/// keys may not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What was put at the head of a generated key file, for whoever opens it next.
const KEY_FILE_HEADER: &str = "\
# Perch master keys: one standard base64 key per line, newest last.
# Keep this file secret and backed up: without it, stored secrets cannot be decrypted.
# `perch keys rotate` appends a new key; keep the old lines until every secret is rewrapped.
";

/// Why the vault refused. No variant ever carries plaintext or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The blob's first byte names a format this build does not know.
    #[error("unknown vault blob format version {0}")]
    UnknownVersion(u8),
    /// The blob was sealed with a master key that is not in the ring.
    #[error("no master key with id {0:#010x} is loaded; was it removed from the key ring?")]
    UnknownKey(u32),
    /// The blob is truncated or altered, was moved from its place, or does not hold UTF-8 where
    /// text was asked for. One variant for all on purpose (docs/security.md A.4).
    #[error("the stored value cannot be decrypted")]
    Undecryptable,
    /// A master key setting is missing or malformed; `setting` names it.
    #[error("{setting}: {message}")]
    Config { setting: String, message: String },
    /// No key is configured, `default_file` does not exist, and the caller asked [`load`] not to
    /// generate one ([`KeySource::without_generation`]). The caller knows why and says so.
    #[error("no master key: {} and {} are unset and {} does not exist", ENV_KEY, ENV_KEY_FILE, .default_file.display())]
    NoKey { default_file: PathBuf },
    /// Reading or writing a key file failed.
    #[error("{0}")]
    Io(String),
}

/// Where a blob belongs. It is bound into the blob's authentication tag, so a blob copied to
/// another organization, record or field fails to decrypt (docs/security.md A.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    /// The tenant owning the value.
    pub org_id: &'a str,
    /// The row holding it, e.g. a credential's id.
    pub record_id: &'a str,
    /// The column, e.g. `"client_secret"`.
    pub field: &'a str,
}

impl Aad<'_> {
    /// The associated data for a blob of this `version` under `key_id`. Each string is
    /// length-prefixed so no two places share an encoding (`"ab","c"` vs `"a","bc"`).
    fn encode(&self, version: u8, key_id: u32) -> Vec<u8> {
        let parts = [self.org_id, self.record_id, self.field];
        let len = AAD_DOMAIN.len() + 1 + KEY_ID_LEN + parts.iter().map(|p| 8 + p.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(AAD_DOMAIN);
        out.push(version);
        out.extend_from_slice(&key_id.to_be_bytes());
        for part in parts {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// One 256-bit master key. Its bytes live on the heap, so moving the key does not leave copies
/// behind, and are wiped when it is dropped. `Debug` shows only the key id.
pub struct MasterKey {
    id: u32,
    bytes: Box<[u8; KEY_LEN]>,
}

impl MasterKey {
    /// A new key from the OS random number generator.
    pub fn generate() -> Self {
        let mut bytes = Box::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(&mut bytes[..]);
        Self::from_box(bytes)
    }

    /// A key from its 32 bytes. The caller still owns (and should wipe) `bytes`.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        let mut boxed = Box::new([0u8; KEY_LEN]);
        boxed.copy_from_slice(bytes);
        Self::from_box(boxed)
    }

    fn from_slice(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Self::from_bytes(bytes))
    }

    fn from_box(bytes: Box<[u8; KEY_LEN]>) -> Self {
        Self { id: key_id(&bytes), bytes }
    }

    /// The key's id: the first 4 bytes of SHA-256(`"perch.vault.key-id"` || key), stable for a
    /// given key without any configuration, and safe to show (it is in every blob).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// A cipher for one operation. Building it is cheap next to the I/O around it; with the
    /// `zeroize` features of `aes` and `polyval` on, its key schedule is wiped when it drops.
    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.bytes[..]))
    }

    fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(&self.bytes[..]))
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for MasterKey {}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &format_args!("{:#010x}", self.id)).finish()
    }
}

fn key_id(bytes: &[u8; KEY_LEN]) -> u32 {
    let digest = Sha256::new().chain_update(KEY_ID_DOMAIN).chain_update(bytes).finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The master keys, oldest first. Never empty; key ids are unique. Share it with an `Arc`.
pub struct KeyRing {
    keys: Vec<MasterKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.keys.len())
            .field("newest", &format_args!("{:#010x}", self.newest_key_id()))
            .finish()
    }
}

/// The id of the master key a blob names, read from its header without opening it; `None` for
/// a blob of another format or too short to have a header. Safe to show: it is in the clear.
pub fn blob_key_id(blob: &[u8]) -> Option<u32> {
    match blob {
        [FORMAT_VERSION, id @ ..] => id.first_chunk::<KEY_ID_LEN>().map(|id| u32::from_be_bytes(*id)),
        _ => None,
    }
}

/// A blob's parts, borrowed from it.
struct Parsed<'a> {
    key_id: u32,
    nonce: &'a [u8; NONCE_LEN],
    ciphertext: &'a [u8],
    tag: &'a [u8; TAG_LEN],
}

/// Splits a blob. The version is checked first, so a future format with another layout is
/// reported as such rather than as damage.
fn parse(blob: &[u8]) -> Result<Parsed<'_>, VaultError> {
    let (&version, rest) = blob.split_first().ok_or(VaultError::Undecryptable)?;
    if version != FORMAT_VERSION {
        return Err(VaultError::UnknownVersion(version));
    }
    if blob.len() < MIN_BLOB_LEN {
        return Err(VaultError::Undecryptable);
    }
    let (key_id, rest) = rest.split_first_chunk::<KEY_ID_LEN>().ok_or(VaultError::Undecryptable)?;
    let (nonce, rest) = rest.split_first_chunk::<NONCE_LEN>().ok_or(VaultError::Undecryptable)?;
    let (ciphertext, tag) = rest.split_last_chunk::<TAG_LEN>().ok_or(VaultError::Undecryptable)?;
    Ok(Parsed { key_id: u32::from_be_bytes(*key_id), nonce, ciphertext, tag })
}

impl KeyRing {
    /// A ring of `keys`, oldest first; the last one seals new blobs. Refuses an empty list and
    /// a key listed twice.
    pub fn new(keys: Vec<MasterKey>) -> Result<Self, VaultError> {
        let labelled = keys.into_iter().enumerate().map(|(i, k)| (format!("key {}", i + 1), k)).collect();
        Self::from_labelled(labelled, "holds no key", |message| VaultError::Config {
            setting: "key ring".into(),
            message,
        })
    }

    /// Builds the ring, naming a faulty entry by its label ("line 3", "key 2") through `err`,
    /// with `empty` as the message when there is no key at all.
    fn from_labelled(
        keys: Vec<(String, MasterKey)>,
        empty: &str,
        err: impl Fn(String) -> VaultError,
    ) -> Result<Self, VaultError> {
        if keys.is_empty() {
            return Err(err(empty.into()));
        }
        for (i, (label, key)) in keys.iter().enumerate() {
            if let Some((earlier, _)) = keys[..i].iter().find(|(_, k)| k.id == key.id) {
                return Err(err(format!(
                    "{label} repeats the key of {earlier} (key id {:#010x}); remove one of them",
                    key.id
                )));
            }
        }
        Ok(Self { keys: keys.into_iter().map(|(_, k)| k).collect() })
    }

    /// The id of the key new blobs are sealed with.
    pub fn newest_key_id(&self) -> u32 {
        self.newest().id
    }

    /// Whether the ring holds the key with this id.
    pub fn holds(&self, key_id: u32) -> bool {
        self.find(key_id).is_some()
    }

    /// The ids of the keys in the ring, oldest first.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.iter().map(|k| k.id).collect()
    }

    /// The id of the key `blob` was sealed with when the ring does not hold it: the blob cannot
    /// be opened here until an operator gives that key back. Reads the header only.
    pub fn missing_key(&self, blob: &[u8]) -> Option<u32> {
        blob_key_id(blob).filter(|id| !self.holds(*id))
    }

    fn newest(&self) -> &MasterKey {
        self.keys.last().expect("a key ring is never empty")
    }

    fn find(&self, id: u32) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// A keyed fingerprint of `parts` (HMAC-SHA256 under a key derived from the newest master
    /// key for `purpose`), to recognise a value seen before without keeping it: unlike a plain
    /// hash it cannot be searched offline for the value. It changes when the newest key does,
    /// so use it only for short-lived records.
    pub fn fingerprint(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let subkey: Zeroizing<[u8; 32]> = Zeroizing::new(
            Sha256::new()
                .chain_update(b"perch.vault.fingerprint")
                .chain_update((purpose.len() as u64).to_be_bytes())
                .chain_update(purpose.as_bytes())
                .chain_update(&self.newest().bytes[..])
                .finalize()
                .into(),
        );
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&subkey[..]).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Seals `plaintext` for the place `aad` under the newest key, with a fresh random nonce.
    pub fn encrypt(&self, plaintext: &[u8], aad: &Aad<'_>) -> Vec<u8> {
        let key = self.newest();
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);

        // Sized exactly, so the buffer never reallocates while it holds plaintext.
        let mut blob = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        blob.push(FORMAT_VERSION);
        blob.extend_from_slice(&key.id.to_be_bytes());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(plaintext);
        let tag = key
            .cipher()
            .encrypt_in_place_detached(
                Nonce::<Aes256Gcm>::from_slice(&nonce),
                &aad.encode(FORMAT_VERSION, key.id),
                &mut blob[HEADER_LEN..],
            )
            // AES-GCM refuses only plaintexts over 64 GiB (SP 800-38D §5.2.1.1).
            .expect("plaintext within AES-GCM's length limit");
        blob.extend_from_slice(&tag);
        blob
    }

    /// [`encrypt`](Self::encrypt) for text.
    pub fn encrypt_str(&self, plaintext: &str, aad: &Aad<'_>) -> Vec<u8> {
        self.encrypt(plaintext.as_bytes(), aad)
    }

    /// Opens a blob sealed for the place `aad`. The plaintext is wiped when the result drops.
    pub fn decrypt(&self, blob: &[u8], aad: &Aad<'_>) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let parsed = parse(blob)?;
        let key = self.find(parsed.key_id).ok_or(VaultError::UnknownKey(parsed.key_id))?;
        // aes-gcm decrypts before it compares tags, so on failure this buffer holds unauthenticated
        // plaintext: decrypting in place into a zeroizing buffer makes sure it is wiped either way.
        // `to_vec` allocates exactly the length, which `decrypt_string` relies on.
        let mut buffer = Zeroizing::new(parsed.ciphertext.to_vec());
        key.cipher()
            .decrypt_in_place_detached(
                Nonce::<Aes256Gcm>::from_slice(parsed.nonce),
                &aad.encode(FORMAT_VERSION, parsed.key_id),
                &mut buffer,
                Tag::<Aes256Gcm>::from_slice(parsed.tag),
            )
            .map_err(|_| VaultError::Undecryptable)?;
        Ok(buffer)
    }

    /// [`decrypt`](Self::decrypt) for text. A plaintext that is not UTF-8 is `Undecryptable`.
    pub fn decrypt_string(&self, blob: &[u8], aad: &Aad<'_>) -> Result<SecretString, VaultError> {
        let mut plaintext = self.decrypt(blob, aad)?;
        // Move the allocation out rather than copy it. Its capacity equals its length, so the
        // `String` -> `Box<str>` step inside `SecretString::from` does not reallocate either.
        let bytes = std::mem::take(&mut *plaintext);
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SecretString::from(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(VaultError::Undecryptable)
            }
        }
    }

    /// Whether a rewrap would change `blob`: true unless it is a current-format blob under the
    /// newest key. A blob whose header cannot be read counts as needing it, so a rewrap pass
    /// reports it instead of skipping it.
    pub fn needs_rewrap(&self, blob: &[u8]) -> bool {
        !matches!(parse(blob), Ok(p) if p.key_id == self.newest_key_id())
    }

    /// Opens `blob` with whichever key sealed it and seals it again, for the same place, under
    /// the newest key (docs/security.md A.6). The plaintext stays in this function and is wiped.
    pub fn rewrap(&self, blob: &[u8], aad: &Aad<'_>) -> Result<Vec<u8>, VaultError> {
        let plaintext = self.decrypt(blob, aad)?;
        Ok(self.encrypt(&plaintext, aad))
    }
}

mod keys;

pub use keys::*;

#[cfg(test)]
mod tests;
