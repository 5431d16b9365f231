//! The `atrest` command line: parses the arguments and runs the command (see `atrest::cli`).

use atrest::cli::policy::{self, PolicyAction};
use atrest::cli::{Cli, Command, collect, facts, manual, merge, model, rules, scan, test};
use atrest::escape::Escaped;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // regorus reports some ordinary evaluation outcomes as `anyhow` errors, and with
    // RUST_BACKTRACE=1 in the environment each of those captures a backtrace: a tenth of a
    // scan's instructions. Panics still follow RUST_BACKTRACE.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: set before any thread is started.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let cli = Cli::parse();
    let out = &mut std::io::stdout().lock();
    let result = match cli.command {
        Command::Scan(args) => scan::run(*args, out),
        Command::Facts(args) => facts::run(args, out),
        Command::Merge(args) => merge::run(*args, out),
        Command::Collect(args) => collect::run(args, out),
        Command::Rules(args) => rules::run(args, out),
        Command::Model { paths, tf_vars } => model::run(paths, tf_vars, out),
        Command::Test(args) => test::run(args, out),
        Command::Policy {
            action:
                PolicyAction::New {
                    name,
                    dir,
                    id,
                    severity,
                },
        } => policy::run(&name, &dir, id, severity, out),
        Command::Completions { shell } => {
            manual::completions(<Cli as clap::CommandFactory>::command(), shell, out)
        }
        Command::Man { dir } => manual::man(
            <Cli as clap::CommandFactory>::command(),
            dir.as_deref(),
            out,
        ),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("atrest: {}", Escaped(&e));
            atrest::cli::exit_code(true, false)
        }
    }
}
