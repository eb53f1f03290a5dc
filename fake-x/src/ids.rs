//! Identifiers shaped like X's (docs/x-api.md "Shapes of identifiers"), so that Perch's input checks
//! and anything that looks at a token's form meet realistic values.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};

/// The characters of base64url text, which is what X's client ids and secrets are made of.
const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
}

/// A 34-character OAuth 2.0 client id: base64url (no padding) of `<20 random chars>:1:ci`, so it
/// ends in `MTpjaQ` like X's (`M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ`).
pub fn client_id() -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:1:ci", random_from(URL_SAFE, 20)))
}

/// A 50-character OAuth 2.0 client secret of `[A-Za-z0-9_-]`.
pub fn client_secret() -> String {
    random_from(URL_SAFE, 50)
}

/// What a code or token is for; the last-but-one field of its decoded text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Code,
    Access,
    Refresh,
}

/// A code or token: base64url of `<random>:<epoch ms>:1:0:<ac|at|rt>:1`, like X's
/// (`VGNibzFWSWRE...OjE6MTphYzox` decodes to `TcbozVIdD...:1622160826165:1:1:ac:1`).
pub fn token(kind: TokenKind) -> String {
    let tag = match kind {
        TokenKind::Code => "ac",
        TokenKind::Access => "at",
        TokenKind::Refresh => "rt",
    };
    let random: String = rand::thread_rng().sample_iter(&Alphanumeric).take(45).map(char::from).collect();
    URL_SAFE_NO_PAD.encode(format!("{random}:{}:1:0:{tag}:1", now_ms()))
}

/// A post id: a Twitter snowflake (milliseconds since Twitter's epoch, shifted left 22 bits, plus
/// a sequence), which is a 19-digit decimal today and grows with time like the real ones.
pub fn tweet_id() -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    const TWITTER_EPOCH_MS: u64 = 1_288_834_974_657;
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed) & 0x3f_ffff;
    ((now_ms().saturating_sub(TWITTER_EPOCH_MS) << 22) | seq).to_string()
}

/// The S256 code challenge for a verifier: BASE64URL-NOPAD(SHA256(verifier)) (RFC 7636 4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh PKCE verifier: 43 characters of the unreserved set, the shortest RFC 7636 allows.
pub fn pkce_verifier() -> String {
    random_from(URL_SAFE, 43)
}

/// What the request log keeps instead of a code or token: the first 12 hex digits of its SHA-256,
/// enough to tell tokens apart and to match one a test holds, useless to anyone reading the log.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_has_xs_shape() {
        for _ in 0..50 {
            let id = client_id();
            assert_eq!(id.len(), 34, "{id}");
            assert!(id.ends_with("MTpjaQ"), "{id}");
            let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&id).unwrap()).unwrap();
            assert!(text.ends_with(":1:ci"));
        }
    }

    #[test]
    fn client_secret_has_xs_shape() {
        let secret = client_secret();
        assert_eq!(secret.len(), 50);
        assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn tokens_decode_to_xs_layout() {
        for (kind, tag) in [(TokenKind::Code, "ac"), (TokenKind::Access, "at"), (TokenKind::Refresh, "rt")] {
            let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token(kind)).unwrap()).unwrap();
            let parts: Vec<&str> = text.split(':').collect();
            assert_eq!(parts.len(), 6, "{text}");
            assert!(parts[1].parse::<u64>().is_ok());
            assert_eq!(&parts[2..], ["1", "0", tag, "1"]);
        }
    }

    #[test]
    fn tweet_ids_are_19_digit_decimals() {
        let id = tweet_id();
        assert_eq!(id.len(), 19, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(tweet_id(), tweet_id());
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
