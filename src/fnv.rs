//! 64-bit FNV-1a, written out once: shard assignment, finding fingerprints and CloudTrail event
//! identity all depend on values that must never change with a dependency update or between
//! machines (drivers in other languages compute the shard hash too), and the standard
//! library's hasher promises none of that.

/// The 64-bit FNV offset basis and prime, as published.
const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// A running FNV-1a hash.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(OFFSET)
    }
}

impl Fnv1a {
    #[inline]
    pub fn byte(&mut self, b: u8) {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(PRIME);
    }

    #[inline]
    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

/// A finding's fingerprint: the FNV-1a of its identity parts, each followed by a 0 byte.
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Fnv1a::default();
    for part in parts {
        h.bytes(part.as_bytes());
        h.byte(0);
    }
    format!("{:016x}", h.finish())
}

/// FNV-1a of `bytes`.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.bytes(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    /// The published test vectors of 64-bit FNV-1a.
    #[test]
    fn published_values() {
        assert_eq!(super::hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::hash(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
