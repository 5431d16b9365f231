//! The order of a scan result, and repeated errors folded into one summary.

use super::{FileFinding, InputError, ScanResult};

/// The order every report is in, whatever order inputs were read or shards merged in.
pub fn put_in_order(out: &mut ScanResult) {
    out.findings.sort_by(|a, b| {
        let key = |f: &FileFinding| {
            (
                f.path.clone(),
                f.finding.location.as_ref().map(|l| l.span.start),
                f.finding.rule,
                f.finding.resource_id.clone(),
                f.finding.message.clone(),
                f.finding.trail.as_ref().map(|t| t.subject.clone()),
            )
        };
        key(a).cmp(&key(b))
    });
    out.scanned.sort_by(|a, b| a.0.cmp(&b.0));
    out.scanned.dedup_by(|a, b| a.0 == b.0);
    // By unit, each unit's rows in model order (a stable sort): the same however the units
    // were split between shards.
    out.map.functions.sort_by(|a, b| a.unit.cmp(&b.unit));
    out.map.keys.sort_by(|a, b| a.unit.cmp(&b.unit));
    // Every shard reads the inventory: an error in it comes once from each.
    out.errors.sort();
    out.errors.dedup();
    cap_repeated(&mut out.errors);
    out.notes.sort();
    out.notes.dedup();
    out.skipped.sort();
    out.skipped.dedup();
}

/// How many errors of one kind in one file are shown before the rest are counted.
pub const REPEATED_SHOWN: usize = 3;

/// A message with its particulars taken out (numbers, and what is quoted), so that "alias
/// `*a` at 3" and "alias `*b` at 9" are one kind of error.
fn kind_of(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '`' | '"' | '\'') => {
                quote = Some(c);
                out.push('…');
            }
            None if c.is_ascii_digit() => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            None => out.push(c),
        }
    }
    out
}

/// Keeps the first [`REPEATED_SHOWN`] errors of each kind in each file (errors are in order),
/// and replaces the rest with one error that counts them, at the first one it stands for: a
/// file with 80 YAML aliases says so in four lines, not eighty.
fn cap_repeated(errors: &mut Vec<InputError>) {
    struct Kind {
        count: usize,
        first_dropped: Option<usize>,
        last_line: Option<u32>,
    }
    let mut kinds: std::collections::HashMap<(String, String), Kind> =
        std::collections::HashMap::new();
    let mut keep = Vec::with_capacity(errors.len());
    for (i, e) in errors.iter().enumerate() {
        let kind = kinds
            .entry((e.path.clone(), kind_of(&e.message)))
            .or_insert(Kind {
                count: 0,
                first_dropped: None,
                last_line: None,
            });
        kind.count += 1;
        kind.last_line = e.line.or(kind.last_line);
        let shown = kind.count <= REPEATED_SHOWN;
        if !shown && kind.first_dropped.is_none() {
            kind.first_dropped = Some(i);
        }
        keep.push(shown);
    }
    let summaries: Vec<InputError> = kinds
        .values()
        .filter_map(|k| {
            let e = &errors[k.first_dropped?];
            let upto = k
                .last_line
                .map(|l| format!(" (up to line {l})"))
                .unwrap_or_default();
            Some(InputError {
                message: format!(
                    "{} more like this{upto}: {}",
                    k.count - REPEATED_SHOWN,
                    e.message
                ),
                ..e.clone()
            })
        })
        .collect();
    let mut keep = keep.into_iter();
    errors.retain(|_| keep.next().unwrap_or(true));
    errors.extend(summaries);
    errors.sort();
}
