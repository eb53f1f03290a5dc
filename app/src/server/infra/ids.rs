//! Public identifiers: a short type prefix and 128 random bits, so ids in URLs reveal neither
//! counts nor order, and a pasted id says what it is (`brd_…` is a brand).

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// SHA-256 of `s`, lower-case hex: how a high-entropy secret (an OAuth state, an API key) is
/// stored and looked up, so that the database alone cannot use it.
pub fn sha256_hex(s: &str) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_prefixed_and_unique() {
        let a = super::new_id("brd");
        let b = super::new_id("brd");
        assert!(a.starts_with("brd_") && a.len() == 36);
        assert_ne!(a, b);
    }
}
