//! GitHub code scanning's upload limits. An upload over them is rejected whole, so a SARIF file
//! that would exceed them is cut to fit, keeping the results that matter most, and says so in a
//! notification.

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use std::io::Write;

/// What code scanning accepts in one upload.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Results per run.
    pub max_results: usize,
    /// The gzip-compressed file, in bytes.
    pub max_gzip_bytes: usize,
}

/// The documented limits: 25,000 results per run, 10 MB gzipped.
pub const GITHUB: Limits = Limits {
    max_results: 25_000,
    // "10 MB": read as decimal megabytes, the smaller of the two readings.
    max_gzip_bytes: 10_000_000,
};

fn to_text(doc: &Value) -> String {
    let mut s = crate::escape::to_json(doc, true);
    s.push('\n');
    s
}

/// The gzipped size, at a fast setting: larger than `upload-sarif`'s, so on the safe side.
fn gzip_len(text: &str) -> usize {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(text.as_bytes())
        .expect("writing to memory cannot fail");
    enc.finish().map(|v| v.len()).unwrap_or(usize::MAX)
}

/// Open results first, failures before notes, most severe first.
fn rank(result: &Value) -> (bool, u8) {
    let suppressed = result.get("suppressions").is_some();
    let level = match result["level"].as_str() {
        Some("error") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    (suppressed, level)
}

/// One SARIF result, serialized as it stands in the document, and how it ranks for a cut.
/// Made as each result is built, so a report never holds all its results as JSON values.
pub struct Serialized {
    rank: (bool, u8),
    text: String,
}

impl Serialized {
    pub fn new(result: &Value) -> Serialized {
        Serialized {
            rank: rank(result),
            text: indented(result),
        }
    }
}

/// Serializes `doc` (one SARIF run, its `results` left empty) with `results`, within
/// GitHub's limits.
pub fn fit(doc: Value, results: Vec<Serialized>) -> String {
    fit_parts(doc, results, GITHUB)
}

/// Serializes `doc`, a SARIF document that holds its results, within `limits`.
pub fn fit_within(mut doc: Value, limits: Limits) -> String {
    let results: Vec<Serialized> = match doc["runs"][0]["results"].take() {
        Value::Array(results) => results.iter().map(Serialized::new).collect(),
        _ => Vec::new(),
    };
    fit_parts(doc, results, limits)
}

/// Serializes `doc` with `results` within `limits`, dropping the least important results when
/// it must.
///
/// Linear in the size of the report: each result was serialized once, and the report is
/// assembled from those texts around the rest of the document. When it must be cut, the number
/// of results to keep is estimated from their sizes and the gzip ratio of the last attempt,
/// and every attempt is measured: a report over the limit keeps strictly fewer results next
/// time, at most 97% of the bytes that would fit at that ratio, so one or two attempts are the
/// rule.
pub fn fit_parts(mut doc: Value, results: Vec<Serialized>, limits: Limits) -> String {
    let total = results.len();
    let marker = Marker::new(&mut doc);
    let (ranks, texts): (Vec<(bool, u8)>, Vec<String>) =
        results.into_iter().map(|r| (r.rank, r.text)).unzip();
    if total <= limits.max_results {
        let all: Vec<usize> = (0..total).collect();
        let text = assemble(&mut doc, &marker, &texts, &all, None);
        if gzip_len(&text) <= limits.max_gzip_bytes {
            return text;
        }
    }
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| ranks[i]);
    // Bytes of the `n` most important results: the size an attempt to keep `n` is judged by.
    let mut prefix = Vec::with_capacity(total + 1);
    prefix.push(0usize);
    for &i in &order {
        prefix.push(prefix.last().copied().unwrap_or(0) + texts[i].len() + 2);
    }
    let mut n = total.min(limits.max_results);
    loop {
        let cut = Some((total, limits));
        let text = assemble(&mut doc, &marker, &texts, &order[..n], cut);
        let packed = gzip_len(&text);
        if packed <= limits.max_gzip_bytes || n == 0 {
            return text;
        }
        let target =
            (prefix[n] as f64 * limits.max_gzip_bytes as f64 / packed as f64 * 0.97) as usize;
        n = prefix
            .partition_point(|&b| b <= target)
            .saturating_sub(1)
            .min(n - 1);
    }
}

