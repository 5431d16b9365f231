//! Showing what an input says without letting it act. Every printer (the text report, JUnit,
//! messages on standard error, `print()` output of policies) passes values through [`escape`],
//! and every JSON document (JSON, SARIF, `atrest model`) is written by [`to_json`].
//!
//! What must not pass:
//!
//! - Control characters: newlines and carriage returns would start a line of the attacker's
//!   choosing; ESC starts terminal sequences (clearing the screen, setting the window title,
//!   OSC 8 links), BEL rings, and 8-bit C1 codes (U+0080..U+009F) act like ESC on some terminals.
//! - Unicode bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069, ...) and the
//!   line and paragraph separators, which make shown text read otherwise than it is.
//! - GitHub workflow commands. The runner reads a line as a command when, after leading
//!   whitespace, it starts with `::` (`::error file=x::`, `::stop-commands::`), and in the older
//!   form when `##[` appears anywhere in the line. A value is printed on a line of its own or
//!   at the start of one (a file name), so a leading `:` is escaped, and so is every `##[`.
//!
//! Escapes are visible: `\n`, `\r`, `\t`, `\u{1b}`, `\:` and `##\[`. Text without any of these
//! is returned as it is. JSON carries values as data: the same characters are written as `\u`
//! escapes, which every JSON reader turns back into the value.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` is shown as an escape: control characters (C0, DEL, C1), bidirectional
/// formatting characters, and the Unicode line and paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// The position of the first `:` a GitHub runner would read as the start of a workflow command
/// (after whitespace at the start, which the runner trims), if the text starts so.
fn leading_colon(s: &str) -> Option<usize> {
    let rest = s.trim_start();
    rest.starts_with(':').then(|| s.len() - rest.len())
}

/// `s` as it can be printed to a terminal or a CI log: one line, no control or bidirectional
/// characters, no workflow command. See the module documentation.
pub fn escape(s: &str) -> Cow<'_, str> {
    let colon = leading_colon(s);
    if colon.is_none() && !s.contains("##[") && !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut hashes = 0;
    for (i, c) in s.char_indices() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                use fmt::Write as _;
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            ':' if Some(i) == colon => out.push_str("\\:"),
            '[' if hashes >= 2 => out.push_str("\\["),
            c => out.push(c),
        }
        hashes = if c == '#' { hashes + 1 } else { 0 };
    }
    Cow::Owned(out)
}

/// Text with lines of its own (a policy's remediation, say): each line [`escape`]d, joined by
/// newlines again.
pub fn escape_lines(s: &str) -> String {
    s.lines().map(escape).collect::<Vec<_>>().join("\n")
}

/// Shows a value's `Display` form [`escape`]d: `eprintln!("error: {}", Escaped(&e))`.
pub struct Escaped<T>(pub T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.0.to_string()))
    }
}

/// A JSON formatter that writes, besides what JSON requires, every [`is_unsafe`] character and
/// the `[` of `##[` as a `\u` escape. The document means the same; printed, it cannot act.
struct SafeJson<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeJson<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // A fragment is the text between characters JSON escapes itself, so a `##[` is never
        // split across two of them.
        let mut start = 0;
        let mut hashes = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe(c) || (c == '[' && hashes >= 2) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
                start = i + c.len_utf8();
            }
            hashes = if c == '#' { hashes + 1 } else { 0 };
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` as JSON (pretty-printed, or on one line), safe to print: see [`SafeJson`].
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T, pretty: bool) -> String {
    let mut out = Vec::with_capacity(128);
    let written = if pretty {
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            SafeJson(serde_json::ser::PrettyFormatter::new()),
        );
        value.serialize(&mut ser)
    } else {
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            SafeJson(serde_json::ser::CompactFormatter),
        );
        value.serialize(&mut ser)
    };
    // serde_json fails only on maps with non-string keys, which no report holds.
    written.expect("reports serialize to JSON");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            escape("arn:aws:kms::1:key/a ## [x]"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn commands_controls_and_overrides_are_shown_escaped() {
        assert_eq!(
            escape("a\n::error file=x::b"),
            "a\\n::error file=x::b",
            "a command after a newline is on the same line"
        );
        assert_eq!(escape("::stop-commands::t"), "\\::stop-commands::t");
        assert_eq!(escape(" \u{a0}::warning::w"), " \u{a0}\\::warning::w");
        assert_eq!(escape("x ##[error]y"), "x ##\\[error]y");
        assert_eq!(escape("\u{1b}[2J\u{7}\r"), "\\u{1b}[2J\\u{7}\\r");
        assert_eq!(
            escape("\u{1b}]8;;http://e.x\u{1b}\\t\u{1b}]8;;\u{1b}\\"),
            "\\u{1b}]8;;http://e.x\\u{1b}\\t\\u{1b}]8;;\\u{1b}\\"
        );
        assert_eq!(escape("a\u{202e}b\u{9b}c"), "a\\u{202e}b\\u{9b}c");
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(escape_lines("a\n::b\n\u{1b}c"), "a\n\\::b\n\\u{1b}c");
    }

    #[test]
    fn json_carries_the_value_and_prints_safely() {
        let v = serde_json::json!({"k\u{202e}": "x\n::error::y ##[warning]z \u{1b}[2J \u{9b} \u{2028}"});
        for pretty in [false, true] {
            let text = to_json(&v, pretty);
            assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text}");
            assert!(!text.contains("##["), "{text}");
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, v);
        }
        assert_eq!(
            to_json(&serde_json::json!({"a": [1]}), true),
            serde_json::to_string_pretty(&serde_json::json!({"a": [1]})).unwrap()
        );
    }

    /// No line of the output can be read as a workflow command, whatever precedes it.
    fn safe_to_print(out: &str) {
        assert!(!out.chars().any(is_unsafe), "{out:?}");
        assert!(!out.trim_start().starts_with(':'), "{out:?}");
        assert!(!out.contains("##["), "{out:?}");
    }

    proptest! {
        #[test]
        fn escaped_text_never_holds_controls_or_commands(s in any::<String>()) {
            safe_to_print(&escape(&s));
        }

        #[test]
        fn hostile_pieces_in_any_order_are_escaped(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("\n"), Just("\r"), Just("::"), Just(":"), Just("#"), Just("##"),
                    Just("["), Just(" "), Just("\u{a0}"), Just("\u{1b}"), Just("\u{202e}"),
                    Just("\u{85}"), Just("\u{2028}"), Just("error"), Just("\t"),
                ],
                0..24,
            )
        ) {
            let s: String = parts.concat();
            let out = escape(&s);
            safe_to_print(&out);
            prop_assert!(!out.contains("\n::"));
            for line in escape_lines(&s).lines() {
                safe_to_print(line);
            }
        }

        #[test]
        fn json_strings_round_trip(s in any::<String>()) {
            let text = to_json(&serde_json::json!([s.clone()]), false);
            prop_assert!(!text.chars().any(is_unsafe));
            prop_assert!(!text.contains("##["));
            let back: Vec<String> = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&back[0], &s);
        }
    }
}
