//! `atrest test`: the Rego unit tests of policy directories.

use crate::engine::testing;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TestArgs {
    /// Policy directories (or files) holding policies and their `*_test.rego` files
    pub paths: Vec<PathBuf>,
    /// Print which lines of each policy ran
    #[arg(long)]
    pub coverage: bool,
    /// Do not load the built-in policies (and their libraries) beside yours
    #[arg(long)]
    pub no_builtin: bool,
}

pub fn run(args: TestArgs, out: &mut dyn Write) -> Result<ExitCode, String> {
    let (sources, mut errors) = testing::sources(!args.no_builtin, &args.paths);
    let mut run = testing::run(&sources, args.coverage);
    errors.append(&mut run.errors);
    run.errors = errors;
    let text = testing::render(&run);
    let _ = out.write_all(text.as_bytes());
    if run.results.is_empty() && run.errors.is_empty() {
        eprintln!("atrest: no tests found (rules named test_* in *_test.rego files)");
    }
    Ok(super::exit_code(!run.errors.is_empty(), run.failed() > 0))
}
