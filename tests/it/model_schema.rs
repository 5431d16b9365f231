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

/// Every dotted path of object keys in `value`, from `prefix`.
fn key_paths(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if let Some(map) = value.as_object() {
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push(path.clone());
            key_paths(v, &path, out);
        }
    }
}

/// Findings quote a key's resolution chain from the model itself ([`atrest::model::Object::chain`]),
/// not from its JSON: for every object of every fixture's model and every property path in it,
/// both give the same chain.
#[test]
fn key_chains_read_from_the_model_are_those_of_its_json() {
    let loaded = load(&ScanOptions::of(fixtures_and_corpus()));
    let mut chains = 0;
    for unit in &loaded.units {
        for (id, object) in unit.inventory.objects() {
            let json = match object {
                atrest::model::Object::Function(x) => serde_json::to_value(x),
                atrest::model::Object::Mapping(x) => serde_json::to_value(x),
                atrest::model::Object::Key(x) => serde_json::to_value(x),
                atrest::model::Object::Alias(x) => serde_json::to_value(x),
                atrest::model::Object::LogGroup(x) => serde_json::to_value(x),
                atrest::model::Object::Xray(x) => serde_json::to_value(x),
                atrest::model::Object::Deployment(x) => serde_json::to_value(x),
            }
            .unwrap();
            assert_eq!(json["id"], id);
            let mut properties = vec![String::new()];
            key_paths(&json, "", &mut properties);
            for property in properties {
                let mut value = Some(&json);
                for step in property.split('.') {
                    value = value.and_then(|v| v.get(step));
                }
                let want: Vec<String> = value
                    .and_then(|v| v.get("chain"))
                    .and_then(serde_json::Value::as_array)
                    .map(|s| {
                        s.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                chains += usize::from(!want.is_empty());
                assert_eq!(
                    object.chain(&property),
                    want,
                    "{id} {property} in {:?}",
                    unit.files
                );
            }
        }
    }
    assert!(chains > 100, "only {chains} chains");
}

fn fixtures_and_corpus() -> Vec<PathBuf> {
    let mut paths = vec![common::manifest_dir().join("fixtures")];
    for sub in ["cfn", "sam", "terraform", "lambda-api"] {
        paths.extend(common::shared_corpus(sub));
    }
    paths
}

/// The Rego input is made from the model's JSON text ([`atrest::engine::to_rego`]): it is the
/// value the model's JSON tree gives, for every fixture, and for a key policy nested deeper
/// than serde_json's parser goes (128 levels).
#[test]
fn rego_input_from_text_is_that_of_the_json_tree() {
    let tree = |inv: &atrest::model::Inventory| {
        use serde::Deserialize;
        regorus::Value::deserialize(serde_json::to_value(inv).unwrap()).unwrap()
    };
    let loaded = load(&ScanOptions::of(fixtures_and_corpus()));
    assert!(loaded.units.len() > 10);
    for unit in &loaded.units {
        let input = atrest::engine::to_rego(&unit.inventory).unwrap();
        assert!(input == tree(&unit.inventory), "{:?}", unit.files);
    }
    let deep = format!(
        "{}{{\"Version\": \"2012-10-17\"}}{}",
        "{\"a\": ".repeat(150),
        "}".repeat(150)
    );
    let dir = common::project(&[(
        "t.json",
        &format!(
            r#"{{"Resources": {{"K": {{"Type": "AWS::KMS::Key", "Properties": {{"KeyPolicy": {deep}}}}},
                "Fn": {{"Type": "AWS::Lambda::Function", "Properties": {{"KmsKeyArn": {{"Fn::GetAtt": ["K", "Arn"]}}}}}}}}}}"#
        ),
    )]);
    let loaded = load(&ScanOptions::of(vec![dir.path().join("t.json")]));
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let inv = &loaded.units[0].inventory;
    assert!(
        serde_json::to_value(inv)
            .unwrap()
            .to_string()
            .contains(&"{\"a\":".repeat(140))
    );
    assert!(atrest::engine::to_rego(inv).unwrap() == tree(inv));
}
