//! The one scrubber for text that came from an upstream.
//!
//! Upstreams echo what they were sent: an error body quoting the request URL,
//! a refusal naming the token, a field of the wrong type holding whatever the
//! upstream put there (serde quotes it in its message). Any of it can carry
//! the API key, so every such text passes through [`Scrubber`] before it
//! becomes part of an error: error bodies, decoding details, validation
//! messages. The key is removed in every form it travels in (raw, and
//! percent-encoded as a query parameter, where `+`, `/` and `=` become
//! `%2B`, `%2F` and `%3D`, and base64 in its standard and URL-safe
//! alphabets, padded or not, at any of the three alignments it can have
//! inside a longer encoded text), and only then is the text cut to length,
//! so a key straddling the cut cannot leave its first half behind.
//!
//! Answers that succeed are scrubbed too, before they are decoded: of this
//! key in every form, and of the value of every credential-shaped query
//! parameter in a URL (`key=`, `api_key=`, `token=`...). GTA's records carry
//! `?key=<uuid>` in their URLs, the form of a caller's key: passed through,
//! every client would read it.

use crate::error::Error;

use super::http::Secret;

/// Longest upstream text kept in an error message, in characters.
pub const MAX_UPSTREAM_TEXT: usize = 300;

/// What stands in for a removed key.
const REDACTED: &str = "***";

/// The shortest key removed from upstream text. A shorter one cannot be
/// told from data: "x" or "Horses" as a key made every "x" of GTA's
/// answers, and "Horses" in Comtrade's HS list, `***` (issue 20's
/// re-attack). Real keys are 32 characters or more; a shorter one is
/// warned about at start (`config::checks`).
pub const MIN_SCRUBBED_KEY: usize = 8;

/// Removes API keys from upstream text: every configured key, in every
/// form. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    /// The keys' forms, longest first.
    forms: Vec<String>,
    /// The keys themselves, for the one form no list can hold: each
    /// character written its own way ([`escaped_spans`]).
    keys: Vec<Vec<u8>>,
    /// All of them, found in one pass, the longest at each place (so an
    /// encoded form is replaced whole before a raw form inside it could
    /// be). `None` without a key.
    finder: Option<std::sync::Arc<aho_corasick::AhoCorasick>>,
}

/// Every form of `key` the scrubber looks for: each spelling of it (as
/// given, in either case, a UUID-shaped key without its dashes) in each
/// encoding an upstream may echo it in. An attack found the upper-case
/// dashless spelling raw, and the dashless one's base64 and hex, which
/// were looked for only for the key as given.
fn forms_of(key: &str) -> Vec<String> {
    let mut spellings = vec![key.to_owned()];
    let dashless = key.replace('-', "");
    // Thirty-two hex digits are a UUID however they are written: with its
    // dashes too (a dashless key came back dashed in an attack's data).
    let dashed =
        (dashless.len() == 32 && dashless.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
            format!(
                "{}-{}-{}-{}-{}",
                &dashless[..8],
                &dashless[8..12],
                &dashless[12..16],
                &dashless[16..20],
                &dashless[20..]
            )
        });
    for spelling in [
        key.to_ascii_uppercase(),
        key.to_ascii_lowercase(),
        dashless.clone(),
        dashless.to_ascii_uppercase(),
        dashless.to_ascii_lowercase(),
    ]
    .into_iter()
    .chain(
        dashed
            .iter()
            .flat_map(|dashed| [dashed.to_ascii_lowercase(), dashed.to_ascii_uppercase()]),
    ) {
        if spelling.len() >= MIN_SCRUBBED_KEY && !spellings.contains(&spelling) {
            spellings.push(spelling);
        }
    }
    let mut forms = Vec::new();
    for spelling in &spellings {
        forms.extend(encodings_of(spelling));
    }
    // A key written in hex (a UUID is 16 bytes in hex) travels as its
    // bytes too: a UUID sent as binary and echoed in base64 (or in hex
    // with its bytes escaped) is the key.
    if let Some(bytes) = hex_bytes(&dashless) {
        forms.extend(base64_forms(&bytes));
        // A UUID's bytes in Microsoft's GUID order (the first three fields
        // little-endian), as .NET's `Guid.ToByteArray` gives them.
        if bytes.len() == 16 {
            let mut guid = bytes.clone();
            guid[..4].reverse();
            guid[4..6].reverse();
            guid[6..8].reverse();
            forms.extend(base64_forms(&guid));
        }
        forms.push(bytes.iter().map(|byte| format!("%{byte:02X}")).collect());
        forms.push(bytes.iter().map(|byte| format!("%{byte:02x}")).collect());
        forms.push(bytes.iter().map(|byte| format!("\\x{byte:02x}")).collect());
    }
    forms.extend(cut_forms(key));
    forms
}

/// The bytes `text` spells in hex, when it is an even number (16 or more)
/// of hex digits.
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if text.len() < 16 || text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

/// `key` and the encodings an upstream may echo it in.
fn encodings_of(key: &str) -> Vec<String> {
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
    forms.extend(base64_forms(key.as_bytes()));
    // Every byte escaped, as some encoders and attackers write it.
    let every_byte: String = key.bytes().map(|byte| format!("%{byte:02X}")).collect();
    forms.push(lower_hex(&every_byte));
    forms.push(every_byte);
    let hex: String = key.bytes().map(|byte| format!("{byte:02x}")).collect();
    forms.push(hex.to_ascii_uppercase());
    forms.push(hex);
    forms.push(key.bytes().map(|byte| format!("&#{byte};")).collect());
    forms.push(key.bytes().map(|byte| format!("&#x{byte:x};")).collect());
    forms.push(key.bytes().map(|byte| format!("&#x{byte:X};")).collect());
    forms.push(key.bytes().map(|byte| format!("&#{byte:03};")).collect());
    // Escaped twice (`%` itself escaped as `%25`), as a URL inside a URL is.
    forms.push(key.bytes().map(|byte| format!("%25{byte:02X}")).collect());
    forms.push(key.bytes().map(|byte| format!("%25{byte:02x}")).collect());
    forms.push(percent_encode(&percent_encode(key)));
    forms
}

/// The key cut short, in its spellings.
fn cut_forms(key: &str) -> Vec<String> {
    let mut forms = Vec::new();
    // Cut short: an upstream that quotes the first part of what it was
    // sent gives away that much of the key. Every prefix of at least
    // half the key (and 12 characters: random enough never to occur
    // otherwise) is a form.
    if key.len() >= 16 {
        let shortest = (key.len() / 2).max(12);
        for end in shortest..key.len() {
            if key.is_char_boundary(end) {
                forms.push(key[..end].to_owned());
                forms.push(key[..end].to_ascii_uppercase());
                forms.push(key[..end].to_ascii_lowercase());
                forms.push(key[key.len() - end..].to_owned());
            }
        }
    }
    forms
}

impl Scrubber {
    /// A scrubber for `key` (none: text passes unchanged).
    pub fn new(key: Option<&Secret>) -> Self {
        Self::of_keys(key)
    }

