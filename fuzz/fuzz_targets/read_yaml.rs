//! Any bytes: the YAML reader returns a tree or a positioned error, never panics or hangs.
#![no_main]

use atrest::read::{Limits, text, yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = text::decode(data)
        && let Ok(doc) = yaml::parse(&t, &Limits::default())
    {
        let _ = doc.root.to_json();
    }
});
