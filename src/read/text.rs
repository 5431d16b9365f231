//! Bytes to text: byte-order marks, UTF-16, binary files, and offset-to-position mapping.

use super::{Pos, ReadError};

/// Decodes a file's bytes as text. UTF-8 (with or without a BOM) and UTF-16 with a BOM are
/// accepted, since editors on Windows write both; anything with NUL bytes or invalid UTF-8 is
/// reported as not text.
pub fn decode(bytes: &[u8]) -> Result<String, ReadError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest);
    }
    let utf16 = |be: bool, rest: &[u8]| -> Result<String, ReadError> {
        if !rest.len().is_multiple_of(2) {
            return Err(ReadError::whole_file(
                "UTF-16 text with an odd number of bytes (truncated?)",
            ));
        }
        let units = rest.chunks_exact(2).map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| ReadError::whole_file("invalid UTF-16 text"))
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(false, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(true, rest);
    }
    utf8(bytes)
}

fn utf8(bytes: &[u8]) -> Result<String, ReadError> {
    if bytes.contains(&0) {
        return Err(ReadError::whole_file(
            "binary content (NUL bytes), not text",
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            Err(ReadError {
                line: Some(line as u32),
                column: None,
                message: "invalid UTF-8 (binary file?)".into(),
            })
        }
    }
}

/// Maps byte offsets of one text to line/column positions.
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, line_starts }
    }

    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|s| *s <= offset) - 1;
        let start = self.line_starts[line];
        let col = if self.text.is_char_boundary(offset) {
            self.text[start..offset].chars().count()
        } else {
            offset - start
        };
        Pos {
            line: line as u32 + 1,
            col: col as u32 + 1,
        }
    }
}

/// The deepest nesting of `{`/`[` in JSON text, ignoring brackets inside strings. Checked before
/// parsing so a hostile file cannot overflow the recursive parser's stack.
pub fn json_depth_exceeds(text: &str, max: usize) -> Option<usize> {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for (i, b) in text.bytes().enumerate() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let text = "ab\né€x\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.pos(0), Pos { line: 1, col: 1 });
        assert_eq!(idx.pos(3), Pos { line: 2, col: 1 });
        let x = text.find('x').unwrap();
        assert_eq!(idx.pos(x), Pos { line: 2, col: 3 });
    }

    #[test]
    fn utf16_and_bom_are_decoded() {
        assert_eq!(decode(b"\xEF\xBB\xBF{}").unwrap(), "{}");
        assert_eq!(decode(b"\xFF\xFE{\x00}\x00").unwrap(), "{}");
        assert_eq!(decode(b"\xFE\xFF\x00{\x00}").unwrap(), "{}");
        assert!(decode(b"\x00\x01binary").is_err());
    }

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth_exceeds(r#"{"a":"[[[[["}"#, 2), None);
        assert!(json_depth_exceeds("[[[", 2).is_some());
    }
}
