use crate::error::AppError;

/// A password as typed, checked for length only (NIST SP 800-63B: no composition rules).
///
/// Not trimmed: spaces are legitimate in passphrases. The upper bound only keeps a hostile
/// request from feeding megabytes to argon2; it is far above any real passphrase and input over
/// it is refused, never silently truncated.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(input: String) -> Result<Self, AppError> {
        if input.len() > Self::MAX_BYTES {
            return Err(AppError::invalid("password", "That password is too long (1024 bytes at most)."));
        }
        if input.chars().count() < Self::MIN_CHARS {
            return Err(AppError::invalid(
                "password",
                "Use at least 8 characters. A few unrelated words make a strong, memorable passphrase.",
            ));
        }
        Ok(Self(input))
    }

    /// For a login attempt: anything up to the size limit is compared, so a short password
    /// that once was valid still gets the ordinary "wrong email or password" answer.
    pub fn for_login(input: String) -> Result<Self, AppError> {
        if input.len() > Self::MAX_BYTES {
            return Err(AppError::invalid("password", "That password is too long (1024 bytes at most)."));
        }
        Ok(Self(input))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("correct horse battery staple".into()).unwrap();
        assert_eq!(format!("{p:?}"), "Password([redacted])");
    }

    #[test]
    fn length_rules() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        // Long passphrases are accepted whole (docs/security.md C.14).
        let long = "correct horse battery staple ".repeat(10);
        assert_eq!(Password::parse(long.clone()).unwrap().expose(), long);
        assert!(Password::parse("x".repeat(1025)).is_err());
        // Eight characters, more bytes: counted as characters.
        assert!(Password::parse("ééééééé".into()).is_err());
    }
}
