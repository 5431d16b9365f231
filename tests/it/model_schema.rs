//! The model policies read matches `schemas/model.schema.json`, for every fixture and, where
//! present, the whole shared corpus.

use crate::common;

use atrest::scan::{ScanOptions, load};
use std::path::PathBuf;

fn validator() -> &'static jsonschema::Validator {
    common::model_validator()
}

/// Validates the model of every unit under the paths; the number of units.
fn check(paths: &[PathBuf]) -> usize {
    let v = validator();
    let loaded = load(&ScanOptions::of(paths.to_vec()));
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

/// Deployed-state inputs are modelled together, with the template/deployed pairs: those unit
/// models match the schema too.
#[test]
fn unit_models_match_the_schema() {
    let loaded = atrest::scan::load(&atrest::scan::ScanOptions::of(vec![
        common::manifest_dir().join("fixtures"),
    ]));
    let mut deployments = 0;
    for unit in &loaded.units {
        common::assert_model_valid(unit);
        deployments += unit.inventory.deployments.len();
    }
    assert!(
        deployments > 0,
        "the fixtures pair templates with deployed functions"
    );
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
