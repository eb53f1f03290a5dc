//! Building query strings of Perch's own URLs, shared by pages, server functions and use cases
//! (so that none of them reaches into another's module for it).

/// Percent-encodes a path for a query value (`/brands/x` → `%2Fbrands%2Fx`).
pub fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn everything_but_unreserved_characters_is_encoded() {
        assert_eq!(super::encode_query_value("/brands/brd_1"), "%2Fbrands%2Fbrd_1");
        assert_eq!(super::encode_query_value("/a b?c=d&e"), "%2Fa%20b%3Fc%3Dd%26e");
    }
}
