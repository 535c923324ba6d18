//! The guard on a document's raw text, run before the parser sees it.
//!
//! async-graphql's parser (pest) recurses once per nesting level of lists,
//! objects, arguments and selection sets: about 1,600 nested `[` in a 3 KB
//! request overflow a worker thread's stack and abort the whole process. The
//! parser cannot be told to stop, so the text is measured first, in one pass
//! that keeps no state but counters: its size, the deepest nesting of any
//! bracket kind (`{`, `[`, `(` counted together, since each one is a level of
//! the parser's recursion), and the number of lexical tokens (what the parser
//! and validation spend their time on).
//!
//! The scan follows the GraphQL lexer closely enough that brackets inside
//! strings, block strings and comments do not count; a document it cannot
//! make sense of (an unterminated string, a stray closing bracket) is left
//! for the parser to report.

use super::{Refusal, RefusalCode};

/// What the raw text of a document may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Largest document, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of `{`, `[` and `(`, counted together.
    pub max_nesting: usize,
    /// Most lexical tokens (names, numbers, strings, punctuators).
    pub max_tokens: usize,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        Self {
            // GraphiQL's introspection query is 1.7 KB, the README's largest
            // example under 1 KB: 64 KiB leaves room for generated queries.
            max_bytes: 64 * 1024,
            // The introspection query nests 11 deep (selection sets); a
            // filter argument adds three or four. The parser needs about 1.3 KB
            // of stack per level, so 32 levels are far from a 2 MiB stack.
            max_nesting: 32,
            // The introspection query has about 300 tokens; a list of every
            // jurisdiction's ISO code about 240.
            max_tokens: 5_000,
        }
    }
}

/// What one scan found (also what a refusal reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DocumentMeasure {
    pub bytes: usize,
    pub deepest_nesting: usize,
    pub tokens: usize,
}

/// Checks `text` against `limits` without parsing it. Stops scanning at the
/// first limit crossed, so a hostile document costs at most one pass over
/// the allowed prefix.
pub fn check(text: &str, limits: &DocumentLimits) -> Result<DocumentMeasure, Refusal> {
    if text.len() > limits.max_bytes {
        return Err(Refusal::new(
            RefusalCode::DocumentTooLarge,
            format!(
                "the document is {} bytes; at most {} are accepted",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let mut measure = DocumentMeasure {
        bytes: text.len(),
        ..DocumentMeasure::default()
    };
    let mut nesting = 0usize;
    let bytes = text.as_bytes();
    let mut at = 0usize;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                at += 1;
                continue;
            }
            b'#' => {
                // A comment runs to the end of the line.
                while at < bytes.len() && bytes[at] != b'\n' && bytes[at] != b'\r' {
                    at += 1;
                }
                continue;
            }
            b'"' => {
                at = skip_string(bytes, at);
            }
            b'{' | b'[' | b'(' => {
                nesting += 1;
                if nesting > measure.deepest_nesting {
                    measure.deepest_nesting = nesting;
                    if nesting > limits.max_nesting {
                        return Err(Refusal::new(
                            RefusalCode::DocumentTooDeep,
                            format!(
                                "the document nests brackets more than {} deep",
                                limits.max_nesting
                            ),
                        ));
                    }
                }
                at += 1;
            }
            b'}' | b']' | b')' => {
                nesting = nesting.saturating_sub(1);
                at += 1;
            }
            b'.' if bytes[at..].starts_with(b"...") => at += 3,
            b'!' | b'$' | b'&' | b':' | b'=' | b'@' | b'|' | b'.' => at += 1,
            _ => {
                // A name or a number (or a character the parser will refuse):
                // everything up to the next separator is one token.
                at += 1;
                while at < bytes.len() && is_word_byte(bytes[at]) {
                    at += 1;
                }
            }
        }
        measure.tokens += 1;
        if measure.tokens > limits.max_tokens {
            return Err(Refusal::new(
                RefusalCode::DocumentTooManyTokens,
                format!("the document has more than {} tokens", limits.max_tokens),
            ));
        }
    }
    Ok(measure)
}

/// Bytes that continue a name or a number (`-` and `+` for exponents and
/// negative numbers, `.` for fractions).
fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'+') || byte >= 0x80
}

/// The index just past the string starting at `start` (a `"` or `"""`), or
/// the end of the text when it is unterminated.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut at = start + 3;
        while at < bytes.len() {
            if bytes[at..].starts_with(b"\\\"\"\"") {
                at += 4;
            } else if bytes[at..].starts_with(b"\"\"\"") {
                return at + 3;
            } else {
                at += 1;
            }
        }
        return bytes.len();
    }
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            // A string cannot span lines; the parser will say so.
            b'\n' | b'\r' => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(text: &str) -> DocumentMeasure {
        check(text, &DocumentLimits::default()).expect("within the limits")
    }

    fn refusal(text: &str, limits: DocumentLimits) -> RefusalCode {
        check(text, &limits).expect_err("refused").code
    }

    #[test]
    fn counts_tokens_and_nesting_of_every_bracket_kind() {
        let found = measure(r#"{ a(x: [1, {y: "}"}]) { b } }"#);
        // { a ( x : [ 1 { y : "}" } ] ) { b } }
        assert_eq!(found.tokens, 18);
        assert_eq!(found.deepest_nesting, 4);
    }

    #[test]
    fn brackets_in_strings_block_strings_and_comments_do_not_count() {
        let text = "{ a(x: \"[[[\", y: \"\"\"{{{ \\\"\"\" ((( \"\"\") # [[[[\n }";
        let found = measure(text);
        assert_eq!(found.deepest_nesting, 2);
    }

    #[test]
    fn spreads_are_one_token() {
        assert_eq!(measure("{ ...F }").tokens, 4);
    }

    #[test]
    fn each_limit_has_its_own_code() {
        let small = DocumentLimits {
            max_bytes: 20,
            max_nesting: 3,
            max_tokens: 6,
        };
        assert_eq!(
            refusal(&"x".repeat(21), small),
            RefusalCode::DocumentTooLarge
        );
        assert_eq!(refusal("{a{b{c{d}}}}", small), RefusalCode::DocumentTooDeep);
        assert_eq!(refusal("[[[[", small), RefusalCode::DocumentTooDeep);
        assert_eq!(
            refusal("{ a b c d e f }", small),
            RefusalCode::DocumentTooManyTokens
        );
    }

    #[test]
    fn the_stack_overflow_document_is_refused_on_its_nesting() {
        let nested = format!(
            "{{ __typename @include(if: {}true{}) }}",
            "[".repeat(1600),
            "]".repeat(1600)
        );
        assert_eq!(
            refusal(&nested, DocumentLimits::default()),
            RefusalCode::DocumentTooDeep
        );
    }

    #[test]
    fn unterminated_strings_end_the_scan_without_panicking() {
        measure("{ a(x: \"open");
        measure("{ a(x: \"\"\"open");
        measure("{ a(x: \"ends with a backslash\\");
        measure("}}}]])) stray closers");
    }
}
