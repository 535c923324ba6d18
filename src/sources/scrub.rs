//! The one scrubber for text that came from an upstream.
//!
//! Upstreams echo what they were sent: an error body quoting the request URL,
//! a refusal naming the token, a field of the wrong type holding whatever the
//! upstream put there (serde quotes it in its message). Any of it can carry
//! the API key, so every such text passes through [`Scrubber`] before it
//! becomes part of an error: error bodies, decoding details, validation
//! messages. The key is removed in every form it travels in (raw, and
//! percent-encoded as a query parameter, where `+`, `/` and `=` become
//! `%2B`, `%2F` and `%3D`), and only then is the text cut to length, so a
//! key straddling the cut cannot leave its first half behind.

use crate::error::Error;

use super::http::Secret;

/// Longest upstream text kept in an error message, in characters.
pub const MAX_UPSTREAM_TEXT: usize = 300;

/// What stands in for a removed key.
const REDACTED: &str = "***";

/// Removes one upstream's key from text. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    /// The key's forms, longest first (so an encoded form is replaced whole
    /// before a raw form inside it could be).
    forms: Vec<String>,
}

impl Scrubber {
    /// A scrubber for `key` (none: text passes unchanged).
    pub fn new(key: Option<&Secret>) -> Self {
        let Some(key) = key.map(Secret::expose).filter(|key| !key.is_empty()) else {
            return Self::default();
        };
        let form_encoded: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
        let percent_encoded = percent_encode(key);
        let mut forms = vec![
            key.to_owned(),
            form_encoded.clone(),
            percent_encoded.clone(),
            // Some servers echo escapes in lower case.
            lower_hex(&form_encoded),
            lower_hex(&percent_encoded),
        ];
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Self { forms }
    }

    /// Whether `bytes` hold the key in any of its forms (such a body is not
    /// shared with other replicas).
    pub fn finds_key_in(&self, bytes: &[u8]) -> bool {
        self.forms.iter().any(|form| {
            bytes
                .windows(form.len())
                .any(|window| window == form.as_bytes())
        })
    }

    /// `text` without the key.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for form in &self.forms {
            if text.contains(form.as_str()) {
                text = text.replace(form.as_str(), REDACTED);
            }
        }
        text
    }

    /// `text` without the key, then cut to [`MAX_UPSTREAM_TEXT`] characters.
    pub fn clean(&self, text: &str) -> String {
        let text = self.scrub(text);
        if text.chars().count() > MAX_UPSTREAM_TEXT {
            let cut: String = text.chars().take(MAX_UPSTREAM_TEXT).collect();
            format!("{cut}...")
        } else {
            text
        }
    }

    /// `error` with every text it carries from the upstream cleaned.
    pub fn error(&self, error: Error) -> Error {
        match error {
            Error::UpstreamRejected {
                upstream,
                status,
                message,
            } => Error::UpstreamRejected {
                upstream,
                status,
                message: self.clean(&message),
            },
            Error::UpstreamRateLimited {
                upstream,
                retry_after,
                message,
            } => Error::UpstreamRateLimited {
                upstream,
                retry_after,
                message: message.map(|message| self.clean(&message)),
            },
            Error::UpstreamValidation {
                upstream,
                status,
                message,
            } => Error::UpstreamValidation {
                upstream,
                status,
                message: self.clean(&message),
            },
            Error::UpstreamBadResponse {
                upstream,
                path,
                detail,
            } => Error::UpstreamBadResponse {
                upstream,
                path: self.clean(&path),
                detail: self.clean(&detail),
            },
            other => other,
        }
    }
}

/// Every byte but RFC 3986's unreserved characters as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `%2B` as `%2b`.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|c| c.to_ascii_lowercase()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Source;

    #[test]
    fn bodies_holding_the_key_are_found_in_every_form() {
        let scrubber = Scrubber::new(Some(&Secret::new("k3y/+=")));
        assert!(scrubber.finds_key_in(br#"{"url": "/get?token=k3y/+="}"#));
        assert!(scrubber.finds_key_in(b"token=k3y%2F%2B%3D"));
        assert!(scrubber.finds_key_in(b"token=k3y%2f%2b%3d"));
        assert!(!scrubber.finds_key_in(br#"{"data": []}"#));
        assert!(!Scrubber::new(None).finds_key_in(b"anything"));
    }

    const KEY: &str = "c4n4ry+K3y/with=padding";

    fn scrubber() -> Scrubber {
        Scrubber::new(Some(&Secret::new(KEY)))
    }

    #[test]
    fn removes_the_key_raw_and_percent_encoded() {
        let scrubber = scrubber();
        for text in [
            format!("token {KEY} refused"),
            "GET /api/get?token=c4n4ry%2BK3y%2Fwith%3Dpadding&r=842".to_owned(),
            "GET /api/get?token=c4n4ry%2bK3y%2fwith%3dpadding".to_owned(),
        ] {
            let scrubbed = scrubber.scrub(&text);
            assert!(!scrubbed.contains("c4n4ry"), "{scrubbed}");
            assert!(scrubbed.contains("***"), "{scrubbed}");
        }
    }

    #[test]
    fn scrubs_before_cutting_so_a_straddling_key_leaves_nothing() {
        let text = format!("{}{KEY}", "x".repeat(MAX_UPSTREAM_TEXT - 5));
        let cleaned = scrubber().clean(&text);
        assert!(!cleaned.contains("c4n4"), "{cleaned}");
        assert!(cleaned.ends_with("***"), "{cleaned}");
    }

    #[test]
    fn cleans_every_text_an_upstream_error_carries() {
        let error = scrubber().error(Error::UpstreamBadResponse {
            upstream: Source::Comtrade,
            path: "data[0].period".into(),
            detail: format!("invalid type: string \"{KEY}\", expected u32"),
        });
        assert!(!format!("{error}").contains("c4n4ry"), "{error}");
        let error = scrubber().error(Error::UpstreamValidation {
            upstream: Source::Comtrade,
            status: 5004,
            message: format!("Invalid token {KEY}"),
        });
        assert!(!format!("{error}").contains("c4n4ry"), "{error}");
    }

    #[test]
    fn without_a_key_text_only_gets_cut() {
        let scrubber = Scrubber::new(None);
        assert_eq!(scrubber.scrub("anything"), "anything");
        assert_eq!(
            scrubber.clean(&"y".repeat(400)).len(),
            MAX_UPSTREAM_TEXT + 3
        );
    }
}
