//! `atrest completions SHELL` and `atrest man`: generated from the command line itself, checked
//! with the tools that read them (bash's parser, groff's warnings) where those are installed.

use crate::common;

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    common::atrest(dir.path()).args(args).output().unwrap()
}

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_bash_completion_parses_and_offers_every_command_and_scan_option() {
    let out = run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8(out.stdout).unwrap();
    for word in ["scan", "merge", "facts", "rules", "completions", "man"] {
        assert!(script.contains(word), "{word} missing");
    }
    for option in ["--fail-on", "--skip-rule", "--sarif-category", "--tf-vars"] {
        assert!(script.contains(option), "{option} missing");
    }
    if !tool("bash") {
        common::skip(
            "completions::the_bash_completion_parses",
            "bash is not installed",
            "ATREST_REQUIRE_MAN_TOOLS",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("atrest.bash");
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourced, it registers the function bash calls on TAB.
    let complete = Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' && complete -p atrest", file.display()))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&complete.stdout).contains("atrest"),
        "{}",
        String::from_utf8_lossy(&complete.stderr)
    );
}

#[test]
fn every_shell_clap_knows_gets_a_script_and_an_unknown_one_is_refused() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(
            out.stdout.len() > 1000,
            "{shell}: {} bytes",
            out.stdout.len()
        );
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}

#[test]
fn the_manual_pages_cover_every_command_and_format_without_groff_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man/man1");
    let out = common::atrest(dir.path())
        .args(["man", "--dir", "man/man1"])
        .output()
        .unwrap();
    crate::common::assert_exit(&out, 0);
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for page in [
        "atrest.1",
        "atrest-scan.1",
        "atrest-merge.1",
        "atrest-rules-show.1",
    ] {
        assert!(names.iter().any(|n| n == page), "{page} not in {names:?}");
    }
    let scan = std::fs::read_to_string(pages.join("atrest-scan.1")).unwrap();
    assert!(scan.starts_with(".ie") || scan.contains(".TH"), "{scan}");
    assert!(scan.contains("fail\\-on"), "{scan}");

    // Standard output gets the top page, the same as the file.
    let top = run(&["man"]);
    assert_eq!(top.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&top.stdout),
        std::fs::read_to_string(pages.join("atrest.1")).unwrap(),
        "the page on stdout differs from atrest.1"
    );

    if !tool("groff") {
        common::skip(
            "completions::the_manual_pages_cover_every_command_and_format_without_groff_warnings",
            "groff is not installed",
            "ATREST_REQUIRE_MAN_TOOLS",
        );
        return;
    }
    for name in &names {
        let check = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(pages.join(name))
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        assert!(
            check.status.success() && check.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn a_man_directory_that_cannot_be_made_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("taken"), "a file").unwrap();
    let out = common::atrest(dir.path())
        .args(["man", "--dir", "taken/man1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("atrest: cannot create taken/man1"), "{err}");
}