/// Says in a notification that the report holds `n` of `total` results.
fn note_kept(doc: &mut Value, n: usize, total: usize, limits: Limits) {
    let notes = &mut doc["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    if let Some(list) = notes.as_array_mut() {
        list.retain(|n| n["descriptor"]["id"] != "atrest/truncated");
        list.push(json!({
            "level": "warning",
            "descriptor": {"id": "atrest/truncated"},
            "message": {"text": format!(
                "This report holds {n} of {total} results: GitHub code scanning accepts at most \
                 {} results per run and {} bytes gzipped. Open findings of the highest severity \
                 were kept; run `atrest scan --format json` to see all of them.",
                limits.max_results, limits.max_gzip_bytes
            )},
        }));
    }
}

/// How deep the results array of the first run stands: `{"runs": [{"results": [`.
const RESULTS_DEPTH: usize = 3;

/// One result, pretty-printed as it stands inside the results array. Pretty JSON never holds
/// a raw newline inside a string, so indenting every line is exact.
fn indented(result: &Value) -> String {
    let pad = "  ".repeat(RESULTS_DEPTH + 1);
    let text = crate::escape::to_json(result, true);
    // Exact: every result of a report is held until the report is assembled, and a guess
    // short of the padding doubles the allocation.
    let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
    let mut out = String::with_capacity(text.len() + pad.len() * lines);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&pad);
        out.push_str(line);
    }
    out
}

/// A string that stands for the results array in the serialized document, chosen so that it
/// appears nowhere else in it (inputs and policies write much of the rest).
struct Marker(String);

impl Marker {
    fn new(doc: &mut Value) -> Marker {
        doc["runs"][0]["results"] = json!([]);
        let without = to_text(doc);
        let token = (0u64..)
            .map(|k| format!("atrest-results-{k}"))
            .find(|t| !without.contains(t.as_str()))
            .expect("some token is unused");
        doc["runs"][0]["results"] = Value::String(token.clone());
        Marker(format!("\"{token}\""))
    }
}

