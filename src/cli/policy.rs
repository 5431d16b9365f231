//! `atrest policy new`: a new policy and its tests, in the built-in conventions.

use crate::engine::Severity;
use crate::engine::scaffold::Scaffold;
use clap::{Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PolicyAction {
    /// Create NAME.rego (a rule in the built-in conventions) and NAME_test.rego (its tests)
    New {
        /// lower_snake_case name of the policy
        name: String,
        /// Directory to write to
        #[arg(long, default_value = "policies")]
        dir: PathBuf,
        /// Rule ID (default: CUSTOM-<NAME>)
        #[arg(long)]
        id: Option<String>,
        /// Rule severity
        #[arg(long, value_enum, default_value = "medium")]
        severity: SeverityArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

pub fn run(
    name: &str,
    dir: &Path,
    id: Option<String>,
    severity: SeverityArg,
    out: &mut dyn std::io::Write,
) -> Result<ExitCode, String> {
    let id =
        id.unwrap_or_else(|| format!("CUSTOM-{}", name.to_ascii_uppercase().replace('_', "-")));
    let severity = match severity {
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    };
    let written = Scaffold {
        name,
        id: &id,
        severity,
    }
    .write(dir)?;
    for p in &written {
        let _ = writeln!(out, "created {}", p.display());
    }
    let _ = writeln!(
        out,
        "next: edit the rule, then `atrest test {}` and `atrest scan --policy {} .`",
        dir.display(),
        dir.display()
    );
    Ok(super::exit_code(false, false))
}
