//! The scanner's hot loops: [`Splitter::structure`] (an event's top level and what is between
//! events), [`Splitter::skip_nested`] (below an event's top level) and their 64-byte block
//! forms. Every byte of a log passes here; the comments keep what was measured.

use super::{Role, Splitter, Target};
use crate::read::ReadError;
use crate::read::cloudtrail::RawEvent;
use crate::read::json_blocks::{self, BLOCK, Classifier};

/// What a byte outside strings is below an event's top level (see [`Splitter::skip_nested`]).
#[derive(Clone, Copy)]
enum Nested {
    /// Whitespace, `,` `:`, and the characters of numbers and literals.
    Skip,
    Quote,
    Open,
    Close,
    /// Not JSON.
    Bad,
}

const NESTED_CLASS: [Nested; 256] = {
    let mut t = [Nested::Bad; 256];
    let skip = b" \n\r\t,:0123456789-+.truefalsnE";
    let mut k = 0;
    while k < skip.len() {
        t[skip[k] as usize] = Nested::Skip;
        k += 1;
    }
    t[b'"' as usize] = Nested::Quote;
    t[b'{' as usize] = Nested::Open;
    t[b'[' as usize] = Nested::Open;
    t[b'}' as usize] = Nested::Close;
    t[b']' as usize] = Nested::Close;
    t
};

