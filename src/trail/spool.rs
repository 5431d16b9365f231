//! The candidate events of phase one, kept for phase two: in memory up to a budget, then in an
//! anonymous temporary file, so memory stays flat however many months of logs are read.

use crate::read::Pos;
use crate::read::cloudtrail::Within;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// One kept event: where it came from and where its text is stored. There is one per
/// candidate event, so its size is the scan's memory per event: 64 bytes (an `Option<u128>`
/// alone would take 32, for its 16-byte alignment).
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// Identity for deduplication (see `Head::identity_hash`), high and low half; see
    /// [`Candidate::identity`].
    pub id: [u64; 2],
    /// Whether the event has an identity (an eventID).
    pub has_id: bool,
    /// Index of the file in the scan's sorted file list.
    pub file: u32,
    /// Index of the event in its file.
    pub index: u64,
    pub pos: Pos,
    /// Where the event is inside its element, for its pointer.
    pub within: Within,
    /// Some rule reads it (else it is kept for the timeline only).
    pub routed: bool,
    /// Offset of the text: in a batch's arena when pushed, then in the spool.
    pub at: u64,
    pub len: u32,
}

/// An identity as [`Candidate::id`] and [`Candidate::has_id`] store it.
pub fn pack(identity: Option<u128>) -> ([u64; 2], bool) {
    let i = identity.unwrap_or(0);
    ([(i >> 64) as u64, i as u64], identity.is_some())
}

impl Candidate {
    /// Identity for deduplication; `None` without an eventID.
    pub fn identity(&self) -> Option<u128> {
        self.has_id
            .then(|| (u128::from(self.id[0]) << 64) | u128::from(self.id[1]))
    }
}

pub struct Spool {
    entries: Vec<Candidate>,
    /// Texts not yet spilled; `mem_base` is the spool offset of `mem[0]`.
    mem: Vec<u8>,
    mem_base: u64,
    disk: Option<File>,
    budget: usize,
    /// The batch being evaluated (see `next_batch`).
    scratch: Vec<u8>,
}

/// Candidates with the range of their text in [`Spool::scratch`].
pub type Batch = Vec<(Candidate, std::ops::Range<usize>)>;

/// Bytes of text loaded and evaluated at a time in phase two.
const BATCH_BYTES: u64 = 16 * 1024 * 1024;