    /// A scrubber for every one of `keys`: each upstream's text is cleaned
    /// of every configured key, not only its own (issue 22's attack: an
    /// ITA error echoing the GTA key reached the client).
    pub fn of_keys<'a>(keys: impl IntoIterator<Item = &'a Secret>) -> Self {
        let keys: Vec<&str> = keys
            .into_iter()
            .map(Secret::expose)
            .filter(|key| key.len() >= MIN_SCRUBBED_KEY)
            .collect();
        let mut forms: Vec<String> = keys.iter().copied().flat_map(forms_of).collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        let finder = (!forms.is_empty())
            .then(|| {
                aho_corasick::AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .build(&forms)
                    .ok()
            })
            .flatten()
            .map(std::sync::Arc::new);
        let keys = keys.iter().map(|key| key.as_bytes().to_vec()).collect();
        Self {
            forms,
            keys,
            finder,
        }
    }

    /// Whether `bytes` hold the key in any of its forms (such a body is not
    /// shared with other replicas).
    pub fn finds_key_in(&self, bytes: &[u8]) -> bool {
        self.finds_form_in(bytes) || !escaped_spans(&self.keys, bytes, false).is_empty()
    }

    /// Whether `bytes` hold one of the key's listed forms (one pass; the
    /// steps of scrubbing ask this, and look for mixed escapes once, last).
    fn finds_form_in(&self, bytes: &[u8]) -> bool {
        self.finder
            .as_ref()
            .is_some_and(|finder| finder.is_match(bytes))
    }

    /// `bytes` (a JSON document when `json`) with every key written
    /// character by character in mixed escapes replaced; `None` when there
    /// is none.
    fn replace_escaped(&self, bytes: &[u8], json: bool) -> Option<Vec<u8>> {
        let spans = escaped_spans(&self.keys, bytes, json);
        if spans.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut copied = 0;
        for (start, end) in spans {
            out.extend_from_slice(&bytes[copied..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            copied = end;
        }
        out.extend_from_slice(&bytes[copied..]);
        Some(out)
    }

    /// `bytes` with every form of the key replaced.
    fn replace_forms(&self, bytes: &[u8]) -> Vec<u8> {
        match &self.finder {
            Some(finder) => {
                let with = vec![REDACTED.as_bytes(); self.forms.len()];
                finder.replace_all_bytes(bytes, &with)
            }
            None => bytes.to_vec(),
        }
    }

    /// `bytes`, a JSON document, with every form of the key replaced, each
    /// match widened so that it never cuts a JSON escape in two (issue 23's
    /// third attack: a key holding a backslash, quoted in a text, left half
    /// an escape behind and the answer no longer read as JSON).
    fn replace_forms_json(&self, bytes: &[u8]) -> Vec<u8> {
        let Some(finder) = &self.finder else {
            return bytes.to_vec();
        };
        let mut out = Vec::with_capacity(bytes.len());
        let mut copied = 0;
        for found in finder.find_iter(bytes) {
            let (mut start, mut end) = (found.start(), found.end());
            // Begins on the character an escape's backslash escapes.
            let before = bytes[..start]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if before % 2 == 1 {
                start -= 1;
            }
            // Ends on a backslash that begins an escape: the escape whole.
            let run = bytes[..end]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if run % 2 == 1 {
                end = (end + if bytes.get(end) == Some(&b'u') { 5 } else { 1 }).min(bytes.len());
            }
            if start < copied {
                continue;
            }
            out.extend_from_slice(&bytes[copied..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            copied = end;
        }
        out.extend_from_slice(&bytes[copied..]);
        out
    }

    /// `text` without the key.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = unescape_json_ascii(text.as_bytes())
            .and_then(|plain| String::from_utf8(plain).ok())
            .unwrap_or_else(|| text.to_owned());
        if self.finds_form_in(text.as_bytes()) {
            text = String::from_utf8(self.replace_forms(text.as_bytes())).unwrap_or_default();
        }
        // A key with some of its letters percent-encoded, as in answers.
        if let Some(plain) =
            unescape_percent_unreserved(text.as_bytes()).filter(|plain| self.finds_form_in(plain))
        {
            text = String::from_utf8(self.replace_forms(&plain)).unwrap_or_default();
        }
        if let Some(cleaned) = self.replace_escaped(text.as_bytes(), false) {
            text = String::from_utf8(cleaned).unwrap_or_default();
        }
        text
    }

    /// An upstream's answer without the key in any form and without the
    /// values of credential-shaped URL query parameters; borrowed unchanged
    /// when it holds neither (the common case costs one scan).
    pub fn answer<'a>(&self, body: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        let mut body = std::borrow::Cow::Borrowed(body);
        // `\u0031` is `1` to every JSON reader: the key must not hide in
        // escapes it did not need.
        if let Some(plain) = unescape_json_ascii(&body) {
            body = std::borrow::Cow::Owned(plain);
        }
        if self.finds_form_in(&body) {
            body = std::borrow::Cow::Owned(self.replace_forms_json(&body));
        }
        // A key with some of its letters percent-encoded (`%41` is `A` in
        // any URL) is the key: unfolded where that reveals one, whatever
        // other forms of it the answer held (they are gone by now).
        if let Some(plain) = unescape_percent_unreserved(&body) {
            if self.finds_form_in(&plain) {
                body = std::borrow::Cow::Owned(self.replace_forms_json(&plain));
            }
        }
        // A key written as JSON escapes inside a text (`\\u0069...` in
        // the body: the text `\u0069...`, which a client decoding it again
        // reads as the key; issue 22's fifth attack found it in data,
        // though error messages, which are unfolded, had it removed).
        if let Some(plain) = unfold_escaped_escapes(&body) {
            if self.finds_form_in(&plain) {
                body = std::borrow::Cow::Owned(self.replace_forms_json(&plain));
            }
        }
        // Each character written its own way (`%2F` beside `%3d`, `&#47;`,
        // `\/`): issue 23's second attack.
        if let Some(cleaned) = self.replace_escaped(&body, true) {
            body = std::borrow::Cow::Owned(cleaned);
        }
        if let Some(redacted) = redact_credential_parameters(&body) {
            body = std::borrow::Cow::Owned(redacted);
        }
        match redact_url_userinfo(&body) {
            Some(redacted) => std::borrow::Cow::Owned(redacted),
            None => body,
        }
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

/// Query parameter names that are credentials, lower case, compared whole.
const CREDENTIAL_PARAMETERS: [&str; 7] = [
    "key",
    "auth",
    "authorization",
    "pass",
    "pwd",
    // Signed URLs: whoever holds one acts as its signer.
    "sig",
    "x-amz-security-token",
];

/// Parts of a name that make any parameter a credential, lower case:
/// `client_secret`, `refresh_token`, `x-api-key`, `x-amz-credential`,
/// `x-goog-signature`, `sessionid`.
const CREDENTIAL_NAME_PARTS: [&str; 11] = [
    "secret",
    "token",
    "password",
    "passwd",
    "credential",
    "signature",
    "apikey",
    "api_key",
    "api-key",
    "subscription-key",
    "session",
];

/// Whether a query parameter named `name` carries a credential.
fn is_credential_parameter(name: &[u8]) -> bool {
    let name = name.to_ascii_lowercase();
    CREDENTIAL_PARAMETERS
        .iter()
        .any(|candidate| name == candidate.as_bytes())
        || CREDENTIAL_NAME_PARTS.iter().any(|part| {
            name.windows(part.len())
                .any(|window| window == part.as_bytes())
        })
}

/// `text` with the value of every credential-shaped query parameter
/// (`?key=...`, `&token=...`; answers have JSON's `\u0026` unfolded first) replaced
/// by [`REDACTED`]; `None` when there is none. Values end at `&`, `#`, a
/// quote, a backslash or white space.
pub fn redact_credential_parameters(text: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while at < text.len() {
        let separator = match text[at] {
            // Query strings, fragments (`#key=`) and matrix parameters.
            b'?' | b'&' | b'#' | b';' => 1,
            _ => {
                at += 1;
                continue;
            }
        };
        let name_start = at + separator;
        let Some(equals) = text[name_start..]
            .iter()
            .take(32)
            .position(|&byte| byte == b'=')
            .map(|offset| name_start + offset)
        else {
            at += 1;
            continue;
        };
        if !is_credential_parameter(&text[name_start..equals]) {
            at += 1;
            continue;
        }
        let value_start = equals + 1;
        let value_end = text[value_start..]
            .iter()
            .position(|&byte| {
                matches!(byte, b'&' | b'#' | b'"' | b'\'' | b'\\' | b'<' | b'>')
                    || byte.is_ascii_whitespace()
            })
            .map_or(text.len(), |offset| value_start + offset);
        let value = &text[value_start..value_end];
        if !value.is_empty() && value != REDACTED.as_bytes() {
            let out = out.get_or_insert_with(|| Vec::with_capacity(text.len()));
            out.extend_from_slice(&text[copied..value_start]);
            out.extend_from_slice(REDACTED.as_bytes());
            copied = value_end;
        }
        at = value_end.max(at + 1);
    }
    let mut out = out?;
    out.extend_from_slice(&text[copied..]);
    Some(out)
}

/// `text` with the user part of every URL in it (`https://user:password@host`,
/// credentials a record's link should never carry to clients) replaced by
/// [`REDACTED`]; `None` when there is none. The authority ends at `/`, `?`,
/// `#`, a quote, a backslash, `<`, `>` or white space; an `@` after it (a
/// path's `/@user`) is not a user part.
pub fn redact_url_userinfo(text: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = memchr::memmem::find(&text[from..], b"://") {
        let start = from + found + 3;
        let end = text[start..]
            .iter()
            .position(|&byte| {
                matches!(
                    byte,
                    b'/' | b'?' | b'#' | b'"' | b'\'' | b'\\' | b'<' | b'>'
                ) || byte.is_ascii_whitespace()
            })
            .map_or(text.len(), |offset| start + offset);
        if let Some(at) = text[start..end].iter().rposition(|&byte| byte == b'@') {
            let user_end = start + at;
            if user_end > start && &text[start..user_end] != REDACTED.as_bytes() {
                let out = out.get_or_insert_with(|| Vec::with_capacity(text.len()));
                out.extend_from_slice(&text[copied..start]);
                out.extend_from_slice(REDACTED.as_bytes());
                copied = user_end;
            }
        }
        from = end.max(start);
    }
    let mut out = out?;
    out.extend_from_slice(&text[copied..]);
    Some(out)
}

/// `text` with percent-escapes of unreserved characters (letters, digits,
/// `-._~`, the same in any URL escaped or not) written plainly; `None`
/// when there is none.
fn unescape_percent_unreserved(text: &[u8]) -> Option<Vec<u8>> {
    memchr::memchr(b'%', text)?;
    let mut out = Vec::with_capacity(text.len());
    let mut changed = false;
    let mut at = 0;
    while at < text.len() {
        let byte = text
            .get(at + 1..at + 3)
            .filter(|_| text[at] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|byte| {
                byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
            });
        match byte {
            Some(byte) => {
                out.push(byte);
                at += 3;
                changed = true;
            }
            None => {
                out.push(text[at]);
                at += 1;
            }
        }
    }
    changed.then_some(out)
}

/// `text` with JSON's `\u00XX` escapes of printable ASCII and its `\/`
/// escape of a slash written plainly (a quote and a backslash stay escaped,
/// so JSON stays the same JSON); `None` when there is none.
fn unescape_json_ascii(text: &[u8]) -> Option<Vec<u8>> {
    if memchr::memmem::find(text, b"\\u00").is_none()
        && memchr::memmem::find(text, b"\\/").is_none()
    {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    let mut changed = false;
    while at < text.len() {
        if text[at] == b'\\' {
            // Escapes are consumed whole, so a backslash here starts one.
            let escaped_byte = text
                .get(at + 1..at + 6)
                .filter(|escape| escape[0] == b'u' && escape[1] == b'0' && escape[2] == b'0')
                .and_then(|escape| std::str::from_utf8(&escape[3..5]).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .filter(|byte| (0x20..0x7f).contains(byte) && !matches!(byte, b'"' | b'\\'));
            // `\/` is `/` to every JSON reader (a key's base64 slashes).
            if text.get(at + 1) == Some(&b'/') {
                out.push(b'/');
                at += 2;
                changed = true;
                continue;
            }
            match escaped_byte {
                Some(byte) => {
                    out.push(byte);
                    at += 6;
                    changed = true;
                }
                None => {
                    // Another escape (`\\`, `\"`, `\n`...): copied whole, so
                    // that its second byte is never read as a start.
                    out.extend_from_slice(&text[at..(at + 2).min(text.len())]);
                    at += 2;
                }
            }
        } else {
            out.push(text[at]);
            at += 1;
        }
    }
    changed.then_some(out)
}

/// `text` (JSON) with `\\u00XX` (an escaped backslash, then `u00XX`: the
/// text `\u00XX` inside a string) written as the printable ASCII byte it
/// spells; `None` when there is none. For finding a key written as escapes
/// inside a text; other escapes are copied whole, so that the second byte
/// of one is never read as the start of another.
fn unfold_escaped_escapes(text: &[u8]) -> Option<Vec<u8>> {
    memchr::memmem::find(text, b"\\\\u00")?;
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    let mut changed = false;
    while at < text.len() {
        if text[at] != b'\\' {
            out.push(text[at]);
            at += 1;
            continue;
        }
        let spelled = text
            .get(at..at + 7)
            .filter(|escape| escape.starts_with(b"\\\\u00"))
            .and_then(|escape| std::str::from_utf8(&escape[5..7]).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|byte| (0x20..0x7f).contains(byte) && !matches!(byte, b'"' | b'\\'));
        match spelled {
            Some(byte) => {
                out.push(byte);
                at += 7;
                changed = true;
            }
            None => {
                out.extend_from_slice(&text[at..(at + 2).min(text.len())]);
                at += 2;
            }
        }
    }
    changed.then_some(out)
}

/// The credentials an upstream URL carries in its user part, as secrets to
/// scrub: the password, and `user:password` (which HTTP clients send as
/// `Authorization: Basic` base64 of it, a form the scrubber looks for),
/// each as written and percent-decoded. An upstream that echoed them (an
/// error body quoting the credentials it refused) passed them to clients
/// (issue 22's fourth attack), though the startup line hid them.
pub fn credentials_in_url(url: &str) -> Vec<Secret> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Vec::new();
    };
    let Some(password) = parsed.password() else {
        return Vec::new();
    };
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = parsed.username();
    let mut secrets: Vec<String> = vec![
        password.to_owned(),
        decode(password),
        format!("{user}:{password}"),
        format!("{}:{}", decode(user), decode(password)),
    ];
    secrets.sort();
    secrets.dedup();
    secrets.into_iter().map(Secret::new).collect()
}

/// `url` as it may be printed: without a password in its user part.
pub fn printable_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() || !parsed.username().is_empty() => {
            let _ = parsed.set_username("***");
            let _ = parsed.set_password(None);
            let printed = parsed.to_string();
            String::from_utf8(
                redact_credential_parameters(printed.as_bytes())
                    .unwrap_or_else(|| printed.clone().into_bytes()),
            )
            .unwrap_or(printed)
        }
        _ => redact_credential_parameters(url.as_bytes())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_else(|| url.to_owned()),
    }
}

/// The key's base64 forms: standard and URL-safe alphabets, padded and not,
/// and the cores it has at the two other alignments inside a longer
/// encoded text (the characters that depend on the key's bytes alone).
fn base64_forms(key: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    let mut forms = Vec::new();
    for engine in [&STANDARD, &URL_SAFE] {
        forms.push(engine.encode(key));
    }
    for offset in 0..3usize {
        let mut shifted = vec![0u8; offset];
        shifted.extend_from_slice(key);
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&shifted);
            // Characters touched by the leading filler, and the last one
            // when it also holds bits of whatever follows the key.
            let skip = (offset * 8).div_ceil(6);
            let end = (shifted.len() * 8) / 6;
            if end > skip + 3 {
                forms.push(encoded[skip..end].to_owned());
            }
        }
    }
    forms
}

