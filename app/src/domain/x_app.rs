//! The two values that identify a customer's own X app: its OAuth 2.0 Client ID and Client
//! Secret, parsed so that the mistakes people really make when copying them from X's developer
//! portal are caught with a message saying what to do (shapes from docs/x-api.md, "Shapes of
//! identifiers"). Surrounding spaces and line breaks from copying are trimmed, not refused.

use crate::error::AppError;

/// Where both values live in X's developer portal, for the messages.
const WHERE: &str = "In X's developer portal open your app's Keys and tokens tab and copy the values under \"OAuth 2.0 Client ID and Client Secret\".";

/// The longest value either field accepts; real ones are 34 and 50 characters.
pub const MAX_LEN: usize = 128;

/// What a pasted value looks like, when it is one of the other credentials X hands out.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    /// App-only Bearer Token: a long run of `A`s, often with `%`.
    BearerToken,
    /// OAuth 1.0a Access Token: `<numeric user id>-<alphanumeric>`.
    AccessToken,
    /// OAuth 1.0a API Key (consumer key): 25 alphanumeric characters.
    ApiKey,
    /// An OAuth 2.0 Client ID: base64url text of `<random>:1:ci`, so it ends in `MTpjaQ`.
    ClientId,
    /// 50 characters of `[A-Za-z0-9_-]`: a Client Secret, or an OAuth 1.0a API Key Secret (50
    /// alphanumeric), which no check can tell apart. "Test credentials" does.
    SecretLike,
    Other,
}

fn is_base64url(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn shape(s: &str) -> Shape {
    if s.starts_with("AAAAAAAAAAAAAAAAAAAA") || s.contains('%') {
        return Shape::BearerToken;
    }
    // A user id of at least six digits: every X account since 2006 has one, while a random
    // Client Secret starts with a few digits and a dash about once in 1,600 and must not be
    // refused as a token.
    if let Some((user, rest)) = s.split_once('-')
        && user.len() >= 6
        && user.bytes().all(|b| b.is_ascii_digit())
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Shape::AccessToken;
    }
    if s.len() == 25 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Shape::ApiKey;
    }
    if s.ends_with("MTpjaQ") && is_base64url(s) {
        return Shape::ClientId;
    }
    if s.len() == 50 && is_base64url(s) {
        return Shape::SecretLike;
    }
    Shape::Other
}

/// The checks both fields share: trimmed, not empty, not over-long, no inner white space, not a
/// Bearer Token or an OAuth 1.0a token or key. Returns the trimmed value.
fn common<'a>(input: &'a str, field: &str, label: &str, empty: &str) -> Result<&'a str, AppError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(AppError::invalid(field, empty));
    }
    if s.chars().count() > MAX_LEN {
        return Err(AppError::invalid(
            field,
            format!("That is far longer than an X {label}. Copy it again, and only it. {WHERE}"),
        ));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(AppError::invalid(
            field,
            format!("The {label} contains spaces or line breaks. Copy it again in one piece. {WHERE}"),
        ));
    }
    let message = match shape(s) {
        Shape::BearerToken => format!("This is the app's Bearer Token, not the OAuth 2.0 {label}. {WHERE}"),
        Shape::AccessToken => format!("This is an OAuth 1.0a Access Token, not the OAuth 2.0 {label}. {WHERE}"),
        Shape::ApiKey => {
            format!("This looks like the OAuth 1.0a API Key (consumer key), not the OAuth 2.0 {label}. {WHERE}")
        }
        _ => return Ok(s),
    };
    Err(AppError::invalid(field, message))
}

