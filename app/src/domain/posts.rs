//! Posts made through the public API: their text and the ids of the posts they reply to or
//! quote, checked before X is called.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// X's limit for a post, in its weighted characters (twitter-text "v3": most scripts weigh 1,
/// CJK, emoji and others 2, a link 23).
pub const MAX_WEIGHTED_LENGTH: usize = 280;
/// What any link counts for, whatever its length (X shortens every link to t.co).
const LINK_WEIGHT: usize = 23;

/// The text of a post: not blank, no control characters but line breaks and tabs, and at most
/// [`MAX_WEIGHTED_LENGTH`] as X counts. X has the final word (it also counts bare domains as
/// links); this catches what certainly fails before spending a request of the account's quota.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostText(String);

impl PostText {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if raw.trim().is_empty() {
            return Err(AppError::invalid("text", "The post has no text. Send the text to post in \"text\"."));
        }
        if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(AppError::invalid(
                "text",
                "The text contains control characters. Remove them and send it again.",
            ));
        }
        let length = weighted_length(raw);
        if length > MAX_WEIGHTED_LENGTH {
            return Err(AppError::invalid(
                "text",
                format!(
                    "The text is {length} characters as X counts them (links count 23, most emoji and CJK characters 2); X allows {MAX_WEIGHTED_LENGTH}. Shorten it by {}.",
                    length - MAX_WEIGHTED_LENGTH
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The length X counts: each link 23, each character by its weight (see [`char_weight`]), an
/// emoji sequence (joined by U+200D, with variation selectors and skin tones) as one emoji.
pub fn weighted_length(text: &str) -> usize {
    let mut total = 0;
    for word in text.split_inclusive(char::is_whitespace) {
        let bare = word.trim_end_matches(char::is_whitespace);
        if is_link(bare) {
            // The white space after it weighs what it weighs anywhere (an ideographic space 2).
            total += LINK_WEIGHT + word[bare.len()..].chars().map(char_weight).sum::<usize>();
            continue;
        }
        let mut after_joiner = false;
        for c in word.chars() {
            let w = match c {
                '\u{200D}' => {
                    after_joiner = true;
                    continue;
                }
                '\u{FE0E}' | '\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}' => 0,
                _ if after_joiner => 0,
                c => char_weight(c),
            };
            after_joiner = false;
            total += w;
        }
    }
    total
}

fn is_link(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    ["http://", "https://"]
        .iter()
        .any(|p| lower.starts_with(p) && lower.len() > p.len() + 2 && lower[p.len()..].contains('.'))
}

/// twitter-text v3's weights: 1 for the ranges below (Latin, Greek, Cyrillic, Hebrew, Arabic,
/// Indic scripts and common punctuation), 2 for everything else.
fn char_weight(c: char) -> usize {
    match c as u32 {
        0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 1,
        _ => 2,
    }
}

/// The id of an X post: 1 to 19 digits (docs/x-api.md "Shapes of identifiers").
pub fn parse_post_id(field: &str, raw: &str) -> Result<String, AppError> {
    let id = raw.trim();
    if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid(
            field,
            format!("\"{field}\" must be the id of an X post: its digits, as in x.com/<user>/status/<id>."),
        ));
    }
    Ok(id.to_owned())
}

/// A post made through Perch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostView {
    /// Perch's id (`pst_…`).
    pub id: String,
    pub account_id: String,
    /// X's id of the post.
    pub x_post_id: String,
    pub username: String,
    pub text: String,
    pub reply_to_post_id: Option<String>,
    pub quote_post_id: Option<String>,
    pub created_at: i64,
}

impl PostView {
    /// The post on x.com.
    pub fn url(&self) -> String {
        format!("https://x.com/{}/status/{}", self.username, self.x_post_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_as_x_counts_it() {
        assert_eq!(weighted_length("hello"), 5);
        assert_eq!(weighted_length("héllo wörld"), 11);
        // CJK weighs 2.
        assert_eq!(weighted_length("日本語"), 6);
        // A link is 23 whatever its length; the space after it counts.
        assert_eq!(weighted_length("see https://example.com/a/very/long/path?with=query and"), 4 + 23 + 4);
        // One emoji, a skin-toned emoji and a family (joined sequence) are 2 each.
        assert_eq!(weighted_length("😀"), 2);
        assert_eq!(weighted_length("👍🏽"), 2);
        assert_eq!(weighted_length("👨\u{200D}👩\u{200D}👧"), 2);
        // An emoji with a presentation selector is one emoji.
        assert_eq!(weighted_length("❤\u{FE0F}"), 2);
    }

    #[test]
    fn text_must_be_present_printable_and_short_enough() {
        assert!(PostText::parse("Hello from Perch\nsecond line").is_ok());
        assert!(PostText::parse(&"a".repeat(280)).is_ok());
        let long = PostText::parse(&"a".repeat(281)).unwrap_err();
        assert_eq!(long.field.as_deref(), Some("text"));
        assert!(long.message.contains("281") && long.message.contains("by 1"), "{}", long.message);
        assert!(PostText::parse(&"日".repeat(141)).is_err());
        assert!(PostText::parse(&"日".repeat(140)).is_ok());
        for bad in ["", "  \n\t", "a\u{0}b", "bell\u{7}"] {
            assert!(PostText::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn post_ids_are_digits() {
        assert_eq!(parse_post_id("reply_to_post_id", " 1686626240768163840 ").unwrap(), "1686626240768163840");
        for bad in ["", "abc", "12345678901234567890", "-1", "1 2"] {
            assert!(parse_post_id("quote_post_id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn known_counts() {
        for (text, count) in [
            ("", 0),
            (" ", 1),
            ("a\nb", 3),
            ("Ünïcödé", 7),
            // Thai and Hangul Jamo are in the weight-1 ranges; a Hangul syllable is not.
            ("สวัสดี", 6),
            ("한", 2),
            // Curly quotes are in a weight-1 range; the ellipsis is not.
            ("\u{2018}hi\u{2019}", 4),
            ("\u{2026}", 2),
            ("https://t.co", 23),
            ("HTTPS://EXAMPLE.COM/PATH", 23),
            ("http://a.b", 23),
            ("https://t.co\u{3000}x", 23 + 2 + 1),
            // Not links: no dot, nothing after the scheme, another scheme.
            ("http://localhost", 16),
            ("http://", 7),
            ("ftp://example.com", 17),
            ("example.com", 11),
            ("🏳\u{FE0F}\u{200D}🌈", 2),
            ("👩🏽\u{200D}💻 and 👍", 2 + 5 + 2),
        ] {
            assert_eq!(weighted_length(text), count, "{text:?}");
        }
        assert_eq!(weighted_length(&"a".repeat(280)), 280);
        assert_eq!(weighted_length(&"😀".repeat(140)), 280);
        assert_eq!(weighted_length(&["https://example.com"; 11].join(" ")), 11 * 23 + 10);
    }

    mod properties {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// Pieces a post is made of, in weights 0 to 23: ASCII, accented Latin, CJK, emoji with a
        /// skin tone or joined into one, white space, links and a link-like word without a dot.
        fn piece() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "a",
                "Z",
                "é",
                "1",
                ".",
                "日",
                "語",
                "😀",
                "👍🏽",
                "👨\u{200D}👩\u{200D}👧",
                "\u{FE0F}",
                "\u{200D}",
                " ",
                "\n",
                "\t",
                "https://example.com/a",
                "http://t.co",
                "http://localhost",
            ])
        }

        /// Texts of 0 to about 320 weighted characters, around the limit of 280.
        fn text() -> impl Strategy<Value = String> {
            prop_oneof![vec(piece(), 0..200).prop_map(|p| p.concat()), any::<String>()]
        }

        proptest! {
            /// Counting and parsing never panic, whatever the text.
            #[test]
            fn any_text_is_counted_and_parsed_without_panicking(raw in any::<String>()) {
                let _ = weighted_length(&raw);
                let _ = PostText::parse(&raw);
            }

            /// Appending never lowers the count, as long as it does not turn the last word into a
            /// link: text without `:` has no links, and a word appended after white space leaves
            /// the words before it alone. (`http://localhost` is 16 and `http://localhost.com` 23:
            /// appending to a word can make it a link, which X counts 23 whatever its length.)
            #[test]
            fn appending_never_lowers_the_count(a in text(), b in text(), gap in "[ \n\t]") {
                let longer = format!("{a}{gap}{b}");
                prop_assert!(weighted_length(&longer) >= weighted_length(&a));
                let (a, b) = (a.replace(':', ""), b.replace(':', ""));
                let longer = a.clone() + &b;
                prop_assert!(weighted_length(&longer) >= weighted_length(&a));
            }

            /// A text that is not blank and has no control characters is accepted exactly when X
            /// counts it at most 280, and is kept as it was sent.
            #[test]
            fn text_is_accepted_iff_its_count_is_at_most_280(raw in text()) {
                let printable = !raw.trim().is_empty() && !raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
                let fits = weighted_length(&raw) <= MAX_WEIGHTED_LENGTH;
                match PostText::parse(&raw) {
                    Ok(text) => {
                        prop_assert!(printable && fits);
                        prop_assert_eq!(text.as_str(), raw.as_str());
                    }
                    Err(e) => {
                        prop_assert!(!(printable && fits), "{raw:?} was refused: {}", e.message);
                        prop_assert_eq!(e.field.as_deref(), Some("text"));
                        if printable {
                            prop_assert!(e.message.contains(&weighted_length(&raw).to_string()), "{}", e.message);
                        }
                    }
                }
            }
        }
    }
}