/// Where a key is written with each of its characters spelled its own
/// way: raw (in either case, as every key of this length is matched),
/// percent-escaped in either case of hex and escaped again any number of
/// times (`%2F`, `%2f`, `%252F`), as an HTML character reference
/// (`&#47;`, `&#x2F;`, `&amp;`), or a punctuation character after a
/// backslash (`\/`, as PHP writes it). No list of forms holds every mix (a
/// key with three reserved characters has 27 in percent-escapes alone;
/// issue 23's second attack found the mixed cases of hex), so each key is
/// matched character by character where the text could hold an escape.
///
/// `json`: `text` is a JSON document, where a backslash or a quote inside a
/// text is written after a backslash and a bare one is never the key's (a
/// span must not cut an escape in two or cross the end of a text). The
/// spans found, in order, not overlapping.
fn escaped_spans(keys: &[Vec<u8>], text: &[u8], json: bool) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    if keys.is_empty() || memchr::memchr3(b'%', b'&', b'\\', text).is_none() {
        return spans;
    }
    // The bytes a written key can start with: its first character in
    // either case, or an escape.
    let mut starts = [false; 256];
    for byte in [b'%', b'&', b'\\', b'+'] {
        starts[usize::from(byte)] = true;
    }
    for first in keys.iter().filter_map(|key| key.first()) {
        starts[usize::from(first.to_ascii_lowercase())] = true;
        starts[usize::from(first.to_ascii_uppercase())] = true;
    }
    let mut at = 0;
    while let Some(offset) = text[at..]
        .iter()
        .position(|&byte| starts[usize::from(byte)])
    {
        at += offset;
        match keys.iter().find_map(|key| key_at(text, at, key, json)) {
            Some(end) => {
                spans.push((at, end));
                at = end;
            }
            None => at += 1,
        }
    }
    spans
}