/// An X app's OAuth 2.0 Client ID. Not a secret (it travels in the authorize URL), but stored
/// encrypted all the same; only [`ClientId::preview`] is kept in plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    /// How many leading characters the preview shows.
    pub const PREVIEW_LEN: usize = 6;

    pub fn parse(input: &str) -> Result<Self, AppError> {
        const F: &str = "client_id";
        let s = common(input, F, "Client ID", &format!("Paste your app's OAuth 2.0 Client ID. {WHERE}"))?;
        match shape(s) {
            Shape::ClientId => Ok(Self(s.to_owned())),
            Shape::SecretLike => Err(AppError::invalid(
                F,
                "This looks like a secret, not the Client ID. Paste it in the Client Secret field; the Client ID is the shorter value that ends in MTpjaQ.",
            )),
            _ => Err(AppError::invalid(
                F,
                format!("This is not an OAuth 2.0 Client ID: X's Client IDs end in MTpjaQ. {WHERE}"),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first six characters, the only part stored in plaintext (shown as `M1M5R3…`).
    pub fn preview(&self) -> String {
        self.0.chars().take(Self::PREVIEW_LEN).collect()
    }
}

/// An X app's OAuth 2.0 Client Secret. Its `Debug` is redacted and it has no `Display` or
/// `Serialize`, so it cannot reach a page, a response or a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// X's Client Secrets are 50 characters; a value far from that was cut short or padded.
    const PLAUSIBLE_LEN: std::ops::RangeInclusive<usize> = 40..=80;

    pub fn parse(input: &str) -> Result<Self, AppError> {
        const F: &str = "client_secret";
        let s = common(
            input,
            F,
            "Client Secret",
            "Paste your app's OAuth 2.0 Client Secret. X shows it only once: if you no longer have it, regenerate it in X's portal (Keys and tokens) and paste the new one.",
        )?;
        if shape(s) == Shape::ClientId {
            return Err(AppError::invalid(
                F,
                "This is the Client ID, not the Client Secret. Paste it in the Client ID field; the Client Secret is the 50-character value shown with it.",
            ));
        }
        if !is_base64url(s) {
            return Err(AppError::invalid(
                F,
                format!(
                    "This contains characters X's Client Secrets never have (they are letters, digits, - and _). Copy it again. {WHERE}"
                ),
            ));
        }
        if !Self::PLAUSIBLE_LEN.contains(&s.len()) {
            return Err(AppError::invalid(
                F,
                format!(
                    "X's Client Secrets are 50 characters long; this one has {}. Copy it again whole. {WHERE}",
                    s.len()
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The secret itself, for the vault and the HTTP Basic header to X, nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Realistic values in X's shapes (docs/x-api.md): the Client ID is the example from X's docs.
    const CLIENT_ID: &str = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ";
    const SECRET: &str = "kJ9_x2Lm-QpR7sT4vW8yZ1aB3cD5eF6gH0iJ2kL4mN6oP8qR0s";
    const API_KEY: &str = "xvz1evFS4wEEPTGEFPHBog0aB";
    const API_KEY_SECRET: &str = "L8qq9PZyRg6ieKGEKhZolGC0vJWLw8iEJ88DRdyOg0aBcDeFgH";
    const BEARER: &str = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F";
    const ACCESS_TOKEN: &str = "1234567890-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab";

    fn field_error(r: Result<impl std::fmt::Debug, AppError>, field: &str) -> String {
        let e = r.expect_err("should be refused");
        assert_eq!(e.field.as_deref(), Some(field));
        e.message
    }

    #[test]
    fn accepts_real_shapes_trimming_what_copying_adds() {
        assert_eq!(ClientId::parse(&format!("  {CLIENT_ID}\n")).unwrap().as_str(), CLIENT_ID);
        assert_eq!(ClientSecret::parse(&format!("\t{SECRET} \r\n")).unwrap().expose(), SECRET);
        // An API Key Secret has a Client Secret's shape; only "Test credentials" can tell.
        assert!(ClientSecret::parse(API_KEY_SECRET).is_ok());
    }

    #[test]
    fn preview_is_the_first_six_characters() {
        assert_eq!(ClientId::parse(CLIENT_ID).unwrap().preview(), "M1M5R3");
    }

    #[test]
    fn empty_fields_say_where_to_find_the_value() {
        assert!(field_error(ClientId::parse(" \n"), "client_id").contains("Keys and tokens"));
        assert!(field_error(ClientSecret::parse(""), "client_secret").contains("regenerate"));
    }

    #[test]
    fn other_x_credentials_pasted_by_mistake_are_named() {
        for (value, says) in [(API_KEY, "API Key"), (BEARER, "Bearer Token"), (ACCESS_TOKEN, "Access Token")] {
            assert!(field_error(ClientId::parse(value), "client_id").contains(says), "{says}");
            assert!(field_error(ClientSecret::parse(value), "client_secret").contains(says), "{says}");
        }
    }

    #[test]
    fn a_secret_that_starts_with_a_few_digits_and_a_dash_is_still_a_secret() {
        // X's secrets are random base64url: about one in 1,600 looks like this.
        let secret = "12-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijk";
        assert_eq!(secret.len(), 50);
        assert!(ClientSecret::parse(secret).is_ok());
    }

    #[test]
    fn swapped_fields_are_caught_both_ways() {
        assert!(field_error(ClientId::parse(SECRET), "client_id").contains("Client Secret field"));
        assert!(field_error(ClientSecret::parse(CLIENT_ID), "client_secret").contains("Client ID field"));
    }

    #[test]
    fn a_client_id_must_end_like_x_s() {
        assert!(field_error(ClientId::parse("my-app-client-id"), "client_id").contains("MTpjaQ"));
    }

    #[test]
    fn inner_spaces_truncation_and_overlong_input_are_refused() {
        let spaced = format!("{} {}", &SECRET[..20], &SECRET[20..]);
        assert!(field_error(ClientSecret::parse(&spaced), "client_secret").contains("spaces"));
        assert!(field_error(ClientSecret::parse(&SECRET[..30]), "client_secret").contains("50 characters"));
        assert!(field_error(ClientSecret::parse(&format!("{SECRET}!")), "client_secret").contains("characters"));
        assert!(field_error(ClientId::parse(&"a".repeat(MAX_LEN + 1)), "client_id").contains("longer"));
    }

    #[test]
    fn messages_and_debug_never_contain_the_secret() {
        // docs/security.md B.8 and A.7: neither an error nor a Debug print repeats what was pasted.
        assert_eq!(format!("{:?}", ClientSecret::parse(SECRET).unwrap()), "ClientSecret([redacted])");
        for bad in [&SECRET[..30], &format!("{SECRET}!") as &str, API_KEY, BEARER] {
            let e = ClientSecret::parse(bad).unwrap_err();
            assert!(!e.message.contains(bad), "{bad}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A Client ID in X's shape: base64url text of `<random>:1:ci`, so ending in `MTpjaQ`.
        /// It starts with a lowercase letter, which no Bearer Token or Access Token does.
        fn client_id() -> impl Strategy<Value = String> {
            "[a-z][A-Za-z0-9_-]{21,60}MTpjaQ"
        }

        /// A Client Secret in X's shape: 50 base64url characters (here starting with a lowercase
        /// letter, so it cannot also look like a Bearer Token or an Access Token).
        fn client_secret() -> impl Strategy<Value = String> {
            "[a-z][A-Za-z0-9_-]{49}".prop_filter("not a Client ID", |s| !s.ends_with("MTpjaQ"))
        }

        /// White space that copying from a web page adds around a value.
        fn padding() -> impl Strategy<Value = String> {
            "[ \t\r\n\u{a0}\u{2003}\u{3000}]{0,4}"
        }

        /// Anything a person might paste, from any Unicode to near misses of X's shapes.
        fn pasted() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[A-Za-z0-9_%: -]{0,140}",
                "[0-9]{1,12}-[A-Za-z0-9]{0,45}",
                "A{15,25}[A-Za-z0-9%]{0,100}",
                client_id(),
                client_secret(),
            ]
        }

        proptest! {
            /// Neither parser panics on any input, and what either accepts reads back the same
            /// through the parser (the trimmed input, no longer than [`MAX_LEN`]).
            #[test]
            fn any_input_is_accepted_or_refused_without_panicking_and_accepted_values_round_trip(input in pasted()) {
                if let Ok(id) = ClientId::parse(&input) {
                    prop_assert_eq!(id.as_str(), input.trim());
                    prop_assert!(id.as_str().chars().count() <= MAX_LEN);
                    prop_assert_eq!(ClientId::parse(id.as_str()), Ok(id.clone()));
                    prop_assert_eq!(id.preview(), id.as_str().chars().take(ClientId::PREVIEW_LEN).collect::<String>());
                }
                if let Ok(secret) = ClientSecret::parse(&input) {
                    prop_assert_eq!(secret.expose(), input.trim());
                    prop_assert!(ClientSecret::parse(secret.expose()).is_ok_and(|again| again == secret));
                    prop_assert!(ClientId::parse(&input).is_err(), "no value is both");
                }
            }

            /// Every refusal names its field and never repeats what was pasted (docs/security.md B.8).
            #[test]
            fn a_refusal_names_its_field_and_never_quotes_the_input(input in "[A-Za-z0-9_%-]{16,140}") {
                if let Err(e) = ClientSecret::parse(&input) {
                    prop_assert_eq!(e.field.as_deref(), Some("client_secret"));
                    prop_assert!(!e.message.contains(&input));
                }
                if let Err(e) = ClientId::parse(&input) {
                    prop_assert_eq!(e.field.as_deref(), Some("client_id"));
                    prop_assert!(!e.message.contains(&input));
                }
            }

            /// X's shapes are accepted, and the white space copying adds around them is trimmed
            /// (the module's documented behaviour), while white space inside is refused.
            #[test]
            fn valid_values_wrapped_in_white_space_parse_to_the_bare_value(
                id in client_id(), secret in client_secret(), before in padding(), after in padding(), at in 1usize..20,
            ) {
                let wrapped = format!("{before}{id}{after}");
                prop_assert_eq!(ClientId::parse(&wrapped), ClientId::parse(&id));
                prop_assert!(ClientId::parse(&wrapped).is_ok_and(|parsed| parsed.as_str() == id));
                let wrapped = format!("{before}{secret}{after}");
                prop_assert!(ClientSecret::parse(&wrapped).is_ok_and(|parsed| parsed.expose() == secret));
                let split = [&secret[..at], " ", &secret[at..]].concat();
                prop_assert!(ClientSecret::parse(&split).unwrap_err().message.contains("spaces"));
                let split = [&id[..at], "\n", &id[at..]].concat();
                prop_assert!(ClientId::parse(&split).unwrap_err().message.contains("spaces"));
            }

            /// Pasting one value in the other's field is caught, whichever way round.
            #[test]
            fn a_client_id_and_a_secret_are_never_taken_for_each_other(id in client_id(), secret in client_secret()) {
                prop_assert!(ClientSecret::parse(&id).unwrap_err().message.contains("Client ID field"));
                prop_assert!(ClientId::parse(&secret).is_err());
            }
        }
    }
}
