//! The `atrest` command line.

use atrest::engine::{PolicyOptions, PolicySet, Rule, Severity};
use atrest::read::Limits;
use atrest::report::{self, Report, UnknownMode};
use atrest::scan::{self, InputError, ScanOptions};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  atrest scan                          scan the current directory
  atrest scan templates/ stack.yaml    scan some paths
  atrest scan --format sarif --output atrest.sarif .
  atrest scan --fail-on medium --skip-rule ATR-L005 .
  atrest scan --policy my-policies/ .  add your own Rego rules
  atrest scan AWSLogs/ --inventory inventory.json
                                       check CloudTrail logs against an inventory
  atrest rules                         list the rules
  atrest rules show ATR-L001           how to fix one";

#[derive(Parser)]
#[command(
    name = "atrest",
    version,
    about = "Checks that AWS Lambda data at rest is encrypted under customer managed KMS keys",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan templates and CloudTrail logs for Lambda data at rest without a customer managed key
    #[command(after_help = EXAMPLES)]
    Scan(ScanArgs),
    /// List the rules, or show one rule's full help
    Rules(RulesArgs),
    /// Print the resource model policies see for each input (JSON), for policy authors
    Model {
        /// Files or directories
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Low,
    Medium,
    High,
    Critical,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Files or directories to scan (directories are walked, honouring .gitignore)
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a finding has at least this severity
    #[arg(long, value_enum, default_value = "low")]
    fail_on: FailOn,
    /// What to do with findings that cannot be decided statically
    #[arg(long, value_enum, default_value = "warn")]
    unknown: UnknownMode,
    /// Directory (or file) of extra Rego policies, added to the built-in ones (repeatable)
    #[arg(long, value_name = "DIR")]
    policy: Vec<PathBuf>,
    /// Do not load the built-in policies
    #[arg(long)]
    no_builtin: bool,
    /// Run only this rule (repeatable)
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
    /// Do not run this rule (repeatable)
    #[arg(long = "skip-rule", value_name = "ID")]
    skip_rules: Vec<String>,
    /// Print only findings and errors
    #[arg(long, short)]
    quiet: bool,
    /// Colour the text output
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// An inventory to correlate CloudTrail logs with (the model's JSON, e.g. `atrest model`
    /// output), for reviews that have logs but no templates (repeatable)
    #[arg(long, value_name = "FILE")]
    inventory: Vec<PathBuf>,
    /// Worker threads (default: one per core)
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
}

#[derive(clap::Args)]
struct RulesArgs {
    #[command(subcommand)]
    action: Option<RulesAction>,
    /// Include rules from this policy directory (repeatable)
    #[arg(long, value_name = "DIR", global = true)]
    policy: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum RulesAction {
    /// Print one rule's description, remediation per source format, and references
    Show { id: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => run_scan(args),
        Command::Rules(args) => run_rules(args),
        Command::Model { paths } => run_model(&paths),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("atrest: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_scan(args: ScanArgs) -> Result<ExitCode, String> {
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .map_err(|e| e.to_string())?;
    }
    let (policies, policy_errors) = PolicySet::load(&PolicyOptions {
        builtin: !args.no_builtin,
        dirs: args.policy.clone(),
        only: args.rules.clone(),
        skip: args.skip_rules.clone(),
    });
    for id in args.rules.iter().chain(&args.skip_rules) {
        if !policies.rules.iter().any(|r| &r.id == id) && !args.skip_rules.contains(id) {
            return Err(format!("--rule {id}: no such rule (see `atrest rules`)"));
        }
    }
    let mut result = scan::scan(
        &ScanOptions {
            paths: args.paths.clone(),
            limits: Limits::default(),
            inventories: args.inventory.clone(),
        },
        &policies,
    );
    let mut errors: Vec<InputError> = policy_errors.into_iter().map(Into::into).collect();
    errors.append(&mut result.errors);
    errors.sort();
    result.errors = errors;

    let report = Report {
        result: &result,
        rules: &policies.rules,
        unknown: args.unknown,
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let rendered = match args.format {
        Format::Text => report::text::render(
            &report,
            report::text::Style {
                color,
                quiet: args.quiet,
            },
        ),
        Format::Json => report::json::render(&report),
        Format::Sarif => report::sarif::render(&report, &scan::scan_root()),
    };
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`atrest scan | head`) is not an error worth a message.
            let _ = out.write_all(rendered.as_bytes());
        }
    }
    // Errors are in the report; repeat them on stderr when the report is not text on screen.
    if !matches!(args.format, Format::Text) || args.output.is_some() {
        for e in &result.errors {
            eprintln!("error: {e}");
        }
        if !args.quiet && matches!(args.format, Format::Text) {
            eprintln!("{}", report::text::summary(&report));
        }
    }

