//! The GitHub Action (`action.yml`): its steps' scripts are run here as the runner would run
//! them, with the inputs and a fake `GITHUB_*` environment (outputs, path and step summary files),
//! against a project with findings; the install step against a release laid out in a local
//! directory (file:// addresses) and a stand-in `cargo`.

use crate::common;

use atrest::read::{Limits, yaml};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn action() -> Value {
    let text = std::fs::read_to_string(common::manifest_dir().join("action.yml")).unwrap();
    let doc = yaml::parse(&text, &Limits::default()).unwrap();
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    doc.root.to_json()
}

/// `${{ inputs.NAME }}` and `${{ github.action_ref }}` with the given values, else the action's
/// defaults.
fn expand(value: &str, action: &Value, inputs: &BTreeMap<&str, &str>) -> String {
    let mut out = value.to_owned();
    while let Some(start) = out.find("${{") {
        let end = start + out[start..].find("}}").expect("closed expression") + 2;
        let expr = out[start + 3..end - 2].trim();
        let v = match expr.strip_prefix("inputs.") {
            Some(name) => inputs.get(name).map(|v| v.to_string()).unwrap_or_else(|| {
                action["inputs"][name]["default"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }),
            None => inputs.get(expr).unwrap_or(&"").to_string(),
        };
        out.replace_range(start..end, &v);
    }
    out
}

fn python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// What a step left: exit code, stdout, the outputs file, the step summary.
struct Step {
    code: Option<i32>,
    log: String,
    outputs: String,
    summary: String,
}

/// Runs the step with `id` in `dir`, with `inputs` (input names, or `github.action_ref`) and
/// `env` over the runner's variables.
fn run_step(dir: &Path, id: &str, inputs: &[(&str, &str)], env: &[(&str, &Path)]) -> Step {
    let action = action();
    let inputs: BTreeMap<&str, &str> = inputs.iter().copied().collect();
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("a step with id {id}"));
    assert_eq!(step["shell"], "bash");
    let files = tempfile::tempdir().unwrap();
    let (output, summary, path) = (
        files.path().join("output"),
        files.path().join("summary"),
        files.path().join("path"),
    );
    for f in [&output, &summary, &path] {
        std::fs::write(f, "").unwrap();
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_atrest")).parent().unwrap();
    let mut cmd = Command::new("bash");
    cmd.current_dir(dir)
        .args(["-c", step["run"].as_str().unwrap()])
        .env("GITHUB_ACTION_PATH", common::manifest_dir())
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_PATH", &path)
        .env("RUNNER_TEMP", files.path())
        .env("RUNNER_TOOL_CACHE", files.path().join("tool-cache"))
        .env("RUNNER_ARCH", "X64")
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS");
    for (k, v) in step["env"].as_object().into_iter().flatten() {
        cmd.env(k, expand(v.as_str().unwrap(), &action, &inputs));
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    let read = |f: &PathBuf| std::fs::read_to_string(f).unwrap();
    Step {
        code: out.status.code(),
        log: String::from_utf8_lossy(&out.stdout).into_owned(),
        outputs: read(&output),
        summary: read(&summary),
    }
}

/// The Scan step, or `None` (with a visible skip) without Python.
fn scan(dir: &Path, inputs: &[(&str, &str)]) -> Option<Step> {
    if python().is_none() {
        common::skip(
            "action: the scan step",
            "Python 3 is not installed (every GitHub-hosted runner has it)",
            "ATREST_REQUIRE_ACTION_TOOLS",
        );
        return None;
    }
    Some(run_step(dir, "scan", inputs, &[]))
}

fn sarif(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    common::assert_valid_sarif(&text);
    serde_json::from_str(&text).unwrap()
}

fn result_files(doc: &Value) -> Vec<&str> {
    doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect()
}

const FAILING: &str = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: x}\n      Environment:\n        Variables: {A: b}\n";

#[test]
fn the_action_declares_its_inputs_and_pins_what_it_uses() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    for input in [
        "paths",
        "fail-on",
        "config",
        "sarif-file",
        "category",
        "args",
        "upload-sarif",
        "version",
    ] {
        assert!(action["inputs"][input].is_object(), "input {input}");
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert_eq!(uses.len(), 2, "{uses:?}");
    for u in uses {
        let (_, rev) = u.split_once('@').unwrap();
        assert!(
            rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()),
            "{u} is not pinned by commit"
        );
    }
    // Every script a step names is in the repository.
    for s in steps.iter().filter_map(|s| s["run"].as_str()) {
        for word in s.split(['"', ' ', '\n']) {
            if let Some(rel) = word.strip_prefix("$GITHUB_ACTION_PATH/") {
                assert!(common::manifest_dir().join(rel).is_file(), "{rel}");
            }
        }
    }
}

