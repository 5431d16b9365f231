//! The model policies read matches `schemas/model.schema.json`, for every fixture and, where
//! present, the whole shared corpus.

mod common;

use atrest::read::Limits;
use atrest::scan::{ScanOptions, load};
use std::path::PathBuf;

fn validator() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(common::manifest_dir().join("schemas/model.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft7::new(&schema).expect("model schema compiles")
}

/// Validates the model of every unit under the paths; the number of units.
fn check(paths: &[PathBuf]) -> usize {
    let v = validator();
    let loaded = load(&ScanOptions {
        paths: paths.to_vec(),
        limits: Limits::default(),
        tf_vars: Vec::new(),
    });
    for unit in &loaded.units {
        let model = serde_json::to_value(&unit.inventory).unwrap();
        let errors: Vec<String> = v
            .iter_errors(&model)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{:?}: {}", unit.files, errors.join("\n"));
    }
    loaded.units.len()
}

#[test]
fn fixture_models_match_the_schema() {
    assert!(check(&[common::manifest_dir().join("fixtures")]) > 10);
}

#[test]
fn schema_rejects_a_model_that_breaks_it() {
    let bad = serde_json::json!({"functions": [{"id": "f"}], "event_source_mappings": [], "kms_keys": [], "kms_aliases": [], "log_groups": []});
    assert!(!validator().is_valid(&bad));
}

#[test]
fn corpus_models_match_the_schema() {
    let (Some(cfn), Some(sam)) = (common::shared_corpus("cfn"), common::shared_corpus("sam"))
    else {
        return;
    };
    assert!(check(&[cfn, sam]) > 350);
}

#[test]
fn terraform_corpus_models_match_the_schema() {
    let Some(tf) = common::shared_corpus("terraform") else {
        return;
    };
    assert!(check(&[tf]) > 60);
}
