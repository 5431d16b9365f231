//! `atrest rules`: the rule list, one rule's help, and the rule reference.

use super::load_config;
use crate::config::Config;
use crate::engine::{PolicyOptions, PolicySet, Rule};
use crate::escape::{Escaped, escape, escape_lines};
use crate::report;
use crate::scan;
use clap::{Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Markdown,
}

#[derive(clap::Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub action: Option<RulesAction>,
    /// `markdown` writes the rule reference (docs/rules.md)
    #[arg(long, value_enum, default_value = "text")]
    pub format: RulesFormat,
    /// Include rules from this policy directory (repeatable)
    #[arg(long, value_name = "DIR", global = true)]
    pub policy: Vec<PathBuf>,
    /// The configuration file whose severity overrides, rules turned off and policy
    /// directories apply (default: `.atrest.yaml` found upward, as for `scan`; not with
    /// `--format markdown`, which documents the built-in catalogue)
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum RulesAction {
    /// Print one rule's description, remediation per source format, and references
    Show { id: String },
}

pub fn run(args: RulesArgs, stdout: &mut dyn Write) -> Result<ExitCode, String> {
    // The listing shows what a scan here would report: the project's configuration applies.
    // The markdown reference documents the catalogue itself.
    let config = if args.format == RulesFormat::Markdown {
        None
    } else {
        load_config(args.config.as_deref(), &scan::scan_root(), &[])?.0
    };
    let mut dirs = args.policy;
    if let Some(c) = &config {
        dirs.extend(c.policy.iter().cloned());
    }
    let (mut policies, errors) = PolicySet::load(&PolicyOptions {
        builtin: config.as_ref().is_none_or(|c| c.no_builtin != Some(true)),
        dirs,
        ..Default::default()
    });
    // Rules the configuration turns off are listed as off, not hidden.
    let off = config
        .as_ref()
        .map(Config::disabled_rules)
        .unwrap_or_default();
    let is_off = |id: &str| off.iter().any(|o| o.eq_ignore_ascii_case(id));
    if let Some(c) = &config {
        c.override_severities(&mut policies.rules);
    }
    for e in &errors {
        eprintln!("error: {}", Escaped(e));
    }
    let mut out = String::new();
    match args.action {
        None if args.format == RulesFormat::Markdown => {
            out = report::rules_doc::render(&policies.rules);
        }
        None => {
            out.push_str(&format!("{:<10} {:<9} {}\n", "ID", "SEVERITY", "TITLE"));
            let mut rules: Vec<&Rule> = policies.rules.iter().collect();
            rules.sort_by(|a, b| a.id.cmp(&b.id));
            for r in rules {
                let severity = if is_off(&r.id) {
                    "off".to_owned()
                } else {
                    r.severity.to_string()
                };
                out.push_str(&format!(
                    "{:<10} {:<9} {}\n",
                    escape(&r.id),
                    severity,
                    escape(&r.title)
                ));
            }
        }
        Some(RulesAction::Show { id }) => {
            let rule = policies
                .rules
                .iter()
                .find(|r| r.id.eq_ignore_ascii_case(&id))
                .ok_or_else(|| format!("no rule {} (see `atrest rules`)", escape(&id)))?;
            out.push_str(&format!(
                "{} ({}, security-severity {})\n{}\n\n{}\n",
                escape(&rule.id),
                rule.severity,
                rule.security_severity,
                escape(&rule.title),
                escape_lines(&rule.description)
            ));
            if !rule.remediation.is_empty() {
                out.push_str("\nHow to fix:\n");
                for (source, fix) in &rule.remediation {
                    out.push_str(&format!("\n  {}:\n", escape(source)));
                    for l in fix.lines() {
                        out.push_str(&format!("    {}\n", escape(l)));
                    }
                }
            }
            if !rule.references.is_empty() {
                out.push_str("\nReferences:\n");
                for r in &rule.references {
                    out.push_str(&format!("  {}\n", escape(&r.url)));
                }
            }
            if !rule.equivalents.is_empty() {
                out.push_str("\nThe same check in other tools:\n");
                for e in &rule.equivalents {
                    out.push_str(&format!(
                        "  {}\n",
                        escape(&report::rules_doc::equivalent(e))
                    ));
                }
            }
            out.push_str(&format!("\nPolicy: {}\n", escape(&rule.path)));
        }
    }
    let _ = stdout.write_all(out.as_bytes());
    Ok(super::exit_code(!errors.is_empty(), false))
}
