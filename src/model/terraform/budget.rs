//! The bounds of evaluating one project, in one place. A configuration is written by whoever
//! opens the pull request: a few lines of `locals` can nest a list ten-fold per level, or
//! `replace` a string into one a thousand times longer, so counting evaluation steps alone does
//! not bound time or memory. Every step, every reference followed, and every value made or
//! copied is charged against one budget; when it runs out, what is left is unknown and the
//! first expression that ran out is reported.

use super::V;
use crate::model::FileId;
use crate::read::Span;
use std::cell::{Cell, RefCell};

/// Work units for one project: a step, a reference followed, a list or map element made or
/// copied, or 16 bytes of string. The shared corpus's largest project takes 3,538 (the old
/// bound, on steps alone, was this same number); what it allows stays within a few hundred
/// megabytes (a value element costs about 100 bytes with its copies).
pub(super) const MAX_WORK: u64 = 2_000_000;

/// The longest string one function call may make (`replace`, `join`, `format`): checked before
/// the string is built.
pub(super) const MAX_STRING_BYTES: usize = 16 * 1024 * 1024;

/// What was evaluating when the budget ran out.
#[derive(Debug, Clone)]
pub(super) struct Exceeded {
    pub file: FileId,
    pub span: Span,
    pub what: String,
}

#[derive(Default)]
pub(super) struct Budget {
    used: Cell<u64>,
    exceeded: RefCell<Option<Exceeded>>,
}

impl Budget {
    /// Spends `units`; false once the budget is gone.
    pub fn spend(&self, units: u64) -> bool {
        let used = self.used.get().saturating_add(units);
        self.used.set(used);
        used <= MAX_WORK
    }

    /// Whether the budget is gone.
    pub fn spent(&self) -> bool {
        self.used.get() > MAX_WORK
    }

    /// Charges for a value made or copied; false (and the value should be dropped) when that
    /// takes the budget past its end. Measuring stops there, so a huge value is not walked.
    pub fn charge(&self, v: &V) -> bool {
        let left = MAX_WORK.saturating_sub(self.used.get());
        self.spend(size_up_to(v, left.saturating_add(1)))
    }

    /// Spends what is left: one call would make a value over a limit of its own.
    pub fn exhaust(&self) {
        self.used.set(MAX_WORK + 1);
    }

    /// Names the expression whose evaluation ran out of budget. Evaluation stops at once then,
    /// and each reference it was inside notes itself as it returns: the last noted, the
    /// outermost, is what the configuration asked for (the innermost is an innocent leaf).
    /// With `only_first`, a note does not replace one already made (for the resource whose
    /// evaluation it was, when no reference was named).
    pub fn note(&self, file: &FileId, span: Span, what: impl FnOnce() -> String, only_first: bool) {
        if self.spent() && !(only_first && self.exceeded.borrow().is_some()) {
            *self.exceeded.borrow_mut() = Some(Exceeded {
                file: file.clone(),
                span,
                what: what(),
            });
        }
    }

    pub fn exceeded(&self) -> Option<Exceeded> {
        self.exceeded.borrow().clone()
    }
}

/// The work units of a value (see `MAX_WORK`), counted up to `limit`. No recursion: values can
/// be nested as deep as the configuration allows.
fn size_up_to(v: &V, limit: u64) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += 1;
        match v {
            V::Str(s) | V::Unknown(s) | V::Err(s) => total += s.len() as u64 / 16,
            V::Partial { text, refs } => total += (text.len() / 16 + refs.len()) as u64,
            V::List(items) | V::Choice(items) => stack.extend(items),
            V::Obj(items) => {
                for (k, x) in items {
                    total += k.len() as u64 / 16;
                    stack.push(x);
                }
            }
            V::Null | V::Bool(_) | V::Num(_) | V::Ref(_) => {}
        }
        if total >= limit {
            break;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_stop_at_the_budget_and_the_outermost_note_is_kept() {
        let b = Budget::default();
        let big = V::List(vec![V::Str("x".repeat(64)); 1000]);
        assert_eq!(size_up_to(&big, u64::MAX), 1 + 1000 * 5);
        let cut = size_up_to(&big, 10);
        assert!(
            (10..16).contains(&cut),
            "stops within one element of the limit: {cut}"
        );
        assert!(b.charge(&big));
        let file: FileId = "main.tf".into();
        b.note(&file, Span::default(), || "not yet".into(), false);
        assert!(
            b.exceeded().is_none(),
            "nothing is noted while budget is left"
        );
        assert!(!b.spend(MAX_WORK));
        b.note(&file, Span::default(), || "local.inner".into(), false);
        b.note(&file, Span::default(), || "local.outer".into(), false);
        b.note(
            &file,
            Span::default(),
            || "aws_lambda_function.f".into(),
            true,
        );
        assert_eq!(b.exceeded().unwrap().what, "local.outer");
    }
}
