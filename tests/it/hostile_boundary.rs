//! The scanned tree is the boundary, and only regular files are read. A pull request writes the
//! tree: symbolic links, variable files, module sources, `.atrest.yaml`, FIFOs, ignore files.
//! Each case sits beside a good template whose finding must survive, names the file at fault,
//! exits 2, and leaks nothing: the file outside the tree holds a marker that must appear in no
//! output (stdout, stderr, the report file).

use crate::common;
use crate::hostile_inputs::{GOOD, Outcome, run};
use std::fs;
use std::path::{Path, PathBuf};

/// In every file outside the tree: in no output may it appear.
const MARKER: &str = "SECRETMARKER7f3a";

/// A template whose only function's logical ID and variable are the marker: reading it would
/// put the marker into the report.
fn secret_template() -> String {
    format!(
        "Resources:\n  {MARKER}:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {{ZipFile: x}}\n      Environment:\n        Variables: {{{MARKER}: {MARKER}}}\n"
    )
}

/// A Terraform function (ATR-L001 fails on it) whose name is the marker.
fn secret_tf() -> String {
    tf_function(MARKER)
}

fn tf_function(name: &str) -> String {
    format!(
        "resource \"aws_lambda_function\" \"{name}\" {{\n  function_name = \"{name}\"\n  role = \"r\"\n  handler = \"h\"\n  runtime = \"python3.12\"\n  filename = \"x.zip\"\n  environment {{\n    variables = {{ A = \"{name}\" }}\n  }}\n}}\n"
    )
}

/// `tmp/outside/` (secrets) beside `tmp/repo/` (the scanned tree, with `good.yaml`).
struct Tree {
    _tmp: tempfile::TempDir,
    outside: PathBuf,
    repo: PathBuf,
}

fn tree() -> Tree {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    let repo = tmp.path().join("repo");
    fs::create_dir_all(outside.join("mod")).unwrap();
    fs::create_dir_all(&repo).unwrap();
    fs::write(outside.join("secret.yaml"), secret_template()).unwrap();
    fs::write(outside.join("mod/main.tf"), secret_tf()).unwrap();
    fs::write(
        outside.join("secret.tfvars"),
        format!("key = \"{MARKER}\"\n"),
    )
    .unwrap();
    fs::write(repo.join("good.yaml"), GOOD).unwrap();
    Tree {
        _tmp: tmp,
        outside,
        repo,
    }
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) {
    fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

/// Exit 2, an error naming `file` (and saying `fragment`), the good finding kept, and the
/// marker nowhere: not on stdout, not on stderr, not in the report file.
fn assert_refused(out: &Outcome, dir: &Path, file: &str, fragment: &str) {
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, 2, "exit code\n{all}");
    let named = all
        .lines()
        .find(|l| l.starts_with(&format!("error: {file}")))
        .unwrap_or_else(|| panic!("no error naming {file}\n{all}"));
    assert!(
        named.contains(fragment),
        "{named:?} should say {fragment:?}"
    );
    assert!(
        all.contains("good.yaml:6:7 ATR-L001"),
        "the good finding is kept\n{all}"
    );
    assert_no_marker(out, dir);
}

/// `text` holds `fragment`; else the test fails showing `text`.
fn says(text: &str, fragment: &str) {
    assert!(text.contains(fragment), "{fragment:?} not in\n{text}");
}

fn assert_no_marker(out: &Outcome, dir: &Path) {
    assert!(
        !out.stdout.contains(MARKER),
        "leaked on stdout\n{}",
        out.stdout
    );
    assert!(
        !out.stderr.contains(MARKER),
        "leaked on stderr\n{}",
        out.stderr
    );
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("report.") {
            let text = fs::read_to_string(entry.path()).unwrap();
            assert!(!text.contains(MARKER), "leaked into {name}");
        }
    }
}

