use super::{has_invisible_chars, has_unreadable_chars};
use crate::error::AppError;

fn parse_name(input: &str, field: &str, what: &str, max: usize) -> Result<String, AppError> {
    // Inner runs of white space collapse to one space: "Acme   Corp" and "Acme Corp" are one name.
    let s = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        return Err(AppError::invalid(field, format!("Enter a {what} name.")));
    }
    if s.chars().count() > max {
        return Err(AppError::invalid(field, format!("A {what} name can be {max} characters at most.")));
    }
    if has_invisible_chars(&s) {
        return Err(AppError::invalid(
            field,
            format!("The {what} name contains invisible or control characters; retype it."),
        ));
    }
    if has_unreadable_chars(&s) {
        return Err(AppError::invalid(
            field,
            format!("Part of the {what} name could not be read (it was not sent as UTF-8); retype it."),
        ));
    }
    Ok(s)
}

/// An organization's display name: 1 to 80 visible characters, white space collapsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    pub const MAX_LEN: usize = 80;

    pub fn parse(input: &str) -> Result<Self, AppError> {
        parse_name(input, "org_name", "organization", Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A brand's name: 1 to 80 visible characters, white space collapsed. Unique within an
/// organization regardless of case ([`BrandName::key`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrandName(String);

impl BrandName {
    pub const MAX_LEN: usize = 80;

    pub fn parse(input: &str) -> Result<Self, AppError> {
        parse_name(input, "name", "brand", Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on: "ACME" and "Acme" are the same brand.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_white_space() {
        assert_eq!(BrandName::parse("  Acme \t  Coffee\n").unwrap().as_str(), "Acme Coffee");
    }

    #[test]
    fn key_ignores_case() {
        assert_eq!(BrandName::parse("ACME").unwrap().key(), BrandName::parse("acme").unwrap().key());
    }

    #[test]
    fn refuses_empty_long_and_invisible() {
        assert!(BrandName::parse(" \n ").is_err());
        assert!(BrandName::parse(&"x".repeat(81)).is_err());
        assert!(BrandName::parse(&"é".repeat(80)).is_ok(), "the limit counts characters, not bytes");
        assert!(BrandName::parse("Acme\u{200B}").is_err());
        assert_eq!(OrgName::parse("").unwrap_err().field.as_deref(), Some("org_name"));
    }

    #[test]
    fn refuses_nul_bytes_and_text_that_was_not_utf8() {
        for bad in ["Acme\u{0}Corp", "\u{0}", "Acme\u{7F}", "Caf\u{FFFD}"] {
            assert_eq!(BrandName::parse(bad).unwrap_err().field.as_deref(), Some("name"), "{bad:?}");
            assert_eq!(OrgName::parse(bad).unwrap_err().field.as_deref(), Some("org_name"), "{bad:?}");
        }
        assert!(BrandName::parse("Caf\u{FFFD}").unwrap_err().message.contains("UTF-8"));
    }
}
