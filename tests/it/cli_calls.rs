//! Commands called as functions, without a process: each writes its output to the writer it is
//! given, byte for byte what the binary prints, and returns the binary's exit code.

use crate::common;
use atrest::cli::{Cli, Command, exit_code};
use clap::Parser;
use std::process::ExitCode;

/// Runs `args` in-process (in the package directory, as `cargo test` runs tests), returning
/// standard output and the exit code.
fn call(args: &[&str]) -> (Vec<u8>, ExitCode) {
    assert_eq!(
        std::env::current_dir().unwrap().canonicalize().unwrap(),
        common::manifest_dir().canonicalize().unwrap(),
        "in-process commands resolve paths against the working directory"
    );
    let cli = Cli::try_parse_from(std::iter::once("atrest").chain(args.iter().copied())).unwrap();
    let mut out = Vec::new();
    let code = match cli.command {
        Command::Scan(a) => atrest::cli::scan::run(*a, &mut out),
        Command::Rules(a) => atrest::cli::rules::run(a, &mut out),
        Command::Model { paths, tf_vars } => atrest::cli::model::run(paths, tf_vars, &mut out),
        _ => unreachable!("not called here"),
    }
    .unwrap();
    (out, code)
}

fn binary(args: &[&str]) -> (Vec<u8>, i32) {
    let out = common::atrest(&common::manifest_dir())
        .args(args)
        .output()
        .unwrap();
    (out.stdout, out.status.code().unwrap())
}

#[test]
fn commands_write_to_the_writer_they_are_given_what_the_binary_prints() {
    for (args, code) in [
        (&["scan", "--format", "json", "examples"][..], 1),
        (
            &["scan", "--format", "sarif", "--fail-on", "none", "examples"][..],
            0,
        ),
        (&["rules", "show", "ATR-L001"][..], 0),
        (&["model", "examples/orders-service"][..], 0),
    ] {
        let (out, exit) = call(args);
        let (expected, expected_code) = binary(args);
        assert!(!out.is_empty(), "{args:?} wrote nothing");
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&expected),
            "{args:?}"
        );
        assert_eq!(expected_code, code, "{args:?}: the binary's exit code");
        assert_eq!(exit, ExitCode::from(code as u8), "{args:?}");
    }
}

#[test]
fn one_exit_code_rule_for_every_command() {
    assert_eq!(exit_code(false, false), ExitCode::from(0));
    assert_eq!(exit_code(false, true), ExitCode::from(1));
    // An input that failed outweighs a failed check: the result is incomplete.
    assert_eq!(exit_code(true, true), ExitCode::from(2));
    assert_eq!(exit_code(true, false), ExitCode::from(2));
}
