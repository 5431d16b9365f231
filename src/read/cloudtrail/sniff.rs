//! What a file is: a CloudTrail log of which shape, or something recognised and not read, from
//! its first (decompressed) bytes.

use super::{Sniff, TrailShape};

/// Classifies the start of a (decompressed) file.
pub fn sniff(prefix: &[u8]) -> Sniff {
    let text = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Sniff::NotTrail;
    };
    let body = &text[start..];
    let has = |needle: &str| memchr::memmem::find(body, needle.as_bytes()).is_some();
    // Lambda event payloads (`{"Records": [{"eventSource": "aws:sqs", ...}]}`) share the
    // Records wrapper; CloudTrail never names a source `aws:*`.
    let service_payload = || {
        memchr::memmem::find_iter(body, b"\"eventSource\"").any(|at| {
            let rest = &body[at + 13..];
            let rest = rest
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b':'))
                .map_or(&[][..], |i| &rest[i..]);
            rest.starts_with(b"\"aws:")
        })
    };
    let event_like = || {
        (has("\"eventTime\"") || has("\"eventID\"") || has("\"eventVersion\""))
            && (has("\"eventSource\"") || has("\"eventName\"") || has("\"userIdentity\""))
            && !service_payload()
    };
    // Events written as JSON strings inside other records: lookup-events entries, CloudWatch
    // Logs messages, log shippers' wrappers.
    let escaped_events =
        || has("CloudTrailEvent") || (has("\\\"eventSource\\\"") && has("\\\"eventName\\\""));
    let by_lines = |body: &[u8]| {
        let first_line = body.split(|b| *b == b'\n').next().unwrap_or(body);
        if balanced_object(first_line) {
            TrailShape::JsonLines
        } else {
            TrailShape::Concatenated
        }
    };
    match body[0] {
        b'{' => {
            let key = first_key(body);
            match key {
                Some(b"Records") if event_like() || empty_array_follows(body) => Sniff::Trail {
                    shape: TrailShape::Records,
                    gzip: false,
                },
                Some(b"Events" | b"NextToken") if has("\"CloudTrailEvent\"") => Sniff::Trail {
                    shape: TrailShape::LookupEvents,
                    gzip: false,
                },
                Some(b"awsAccountId" | b"digestStartTime") if has("\"digestEndTime\"") => {
                    Sniff::Digest
                }
                Some(b"RuleID" | b"Tests" | b"AnalysisType")
                    if has("\"Tests\"") && has("\"Log\"") =>
                {
                    Sniff::PantherTests
                }
                Some(b"Records" | b"Events") => Sniff::NotTrail,
                Some(_)
                    if has("\"QueryResultRows\"")
                        && (has("\"QueryStatus\"")
                            || has("\"eventsource\"")
                            || has("\"eventSource\"")) =>
                {
                    Sniff::Trail {
                        shape: TrailShape::LakeResults,
                        gzip: false,
                    }
                }
                Some(_) if has("\"messageType\"") && has("\"logEvents\"") => Sniff::Trail {
                    shape: TrailShape::CloudWatchLogs,
                    gzip: false,
                },
                Some(_) if event_like() || escaped_events() => Sniff::Trail {
                    shape: by_lines(body),
                    gzip: false,
                },
                _ => Sniff::NotTrail,
            }
        }
        b'[' => {
            let inner = body[1..]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .map(|i| body[1 + i]);
            if inner == Some(b'{') && (event_like() || escaped_events()) {
                Sniff::Trail {
                    shape: TrailShape::Array,
                    gzip: false,
                }
            } else {
                Sniff::NotTrail
            }
        }
        _ => Sniff::NotTrail,
    }
}

/// The first key of the object `text` starts with (escapes are not expected in the keys that
/// matter here).
fn first_key(text: &[u8]) -> Option<&[u8]> {
    let rest = &text[1..];
    let open = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    if rest[open] != b'"' {
        return None;
    }
    let key = &rest[open + 1..];
    let close = memchr::memchr(b'"', key)?;
    Some(&key[..close])
}

fn empty_array_follows(text: &[u8]) -> bool {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(16)
        .collect();
    compact.starts_with(b"{\"Records\":[]")
}

/// Whether `line` is one complete JSON object (brackets balanced outside strings).
fn balanced_object(line: &[u8]) -> bool {
    let trimmed = line.trim_ascii();
    trimmed.starts_with(b"{") && bracketed(trimmed) == Some(trimmed.len())
}

/// The length of the bracketed text `s` starts with, brackets inside JSON strings not
/// counted; `None` when it does not close.
pub(super) fn bracketed(s: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let (mut in_str, mut esc) = (false, false);
    for (i, &b) in s.iter().enumerate() {
        if in_str {
            match b {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}
