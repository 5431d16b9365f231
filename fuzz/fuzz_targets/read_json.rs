//! Any bytes: the JSON reader returns a tree or a positioned error, never panics.
#![no_main]

use atrest::read::{Limits, json, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = text::decode(data)
        && let Ok(doc) = json::parse(&t, &Limits::default())
    {
        let _ = doc.root.to_json();
    }
});
