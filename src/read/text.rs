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

/// Maps byte offsets of one text to line/column positions in time independent of the line's
/// length: a template or plan written on one line has millions of nodes on that line, and
/// counting each node's column from the line's start made reading it quadratic.
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    /// For text that is not all ASCII: the number of characters before each `CHUNK`-byte block,
    /// so a column is that count plus a scan of less than one block (empty for ASCII text, where
    /// a column is a byte difference).
    chars_before: Vec<usize>,
}

/// Bytes per block of `LineIndex::chars_before`: a bounded scan per lookup, 1/8 of the text's
/// size in memory (on 64-bit).
const CHUNK: usize = 64;

/// Characters that start in `bytes` (UTF-8 continuation bytes are not counted).
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (**b as i8) >= -0x40).count()
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        let mut chars_before = Vec::new();
        if !text.is_ascii() {
            let mut n = 0;
            for block in text.as_bytes().chunks(CHUNK) {
                chars_before.push(n);
                n += char_starts(block);
            }
            // For the offset at the end, when the text fills its last block.
            chars_before.push(n);
        }
        LineIndex {
            text,
            line_starts,
            chars_before,
        }
    }

    /// Characters before byte `offset` (a character boundary) in the whole text.
    fn chars_upto(&self, offset: usize) -> usize {
        let block = offset / CHUNK;
        self.chars_before[block] + char_starts(&self.text.as_bytes()[block * CHUNK..offset])
    }

    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|s| *s <= offset) - 1;
        let start = self.line_starts[line];
        let col = if self.chars_before.is_empty() || !self.text.is_char_boundary(offset) {
            offset - start
        } else {
            self.chars_upto(offset) - self.chars_upto(start)
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
    fn positions_on_long_lines_match_a_character_count() {
        // Lines longer than a block, characters of 1 to 4 bytes, blocks that split a character.
        let long: String = (0..500).map(|i| ['a', 'é', '€', '𝄞'][i % 4]).collect();
        let short: String = (0..100)
            .map(|i| ['a', 'é', '€', '𝄞', '\n'][i % 7 % 5])
            .collect();
        let text = format!("{long}\n{short}{long}x");
        // Every length around a block's end, so the text's end falls on one too.
        for end in (text.len() - 3 * CHUNK..=text.len()).filter(|e| text.is_char_boundary(*e)) {
            let text = &text[..end];
            let idx = LineIndex::new(text);
            for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
                let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
                let line = text[..offset].matches('\n').count() as u32 + 1;
                let col = text[start..offset].chars().count() as u32 + 1;
                assert_eq!(
                    idx.pos(offset),
                    Pos { line, col },
                    "offset {offset} of {end}"
                );
            }
        }
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