/// The first `"` or `\\` in `s`, eight bytes at a time: strings are most of a log, mostly short,
/// and a call into a vectorised search costs more than it saves on them.
pub(in crate::read::cloudtrail) fn find_quote_or_backslash(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has = |w: u64, b: u8| {
        let x = w ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut i = 0;
    while i + 8 <= s.len() {
        #[allow(clippy::expect_used, reason = "the loop condition leaves eight bytes")]
        let w = u64::from_le_bytes(s[i..i + 8].try_into().expect("eight bytes"));
        let m = has(w, b'"') | has(w, b'\\');
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|p| i + p)
}

impl Splitter {
    pub(super) fn structure(
        &mut self,
        sink: &mut dyn FnMut(RawEvent<'_>),
    ) -> Result<(), ReadError> {
        let td = self.target_depth();
        let fd = td + 1;
        let key_array = matches!(self.target, Target::KeyArray(_));
        let mut i = self.scan;
        let len = self.buf.len();
        while i < len {
            // Below an event's top-level fields nothing but the brackets matters: most of an
            // event's bytes are scanned there, by a loop that knows only that.
            if self.depth > fd && !self.in_str && self.elem.is_some() {
                i = self.skip_nested(i, fd)?;
                continue;
            }
            // An event's own fields, a block at a time while it lasts.
            if self.depth == fd
                && !self.in_str
                && !self.esc
                && let Some(start) = self.elem
                && let Some(classifier) = self.blocks
                && i >= self.bytewise_until
                && i + BLOCK <= len
                && i + BLOCK - start <= self.max
                && let Some(next) = self.fields_block(classifier, i)
            {
                i = next;
                continue;
            }
            // Over the limit as soon as the scan passes it, before any later problem of the
            // event: which error a broken event gets must not depend on where reads end.
            if let Some(start) = self.elem
                && i - start > self.max
            {
                return Err(self.too_large(start));
            }
            if self.in_str {
                if self.esc {
                    self.esc = false;
                    i += 1;
                    continue;
                }
                match find_quote_or_backslash(&self.buf[i..]) {
                    None => {
                        i = len;
                        break;
                    }
                    Some(j) if self.buf[i + j] == b'\\' => {
                        self.esc = true;
                        self.str_escaped = true;
                        i += j + 1;
                    }
                    Some(j) => {
                        self.in_str = false;
                        i += j + 1;
                        self.string_ended(i - 1);
                    }
                }
                continue;
            }
            let b = self.buf[i];
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                i += 1;
                continue;
            }
            let element_level = self.in_target && self.depth == td && self.elem.is_none();
            if matches!(b, b':' | b'0'..=b'9' | b'-' | b'+' | b'.') && !element_level {
                i += 1;
                continue;
            }
            if element_level && b != b',' && b != b']' && b != b'}' {
                if b != b'{' && !(b == b'[' && self.rows) {
                    let pos = self.pos_at(i);
                    return Err(ReadError::at(
                        pos,
                        format!(
                            "event {} is not a JSON object; reading stopped here",
                            self.events + 1
                        ),
                    ));
                }
                self.elem = Some(i);
                self.fields = [None; 4];
                self.fields_ok = true;
                self.corrupt = None;
            }

            match b {
                b'"' => {
                    self.in_str = true;
                    self.str_escaped = false;
                    self.str_start = i + 1;
                    self.str_role = Role::Other;
                    if self.depth == 1 && self.expect_key && key_array {
                        self.str_role = Role::WrapperKey;
                        self.expect_key = false;
                    } else if self.elem.is_some() && self.depth == fd {
                        self.str_role = self.field_string_role();
                    }
                }
                b'{' | b'[' => {
                    if (self.depth == 1 && b == b'[' && self.key_matches && key_array)
                        || (self.depth == 0 && b == b'[' && self.target == Target::RootArray)
                    {
                        self.in_target = true;
                        self.containers += 1;
                        self.container_start = self.events;
                    }
                    self.depth += 1;
                    self.open.push(b);
                    if self.depth == 1 && b == b'{' {
                        self.expect_key = true;
                    }
                    if self.depth == fd && b == b'{' && self.elem.is_some() {
                        self.field_expect_key = true;
                    }
                    self.cur_field = None;
                }
                b'}' | b']' => {
                    if self.depth == 0 {
                        let pos = self.pos_at(i);
                        return Err(ReadError::at(
                            pos,
                            format!("unexpected '{}'; reading stopped here", b as char),
                        ));
                    }
                    let opener = self.open.pop().unwrap_or(b'{');
                    if (opener == b'{') != (b == b'}') {
                        return Err(match self.elem {
                            Some(start) => self.explain_broken(start, i + 1),
                            None => {
                                let pos = self.pos_at(i);
                                ReadError::at(
                                    pos,
                                    format!(
                                        "'{}' closes a '{}'; reading stopped here",
                                        b as char, opener as char
                                    ),
                                )
                            }
                        });
                    }
                    self.depth -= 1;
                    self.cur_field = None;
                    if self.depth + 1 == td && self.in_target && self.target != Target::TopLevel {
                        self.in_target = false;
                    }
                    if self.depth == td
                        && let Some(start) = self.elem.take()
                    {
                        if i + 1 - start > self.max {
                            return Err(self.too_large(start));
                        }
                        let pos = self.pos_at(start);
                        self.emit(start, i + 1, pos, sink);
                    }
                    if self.depth == 1 {
                        self.key_matches = false;
                    }
                }
                b',' => {
                    if self.depth == 1 {
                        self.expect_key = true;
                        self.key_matches = false;
                    }
                    if self.depth == fd && self.elem.is_some() {
                        self.field_expect_key = true;
                        self.cur_field = None;
                    }
                }
                // The letters of true, false, null (and exponents): any other byte outside a
                // string is not JSON.
                b't' | b'r' | b'u' | b'e' | b'f' | b'a' | b'l' | b's' | b'n' | b'E' => {}
                _ => {
                    if self.elem.is_some() {
                        if self.corrupt.is_none() {
                            self.corrupt = Some(i);
                        }
                    } else {
                        let pos = self.pos_at(i);
                        return Err(ReadError::at(
                            pos,
                            format!("unexpected '{}': not JSON; reading stopped here", b as char),
                        ));
                    }
                }
            }
            i += 1;
        }
        self.scan = i;
        Ok(())
    }

    /// [`Splitter::structure`] inside an event below its top-level fields (`depth > fd`, not in
    /// a string): the same state changes, byte for byte, without the cases that cannot happen
    /// there (roles, wrapper keys, event boundaries). Its string and bracket steps repeat
    /// `structure`'s on purpose: shared helpers made phase one 8-10 % slower (measured). Returns where to go on: after the bracket
    /// that brings the depth back to `fd`, or the end of the buffer.
    fn skip_nested(&mut self, mut i: usize, fd: u32) -> Result<usize, ReadError> {
        #[allow(
            clippy::expect_used,
            reason = "called only inside an event, where elem is set"
        )]
        let start = self.elem.expect("inside an event");
        let len = self.buf.len();
        while i < len {
            if let Some(classifier) = self.blocks
                && i >= self.bytewise_until
                && !self.esc
                && i + BLOCK <= len
                && i + BLOCK - start <= self.max
            {
                match self.skip_block(classifier, i, fd)? {
                    Some(next) => return Ok(next),
                    None if self.bytewise_until > i => {}
                    None => {
                        i += BLOCK;
                        continue;
                    }
                }
            }
            if i - start > self.max {
                return Err(self.too_large(start));
            }
            if self.in_str {
                if self.esc {
                    self.esc = false;
                    i += 1;
                    continue;
                }
                match find_quote_or_backslash(&self.buf[i..]) {
                    None => return Ok(len),
                    Some(j) if self.buf[i + j] == b'\\' => {
                        self.esc = true;
                        self.str_escaped = true;
                        i += j + 1;
                    }
                    // A string below the top level has no role: nothing to record at its end.
                    Some(j) => {
                        self.in_str = false;
                        i += j + 1;
                    }
                }
                continue;
            }
            let b = self.buf[i];
            match NESTED_CLASS[b as usize] {
                Nested::Skip => {}
                Nested::Quote => {
                    self.in_str = true;
                    self.str_escaped = false;
                    self.str_start = i + 1;
                    self.str_role = Role::Other;
                }
                Nested::Open => {
                    self.depth += 1;
                    self.open.push(b);
                    self.cur_field = None;
                }
                Nested::Close => {
                    let opener = self.open.pop().unwrap_or(b'{');
                    if (opener == b'{') != (b == b'}') {
                        return Err(self.explain_broken(start, i + 1));
                    }
                    self.depth -= 1;
                    self.cur_field = None;
                    if self.depth == 1 {
                        self.key_matches = false;
                    }
                    if self.depth == fd {
                        return Ok(i + 1);
                    }
                }
                Nested::Bad => {
                    if self.corrupt.is_none() {
                        self.corrupt = Some(i);
                    }
                }
            }
            i += 1;
        }
        Ok(i)
    }

    /// The masks of the 64 bytes at `i`; `None` when they hold a backslash: then the block is
    /// left to the byte loop (`bytewise_until`), as escapes are rare and a backslash outside a
    /// string is not JSON, which the byte loop words.
    #[inline]
    fn block_masks(&mut self, classifier: Classifier, i: usize) -> Option<json_blocks::Masks> {
        #[allow(
            clippy::expect_used,
            reason = "callers check that a whole block remains"
        )]
        let block: &[u8; BLOCK] = self.buf[i..i + BLOCK].try_into().expect("a whole block");
        let m = classifier.masks(block);
        if m.backslash != 0 {
            self.bytewise_until = i + BLOCK;
            return None;
        }
        Some(m)
    }

    /// Records the first of the stray bytes (bits of the block at `i`), as the byte loop does.
    #[inline]
    fn note_stray(&mut self, i: usize, stray: u64) {
        if stray != 0 && self.corrupt.is_none() {
            self.corrupt = Some(i + stray.trailing_zeros() as usize);
        }
    }

    /// The role of a string that opens at an event's top level: the key of a field, the
    /// value of a routing field, or neither.
    #[inline]
    fn field_string_role(&mut self) -> Role {
        if self.field_expect_key {
            self.field_expect_key = false;
            Role::FieldKey
        } else if let Some(f) = self.cur_field.take() {
            Role::FieldValue(f)
        } else {
            Role::Other
        }
    }

    /// [`Splitter::skip_nested`]'s steps over the 64 bytes at `i`, all at once: the same state
    /// changes, from masks. Returns where to go on when a bracket brings the depth back to `fd`
    /// (the rest of the block is not read); `None` when the block is done, or when it holds a
    /// backslash: then it is left to the byte loop (`bytewise_until`), as escapes are rare and
    /// a backslash outside a string is not JSON, which the byte loop words. The caller checks
    /// that no byte of the block passes the size limit.
    #[inline]
    fn skip_block(
        &mut self,
        classifier: Classifier,
        i: usize,
        fd: u32,
    ) -> Result<Option<usize>, ReadError> {
        let Some(m) = self.block_masks(classifier, i) else {
            return Ok(None);
        };
        // Without escapes every quote opens or closes a string.
        let mut inside = json_blocks::prefix_xor(m.quote);
        if self.in_str {
            inside = !inside;
        }
        let outside = !inside;
        let mut brackets = (m.open | m.close) & outside;
        // Bytes of the block this call consumes: all, or up to the bracket that ends the
        // nesting.
        let mut done = u64::MAX;
        let mut ended = None;
        while brackets != 0 {
            let k = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            let b = self.buf[i + k];
            self.cur_field = None;
            if m.open >> k & 1 == 1 {
                self.depth += 1;
                self.open.push(b);
                continue;
            }
            let opener = self.open.pop().unwrap_or(b'{');
            if (opener == b'{') != (b == b'}') {
                #[allow(
                    clippy::expect_used,
                    reason = "depth > 0 only inside an event, where elem is set"
                )]
                let start = self.elem.expect("inside an event");
                // The byte loop would have recorded any earlier stray byte; it does not matter
                // for an error that ends the file's reading.
                return Err(self.explain_broken(start, i + k + 1));
            }
            self.depth -= 1;
            if self.depth == 1 {
                self.key_matches = false;
            }
            if self.depth == fd {
                done = if k == 63 {
                    u64::MAX
                } else {
                    (1 << (k + 1)) - 1
                };
                ended = Some(i + k + 1);
                break;
            }
        }
        let stray = !m.json & outside & done;
        self.note_stray(i, stray);
        if ended.is_some() {
            // The bracket is outside any string.
            self.in_str = false;
            return Ok(ended);
        }
        self.in_str = inside >> 63 == 1;
        if self.in_str && m.quote != 0 {
            // The last quote opened the string the block ends in.
            self.str_start = i + (63 - m.quote.leading_zeros() as usize) + 1;
            self.str_escaped = false;
            self.str_role = Role::Other;
        }
        Ok(None)
    }

    /// [`Splitter::structure`]'s steps at an event's top level (`depth == fd`, not in a string)
    /// over the 64 bytes at `i`, from masks: keys and values (with their roles), commas, stray
    /// bytes. It stops after a bracket that opens a nested value (for
    /// [`Splitter::skip_nested`]), before one that closes the event, or inside a string that
    /// goes on past the block. Returns where to go on; `None` leaves the byte at `i` to the
    /// byte loop: the event's closing bracket, or a block with a backslash (`bytewise_until`).
    #[inline]
    fn fields_block(&mut self, classifier: Classifier, i: usize) -> Option<usize> {
        let m = self.block_masks(classifier, i)?;
        // Bits at and below `k`.
        let upto = |k: usize| (2u64 << k).wrapping_sub(1);
        let outside = !json_blocks::prefix_xor(m.quote);
        let mut tokens = m.quote | ((m.open | m.close | m.comma) & outside);
        // Bytes consumed: all, or up to a bracket.
        let mut stop = BLOCK;
        while tokens != 0 {
            let k = tokens.trailing_zeros() as usize;
            match self.buf[i + k] {
                b'"' => {
                    // Outside a string here, as strings are stepped over whole: this quote
                    // opens one. Its role, as in `structure` (no wrapper key is at an event's
                    // top level).
                    self.str_role = self.field_string_role();
                    self.str_start = i + k + 1;
                    self.str_escaped = false;
                    let closing = m.quote & !upto(k);
                    if closing == 0 {
                        self.in_str = true;
                        break;
                    }
                    let end = closing.trailing_zeros() as usize;
                    self.string_ended(i + end);
                    tokens &= !upto(end);
                    continue;
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    self.open.push(self.buf[i + k]);
                    self.cur_field = None;
                    stop = k + 1;
                    break;
                }
                b'}' | b']' => {
                    stop = k;
                    break;
                }
                _ => {
                    if self.depth == 1 {
                        self.expect_key = true;
                        self.key_matches = false;
                    }
                    self.field_expect_key = true;
                    self.cur_field = None;
                }
            }
            tokens &= tokens - 1;
        }
        let stray = !m.json
            & outside
            & (if stop == BLOCK {
                u64::MAX
            } else {
                upto(stop) >> 1
            });
        self.note_stray(i, stray);
        (stop > 0).then_some(i + stop)
    }
}
