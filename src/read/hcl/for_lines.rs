//! Line breaks inside a `for` expression, which HCL ignores and `hcl-edit` (0.9 and 0.10) does
//! not always accept.
//!
//! HCL reads a `[for ...]` or `{for ...}` expression with newlines ignored up to its closing
//! bracket (hclsyntax's `finishParsingForExpr`), so Terraform accepts a conditional or a binary
//! operation broken across lines anywhere in it:
//!
//! ```hcl
//! labels = { for k in local.names : k => local.case == "none" ? local.raw[k] :
//!   upper(local.raw[k])
//! }
//! ```
//!
//! `hcl-edit` parses the key and value of a `{for}` and the collection of either form as a
//! single-line expression, and refuses that text. When it does, [`join`] turns each such line
//! break into spaces and the text is parsed again: it is the same token stream for HCL, and every byte keeps its offset, so
//! the spans `hcl-edit` reports are offsets into the original text, mapped to lines and columns
//! by the original text's `LineIndex`.
//!
//! Only the line breaks whose innermost bracket is the `[` or `{` of a `for` expression change;
//! a nested object constructor, where a newline separates items, keeps them. A line comment
//! ending at such a break is blanked with it (the comment would otherwise run on into the next
//! line); strings and heredocs are left exactly as written.

use std::borrow::Cow;

#[derive(Clone, Copy, PartialEq)]
enum Frame {
    /// `(`, or a `[`/`{` that is not a `for` expression.
    Bracket,
    /// The `[` or `{` of a `for` expression.
    For,
    /// Inside `"..."`.
    Quoted,
    /// `${` or `%{` inside a quoted template, up to its `}`.
    Interp,
}

/// The text with every line break that HCL ignores inside a `for` expression made spaces, byte
/// for byte the same length. Borrowed when nothing changes.
pub(super) fn join(text: &str) -> Cow<'_, str> {
    if !text.contains("for") {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut blank = |range: std::ops::Range<usize>| {
        let out = out.get_or_insert_with(|| b.to_vec());
        for i in range {
            // Whole comments or single line-break bytes: never part of a character.
            out[i] = b' ';
        }
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let top = stack.last().copied();
        if top == Some(Frame::Quoted) {
            match b[i] {
                b'\\' => i += 2,
                b'"' | b'\n' => {
                    stack.pop();
                    i += 1;
                }
                b'$' | b'%' if b.get(i + 1) == Some(&b[i]) && b.get(i + 2) == Some(&b'{') => i += 3,
                b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                    stack.push(Frame::Interp);
                    i += 2;
                }
                _ => i += 1,
            }
            continue;
        }
        let in_for = top == Some(Frame::For);
        match b[i] {
            b'"' => {
                stack.push(Frame::Quoted);
                i += 1;
            }
            b'#' => i = line_comment(b, i, in_for, &mut blank),
            b'/' if b.get(i + 1) == Some(&b'/') => i = line_comment(b, i, in_for, &mut blank),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = find(b, i + 2, b"*/").map_or(b.len(), |e| e + 2);
                if in_for {
                    for j in memchr::memchr2_iter(b'\n', b'\r', &b[i..end]) {
                        blank(i + j..i + j + 1);
                    }
                }
                i = end;
            }
            b'<' if b.get(i + 1) == Some(&b'<') => i = heredoc_end(b, i),
            b'(' => {
                stack.push(Frame::Bracket);
                i += 1;
            }
            b'[' | b'{' => {
                stack.push(if starts_for(&b[i + 1..]) {
                    Frame::For
                } else {
                    Frame::Bracket
                });
                i += 1;
            }
            b')' | b']' | b'}' => {
                stack.pop();
                i += 1;
            }
            b'\r' if in_for && b.get(i + 1) == Some(&b'\n') => {
                blank(i..i + 2);
                i += 2;
            }
            b'\n' if in_for => {
                blank(i..i + 1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    match out {
        // Only ASCII bytes were replaced, each by a space, and only whole comments, so the text
        // is still UTF-8; the fallback keeps the original rather than panicking.
        Some(v) => String::from_utf8(v).map_or(Cow::Borrowed(text), Cow::Owned),
        None => Cow::Borrowed(text),
    }
}

/// Whether a bracket's contents begin with the `for` keyword (after blanks and line breaks).
fn starts_for(rest: &[u8]) -> bool {
    let start = rest
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(rest.len());
    let rest = &rest[start..];
    rest.starts_with(b"for")
        && matches!(
            rest.get(3),
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'#' | b'/')
        )
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(b.get(from..)?, needle).map(|p| from + p)
}

/// Skips a `#` or `//` comment starting at `i`; inside a `for` expression blanks it and its line
/// break. Returns where scanning goes on.
fn line_comment(
    b: &[u8],
    i: usize,
    in_for: bool,
    blank: &mut impl FnMut(std::ops::Range<usize>),
) -> usize {
    let eol = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p);
    if in_for {
        let end = (eol + 1).min(b.len());
        blank(i..end);
        end
    } else {
        eol
    }
}

