//! Which part of the logs a scan reads: `--shard I/N` (see [`crate::shard`] for the whole of a
//! sharded scan).

use std::fmt;
use std::str::FromStr;

/// `I/N`: the I-th of N shards, counting from 1 (as `--shard` in Playwright and Jest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}`: expected I/N with 1 <= I <= N, e.g. 2/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether a file (its path as shown, relative to the scan root) belongs to this shard.
    pub fn owns(&self, shown: &str) -> bool {
        path_hash(shown) % u64::from(self.count) == u64::from(self.index - 1)
    }

    /// Shard 1 reports what is not a log: the inventory every shard reads.
    pub fn reports_inventory(&self) -> bool {
        self.index == 1
    }
}

/// 64-bit FNV-1a of the path's UTF-8 bytes: a fixed function, so a file lands in the same shard
/// on every machine, run and version (the standard library's hasher promises none of that).
/// Drivers in other languages can compute it in a few lines.
pub fn path_hash(shown: &str) -> u64 {
    crate::fnv::hash(shown.as_bytes())
}
