//! The GitHub Action (`action.yml`): its scan step's script is run here as the runner would
//! run it, with the inputs in the environment, against a project with findings.

use crate::common;

use atrest::read::{Limits, yaml};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn action() -> Value {
    let text = std::fs::read_to_string(common::manifest_dir().join("action.yml")).unwrap();
    let doc = yaml::parse(&text, &Limits::default()).unwrap();
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    doc.root.to_json()
}

/// `${{ inputs.NAME }}` with the given inputs, else the action's defaults.
fn expand(value: &str, action: &Value, inputs: &BTreeMap<&str, &str>) -> String {
    let mut out = value.to_owned();
    while let Some(start) = out.find("${{") {
        let end = start + out[start..].find("}}").expect("closed expression") + 2;
        let expr = out[start + 3..end - 2].trim();
        let name = expr.strip_prefix("inputs.").expect("only inputs are used");
        let v = inputs.get(name).map(|v| v.to_string()).unwrap_or_else(|| {
            action["inputs"][name]["default"]
                .as_str()
                .unwrap()
                .to_owned()
        });
        out.replace_range(start..end, &v);
    }
    out
}

/// Runs the Scan step in `dir`: (exit code, the step's outputs).
fn run_scan_step(dir: &Path, inputs: &[(&str, &str)]) -> (Option<i32>, String) {
    let action = action();
    let inputs: BTreeMap<&str, &str> = inputs.iter().copied().collect();
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "scan")
        .expect("a step with id scan");
    assert_eq!(step["shell"], "bash");
    let output = dir.join("github-output");
    std::fs::write(&output, "").unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_atrest")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut cmd = Command::new("bash");
    cmd.current_dir(dir)
        .args(["-c", step["run"].as_str().unwrap()])
        .env("GITHUB_OUTPUT", &output)
        .env("PATH", path)
        .env("NO_COLOR", "1");
    for (k, v) in step["env"].as_object().unwrap() {
        cmd.env(k, expand(v.as_str().unwrap(), &action, &inputs));
    }
    let out = cmd.output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code(), std::fs::read_to_string(&output).unwrap())
}

const FAILING: &str = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: x}\n      Environment:\n        Variables: {A: b}\n";

#[test]
fn the_action_declares_its_inputs_and_builds_from_its_own_source() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["paths", "fail-on", "config", "sarif-file", "category"] {
        assert!(action["inputs"][input].is_object(), "input {input}");
    }
    let install = &action["runs"]["steps"][0];
    assert!(
        install["run"]
            .as_str()
            .unwrap()
            .contains("cargo install --locked --path \"$ATREST_SOURCE\"")
    );
    assert_eq!(install["env"]["ATREST_SOURCE"], "${{ github.action_path }}");
}

#[test]
fn the_scan_step_writes_sarif_for_upload_and_fails_on_request() {
    let dir = common::project(&[("infra/app.yaml", FAILING), ("other/x.yaml", FAILING)]);
    let (code, outputs) = run_scan_step(dir.path(), &[("paths", "infra\n")]);
    assert_eq!(code, Some(0), "fail-on defaults to none");
    assert!(outputs.contains("sarif-file=atrest.sarif\n"), "{outputs}");
    assert!(outputs.contains("exit-code=0\n"), "{outputs}");
    let sarif = std::fs::read_to_string(dir.path().join("atrest.sarif")).unwrap();
    common::assert_valid_sarif(&sarif);
    let doc: Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(doc["runs"][0]["automationDetails"]["id"], "atrest/");
    let files: Vec<&str> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        !files.is_empty() && files.iter().all(|f| *f == "infra/app.yaml"),
        "{files:?}"
    );

    let (code, outputs) = run_scan_step(
        dir.path(),
        &[
            ("paths", "infra other"),
            ("fail-on", "medium"),
            ("sarif-file", "out/report.sarif"),
            ("category", "atrest/prod"),
            ("args", "--skip-rule ATR-L003"),
        ],
    );
    assert_eq!(code, Some(1), "{outputs}");
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/report.sarif")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["runs"][0]["automationDetails"]["id"], "atrest/prod/");
    let suppressed = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "ATR-L003")
        .all(|r| r["suppressions"][0]["kind"] == "external");
    assert!(suppressed);
}