impl Spool {
    pub fn new(budget: usize) -> Self {
        Spool {
            entries: Vec::new(),
            mem: Vec::new(),
            mem_base: 0,
            disk: None,
            budget,
            scratch: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends candidates whose `at` are offsets into `arena`.
    pub fn push_batch(&mut self, batch: &[Candidate], arena: &[u8]) {
        // Spill first, so the buffer never grows past the budget (nor doubles, with a copy of
        // itself alive, on the way).
        if !self.mem.is_empty()
            && self.mem.len() + arena.len() > self.budget
            && self.spill().is_err()
        {
            // A spool that cannot spill keeps its texts in memory: slower to fail than wrong.
            self.budget = usize::MAX;
        }
        if self.mem.capacity() == 0 && self.budget != usize::MAX {
            self.mem.reserve_exact(self.budget.max(arena.len()));
        }
        let base = self.mem_base + self.mem.len() as u64;
        self.mem.extend_from_slice(arena);
        self.entries.extend(batch.iter().map(|c| Candidate {
            at: base + c.at,
            ..*c
        }));
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.disk.is_none() {
            self.disk = Some(tempfile::tempfile()?);
        }
        let disk = self.disk.as_mut().expect("just opened");
        disk.seek(SeekFrom::End(0))?;
        disk.write_all(&self.mem)?;
        self.mem_base += self.mem.len() as u64;
        self.mem.clear();
        Ok(())
    }

    /// The candidates to evaluate, one per event identity (the first delivery by file and
    /// position wins, whatever order the files were read in), in storage order; and how many
    /// duplicates were dropped.
    /// Positions are `u32` (4 bytes an event, not 8): a spool holds fewer than 2^32 events.
    pub fn unique_in_storage_order(&mut self) -> (Vec<u32>, u64) {
        let n = u32::try_from(self.entries.len()).expect("fewer than 2^32 candidate events");
        let mut order: Vec<u32> = (0..n).collect();
        let e = &self.entries;
        let at = |i: u32| &e[i as usize];
        order.sort_unstable_by_key(|&i| (!at(i).has_id, at(i).id, at(i).file, at(i).index, i));
        let mut last: Option<[u64; 2]> = None;
        let mut duplicates = 0;
        // In place: a second list as long would double this step's memory.
        order.retain(|&i| {
            let c = at(i);
            if c.has_id && last == Some(c.id) {
                duplicates += 1;
                return false;
            }
            last = c.has_id.then_some(c.id);
            true
        });
        order.sort_unstable_by_key(|&i| at(i).at);
        (order, duplicates)
    }

    /// Loads the next bounded batch of `order` (from `*next` on) into the spool's scratch
    /// buffer, which every batch reuses: memory stays flat however many batches there are.
    /// Returns the candidates with the range of their text in [`Spool::scratch`].
    pub fn next_batch(&mut self, order: &[u32], next: &mut usize) -> io::Result<Option<Batch>> {
        if *next >= order.len() {
            return Ok(None);
        }
        let start = *next;
        let first = self.entries[order[start] as usize].at;
        while *next < order.len() && self.entries[order[*next] as usize].at - first < BATCH_BYTES {
            *next += 1;
        }
        let slice = &order[start..*next];
        let last = slice
            .iter()
            .map(|&i| self.entries[i as usize].at + u64::from(self.entries[i as usize].len))
            .max()
            .unwrap_or(first);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.resize((last - first) as usize, 0);
        // The range may straddle disk and memory.
        let disk_end = self.mem_base;
        if first < disk_end {
            let upto = last.min(disk_end);
            let disk = self
                .disk
                .as_mut()
                .expect("texts below mem_base are on disk");
            disk.seek(SeekFrom::Start(first))?;
            disk.read_exact(&mut scratch[..(upto - first) as usize])?;
        }
        if last > disk_end {
            let from = first.max(disk_end);
            let src = &self.mem[(from - disk_end) as usize..(last - disk_end) as usize];
            scratch[(from - first) as usize..].copy_from_slice(src);
        }
        self.scratch = scratch;
        Ok(Some(
            slice
                .iter()
                .map(|&i| {
                    let c = self.entries[i as usize];
                    let off = (c.at - first) as usize;
                    (c, off..off + c.len as usize)
                })
                .collect(),
        ))
    }

    /// The text of the batch [`Spool::next_batch`] loaded last.
    pub fn scratch(&self) -> &[u8] {
        &self.scratch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(identity: Option<u128>, file: u32, at: u64, len: u32) -> Candidate {
        let (id, has_id) = pack(identity);
        Candidate {
            id,
            has_id,
            file,
            index: at,
            pos: Pos { line: 1, col: 1 },
            within: Within::default(),
            routed: true,
            at,
            len,
        }
    }

    /// The spool's memory per event (see [`Candidate`]).
    #[test]
    fn a_candidate_takes_64_bytes() {
        assert_eq!(std::mem::size_of::<Candidate>(), 64);
        for id in [None, Some(0), Some(1), Some(u128::MAX), Some(1 << 64)] {
            let (id_, has_id) = pack(id);
            let c = Candidate {
                id: id_,
                has_id,
                ..cand(None, 0, 0, 1)
            };
            assert_eq!(c.identity(), id);
        }
    }

    #[test]
    fn spills_and_reads_back_and_drops_duplicates() {
        let mut s = Spool::new(8);
        s.push_batch(
            &[cand(Some(1), 1, 0, 5), cand(Some(2), 1, 5, 5)],
            b"aaaaabbbbb",
        );
        s.push_batch(&[cand(Some(1), 0, 0, 5), cand(None, 0, 5, 3)], b"AAAAAccc");
        assert!(s.disk.is_some());
        let (order, dups) = s.unique_in_storage_order();
        assert_eq!(dups, 1);
        let mut texts: Vec<String> = Vec::new();
        let mut next = 0;
        while let Some(batch) = s.next_batch(&order, &mut next).unwrap() {
            for (_, range) in batch {
                texts.push(String::from_utf8_lossy(&s.scratch()[range]).into_owned());
            }
        }
        // The copy in file 0 wins over the one in file 1.
        assert_eq!(texts, vec!["bbbbb", "AAAAA", "ccc"]);
    }
}
