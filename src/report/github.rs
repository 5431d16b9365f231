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

/// Serializes `doc` (one SARIF run) within GitHub's limits.
pub fn fit(doc: Value) -> String {
    fit_within(doc, GITHUB)
}

/// Serializes `doc` within `limits`, dropping the least important results when it must.
pub fn fit_within(mut doc: Value, limits: Limits) -> String {
    let text = to_text(&doc);
    let total = doc["runs"][0]["results"].as_array().map_or(0, Vec::len);
    if total <= limits.max_results && gzip_len(&text) <= limits.max_gzip_bytes {
        return text;
    }
    let results = doc["runs"][0]["results"].take();
    let results = results.as_array().cloned().unwrap_or_default();
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by_key(|&i| rank(&results[i]));
    let with = |n: usize, doc: &mut Value| {
        let mut keep: Vec<usize> = order[..n].to_vec();
        keep.sort_unstable();
        doc["runs"][0]["results"] =
            Value::Array(keep.iter().map(|&i| results[i].clone()).collect());
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
        to_text(doc)
    };
    // The largest count that fits, by bisection over the ranked results.
    let (mut lo, mut hi) = (0, total.min(limits.max_results));
    let mut best = with(0, &mut doc);
    debug_assert!(lo <= hi);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let text = with(mid, &mut doc);
        if gzip_len(&text) <= limits.max_gzip_bytes {
            lo = mid;
            best = text;
        } else {
            hi = mid - 1;
        }
    }
    best
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
        assert_eq!(fit(d.clone()), to_text(&d));
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
}