#[test]
fn the_scan_step_writes_sarif_the_log_and_a_summary_and_fails_on_request() {
    let dir = common::project(&[
        ("infra/app.yaml", FAILING),
        ("other/x.yaml", FAILING),
        ("my stacks/app one.yaml", FAILING),
    ]);
    let Some(step) = scan(dir.path(), &[("paths", "infra\n")]) else {
        return;
    };
    assert_eq!(step.code, Some(0), "fail-on defaults to none");
    assert!(
        step.outputs.contains("sarif-file=atrest.sarif\n"),
        "{}",
        step.outputs
    );
    assert!(step.outputs.contains("exit-code=0\n"), "{}", step.outputs);
    let doc = sarif(&dir.path().join("atrest.sarif"));
    assert_eq!(doc["runs"][0]["automationDetails"]["id"], "atrest/");
    let files = result_files(&doc);
    assert!(
        !files.is_empty() && files.iter().all(|f| *f == "infra/app.yaml"),
        "{files:?}"
    );
    // The text report is in the log, and the summary lists the findings.
    assert!(
        step.log.contains("infra/app.yaml:6:7 ATR-L001"),
        "{}",
        step.log
    );
    assert!(step.summary.starts_with("## atrest\n"), "{}", step.summary);
    assert!(
        step.summary
            .contains("**2 open findings** (1 medium, 1 low), 1 that cannot"),
        "{}",
        step.summary
    );
    assert!(
        step.summary.contains("| low (unknown) | ATR-L004 |"),
        "{}",
        step.summary
    );
    assert!(
        step.summary
            .contains("| medium | ATR-L001 | infra/app.yaml:6 | Fn |"),
        "{}",
        step.summary
    );

    // One path per line, spaces kept; args split as a shell would, quotes kept together.
    let step = scan(
        dir.path(),
        &[
            ("paths", "infra\nmy stacks/app one.yaml\n"),
            ("fail-on", "medium"),
            ("sarif-file", "out/report.sarif"),
            ("category", "atrest/prod"),
            (
                "args",
                "--skip-rule \"ATR-L003=legacy stack, kept until 2027\"\n--show-suppressed",
            ),
        ],
    )
    .unwrap();
    assert_eq!(step.code, Some(1), "{}", step.log);
    assert!(step.outputs.contains("exit-code=1\n"), "{}", step.outputs);
    let doc = sarif(&dir.path().join("out/report.sarif"));
    assert_eq!(doc["runs"][0]["automationDetails"]["id"], "atrest/prod/");
    let files = result_files(&doc);
    // SARIF URIs are percent-encoded.
    assert!(files.contains(&"my%20stacks/app%20one.yaml"), "{files:?}");
    assert!(!files.contains(&"other/x.yaml"), "{files:?}");
    let skipped: Vec<&Value> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "ATR-L003")
        .collect();
    assert!(!skipped.is_empty());
    for r in skipped {
        assert_eq!(r["suppressions"][0]["kind"], "external");
        assert_eq!(
            r["suppressions"][0]["justification"], "legacy stack, kept until 2027",
            "{r}"
        );
    }
    assert!(
        step.summary.contains("findings at or above medium"),
        "{}",
        step.summary
    );
    assert!(
        step.summary.contains("my stacks/app one.yaml:6"),
        "{}",
        step.summary
    );
}

#[test]
fn arguments_the_action_cannot_use_fail_the_step_with_one_error_line() {
    let dir = common::project(&[("app.yaml", FAILING)]);
    for (args, says) in [
        ("--skip-rule \"ATR-L003=unclosed", "No closing quotation"),
        ("--format json", "`args` sets --format"),
        ("--output=x.json", "`args` sets --output=x.json"),
    ] {
        let Some(step) = scan(dir.path(), &[("args", args)]) else {
            return;
        };
        assert_eq!(step.code, Some(2), "{args}");
        assert!(step.outputs.contains("exit-code=2\n"), "{}", step.outputs);
        assert_eq!(step.log.lines().count(), 1, "{}", step.log);
        assert!(
            step.log.starts_with("::error title=atrest::"),
            "{}",
            step.log
        );
        assert!(step.log.contains(says), "{}", step.log);
    }
    // An option atrest refuses: its own message, exit 2, no SARIF to upload.
    let step = scan(dir.path(), &[("args", "--no-such-option")]).unwrap();
    assert_eq!(step.code, Some(2));
    assert!(!step.outputs.contains("sarif-file="), "{}", step.outputs);
    assert!(step.summary.is_empty());
}

#[test]
fn with_upload_sarif_the_scan_step_passes_and_leaves_its_status_for_the_last_step() {
    let dir = common::project(&[("app.yaml", FAILING)]);
    let Some(step) = scan(dir.path(), &[("upload-sarif", "true"), ("fail-on", "low")]) else {
        return;
    };
    assert_eq!(step.code, Some(0));
    assert!(step.outputs.contains("status=1\n"), "{}", step.outputs);
    let action = action();
    let last = action["runs"]["steps"].as_array().unwrap().last().unwrap();
    assert_eq!(
        last["if"],
        "inputs.upload-sarif == 'true' && steps.scan.outputs.status != '0'"
    );
}

