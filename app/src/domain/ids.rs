//! Perch's ids as they arrive in paths, queries and forms. An id is a type prefix, `_`, and lower-case
//! letters and digits (`server::ids::new_id` makes `brd_` and 32 hex digits). Anything else (a NUL
//! byte, a quote, a non-ASCII letter, the wrong prefix) cannot name anything, so it is answered at
//! the edge and never reaches a query: PostgreSQL refuses a NUL in text outright, which would
//! otherwise surface as an internal error.
//!
//! Only the alphabet and the prefix are checked, not the length of a generated id: whether a
//! well-formed id exists is the database's answer (404), the same for every organization.

use crate::error::AppError;

/// The longest run of letters and digits after the prefix accepted (new ids have 32).
const MAX_BODY_LEN: usize = 64;

/// `input` trimmed, if it is `<prefix>_` followed by 1 to [`MAX_BODY_LEN`] of `[a-z0-9]`.
fn well_formed<'a>(input: &'a str, prefix: &str) -> Option<&'a str> {
    let id = input.trim();
    let body = id.strip_prefix(prefix)?.strip_prefix('_')?;
    let ok = !body.is_empty()
        && body.len() <= MAX_BODY_LEN
        && body.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    ok.then_some(id)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).ok_or_else(|| format!(concat!("not a ", $what, " id")))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        /// An id reads as the text it is wherever text is taken (a bind, a log field, a vault
        /// place); the other way round, text never passes for an id.
        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Stored as text; read back as the id it was stored as (the database holds only ids
        /// Perch made, so reading does not check the alphabet again).
        #[cfg(feature = "ssr")]
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        #[cfg(feature = "ssr")]
        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.0, buf)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(Self(<String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?))
            }
        }

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// The id, trimmed, or `None` when it cannot be one.
            pub fn parse(input: &str) -> Option<Self> {
                well_formed(input, $prefix).map(|id| Self(id.to_owned()))
            }

            /// For the id of what a request acts on (a path, a query, the record a form is
            /// about): one that cannot exist is not found, exactly like one that does not.
            pub fn or_not_found(input: &str) -> Result<Self, AppError> {
                Self::parse(input).ok_or_else(|| AppError::not_found($what))
            }

            /// For an id given in a field of a request's body: one that cannot exist is a
            /// validation error on that field.
            pub fn or_invalid(field: &str, input: &str) -> Result<Self, AppError> {
                Self::parse(input).ok_or_else(|| {
                    AppError::invalid(
                        field,
                        format!(concat!("\"{}\" is not a ", $what, " id: those are ", $prefix, "_ followed by lower-case letters and digits."), field),
                    )
                })
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A brand's id (`brd_…`).
    BrandId, "brd", "brand"
);
id_type!(
    /// A connected X account's id (`xac_…`).
    AccountId, "xac", "X account"
);
id_type!(
    /// An API key's id (`key_…`), not the key itself.
    ApiKeyId, "key", "API key"
);
id_type!(
    /// A user's id (`usr_…`).
    UserId, "usr", "member"
);
id_type!(
    /// An organization's id (`org_…`): every query on tenant data is scoped by one.
    OrgId, "org", "organization"
);

/// What an organization-wide setting applies to: the organization default, or one brand's own
/// (X app credentials, the card an account connects to).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Default,
    Brand(BrandId),
}

impl Target {
    /// The brand, or `None` for the organization default.
    pub fn brand_id(&self) -> Option<&str> {
        match self {
            Target::Default => None,
            Target::Brand(b) => Some(b.as_str()),
        }
    }

    /// The target a form or a body names in its `brand_id` field: empty or absent is the
    /// organization default; anything else must be a well-formed brand id (whether the
    /// organization has it is the store's answer).
    pub fn from_field(brand_id: Option<&str>) -> Result<Self, AppError> {
        match brand_id.map(str::trim).filter(|b| !b.is_empty()) {
            None => Ok(Target::Default),
            Some(b) => BrandId::or_invalid("brand_id", b).map(Target::Brand),
        }
    }

    /// The target a query or a path names: an id that cannot exist is not found.
    pub fn from_query(brand_id: Option<&str>) -> Result<Self, AppError> {
        match brand_id.map(str::trim).filter(|b| !b.is_empty()) {
            None => Ok(Target::Default),
            Some(b) => BrandId::or_not_found(b).map(Target::Brand),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn accepts_generated_ids_trimmed() {
        let id = "brd_0123456789abcdef0123456789abcdef";
        assert_eq!(BrandId::parse(id).unwrap().as_str(), id);
        assert_eq!(BrandId::parse(&format!(" {id}\n")).unwrap().as_str(), id);
        assert_eq!(
            AccountId::parse("xac_nope").unwrap().as_str(),
            "xac_nope",
            "well-formed; whether it exists is the database's answer"
        );
    }

    #[test]
    fn refuses_what_cannot_be_an_id() {
        for bad in [
            "",
            "brd_",
            "brd",
            "_0123",
            "xac_0123",
            "BRD_0123",
            "brd_ABC",
            "brd_01\u{0}23",
            "\u{0}",
            "brd_0123\u{0}",
            "brd_é",
            "brd_01-23",
            "brd_01 23",
            "brd_0123'",
            "brd_\"><img>",
            "brd_0123%00",
        ] {
            assert!(BrandId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(BrandId::parse(&format!("brd_{}", "a".repeat(65))).is_none());
        assert!(BrandId::parse(&format!("brd_{}", "a".repeat(64))).is_some());
    }

    #[test]
    fn a_target_is_not_found_and_a_field_is_invalid() {
        assert_eq!(AccountId::or_not_found("xac_\u{0}").unwrap_err().code, ErrorCode::NotFound);
        let e = BrandId::or_invalid("brand_id", "brd_\u{0}").unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Validation, Some("brand_id")));
        assert!(e.message.contains("brd_"), "{}", e.message);
        assert_eq!(ApiKeyId::or_not_found("key_1").unwrap().as_str(), "key_1");
    }

    #[test]
    fn a_target_is_the_default_unless_a_brand_is_named() {
        for default in [None, Some(""), Some("  ")] {
            assert_eq!(Target::from_field(default).unwrap(), Target::Default, "{default:?}");
        }
        let b = Target::from_field(Some(" brd_1 ")).unwrap();
        assert_eq!(b.brand_id(), Some("brd_1"));
        assert_eq!(Target::from_field(Some("brd_\u{0}")).unwrap_err().code, ErrorCode::Validation);
        assert_eq!(Target::from_query(Some("brd_\u{0}")).unwrap_err().code, ErrorCode::NotFound);
    }
}
