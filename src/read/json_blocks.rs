//! Sixty-four bytes of JSON text at a time, as bitmasks: where its quotes, backslashes and
//! brackets are, and which bytes may stand outside a string. The CloudTrail scanner skips the
//! nested parts of events with these (see `cloudtrail::Splitter::skip_nested`): most of a log's
//! bytes are inside strings, and a mask crosses a whole string in a few instructions where a
//! byte loop visits every byte.
//!
//! Bit `k` of a mask is byte `k` of the block. The masks come from AVX2 where the processor has
//! it (checked at run time); [`Masks::of_bytes`] is the plain version, used elsewhere and as the
//! tests' reference.

/// The masks of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masks {
    pub quote: u64,
    pub backslash: u64,
    /// `{` and `[`.
    pub open: u64,
    /// `}` and `]`.
    pub close: u64,
    pub comma: u64,
    /// Bytes that may appear outside a string: whitespace, `,` `:`, brackets, quotes, and the
    /// characters of numbers and of `true`, `false`, `null`.
    pub json: u64,
}

pub const BLOCK: usize = 64;

/// Bytes that may appear outside a string, besides brackets and quotes.
const OUTSIDE: &[u8] = b" \n\r\t,:0123456789-+.truefalsnE";

/// Whether `b` may appear outside a string.
pub const fn is_json_outside_string(b: u8) -> bool {
    if matches!(b, b'"' | b'{' | b'[' | b'}' | b']') {
        return true;
    }
    let mut k = 0;
    while k < OUTSIDE.len() {
        if OUTSIDE[k] == b {
            return true;
        }
        k += 1;
    }
    false
}

/// Lookup tables for [`Masks::json`] by nibbles: each high nibble that has JSON bytes gets a
/// bit of its own in `high`; `low[l]` holds the bits of the high nibbles `h` for which byte
/// `h << 4 | l` is JSON. A byte is JSON when `low[lo] & high[hi] != 0`.
const NIBBLE_TABLES: ([u8; 16], [u8; 16]) = {
    let mut low = [0u8; 16];
    let mut high = [0u8; 16];
    let mut next_bit = 0;
    let mut h = 0;
    while h < 8 {
        let mut l = 0;
        while l < 16 {
            let b = (h << 4 | l) as u8;
            if is_json_outside_string(b) {
                if high[h] == 0 {
                    assert!(next_bit < 8, "more high nibbles than bits");
                    high[h] = 1 << next_bit;
                    next_bit += 1;
                }
                low[l] |= high[h];
            }
            l += 1;
        }
        h += 1;
    }
    (low, high)
};

impl Masks {
    /// The masks of `block`, one byte at a time.
    pub fn of_bytes(block: &[u8; BLOCK]) -> Masks {
        let mut m = Masks {
            quote: 0,
            backslash: 0,
            open: 0,
            close: 0,
            comma: 0,
            json: 0,
        };
        for (k, &b) in block.iter().enumerate() {
            let bit = 1u64 << k;
            match b {
                b'"' => m.quote |= bit,
                b'\\' => m.backslash |= bit,
                b'{' | b'[' => m.open |= bit,
                b'}' | b']' => m.close |= bit,
                b',' => m.comma |= bit,
                _ => {}
            }
            if is_json_outside_string(b) {
                m.json |= bit;
            }
        }
        m
    }
}

/// Computes [`Masks`] with the fastest way this processor has, chosen once.
#[derive(Debug, Clone, Copy)]
pub struct Classifier {
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl Classifier {
    /// The vector classifier if the processor has one, else `None`: then a byte loop is faster
    /// than building masks a byte at a time.
    pub fn detect() -> Option<Classifier> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Some(Classifier { avx2: true });
        }
        None
    }

    #[inline]
    pub fn masks(self, block: &[u8; BLOCK]) -> Masks {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only where the processor was found to have AVX2.
            return unsafe { avx2::masks(block) };
        }
        Masks::of_bytes(block)
    }
}

/// For each bit, whether an odd number of bits at or below it are set: with the quotes of a
/// block (and no escapes), the bytes from an opening quote up to, not including, its closing
/// quote.
#[inline]
pub fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BLOCK, Masks, NIBBLE_TABLES};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2")]
    pub unsafe fn masks(block: &[u8; BLOCK]) -> Masks {
        let half = |v: __m256i| -> [u32; 6] {
            let eq = |b: u8| _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b as i8)));
            // `[` and `{` differ only in bit 5, as do `]` and `}`.
            let folded = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
            let open =
                _mm256_movemask_epi8(_mm256_cmpeq_epi8(folded, _mm256_set1_epi8(b'{' as i8)));
            let close =
                _mm256_movemask_epi8(_mm256_cmpeq_epi8(folded, _mm256_set1_epi8(b'}' as i8)));
            let (low, high) = NIBBLE_TABLES;
            // SAFETY: both tables are 16 bytes, read unaligned.
            let (low, high) = unsafe {
                (
                    _mm_loadu_si128(low.as_ptr().cast()),
                    _mm_loadu_si128(high.as_ptr().cast()),
                )
            };
            let (low, high) = (
                _mm256_broadcastsi128_si256(low),
                _mm256_broadcastsi128_si256(high),
            );
            let nibble = _mm256_set1_epi8(0x0f);
            let lo = _mm256_and_si256(v, nibble);
            let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
            let both =
                _mm256_and_si256(_mm256_shuffle_epi8(low, lo), _mm256_shuffle_epi8(high, hi));
            let not_json = _mm256_movemask_epi8(_mm256_cmpeq_epi8(both, _mm256_setzero_si256()));
            [eq(b'"'), eq(b'\\'), open, close, eq(b','), !not_json].map(|m| m as u32)
        };
        // SAFETY: the block is 64 bytes, read as two unaligned 32-byte halves.
        let (a, b) = unsafe {
            (
                _mm256_loadu_si256(block.as_ptr().cast()),
                _mm256_loadu_si256(block.as_ptr().add(32).cast()),
            )
        };
        let (a, b) = (half(a), half(b));
        let join = |k: usize| u64::from(a[k]) | u64::from(b[k]) << 32;
        Masks {
            quote: join(0),
            backslash: join(1),
            open: join(2),
            close: join(3),
            comma: join(4),
            json: join(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vector_masks_equal_the_byte_loop_for_every_byte_value() {
        let Some(c) = Classifier::detect() else {
            eprintln!("no vector classifier on this processor: nothing to compare");
            return;
        };
        // Every byte value at every position, and mixed blocks.
        for b in 0..=255u8 {
            let block = [b; BLOCK];
            assert_eq!(c.masks(&block), Masks::of_bytes(&block), "byte {b:#04x}");
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            let mut block = [0u8; BLOCK];
            for b in block.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly JSON punctuation, so every mask has bits.
                *b = if x.is_multiple_of(3) {
                    b"\"\\{}[]:, a0\n\xc3"[(x >> 8) as usize % 13]
                } else {
                    (x >> 16) as u8
                };
            }
            assert_eq!(c.masks(&block), Masks::of_bytes(&block));
        }
    }

    #[test]
    fn prefix_xor_marks_the_inside_of_strings() {
        let text = br#"{"a":"bc","d":[1]}"#;
        let mut block = [b' '; BLOCK];
        block[..text.len()].copy_from_slice(text);
        let inside = prefix_xor(Masks::of_bytes(&block).quote);
        let got: String = (0..text.len())
            .map(|k| if inside >> k & 1 == 1 { 's' } else { '.' })
            .collect();
        assert_eq!(got, ".ss..sss..ss......");
    }
}
