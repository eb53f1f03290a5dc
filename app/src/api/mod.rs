//! Server functions: the dashboard's operations. Each is thin: authorize, parse the input into
//! domain types, call one function in `crate::server`, and return an [`AppError`] a user can act on.
//!
//! [`AppError`]: crate::error::AppError

pub mod account;
pub mod accounts;
pub mod auth;
pub mod brands;
pub mod keys;
pub mod org;
pub mod twitter;

/// Where a sign-in may send the browser afterwards: only a path on this site, never another
/// host (`//evil.example` and `/\evil.example` are protocol-relative URLs in browsers).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/brands".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_only_ever_a_local_path() {
        assert_eq!(safe_next(Some("/brands/brd_1")), "/brands/brd_1");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "",
            "/x\r\nSet-Cookie: a",
            "/a\u{7}b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/brands", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/brands");
    }
}