/// Where `key` ends if it is written from `at`, each character its own
/// way. A `%`, `&` or `\\` may be a key's own character or the start of
/// an escape of the next: every reading is tried.
fn key_at(text: &[u8], at: usize, key: &[u8], json: bool) -> Option<usize> {
    let Some((&byte, rest)) = key.split_first() else {
        return Some(at);
    };
    escapes_at(text, at, byte, json)
        .into_iter()
        .chain(raw_at(text, at, byte, json))
        .find_map(|length| key_at(text, at + length, rest, json))
}

/// How many bytes of `text` from `at` are `byte` itself, in either case:
/// inside JSON a backslash or a quote is written after a backslash, and
/// only so.
fn raw_at(text: &[u8], at: usize, byte: u8, json: bool) -> Option<usize> {
    let rest = text.get(at..)?;
    if json && matches!(byte, b'\\' | b'"') {
        return rest.starts_with(&[b'\\', byte]).then_some(2);
    }
    rest.first()
        .is_some_and(|here| here.eq_ignore_ascii_case(&byte))
        .then_some(1)
}

/// How many bytes of `text` from `at` are an escape of `byte`: each
/// reading (a `%` escaped again is itself an escape of `%`).
fn escapes_at(text: &[u8], at: usize, byte: u8, json: bool) -> Vec<usize> {
    let mut lengths = Vec::new();
    let Some(rest) = text.get(at..) else {
        return lengths;
    };
    let hex = |from: usize| -> Option<u8> {
        let digits = text.get(from..from + 2)?;
        u8::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    match rest.first() {
        // A space in a form-encoded text (Python's quote_plus).
        Some(b'+') if byte == b' ' => lengths.push(1),
        Some(b'%') => {
            // `%uHHHH`, JavaScript's old `escape()` of a character.
            if matches!(rest.get(1), Some(b'u' | b'U'))
                && hex(at + 2) == Some(0)
                && hex(at + 4).is_some_and(|value| value.eq_ignore_ascii_case(&byte))
            {
                lengths.push(6);
            }
            // `%XX`, or escaped again any number of times: the `%` of
            // `%2F` written `%25`, as `%252F` (and `%25252F`).
            let mut digits = at + 1;
            while let Some(value) = hex(digits) {
                if value.eq_ignore_ascii_case(&byte) {
                    lengths.push(digits + 2 - at);
                }
                if value != b'%' {
                    break;
                }
                digits += 2;
            }
        }
        Some(b'&') => {
            // HTML's names for the characters keys hold, in any case.
            let named: &[(&str, u8)] = &[
                ("&amp;", b'&'),
                ("&quot;", b'"'),
                ("&apos;", b'\''),
                ("&lt;", b'<'),
                ("&gt;", b'>'),
                ("&equals;", b'='),
                ("&sol;", b'/'),
                ("&bsol;", b'\\'),
                ("&plus;", b'+'),
                ("&num;", b'#'),
                ("&percnt;", b'%'),
                ("&colon;", b':'),
                ("&semi;", b';'),
                ("&commat;", b'@'),
                ("&excl;", b'!'),
                ("&quest;", b'?'),
                ("&dollar;", b'$'),
                ("&comma;", b','),
                ("&lpar;", b'('),
                ("&rpar;", b')'),
                ("&ast;", b'*'),
                ("&midast;", b'*'),
                ("&period;", b'.'),
                ("&lowbar;", b'_'),
                ("&hyphen;", b'-'),
                ("&tilde;", b'~'),
                ("&verbar;", b'|'),
                ("&nbsp;", b' '),
            ];
            for (name, value) in named {
                if *value == byte
                    && rest
                        .get(..name.len())
                        .is_some_and(|written| written.eq_ignore_ascii_case(name.as_bytes()))
                {
                    lengths.push(name.len());
                }
            }
            lengths.extend(character_reference(rest, byte));
        }
        // A character after a backslash (one backslash in a text, two
        // inside JSON), the character itself as a text or JSON writes it;
        // or `\xHH`, as C and Python write a byte.
        Some(b'\\') => {
            let prefix = if json { 2 } else { 1 };
            if rest.len() > prefix && rest[..prefix].iter().all(|&b| b == b'\\') {
                if let Some(length) = raw_at(text, at + prefix, byte, json) {
                    lengths.push(prefix + length);
                }
                if matches!(rest.get(prefix), Some(b'x' | b'X'))
                    && hex(at + prefix + 1) == Some(byte)
                {
                    lengths.push(prefix + 3);
                }
            }
        }
        _ => {}
    }
    lengths
}

/// The length of `&#NN;` or `&#xHH;` at the start of `text` when it is
/// `byte` (in either case).
fn character_reference(text: &[u8], byte: u8) -> Option<usize> {
    let digits = text.strip_prefix(b"&#")?;
    let (radix, digits, skip) = match digits.first() {
        Some(b'x' | b'X') => (16, &digits[1..], 3),
        _ => (10, digits, 2),
    };
    // The digits, and the `;` browsers also read a reference without.
    let length = digits
        .iter()
        .take(8)
        .take_while(|b| b.is_ascii_hexdigit() && (radix == 16 || b.is_ascii_digit()))
        .count();
    if length == 0 {
        return None;
    }
    let value = u32::from_str_radix(std::str::from_utf8(&digits[..length]).ok()?, radix).ok()?;
    let semicolon = usize::from(digits.get(length) == Some(&b';'));
    (value == u32::from(byte) || (value < 128 && (value as u8).eq_ignore_ascii_case(&byte)))
        .then_some(skip + length + semicolon)
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
        let scrubber = Scrubber::new(Some(&Secret::new("k3y/+=k3y")));
        assert!(scrubber.finds_key_in(br#"{"url": "/get?token=k3y/+=k3y"}"#));
        assert!(scrubber.finds_key_in(b"token=k3y%2F%2B%3Dk3y"));
        assert!(scrubber.finds_key_in(b"token=k3y%2f%2b%3dk3y"));
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

    /// Every base64 decoding of `text` (each run of alphabet characters, at
    /// each of the four phases, in both alphabets): an oracle independent
    /// of how the scrubber finds the key.
    fn decodings(text: &str) -> Vec<Vec<u8>> {
        use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
        use base64::Engine;
        let lenient = GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
        let engines = [
            GeneralPurpose::new(&base64::alphabet::STANDARD, lenient),
            GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient),
        ];
        let mut out = Vec::new();
        for run in text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_".contains(c))) {
            for phase in 0..4.min(run.len()) {
                let usable = (run.len() - phase) / 4 * 4;
                for engine in &engines {
                    if let Ok(bytes) = engine.decode(&run[phase..phase + usable]) {
                        out.push(bytes);
                    }
                }
            }
        }
        out
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        memchr::memmem::find(haystack, needle).is_some()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// The rule behind issue 22's cross-source finding: a scrubber of
        /// several keys leaves none of them, in any order or encoding
        /// mixed in one answer, and keeps text that holds none.
        #[test]
        fn every_configured_key_is_scrubbed_from_every_answer(
            keys in proptest::collection::vec("[A-Za-z0-9+/=_-]{12,40}", 1..4),
            picks in proptest::collection::vec((0usize..4, 0usize..3), 1..6),
            filler in "[ a-z]{0,20}",
        ) {
            let secrets: Vec<Secret> = keys.iter().map(Secret::new).collect();
            let scrubber = Scrubber::of_keys(&secrets);
            let mut body = filler.clone();
            for (which, encoding) in picks {
                let key = &keys[which % keys.len()];
                body.push_str(&match encoding {
                    0 => key.clone(),
                    1 => url::form_urlencoded::byte_serialize(key.as_bytes()).collect(),
                    _ => key.bytes().map(|byte| format!("{byte:02x}")).collect(),
                });
                body.push_str(&filler);
            }
            let cleaned = String::from_utf8(scrubber.answer(body.as_bytes()).into_owned()).unwrap();
            for key in &keys {
                proptest::prop_assert!(!cleaned.contains(key.as_str()), "{key} in {cleaned}");
            }
            let untouched = scrubber.answer(filler.as_bytes());
            proptest::prop_assert_eq!(untouched.as_ref(), filler.as_bytes());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Issue 22's re-attack: the key cut short (any prefix or suffix of at
        /// least half of it and 12 characters), in another case, escaped twice,
        /// or as upper-case or zero-padded HTML entities, is removed too.
        #[test]
        fn cut_cased_and_twice_escaped_keys_are_removed(
            key in "[A-Za-z0-9_.~-]{16,48}",
            cut in 0usize..100,
            form in 0usize..6,
            words in "[a-z ]{0,20}",
        ) {
            let scrubber = Scrubber::new(Some(&Secret::new(key.clone())));
            let shortest = (key.len() / 2).max(12);
            let end = shortest + cut % (key.len() - shortest + 1);
            let piece = match form {
                0 => key[..end].to_owned(),
                1 => key[key.len() - end..].to_owned(),
                2 => key.to_ascii_uppercase(),
                3 => key.bytes().map(|byte| format!("%25{byte:02X}")).collect(),
                4 => key.bytes().map(|byte| format!("&#x{byte:X};")).collect(),
                _ => key.bytes().map(|byte| format!("&#{byte:03};")).collect(),
            };
            let text = format!("{words} echo: {piece} {words}");
            for cleaned in [
                scrubber.scrub(&text),
                String::from_utf8(scrubber.answer(text.as_bytes()).into_owned()).unwrap(),
            ] {
                proptest::prop_assert!(!cleaned.contains(&piece), "{piece} in {cleaned}");
                proptest::prop_assert!(
                    !cleaned.to_ascii_lowercase().contains(&key[..shortest].to_ascii_lowercase()),
                    "{cleaned}"
                );
                proptest::prop_assert!(cleaned.starts_with(&format!("{words} echo: ")), "{cleaned}");
            }
        }

        /// Issue 22's third attack: a UUID-shaped key in any spelling (as
        /// given, upper or lower case, without its dashes) in any
        /// encoding (raw, base64, hex in either case, percent-escaped) is
        /// removed; the upper-case dashless spelling came back raw, and the
        /// dashless one's base64 and hex whole; so are its 16 bytes in
        /// base64 or escaped (the fourth attack). The encodings are written
        /// here independently of the scrubber's.
        #[test]
        fn every_spelling_of_a_uuid_key_in_every_encoding_is_removed(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 16),
            spelling in 0usize..5,
            encoding in 0usize..10,
            configured_dashless in proptest::prelude::any::<bool>(),
            words in "[a-z ]{0,20}",
        ) {
            use base64::Engine;
            let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            let key = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]
            );
            // Configured with its dashes or without (ITA's keys are 32 hex
            // digits): every spelling is the same key.
            let configured = if configured_dashless { hex.clone() } else { key.clone() };
            let scrubber = Scrubber::new(Some(&Secret::new(configured)));
            let spelled = match spelling {
                0 => key.clone(),
                1 => key.to_ascii_uppercase(),
                2 => key.replace('-', ""),
                3 => key.replace('-', "").to_ascii_uppercase(),
                _ => key.to_ascii_uppercase().replace('-', "").to_ascii_lowercase(),
            };
            let piece = match encoding {
                0 => spelled.clone(),
                1 => base64::engine::general_purpose::STANDARD.encode(&spelled),
                2 => spelled.bytes().map(|byte| format!("{byte:02x}")).collect(),
                3 => spelled.bytes().map(|byte| format!("{byte:02X}")).collect(),
                4 => spelled.bytes().map(|byte| format!("%{byte:02X}")).collect(),
                // The UUID's own 16 bytes (issue 22's fourth attack: sent
                // as binary, echoed in base64), in each alphabet, padded
                // or not, or escaped byte by byte.
                5 => base64::engine::general_purpose::STANDARD.encode(&bytes),
                6 => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes),
                7 => bytes.iter().map(|byte| format!("%{byte:02x}")).collect(),
                // The GUID byte order (.NET's ToByteArray), in base64.
                9 => {
                    let mut guid = bytes.clone();
                    guid[..4].reverse();
                    guid[4..6].reverse();
                    guid[6..8].reverse();
                    base64::engine::general_purpose::STANDARD.encode(&guid)
                }
                _ => bytes.iter().map(|byte| format!("\\x{byte:02x}")).collect(),
            };
            let text = format!("{words} echo: {piece} {words}");
            for cleaned in [
                scrubber.scrub(&text),
                String::from_utf8(scrubber.answer(text.as_bytes()).into_owned()).unwrap(),
            ] {
                proptest::prop_assert!(!cleaned.contains(&piece), "{piece} in {cleaned}");
                proptest::prop_assert!(cleaned.starts_with(&format!("{words} echo: ")), "{cleaned}");
            }
        }

        /// Whatever the key and however an upstream wraps it (raw, query
        /// encoded in either case, base64 in either alphabet inside a
        /// longer encoded text at any alignment), no form of it survives
        /// scrubbing, in errors or in answers.
        #[test]
        fn no_form_of_the_key_survives(
            key in "[A-Za-z0-9+/=_.~-]{12,48}",
            before in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..7),
            after in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..7),
            url_safe in proptest::prelude::any::<bool>(),
            words in "[a-z ]{0,20}",
        ) {
            use base64::Engine;
            let scrubber = Scrubber::new(Some(&Secret::new(key.clone())));
            let mut wrapped = before.clone();
            wrapped.extend_from_slice(key.as_bytes());
            wrapped.extend_from_slice(&after);
            let encoded = if url_safe {
                base64::engine::general_purpose::URL_SAFE.encode(&wrapped)
            } else {
                base64::engine::general_purpose::STANDARD.encode(&wrapped)
            };
            let query: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
            let json_escaped: String = key.bytes().map(|byte| format!("\\u{:04x}", byte)).collect();
            let every_byte: String = key.bytes().map(|byte| format!("%{byte:02X}")).collect();
            // JSON may escape a slash as `\/` ("Ab+c\/D=e").
            let slash_escaped = key.replace('/', "\\/");
            let text = format!(
                "{words} Basic {encoded} token={key}&k={query}&l={} {words} \"{json_escaped}\" {every_byte} {} \"{slash_escaped}\"",
                query.to_lowercase(),
                every_byte.to_lowercase()
            );
            for cleaned in [
                scrubber.scrub(&text),
                String::from_utf8(scrubber.answer(text.as_bytes()).into_owned()).unwrap(),
            ] {
                proptest::prop_assert!(!cleaned.contains(&key), "{cleaned}");
                proptest::prop_assert!(!cleaned.contains(&query), "{cleaned}");
                for decoded in decodings(&cleaned) {
                    proptest::prop_assert!(
                        !contains(&decoded, key.as_bytes()),
                        "base64 of the key survived in {cleaned}"
                    );
                }
            }
        }

        /// A key of any printable characters, each written its own way
        /// (raw, percent-escaped in either case of hex and escaped again,
        /// an HTML character reference, a named one, after a backslash),
        /// inside a JSON text and an error's text, is removed from both;
        /// the JSON still reads, and the text around the key is kept
        /// (issue 23's second attack: `%2F` beside `%3d`, `&#47;`, `\/`).
        #[test]
        fn a_key_with_each_character_written_its_own_way_is_removed(
            key in "[A-Za-z0-9+/=&%?#:;@!*'()$, \"\\\\._~-]{12,30}",
            ways in proptest::collection::vec(0u8..11, 30),
        ) {
            let scrubber = Scrubber::new(Some(&Secret::new(key.clone())));
            let written: String = key
                .bytes()
                .zip(&ways)
                .map(|(byte, &way)| {
                    let named = match byte {
                        b'&' => Some("&amp;"),
                        b'"' => Some("&quot;"),
                        b'\'' => Some("&apos;"),
                        _ => None,
                    };
                    match way {
                        1 => format!("%{byte:02X}"),
                        2 => format!("%{byte:02x}"),
                        3 => format!("%25{byte:02X}"),
                        4 => format!("&#{byte};"),
                        5 => format!("&#x{byte:x};"),
                        6 if named.is_some() => named.unwrap_or_default().to_ascii_uppercase(),
                        7 if !byte.is_ascii_alphanumeric() => format!("\\{}", char::from(byte)),
                        8 if byte == b' ' => "+".to_owned(),
                        9 => format!("\\x{byte:02x}"),
                        10 => format!("%u00{byte:02X}"),
                        _ => char::from(byte).to_string(),
                    }
                })
                .collect();
            let body = serde_json::json!({ "results": [{ "id": "8", "text": format!("LEFT {written} RIGHT") }] }).to_string();
            let answered = String::from_utf8(scrubber.answer(body.as_bytes()).into_owned()).unwrap();
            let read: serde_json::Value = serde_json::from_str(&answered).map_err(|error| {
                proptest::test_runner::TestCaseError::fail(format!("{error}: {answered}"))
            })?;
            let text = read["results"][0]["text"].as_str().unwrap_or_default();
            proptest::prop_assert!(!text.contains(&written), "{} in {}", written, text);
            proptest::prop_assert!(text.starts_with("LEFT ") && text.ends_with(" RIGHT"), "{}", text);
            let said = scrubber.scrub(&format!("bad token {written} | more"));
            proptest::prop_assert!(!said.contains(&written), "{} in {}", written, said);
            proptest::prop_assert!(said.starts_with("bad token ") && said.ends_with(" | more"), "{}", said);
        }

        /// A key holding a backslash or a quote, quoted raw in a JSON
        /// answer (its tail, its head, itself), leaves the answer JSON:
        /// no match cuts an escape in two (issue 23's third attack: `a
        /// b"c\\d'e(f)g*h$i,j` made the reporter list unreadable).
        #[test]
        fn a_key_with_a_backslash_or_a_quote_leaves_the_json_readable(
            key in "[a-z0-9 \"\\\\'()*$,]{16,40}",
            cut in 0usize..40,
            head in proptest::bool::ANY,
        ) {
            let scrubber = Scrubber::new(Some(&Secret::new(key.clone())));
            let cut = cut % key.len();
            let quoted = if head { &key[..key.len() - cut.min(key.len() - 12)] } else { &key[cut.min(key.len() - 12)..] };
            let body = serde_json::json!({ "results": [{ "id": 8, "text": format!("LEFT {quoted} RIGHT") }] }).to_string();
            let answered = String::from_utf8(scrubber.answer(body.as_bytes()).into_owned()).unwrap();
            let read = serde_json::from_str::<serde_json::Value>(&answered);
            proptest::prop_assert!(read.is_ok(), "{}", answered);
        }

        /// A key with some of its reserved characters escaped and others
        /// raw (any mix for a key with few of them, the common encoders'
        /// for one with many), and any of its letters escaped too, is
        /// removed from answers and from error text (issue 23's attack:
        /// Python's `quote()` of `Ab3/dEf+gh9=` came back whole).
        #[test]
        fn a_key_with_its_reserved_characters_partly_escaped_is_removed(
            key in "[A-Za-z0-9+/=]{12,40}",
            escape_reserved in proptest::collection::vec(proptest::prelude::any::<bool>(), 40),
            escape_letter in proptest::collection::vec(proptest::bool::weighted(0.1), 40),
            encoder in 0usize..3,
            lower in proptest::prelude::any::<bool>(),
        ) {
            let scrubber = Scrubber::new(Some(&Secret::new(key.clone())));
            let reserved = key.bytes().filter(|byte| matches!(byte, b'+' | b'/' | b'=')).count();
            let safe: &[u8] = [&b"/"[..], b"", b"+/="][encoder];
            let written: String = key
                .bytes()
                .enumerate()
                .map(|(at, byte)| {
                    let escape = if byte.is_ascii_alphanumeric() {
                        escape_letter[at]
                    } else if reserved <= 6 {
                        escape_reserved[at]
                    } else {
                        !safe.contains(&byte)
                    };
                    match (escape, lower) {
                        (true, false) => format!("%{byte:02X}"),
                        (true, true) => format!("%{byte:02x}"),
                        (false, _) => char::from(byte).to_string(),
                    }
                })
                .collect();
            let body = format!(r#"{{"results": [{{"id": "8", "text": "{written}"}}]}}"#);
            let answered = String::from_utf8(scrubber.answer(body.as_bytes()).into_owned()).unwrap();
            let said = scrubber.scrub(&format!("bad token {written} | more"));
            for cleaned in [&answered, &said] {
                proptest::prop_assert!(!cleaned.contains(&written), "{} in {}", written, cleaned);
                let unfolded = unescape_percent_unreserved(cleaned.as_bytes()).unwrap_or_else(|| cleaned.clone().into_bytes());
                proptest::prop_assert!(!contains(&unfolded, key.as_bytes()), "{}", cleaned);
            }
            proptest::prop_assert!(serde_json::from_str::<serde_json::Value>(&answered).is_ok(), "{}", answered);
        }

        /// A key with any of its characters percent-encoded (one `%41`
        /// among plain letters) is found and removed from an answer.
        #[test]
        fn a_partly_percent_encoded_key_is_removed(
            key in "[A-Za-z0-9]{12,40}",
            encoded in proptest::collection::vec(proptest::prelude::any::<bool>(), 40),
            lower in proptest::prelude::any::<bool>(),
        ) {
            let scrubber = Scrubber::new(Some(&Secret::new(key.clone())));
            let written: String = key
                .bytes()
                .zip(&encoded)
                .map(|(byte, &escape)| match (escape, lower) {
                    (true, false) => format!("%{byte:02X}"),
                    (true, true) => format!("%{byte:02x}"),
                    (false, _) => (byte as char).to_string(),
                })
                .collect();
            // Beside the key as it is (the attack: the partly encoded form
            // was looked for only in answers holding no other form).
            let body = format!(r#"{{"text": "see https://example.org/a?q={written}&x=1 for more", "also": "{key}"}}"#);
            for cleaned in [
                String::from_utf8(scrubber.answer(body.as_bytes()).into_owned()).unwrap(),
                scrubber.scrub(&body),
            ] {
                let unfolded = unescape_percent_unreserved(cleaned.as_bytes()).unwrap_or_else(|| cleaned.clone().into_bytes());
                proptest::prop_assert!(!contains(&unfolded, key.as_bytes()), "{}", cleaned);
                proptest::prop_assert!(cleaned.contains("https://example.org/a?q="), "{}", cleaned);
            }
        }

        /// Credential-shaped query parameters in any URL of an answer lose
        /// their values; other parameters and the rest of the text stay.
        #[test]
        fn credential_parameters_in_urls_lose_their_values(
            name in proptest::prop_oneof![
                proptest::strategy::Strategy::prop_map(proptest::sample::select(CREDENTIAL_PARAMETERS.to_vec()), str::to_owned),
                // Any name with a credential's part in it: `client_secret`,
                // `refresh_token`, `x-api-key`, `credential`.
                proptest::strategy::Strategy::prop_map(
                    ("[a-z_-]{0,6}", proptest::sample::select(CREDENTIAL_NAME_PARTS.to_vec()), "[a-z_-]{0,6}"),
                    |(before, part, after)| format!("{before}{part}{after}"),
                ),
            ],
            upper in proptest::prelude::any::<bool>(),
            value in "[A-Za-z0-9%-]{8,40}",
            escaped in proptest::prelude::any::<bool>(),
        ) {
            let name = if upper { name.to_uppercase() } else { name };
            let amp = if escaped { "\\u0026" } else { "&" };
            let body = format!(
                r#"{{"url": "https://example.org/a?id=7{amp}{name}={value}{amp}page=2", "note": "id=7"}}"#
            );
            let cleaned = String::from_utf8(Scrubber::new(None).answer(body.as_bytes()).into_owned()).unwrap();
            proptest::prop_assert!(!cleaned.contains(&value), "{cleaned}");
            // A JSON-escaped `&` is unfolded first: the same JSON.
            let expected = format!("https://example.org/a?id=7&{name}=***&page=2");
            proptest::prop_assert!(cleaned.contains(&expected), "{cleaned}");
            let fragment = format!("https://example.org/a#{name}={value}");
            let cleaned = Scrubber::new(None).answer(fragment.as_bytes()).into_owned();
            proptest::prop_assert!(!String::from_utf8(cleaned).unwrap().contains(&value));
        }
    }

    proptest::proptest! {
        /// A URL's user part never reaches a client, whatever it holds and
        /// wherever the URL sits in the answer; the host, path and the text
        /// around stay, and text without a URL is left as it came.
        #[test]
        fn user_parts_of_urls_are_removed(
            user in "[A-Za-z0-9._~%!$()*+,:-]{1,30}",
            host in "[a-z]{1,12}\\.(org|com|int)",
            path in "(/[a-z0-9@]{0,8}){0,3}",
            around in "[ a-zA-Z@.:]{0,20}",
        ) {
            proptest::prop_assume!(!user.contains('@') && user != REDACTED);
            let body = format!(r#"{{"url": "https://{user}@{host}{path}", "note": "{around}"}}"#);
            let cleaned = String::from_utf8(Scrubber::new(None).answer(body.as_bytes()).into_owned()).unwrap();
            let expected = format!("https://{REDACTED}@{host}{path}");
            proptest::prop_assert!(cleaned.contains(&expected), "{}", cleaned);
            proptest::prop_assert!(cleaned.ends_with(&format!(r#""note": "{around}"}}"#)), "{}", cleaned);
            let plain = format!(r#"{{"note": "{around}", "path": "{path}"}}"#);
            proptest::prop_assert_eq!(redact_url_userinfo(plain.as_bytes()), None);
        }
    }

    #[test]
    fn printed_urls_lose_their_user_part_and_credential_parameters() {
        assert_eq!(
            printable_url("https://user:hunter2@api.example.org/v1?api_key=abc&x=1"),
            "https://***@api.example.org/v1?api_key=***&x=1"
        );
        assert_eq!(
            printable_url("https://api.example.org"),
            "https://api.example.org"
        );
    }

    #[test]
    fn escapes_are_unfolded_only_where_json_means_the_same() {
        let unfolded = |text: &str| {
            unescape_json_ascii(text.as_bytes()).map(|plain| String::from_utf8(plain).unwrap())
        };
        assert_eq!(unfolded(r#""\u0041b""#).as_deref(), Some(r#""Ab""#));
        assert_eq!(unfolded(r#""Ab+c\/D=e""#).as_deref(), Some(r#""Ab+c/D=e""#));
        assert_eq!(
            unfolded(r#""\\/""#),
            None,
            "an escaped backslash, then a slash"
        );
        assert_eq!(
            unfolded(r#""\u0022 \u005c""#),
            None,
            "a quote and a backslash stay escaped"
        );
        assert_eq!(
            unfolded(r#""\\u0041""#),
            None,
            "an escaped backslash is not an escape"
        );
        assert_eq!(unfolded(r#""\u00e9""#), None, "only ASCII");
        for text in [r#"{"a": "x\u0031\u0032\"y"}"#, r#"["\\", "\u0041"]"#] {
            let before: serde_json::Value = serde_json::from_str(text).unwrap();
            let after: serde_json::Value = serde_json::from_str(&unfolded(text).unwrap()).unwrap();
            assert_eq!(before, after, "{text}");
        }
    }
}

#[cfg(test)]
mod url_credential_tests {
    use super::*;

    proptest::proptest! {
        /// Issue 22's fourth attack: a password in an upstream URL's user
        /// part reached clients in error bodies and data, raw, after its
        /// user name, and as the `Basic` header's base64. Whatever the
        /// user and password (escaped in the URL or not), none of those
        /// forms survives scrubbing.
        #[test]
        fn a_password_in_an_upstream_url_is_scrubbed_in_every_form_it_travels(
            user in "[a-z]{1,12}",
            password in "[A-Za-z0-9!$&'()*+,;=._~-]{8,40}",
            words in "[a-z ]{0,20}",
        ) {
            use base64::Engine;
            let escaped: String = password
                .bytes()
                .map(|byte| match byte {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
                    _ => format!("%{byte:02X}"),
                })
                .collect();
            let url = format!("http://{user}:{escaped}@127.0.0.1:9/api");
            let scrubber = Scrubber::of_keys(&credentials_in_url(&url));
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let escapes = |text: &str| -> String { text.bytes().map(|byte| format!("\\u{byte:04x}")).collect() };
            // Issue 22's fifth attack: the password upper-cased, and written
            // as JSON escapes inside a text, reached clients in data.
            for piece in [
                password.clone(),
                format!("{user}:{password}"),
                format!("Basic {basic}"),
                password.to_ascii_uppercase(),
                format!("{user}:{password}").to_ascii_uppercase(),
                password.to_ascii_lowercase(),
                escapes(&password),
                escapes(&format!("{user}:{password}")),
            ] {
                let text = format!("{words} bad credentials {piece} {words}");
                // As an upstream's JSON answer holds it (the escapes' own
                // backslashes escaped), and as an error's text.
                let body = serde_json::to_string(&serde_json::json!({ "d": text })).unwrap();
                let answered: serde_json::Value =
                    serde_json::from_slice(&scrubber.answer(body.as_bytes())).unwrap();
                let answered = answered["d"].as_str().unwrap().to_owned();
                for cleaned in [scrubber.scrub(&text), answered] {
                    let read = String::from_utf8(
                        unescape_json_ascii(cleaned.as_bytes()).unwrap_or_else(|| cleaned.clone().into_bytes()),
                    )
                    .unwrap()
                    .to_ascii_lowercase();
                    proptest::prop_assert!(!read.contains(&password.to_ascii_lowercase()), "{piece}: {cleaned}");
                    proptest::prop_assert!(!cleaned.contains(&basic), "{cleaned}");
                    proptest::prop_assert!(cleaned.starts_with(&format!("{words} bad credentials ")), "{cleaned}");
                }
            }
        }
    }

    #[test]
    fn a_url_without_a_password_has_no_credentials() {
        assert!(credentials_in_url("http://user@example.org/").is_empty());
        assert!(credentials_in_url("https://example.org/?key=1").is_empty());
        assert!(credentials_in_url("not a url").is_empty());
    }
}