/// The offset just past a heredoc (`<<EOT` or `<<-EOT`) starting at `i` and the line break that
/// ends its closing marker, which HCL needs; just past `<<` when no marker follows.
fn heredoc_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 2;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    let name_start = j;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-') {
        j += 1;
    }
    let name = &b[name_start..j];
    if name.is_empty() {
        return i + 2;
    }
    let Some(first) = memchr::memchr(b'\n', &b[j..]) else {
        return b.len();
    };
    let mut line_start = j + first + 1;
    while line_start < b.len() {
        let eol = memchr::memchr(b'\n', &b[line_start..]).map_or(b.len(), |p| line_start + p);
        if b[line_start..eol].trim_ascii() == name {
            return (eol + 1).min(b.len());
        }
        line_start = eol + 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::join;

    fn joined(text: &str) -> String {
        let out = join(text).into_owned();
        assert_eq!(out.len(), text.len(), "every byte keeps its offset");
        out
    }

    #[test]
    fn breaks_inside_for_become_spaces() {
        let t = "x = { for k in l : k =>\n  a ? b :\r\n  c\n}\ny = 1\n";
        assert_eq!(
            joined(t),
            "x = { for k in l : k =>   a ? b :    c }\ny = 1\n"
        );
        let t = "x = [\n  for v in a ?\n b : c : v\n]\n";
        assert_eq!(joined(t), "x = [   for v in a ?  b : c : v ]\n");
    }

    #[test]
    fn object_constructors_strings_and_heredocs_are_kept() {
        let t = "x = { for k in l : k => {\n  a = 1\n  b = \"}\\\"\n\"\n} }\n";
        assert_eq!(
            joined(t),
            "x = { for k in l : k => {\n  a = 1\n  b = \"}\\\"\n\"\n} }\n"
        );
        let t = "x = [for v in l : <<-EOT\n  ${v} ]\n  EOT\n]\n";
        assert_eq!(joined(t), t);
        let t = "x = { format = 1\n  forx = 2\n}\n";
        assert_eq!(joined(t), t);
        let t = "x = \"${[for v in l : v]} [for {for\"\ny = [\n1]\n";
        assert_eq!(joined(t), t);
    }

    #[test]
    fn comments_inside_for_are_blanked_with_their_break() {
        let t = "x = [for v in l : # é\n v // c\n]\n# a {for\ny = 1\n";
        let expected = format!(
            "x = [for v in l : {} v {}]\n# a {{for\ny = 1\n",
            " ".repeat(5),
            " ".repeat(5)
        );
        assert_eq!(joined(t), expected);
        let t = "x = [for v in l : /* a\r\n b */ v]\ny = /*\n*/ 1\n";
        assert_eq!(
            joined(t),
            "x = [for v in l : /* a   b */ v]\ny = /*\n*/ 1\n"
        );
    }

    #[test]
    fn unbalanced_or_truncated_text_does_not_panic() {
        for t in [
            "[for",
            "{for x in\n",
            "\"${",
            "<<EOT\n",
            "x = [for v in l : v\n",
            "]]}\n[for /*\n",
        ] {
            let _ = joined(t);
        }
    }
}
