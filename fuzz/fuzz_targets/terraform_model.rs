//! Any bytes as a Terraform file (native or JSON syntax, by the first byte) through the reader
//! and the model: evaluation of expressions, modules and policies must terminate and never
//! panic, whatever the configuration says.
#![no_main]

use atrest::read::{Limits, NameHint, ReadOutcome, detect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let (hint, name) = if first % 2 == 0 {
        (NameHint::TerraformHcl, "main.tf")
    } else {
        (NameHint::TerraformJson, "main.tf.json")
    };
    if let ReadOutcome::Input(input) = detect::classify(rest, hint, &Limits::default()) {
        let model = atrest::scan::model_of(&name.into(), &input);
        let _ = serde_json::to_string(&model);
    }
});