/// The scan in every format, each written to a report file: the checks hold for all.
fn scan_all_formats(dir: &Path, extra: &[&str]) -> Vec<Outcome> {
    let mut outs = vec![run(dir, extra)];
    for format in ["json", "sarif", "junit"] {
        let file = format!("report.{format}");
        let mut args = vec!["--format", format, "-o", &file];
        args.extend(extra);
        let mut out = run(dir, &args);
        // The report file holds what stdout holds without `-o`.
        out.stdout = fs::read_to_string(dir.join(&file)).unwrap();
        outs.push(out);
    }
    outs
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_tree_is_named_and_not_followed() {
    let t = tree();
    link(&t.outside.join("secret.yaml"), &t.repo.join("leak.yaml"));
    link(&t.outside, &t.repo.join("stacks/all"));
    // A link inside the tree is followed: it is the tree's own file under another name.
    link(Path::new("../good.yaml"), &t.repo.join("alias/same.yaml"));
    let outs = scan_all_formats(&t.repo, &[]);
    let text = &outs[0];
    assert_refused(text, &t.repo, "leak.yaml", "symbolic link");
    assert_refused(text, &t.repo, "stacks/all", "symbolic link");
    says(&text.stdout, "alias/same.yaml:6:7 ATR-L001");
    for out in &outs[1..] {
        assert_eq!(out.code, 2);
        says(&out.stderr, "error: leak.yaml: ");
        says(&out.stdout, "good.yaml");
    }
    for out in &outs {
        assert_no_marker(out, &t.repo);
    }

    // Named on the command line, or under --allow-outside, the file is read.
    let out = run(&t.repo, &["../outside/secret.yaml", "."]);
    says(&out.stdout, MARKER);
    let out = run(&t.repo, &["--allow-outside", "../outside", "."]);
    says(&out.stdout, MARKER);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
}

#[cfg(unix)]
#[test]
fn terraform_variable_files_and_modules_stay_in_the_tree() {
    let t = tree();
    let tf = t.repo.join("tf");
    fs::create_dir_all(&tf).unwrap();
    fs::write(
        tf.join("main.tf"),
        "variable \"key\" {}\nresource \"aws_lambda_function\" \"f\" {\n  function_name = \"f\"\n  kms_key_arn = var.key\n  environment {\n    variables = { A = \"b\" }\n  }\n}\nmodule \"m\" {\n  source = \"../../outside/mod\"\n}\n",
    )
    .unwrap();
    link(
        &t.outside.join("secret.tfvars"),
        &tf.join("terraform.tfvars"),
    );
    link(&t.outside.join("secret.tfvars"), &tf.join("x.auto.tfvars"));
    // A file of the module that leads out is refused; the rest of the module is read.
    link(&t.outside.join("mod/main.tf"), &tf.join("leak.tf"));
    for out in scan_all_formats(&t.repo, &[]) {
        assert_no_marker(&out, &t.repo);
    }
    let out = run(&t.repo, &[]);
    assert_refused(&out, &t.repo, "tf/terraform.tfvars", "symbolic link");
    assert_refused(&out, &t.repo, "tf/x.auto.tfvars", "symbolic link");
    assert_refused(&out, &t.repo, "tf/leak.tf", "symbolic link");
    assert_refused(&out, &t.repo, "tf/main.tf:10:", "module \"m\": source ");
    assert_refused(&out, &t.repo, "tf/main.tf:10:", "outside the scanned tree");

    // --tf-vars names its file on the command line; --allow-outside opens the module.
    fs::remove_file(tf.join("leak.tf")).unwrap();
    fs::remove_file(tf.join("terraform.tfvars")).unwrap();
    fs::remove_file(tf.join("x.auto.tfvars")).unwrap();
    let out = run(
        &t.repo,
        &[
            "--tf-vars",
            "../outside/secret.tfvars",
            "--allow-outside",
            "../outside/mod",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(MARKER),
        "the module is read: {}",
        out.stdout
    );
}

#[cfg(unix)]
#[test]
fn a_policy_directory_is_a_tree_of_its_own() {
    let t = tree();
    // Not Rego: a parse error would quote the line that holds the marker.
    fs::write(t.outside.join("secret.rego"), format!("{MARKER} = =\n")).unwrap();
    fs::create_dir_all(t.repo.join("pol")).unwrap();
    link(
        &t.outside.join("secret.rego"),
        &t.repo.join("pol/leak.rego"),
    );
    let out = run(&t.repo, &["--policy", "pol", "good.yaml"]);
    assert_refused(&out, &t.repo, "pol/leak.rego", "symbolic link");
    // The walk of a policy directory reads no ignore file (under a memory limit: reading this
    // one would not end).
    link(Path::new("/dev/zero"), &t.repo.join("pol/.gitignore"));
    let args = ["scan", "--rule", "ATR-L001", "--policy", "pol", "good.yaml"];
    let (code, text) = run_limited(&t.repo, &args);
    assert_eq!(code, 2, "{text}");
    says(&text, "good.yaml:6:7 ATR-L001");
    // Named on the command line, the file is read (and its error quoted).
    let out = run(
        &t.repo,
        &["--policy", "../outside/secret.rego", "good.yaml"],
    );
    assert_eq!(out.code, 2);
    says(&format!("{}{}", out.stdout, out.stderr), "secret.rego");
}

#[test]
fn modules_elsewhere_in_the_same_repository_are_read() {
    let t = tree();
    fs::create_dir_all(t.repo.join(".git")).unwrap();
    fs::create_dir_all(t.repo.join("modules/fn")).unwrap();
    fs::create_dir_all(t.repo.join("envs/prod")).unwrap();
    fs::write(t.repo.join("modules/fn/main.tf"), tf_function("inside")).unwrap();
    fs::write(
        t.repo.join("envs/prod/main.tf"),
        "module \"fn\" {\n  source = \"../../modules/fn\"\n}\n",
    )
    .unwrap();
    let out = run(&t.repo, &["envs/prod", "good.yaml"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    says(&out.stdout, "modules/fn/main.tf");
}

#[cfg(unix)]
#[test]
fn paths_in_the_config_resolve_inside_the_repository() {
    let t = tree();
    fs::create_dir_all(t.repo.join(".git")).unwrap();
    fs::create_dir_all(t.outside.join("policies")).unwrap();
    fs::write(
        t.outside.join("policies/p.rego"),
        format!("package x\n# {MARKER}\n"),
    )
    .unwrap();
    fs::write(
        t.repo.join(".atrest.yaml"),
        "tfvars: [../outside/secret.tfvars]\npolicy: [../outside/policies]\n",
    )
    .unwrap();
    let out = run(&t.repo, &["."]);
    assert_refused(
        &out,
        &t.repo,
        ".atrest.yaml:1:10",
        "tfvars: ../outside/secret.tfvars: outside the scanned tree",
    );
    assert_refused(
        &out,
        &t.repo,
        ".atrest.yaml:2:10",
        "policy: ../outside/policies",
    );
    says(&out.stderr, "atrest: settings from .atrest.yaml");

    // The config itself, found by the walk up, must be in the repository.
    fs::remove_file(t.repo.join(".atrest.yaml")).unwrap();
    fs::write(
        t.outside.join("cfg.yaml"),
        format!("exclude: ['**']\n# {MARKER}\n"),
    )
    .unwrap();
    link(&t.outside.join("cfg.yaml"), &t.repo.join(".atrest.yaml"));
    let out = run(&t.repo, &["--format", "json"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    says(&out.stderr, "error: .atrest.yaml: a symbolic link");
    says(&out.stdout, "\"config\": null");
    says(&out.stdout, "good.yaml");
    assert_no_marker(&out, &t.repo);
}

#[test]
fn config_discovery_stops_at_the_scan_root_outside_a_repository() {
    let t = tree();
    // A stray config above the project: without a repository, not this scan's.
    let above = t.repo.parent().unwrap().join(".atrest.yaml");
    fs::write(&above, "exclude: ['**']\n").unwrap();
    let out = run(&t.repo, &["--format", "json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    says(&out.stdout, "\"config\": null");
    says(&out.stdout, "good.yaml");
    // At the root itself it applies, and the report names it.
    fs::write(t.repo.join(".atrest.yml"), "fail-on: none\n").unwrap();
    let out = run(&t.repo, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    says(&out.stdout, "\"config\": \".atrest.yml\"");
    says(&out.stderr, "settings from .atrest.yml");
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_named_never_read() {
    let t = tree();
    mkfifo(&t.repo.join("pipe.json"));
    mkfifo(&t.repo.join("template.yaml"));
    fs::create_dir_all(t.repo.join("tf")).unwrap();
    fs::write(t.repo.join("tf/main.tf"), "locals {\n  a = 1\n}\n").unwrap();
    mkfifo(&t.repo.join("tf/terraform.tfvars"));
    // Found in the walk.
    let out = run(&t.repo, &[]);
    assert_refused(
        &out,
        &t.repo,
        "pipe.json",
        "a FIFO (named pipe), not a regular file",
    );
    assert_refused(&out, &t.repo, "template.yaml", "FIFO");
    assert_refused(&out, &t.repo, "tf/terraform.tfvars", "FIFO");
    // Named on the command line.
    let out = run(&t.repo, &["pipe.json", "/dev/zero", "good.yaml"]);
    assert_refused(&out, &t.repo, "pipe.json", "FIFO");
    assert_refused(&out, &t.repo, "/dev/zero", "a character device");
}

#[cfg(unix)]
#[test]
fn ignore_files_are_read_only_when_they_are_regular_files_of_the_tree() {
    let t = tree();
    // A pattern that is not a valid glob: an error about it would quote the line.
    fs::write(t.outside.join("ignore"), format!("{MARKER}[\n")).unwrap();
    fs::create_dir_all(t.repo.join("a")).unwrap();
    mkfifo(&t.repo.join("a/.ignore"));
    fs::write(t.repo.join("a/t.yaml"), GOOD).unwrap();
    link(&t.outside.join("ignore"), &t.repo.join("b/.gitignore"));
    fs::write(t.repo.join("b/t.yaml"), GOOD).unwrap();
    let scan = ["scan", "--rule", "ATR-L001", "--policy-timeout", "0"];
    let limited = || {
        let (code, text) = run_limited(&t.repo, &scan);
        Outcome {
            code,
            stdout: text,
            stderr: String::new(),
        }
    };
    let out = limited();
    assert_refused(&out, &t.repo, "a/.ignore", "FIFO");
    assert_refused(&out, &t.repo, "b/.gitignore", "symbolic link");
    // The directories are still walked, without their ignore files.
    says(&out.stdout, "a/t.yaml:6:7 ATR-L001");
    says(&out.stdout, "b/t.yaml:6:7 ATR-L001");
    // At the top: the whole walk goes without ignore files.
    link(Path::new("/dev/zero"), &t.repo.join(".gitignore"));
    let out = limited();
    assert_refused(&out, &t.repo, ".gitignore", "symbolic link");
    says(&out.stdout, "a/t.yaml:6:7 ATR-L001");
}

/// Runs atrest with `args` under a virtual memory limit: a read that allocates for what
/// `/dev/zero` or a sparse file claims to hold dies here instead of passing.
#[cfg(unix)]
fn run_limited(dir: &Path, args: &[&str]) -> (i32, String) {
    let exe = assert_cmd::cargo::cargo_bin("atrest");
    let mut script = format!("ulimit -v 4000000; exec '{}'", exe.display());
    for a in args {
        script.push_str(&format!(" '{a}'"));
    }
    let out = std::process::Command::new("sh")
        .current_dir(dir)
        .args(["-c", &script])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status
            .code()
            .unwrap_or_else(|| panic!("killed: {text}")),
        text,
    )
}

#[cfg(unix)]
#[test]
fn every_read_is_bounded_before_it_allocates() {
    let t = tree();
    // 8 GB that take no disk: only the size the file system reports is large.
    for name in ["huge.bin", "huge.json"] {
        fs::File::create(t.repo.join(name))
            .unwrap()
            .set_len(8 << 30)
            .unwrap();
    }
    let scan = ["scan", "--rule", "ATR-L001", "good.yaml"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--baseline", "/dev/zero"],
            "/dev/zero: cannot read baseline: a character device",
        ),
        (
            vec!["--baseline", "huge.bin"],
            "huge.bin: cannot read baseline: larger than",
        ),
        (
            vec!["--files-from", "/dev/zero"],
            "/dev/zero: a character device",
        ),
        (vec!["--files-from", "huge.bin"], "huge.bin:1: longer than"),
        (
            vec!["--config", "/dev/zero"],
            "/dev/zero: a character device",
        ),
        (vec!["--config", "huge.bin"], "huge.bin: larger than"),
        (vec!["--facts", "huge.bin"], "huge.bin: larger than"),
    ];
    for (extra, expected) in cases {
        let mut args = scan.to_vec();
        args.extend(&extra);
        let (code, text) = run_limited(&t.repo, &args);
        assert_eq!(code, 2, "{extra:?}: {text}");
        assert!(
            text.contains(expected),
            "{extra:?}: expected {expected:?} in\n{text}"
        );
    }
    // A template: the size limit applies, and the rest of the scan completes.
    let (code, text) = run_limited(
        &t.repo,
        &["scan", "--rule", "ATR-L001", "huge.json", "good.yaml"],
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("error: huge.json: file is 8589934592 bytes"),
        "{text}"
    );
    assert!(text.contains("good.yaml:6:7 ATR-L001"), "{text}");
    // Merge parts.
    for part in ["/dev/zero", "huge.bin"] {
        let (code, text) = run_limited(&t.repo, &["merge", part, "--format", "json"]);
        assert_eq!(code, 2, "{part}: {text}");
        assert!(text.contains(&format!("{part}:")), "{part}: {text}");
    }
}

#[test]
fn nothing_is_skipped_without_a_word() {
    let t = tree();
    let template = secret_template().replace(MARKER, "Fn");
    // A NUL byte, several documents, nesting past the limit: named.
    let mut nul = template.clone().into_bytes();
    nul.extend(b"# \0\n");
    fs::write(t.repo.join("nul.yaml"), nul).unwrap();
    fs::write(
        t.repo.join("multi.yaml"),
        format!("{template}---\n{template}"),
    )
    .unwrap();
    let deep = format!(
        "{{\"Functions\": [{}{}]}}",
        "[".repeat(300),
        "]".repeat(300)
    );
    fs::write(t.repo.join("list-functions.json"), deep).unwrap();
    // A Kubernetes manifest of several documents is no template: skipped as before.
    fs::write(t.repo.join("k8s.yaml"), "kind: A\n---\nkind: B\n").unwrap();
    let out = run(&t.repo, &[]);
    assert_refused(&out, &t.repo, "nul.yaml:8", "a NUL byte");
    assert_refused(&out, &t.repo, "multi.yaml", "2 YAML documents");
    assert_refused(
        &out,
        &t.repo,
        "list-functions.json:1:",
        "nesting deeper than 256",
    );
    assert!(!out.stdout.contains("k8s.yaml"), "{}", out.stdout);
}

#[cfg(unix)]
#[test]
fn a_link_that_leads_nowhere_is_named_when_it_stands_for_an_input() {
    let t = tree();
    // Dangling, into a loop, or to a file outside that is gone: the template, Terraform file
    // or service it stands for is not checked, so the scan says so.
    link(
        Path::new("missing.template"),
        &t.repo.join("stack.template"),
    );
    link(Path::new("b.tf"), &t.repo.join("tf/a.tf"));
    link(Path::new("a.tf"), &t.repo.join("tf/b.tf"));
    link(
        &t.outside.join("gone/serverless.yml"),
        &t.repo.join("svc/serverless.yml"),
    );
    // A dangling link with a generic name is passed over, as such a file would be skipped.
    link(Path::new("nowhere"), &t.repo.join("notes.yaml"));
    let out = run(&t.repo, &[]);
    for file in ["stack.template", "tf/a.tf", "tf/b.tf", "svc/serverless.yml"] {
        assert_refused(&out, &t.repo, file, "a symbolic link that leads nowhere");
    }
    assert!(!out.stdout.contains("notes.yaml"), "{}", out.stdout);
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_name_that_is_not_utf8_is_read() {
    use std::os::unix::ffi::OsStrExt;
    let t = tree();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.yaml");
    fs::write(t.repo.join(name), GOOD).unwrap();
    let out = run(&t.repo, &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    says(&out.stdout, "caf\u{fffd}.yaml:6:7 ATR-L001");
}

#[test]
fn files_git_tracks_are_scanned_whatever_an_ignore_file_says() {
    let t = tree();
    fs::create_dir_all(t.repo.join("stacks")).unwrap();
    fs::write(t.repo.join("stacks/tracked.yaml"), GOOD).unwrap();
    common::git(&t.repo, &["init", "-q"]);
    common::git(&t.repo, &["add", "."]);
    common::git(&t.repo, &["commit", "-qm", "base"]);
    // The change adds ignore files that hide the tracked template, and an untracked one.
    fs::write(t.repo.join(".ignore"), "stacks/\n").unwrap();
    fs::write(t.repo.join(".gitignore"), "untracked.yaml\ngood.yaml\n").unwrap();
    fs::write(t.repo.join("untracked.yaml"), GOOD).unwrap();
    let out = run(&t.repo, &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    says(&out.stdout, "stacks/tracked.yaml:6:7 ATR-L001");
    says(&out.stdout, "good.yaml:6:7 ATR-L001");
    assert!(!out.stdout.contains("untracked.yaml"), "{}", out.stdout);
}

#[cfg(unix)]
#[test]
fn the_report_is_written_whole_and_never_over_an_input() {
    let t = tree();
    // Over an input: refused, the input intact.
    let out = run(&t.repo, &["--format", "json", "-o", "good.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    says(&out.stderr, "--output good.yaml: one of the inputs");
    assert_eq!(fs::read_to_string(t.repo.join("good.yaml")).unwrap(), GOOD);
    // Nor over the baseline the report was decided with.
    let out = run(&t.repo, &["--write-baseline", "base.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let base = fs::read_to_string(t.repo.join("base.json")).unwrap();
    let out = run(&t.repo, &["--baseline", "base.json", "-o", "base.json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    says(&out.stderr, "--output base.json: one of the inputs");
    assert_eq!(fs::read_to_string(t.repo.join("base.json")).unwrap(), base);
    // A link planted where the report goes is replaced, not written through.
    link(&t.outside.join("secret.yaml"), &t.repo.join("report.sarif"));
    let out = run(&t.repo, &["--format", "sarif", "-o", "report.sarif"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        fs::read_to_string(t.outside.join("secret.yaml")).unwrap(),
        secret_template()
    );
    assert!(
        fs::read_to_string(t.repo.join("report.sarif"))
            .unwrap()
            .contains("good.yaml")
    );
    // Nothing half-written is left where the write fails.
    let out = run(&t.repo, &["--format", "json", "-o", "no/such/dir/r.json"]);
    assert_eq!(out.code, 2);
    says(&out.stderr, "cannot write no/such/dir/r.json");
    let leftovers: Vec<String> = fs::read_dir(&t.repo)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn merge(dir: &Path, args: &[&str]) -> Outcome {
    let out = common::atrest(dir)
        .arg("merge")
        .args(args)
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    Outcome {
        code: out.status.code().expect("not killed by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_merge_refuses_twice_given_parts_and_names_missing_shards() {
    let t = tree();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let part = format!("p{i}.jsonl");
        let out = run(
            &t.repo,
            &["--shard", &shard, "--format", "jsonl", "-o", &part],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let count = |out: &Outcome| out.stdout.matches("good.yaml:6:7 ATR-L001").count();
    let whole = merge(
        &t.repo,
        &["p1.jsonl", "p2.jsonl", "p3.jsonl", "--rule", "ATR-L001"],
    );
    assert_eq!(whole.code, 1, "{}", whole.stderr);
    assert_eq!(count(&whole), 1);

    // The same part twice: merged once, and the exit code says so.
    let out = merge(
        &t.repo,
        &[
            "p1.jsonl", "p2.jsonl", "p3.jsonl", "p1.jsonl", "--rule", "ATR-L001",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(count(&out), 1, "{}", out.stdout);
    says(&out.stdout, "error: p1.jsonl: given twice");
    // The same shard in two files: the second is not merged.
    fs::copy(t.repo.join("p1.jsonl"), t.repo.join("copy.jsonl")).unwrap();
    let out = merge(
        &t.repo,
        &[
            "p1.jsonl",
            "p2.jsonl",
            "p3.jsonl",
            "copy.jsonl",
            "--rule",
            "ATR-L001",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(count(&out), 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("error: copy.jsonl: shard 1/3 is also in part 1"),
        "{}",
        out.stdout
    );

    // A shard missing: named, exit 2, the others reported.
    let out = merge(&t.repo, &["p1.jsonl", "p3.jsonl", "--rule", "ATR-L001"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    says(&out.stdout, "error: shard 2/3: missing");
    assert_eq!(count(&out), 1);
    // Merged in a tree: a jsonl merge of two shards is a part holding both.
    let out = merge(
        &t.repo,
        &[
            "p1.jsonl",
            "p3.jsonl",
            "--rule",
            "ATR-L001",
            "--format",
            "jsonl",
            "-o",
            "p13.jsonl",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = merge(&t.repo, &["p13.jsonl", "p2.jsonl", "--rule", "ATR-L001"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(count(&out), 1);
    let out = merge(
        &t.repo,
        &["p13.jsonl", "p1.jsonl", "p2.jsonl", "--rule", "ATR-L001"],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);

    // Writing the merge over one of its parts is refused.
    let out = merge(
        &t.repo,
        &["p1.jsonl", "p2.jsonl", "p3.jsonl", "-o", "p2.jsonl"],
    );
    assert_eq!(out.code, 2);
    says(&out.stderr, "--output p2.jsonl: one of the parts");
}

#[test]
fn a_part_naming_a_file_outside_the_tree_is_not_merged() {
    let t = tree();
    let out = run(&t.repo, &["--format", "jsonl", "-o", "p.jsonl"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A forged part: its finding points at the secret, which a text report would quote.
    let forged = fs::read_to_string(t.repo.join("p.jsonl"))
        .unwrap()
        .replace("\"good.yaml\"", "\"../outside/secret.yaml\"");
    assert!(forged.contains("../outside/secret.yaml"));
    fs::write(t.repo.join("forged.jsonl"), forged).unwrap();
    let out = merge(&t.repo, &["p.jsonl", "forged.jsonl", "--rule", "ATR-L001"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("forged.jsonl:2: input ../outside/secret.yaml: outside the scanned tree"),
        "{}",
        out.stdout
    );
    says(&out.stdout, "good.yaml:6:7 ATR-L001");
    assert_no_marker(&out, &t.repo);

    // A part whose finding is in a FIFO of the tree: reported, its lines never read (the text
    // report and the inline suppressions read the files findings are in).
    #[cfg(unix)]
    {
        mkfifo(&t.repo.join("pipe.yaml"));
        let forged = fs::read_to_string(t.repo.join("p.jsonl"))
            .unwrap()
            .replace("\"good.yaml\"", "\"pipe.yaml\"");
        fs::write(t.repo.join("forged.jsonl"), forged).unwrap();
        let out = merge(&t.repo, &["forged.jsonl", "--rule", "ATR-L001"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        says(&out.stdout, "pipe.yaml:6:7 ATR-L001");
    }
}

#[test]
fn a_baseline_of_the_wrong_shape_is_named() {
    let t = tree();
    for (text, expected) in [
        (
            "{\"tool\": \"atrest\", \"version\": 1, \"findings\": {}}",
            "no \"findings\" list",
        ),
        ("[1, 2]", "\"tool\" is not \"atrest\""),
        (
            "{\"tool\": \"atrest\", \"version\": 1, \"findings\": [7]}",
            "base.json:1: bad baseline entry",
        ),
    ] {
        fs::write(t.repo.join("base.json"), text).unwrap();
        let out = run(&t.repo, &["--baseline", "base.json", "good.yaml"]);
        assert_eq!(out.code, 2, "{text}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{text}: {}", out.stderr);
    }
}