/// The document with the results at `keep` (kept in their original order), and when it is
/// `cut` from a total, a notification saying how many of them were kept.
fn assemble(
    doc: &mut Value,
    marker: &Marker,
    texts: &[String],
    keep: &[usize],
    cut: Option<(usize, Limits)>,
) -> String {
    let mut keep = keep.to_vec();
    keep.sort_unstable();
    if let Some((total, limits)) = cut {
        note_kept(doc, keep.len(), total, limits);
    }
    let skeleton = to_text(doc);
    let at = skeleton
        .find(&marker.0)
        .expect("the marker is in the document");
    let bytes: usize = keep.iter().map(|&i| texts[i].len() + 2).sum();
    let mut out = String::with_capacity(skeleton.len() + bytes + 16);
    out.push_str(&skeleton[..at]);
    if keep.is_empty() {
        out.push_str("[]");
    } else {
        out.push_str("[\n");
        for (k, &i) in keep.iter().enumerate() {
            if k > 0 {
                out.push_str(",\n");
            }
            out.push_str(&texts[i]);
        }
        out.push('\n');
        out.push_str(&"  ".repeat(RESULTS_DEPTH));
        out.push(']');
    }
    out.push_str(&skeleton[at + marker.0.len()..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(levels: &[&str]) -> Value {
        let results: Vec<Value> = levels
            .iter()
            .enumerate()
            .map(|(i, l)| json!({"ruleId": "R", "level": l, "message": {"text": format!("r{i} {}", "x".repeat(200))}}))
            .collect();
        json!({"runs": [{"results": results, "invocations": [{"toolExecutionNotifications": []}]}]})
    }

    #[test]
    fn small_reports_are_untouched() {
        let d = doc(&["note", "error"]);
        assert_eq!(fit_within(d.clone(), GITHUB), to_text(&d));
    }

    #[test]
    fn a_cut_report_is_assembled_exactly_as_serialized() {
        let mut d = doc(&["note", "error", "warning"]);
        // Text elsewhere in the document that the marker must not be taken for.
        d["runs"][0]["tool"] =
            json!({"driver": {"rules": [{"id": "atrest-results-0 \"atrest-results-1\""}]}});
        let texts: Vec<String> = d["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(indented)
            .collect();
        let mut skeleton = d.clone();
        let marker = Marker::new(&mut skeleton);
        assert_eq!(marker.0, "\"atrest-results-2\"");
        let text = assemble(
            &mut skeleton,
            &marker,
            &texts,
            &[2, 0, 1],
            Some((3, GITHUB)),
        );
        let mut expected = d.clone();
        note_kept(&mut expected, 3, 3, GITHUB);
        assert_eq!(text, to_text(&expected));
        let empty = assemble(&mut skeleton, &marker, &texts, &[], Some((3, GITHUB)));
        expected["runs"][0]["results"] = json!([]);
        note_kept(&mut expected, 0, 3, GITHUB);
        assert_eq!(empty, to_text(&expected));
    }

    #[test]
    fn too_many_results_keep_the_most_severe_in_order() {
        let limits = Limits {
            max_results: 2,
            max_gzip_bytes: usize::MAX,
        };
        let out: Value = serde_json::from_str(&fit_within(
            doc(&["note", "error", "warning", "error"]),
            limits,
        ))
        .unwrap();
        let kept: Vec<&str> = out["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["message"]["text"]
                    .as_str()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(kept, ["r1", "r3"]);
        let notes = out["runs"][0]["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .unwrap();
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0]["message"]["text"]
                .as_str()
                .unwrap()
                .contains("2 of 4")
        );
    }

    #[test]
    fn too_many_bytes_are_cut_to_fit() {
        let d = doc(&["error"; 400]);
        let full = gzip_len(&to_text(&d));
        let limits = Limits {
            max_results: 25_000,
            max_gzip_bytes: full / 2,
        };
        let text = fit_within(d, limits);
        assert!(gzip_len(&text) <= full / 2);
        let out: Value = serde_json::from_str(&text).unwrap();
        let n = out["runs"][0]["results"].as_array().unwrap().len();
        assert!(n > 0 && n < 400, "{n}");
    }

    #[test]
    fn a_byte_cut_keeps_nearly_as_many_results_as_fit() {
        // Messages that compress like real ones: not all alike.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut d = doc(&["warning"; 2000]);
        for r in d["runs"][0]["results"].as_array_mut().unwrap() {
            let words: Vec<String> = (0..30)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    format!("{:x}", state % 100_000)
                })
                .collect();
            r["message"]["text"] = json!(words.join(" "));
        }
        let limit = gzip_len(&to_text(&d)) / 3;
        let kept = |text: &str| {
            let v: Value = serde_json::from_str(text).unwrap();
            v["runs"][0]["results"].as_array().unwrap().len()
        };
        let text = fit_within(
            d.clone(),
            Limits {
                max_results: 25_000,
                max_gzip_bytes: limit,
            },
        );
        assert!(gzip_len(&text) <= limit);
        // The most that fit, by bisection over the count limit.
        let (mut lo, mut hi) = (0usize, 2000);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let by_count = Limits {
                max_results: mid,
                max_gzip_bytes: usize::MAX,
            };
            if gzip_len(&fit_within(d.clone(), by_count)) <= limit {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let n = kept(&text);
        assert!(n <= lo && n * 100 >= lo * 95, "kept {n}, {lo} fit");
    }
}