#[test]
fn the_release_is_the_actions_own_version() {
    let version = env!("CARGO_PKG_VERSION");
    let sha = "8aad20d150bbac5944a9f9d289da16a4b0d87c1e";
    let dir = tempfile::tempdir().unwrap();
    for (inputs, tag) in [
        (vec![("github.action_ref", "v1.2.3")], "v1.2.3".to_owned()),
        (vec![("github.action_ref", sha)], format!("v{version}")),
        (vec![("github.action_ref", "main")], String::new()),
        (
            vec![("github.action_ref", "main"), ("version", "0.9.0")],
            "v0.9.0".to_owned(),
        ),
    ] {
        let step = run_step(dir.path(), "release", &inputs, &[]);
        assert_eq!(step.code, Some(0), "{inputs:?}");
        assert!(
            step.outputs.contains(&format!("tag={tag}\n")),
            "{inputs:?}: {}",
            step.outputs
        );
        let dir_line = step
            .outputs
            .lines()
            .find(|l| l.starts_with("dir="))
            .unwrap();
        if tag.is_empty() {
            assert_eq!(dir_line, "dir=");
        } else {
            assert!(
                dir_line.ends_with(&format!("/atrest/{tag}/X64")),
                "{dir_line}"
            );
        }
    }
}

/// A release of `tag` laid out as the release workflow uploads it, for this machine, holding the
/// atrest under test; `corrupt` writes a wrong checksum.
#[cfg(all(unix, target_os = "linux"))]
fn fake_release(root: &Path, tag: &str, corrupt: bool) {
    let arch = std::env::consts::ARCH;
    let asset = format!("atrest-{arch}-unknown-linux-musl.tar.gz");
    let dir = root.join("download").join(tag);
    let stage = root.join("stage");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_atrest"), stage.join("atrest")).unwrap();
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(dir.join(&asset))
        .arg("-C")
        .arg(&stage)
        .arg("atrest")
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new("sha256sum")
        .arg(&asset)
        .current_dir(&dir)
        .output()
        .unwrap();
    let mut sum = String::from_utf8(out.stdout).unwrap();
    if corrupt {
        sum.replace_range(0..8, "00000000");
    }
    std::fs::write(dir.join(format!("{asset}.sha256")), sum).unwrap();
}

#[cfg(all(unix, target_os = "linux"))]
#[test]
fn the_install_step_checks_the_release_binary_and_falls_back_to_cargo() {
    use std::os::unix::fs::PermissionsExt;
    for tool in ["curl", "sha256sum", "tar"] {
        if Command::new(tool).arg("--version").output().is_err() {
            common::skip(
                "action::the_install_step_checks_the_release_binary_and_falls_back_to_cargo",
                &format!("{tool} is not installed"),
                "ATREST_REQUIRE_ACTION_TOOLS",
            );
            return;
        }
    }
    let root = tempfile::tempdir().unwrap();
    let releases = root.path().join("releases");
    fake_release(&releases, "v1.0.0", false);
    fake_release(&releases.join("bad"), "v1.0.0", true);
    // A `cargo` that says what it was asked, and installs nothing but a script saying so.
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho \"cargo $*\"\nroot=$(echo \"$*\" | sed 's/.*--root //')\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho built from source\\n' >\"$root/bin/atrest\"\nchmod +x \"$root/bin/atrest\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());

    let install = |base: &Path, tag: &str, dir: &Path| {
        let mut cmd = Command::new("bash");
        cmd.arg(common::manifest_dir().join("scripts/action-install.sh"))
            .arg("install")
            .env("GITHUB_ACTION_PATH", common::manifest_dir())
            .env("ATREST_DOWNLOAD_URL", format!("file://{}", base.display()))
            .env("ATREST_TAG", tag)
            .env("ATREST_DIR", dir)
            .env("GITHUB_PATH", root.path().join("github-path"))
            .env("RUNNER_TEMP", root.path())
            .env("PATH", &path);
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{text}");
        (out.status.code(), text)
    };

    // The release: downloaded, checked, on the path; then from the cache without a download.
    let dir = root.path().join("cache/v1.0.0");
    let (code, text) = install(&releases, "v1.0.0", &dir);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("SHA-256 checked"), "{text}");
    assert!(
        text.contains(&format!("atrest {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(dir.join("atrest").is_file());
    let (code, text) = install(&root.path().join("nowhere"), "v1.0.0", &dir);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("v1.0.0 from the cache"), "{text}");

    // A wrong checksum installs nothing and fails: no fallback hides it.
    let bad = root.path().join("bad-dir");
    let (code, text) = install(&releases.join("bad"), "v1.0.0", &bad);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("checksum mismatch"), "{text}");
    assert!(!bad.join("atrest").exists());
    assert!(!text.contains("cargo install"), "{text}");

    // No such release, or a branch: built from the action's source with --locked.
    for tag in ["v9.9.9", ""] {
        let (code, text) = install(&releases, tag, &root.path().join("none"));
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("cargo install --locked --path"), "{text}");
        assert!(text.contains("built from source"), "{text}");
    }
    let github_path = std::fs::read_to_string(root.path().join("github-path")).unwrap();
    assert!(github_path.contains("atrest-source/bin"), "{github_path}");
}