    if !result.errors.is_empty() {
        return Ok(ExitCode::from(2));
    }
    let threshold = match args.fail_on {
        FailOn::None => None,
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Critical => Some(Severity::Critical),
    };
    let failed = matches!((threshold, report.worst()), (Some(t), Some(w)) if w >= t);
    Ok(ExitCode::from(if failed { 1 } else { 0 }))
}

fn run_rules(args: RulesArgs) -> Result<ExitCode, String> {
    let (policies, errors) = PolicySet::load(&PolicyOptions {
        builtin: true,
        dirs: args.policy,
        ..Default::default()
    });
    for e in &errors {
        eprintln!("error: {e}");
    }
    let mut out = String::new();
    match args.action {
        None => {
            out.push_str(&format!("{:<10} {:<9} {}\n", "ID", "SEVERITY", "TITLE"));
            let mut rules: Vec<&Rule> = policies.rules.iter().collect();
            rules.sort_by(|a, b| a.id.cmp(&b.id));
            for r in rules {
                out.push_str(&format!(
                    "{:<10} {:<9} {}\n",
                    r.id,
                    r.severity.to_string(),
                    r.title
                ));
            }
        }
        Some(RulesAction::Show { id }) => {
            let rule = policies
                .rules
                .iter()
                .find(|r| r.id.eq_ignore_ascii_case(&id))
                .ok_or_else(|| format!("no rule {id} (see `atrest rules`)"))?;
            out.push_str(&format!(
                "{} ({}, security-severity {})\n{}\n\n{}\n",
                rule.id, rule.severity, rule.security_severity, rule.title, rule.description
            ));
            if !rule.remediation.is_empty() {
                out.push_str("\nHow to fix:\n");
                for (source, fix) in &rule.remediation {
                    out.push_str(&format!("\n  {source}:\n"));
                    for l in fix.lines() {
                        out.push_str(&format!("    {l}\n"));
                    }
                }
            }
            if !rule.references.is_empty() {
                out.push_str("\nReferences:\n");
                for r in &rule.references {
                    out.push_str(&format!("  {}\n", r.url));
                }
            }
            out.push_str(&format!("\nPolicy: {}\n", rule.path));
        }
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(ExitCode::from(if errors.is_empty() { 0 } else { 2 }))
}

fn run_model(paths: &[PathBuf]) -> Result<ExitCode, String> {
    let root = scan::scan_root();
    let (files, mut errors) = scan::collect_files(paths);
    let mut models = Vec::new();
    for file in files {
        let shown = scan::display_path(&file, &root);
        match atrest::read::read_input(&file, &Limits::default()) {
            atrest::read::ReadOutcome::Input(input) => {
                let model = scan::model_of(&shown.as_str().into(), &input);
                models.push(serde_json::json!({
                    "file": shown,
                    "kind": input.kind.name(),
                    "model": model,
                }));
            }
            atrest::read::ReadOutcome::Skipped => {}
            atrest::read::ReadOutcome::Failed(e) => errors.push(InputError {
                path: shown,
                line: e.line,
                column: e.column,
                message: e.message,
            }),
        }
    }
    let text = serde_json::to_string_pretty(&models).map_err(|e| e.to_string())?;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    for e in &errors {
        eprintln!("error: {e}");
    }
    Ok(ExitCode::from(if errors.is_empty() { 0 } else { 2 }))
}
