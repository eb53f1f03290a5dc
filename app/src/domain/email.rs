use crate::error::AppError;

/// An email address as a sign-in name: trimmed, lower-cased, one `@`, a dot in the domain.
///
/// This is deliberately not RFC 5322: Perch never sends mail, it only needs a stable, unique,
/// recognisable login name, and the checks catch the slips people make in a form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, AppError> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err(AppError::invalid("email", "Enter your email address."));
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(AppError::invalid("email", "That email address is too long (254 characters at most)."));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(AppError::invalid("email", "An email address needs an @, like name@example.com."));
        };
        let well_formed = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\u{FFFD}');
        if !well_formed {
            return Err(AppError::invalid("email", "That does not look like an email address (name@example.com)."));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lowercases() {
        assert_eq!(Email::parse("  Ada@Example.COM \n").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn refuses_the_usual_slips() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@example.com.",
            "ada\u{0}@example.com",
            "ada@example.com\u{0}",
            "ad\u{FFFD}@example.com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("email"), "{bad:?}");
        }
    }

    #[test]
    fn refuses_overlong_addresses() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
