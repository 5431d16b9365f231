//! Any bytes through detection, parsing and the CloudFormation/SAM model: intrinsic
//! resolution must terminate and never panic, whatever the template says.
#![no_main]

use atrest::read::{Limits, NameHint, ReadOutcome, detect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let ReadOutcome::Input(input) =
        detect::classify(data, NameHint::Candidate, &Limits::default())
    {
        let model = atrest::scan::model_of(&"fuzz.yaml".into(), &input);
        let _ = serde_json::to_string(&model);
    }
});
