//! The candidate events of phase one, kept for phase two: in memory up to a budget, then in an
//! anonymous temporary file, so memory stays flat however many months of logs are read.

use crate::read::Pos;
use crate::read::cloudtrail::Within;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// One kept event: where it came from and where its text is stored.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// Identity for deduplication (see `Head::identity_hash`); `None` without an eventID.
    pub identity: Option<u128>,
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
    pub fn unique_in_storage_order(&mut self) -> (Vec<usize>, u64) {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        let e = &self.entries;
        order.sort_by_key(|&i| {
            (
                e[i].identity.is_none(),
                e[i].identity,
                e[i].file,
                e[i].index,
            )
        });
        let mut keep = Vec::with_capacity(order.len());
        let mut last: Option<u128> = None;
        let mut duplicates = 0;
        for i in order {
            match e[i].identity {
                Some(id) if last == Some(id) => duplicates += 1,
                id => {
                    last = id;
                    keep.push(i);
                }
            }
        }
        keep.sort_by_key(|&i| e[i].at);
        (keep, duplicates)
    }

    /// Loads the next bounded batch of `order` (from `*next` on) into the spool's scratch
    /// buffer, which every batch reuses: memory stays flat however many batches there are.
    /// Returns the candidates with the range of their text in [`Spool::scratch`].
    pub fn next_batch(&mut self, order: &[usize], next: &mut usize) -> io::Result<Option<Batch>> {
        if *next >= order.len() {
            return Ok(None);
        }
        let start = *next;
        let first = self.entries[order[start]].at;
        while *next < order.len() && self.entries[order[*next]].at - first < BATCH_BYTES {
            *next += 1;
        }
        let slice = &order[start..*next];
        let last = slice
            .iter()
            .map(|&i| self.entries[i].at + u64::from(self.entries[i].len))
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
                    let c = self.entries[i];
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
        Candidate {
            identity,
            file,
            index: at,
            pos: Pos { line: 1, col: 1 },
            within: Within::default(),
            routed: true,
            at,
            len,
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
