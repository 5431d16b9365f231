//! The `atrest` command line.

mod manual;
mod outputs;
use outputs::Format;
mod progress;

use atrest::collect::{self, CollectOptions, CollectReport};
use atrest::config::{self, Config};
use atrest::engine::scaffold::Scaffold;
use atrest::engine::{PolicyOptions, PolicySet, Rule, Severity, testing};
use atrest::escape::{Escaped, escape, escape_lines};
use atrest::read::Limits;
use atrest::read::trail_layout::{Day, TrailFilter};
use atrest::report::{self, Report, UnknownMode};
use atrest::scan::{self, InputError, ScanOptions, ScanResult};
use atrest::shard::{self, Shard};
use atrest::triage::{self, Date, Directive, Suppression, SuppressionKind, Target, Via};
use clap::{Parser, Subcommand, ValueEnum};
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  atrest scan                          scan the current directory
  atrest scan templates/ stack.yaml    scan some paths
  atrest scan --format sarif --output atrest.sarif .
  atrest scan --fail-on medium --skip-rule ATR-L005 .
  atrest scan --policy my-policies/ .  add your own Rego rules
  atrest scan --baseline .atrest-baseline.json .   report only new findings
  atrest scan --tf-vars prod.tfvars infra/   Terraform with variable values
  atrest scan AWSLogs/ --inventory inventory.json
                                       check CloudTrail logs against an inventory
  atrest rules                         list the rules
  atrest rules show ATR-L001           how to fix one
  atrest test my-policies/             run the Rego unit tests of your policies
  atrest collect --region eu-west-1    fetch the deployed state into aws-state/
  atrest scan --aws --region eu-west-1 collect and scan in one go";

const SHARD_EXAMPLES: &str = "\
A scan split in N shards (each line can run on another machine, in the same directory layout):
  atrest facts --shard 1/2 AWSLogs/ -o facts-1.json
  atrest facts --shard 2/2 AWSLogs/ -o facts-2.json
  atrest facts --merge facts-1.json facts-2.json -o facts.json
  atrest scan --shard 1/2 --facts facts.json --format jsonl -o part-1.jsonl AWSLogs/ infra/
  atrest scan --shard 2/2 --facts facts.json --format jsonl -o part-2.jsonl AWSLogs/ infra/
  atrest merge part-1.jsonl part-2.jsonl --format sarif -o atrest.sarif";

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
    /// Scan templates, deployed state and CloudTrail logs for Lambda data at rest without a
    /// customer managed key
    #[command(after_help = EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// Learn what the rules need from all the logs (the first phase of a sharded scan), or join
    /// facts files
    #[command(after_help = SHARD_EXAMPLES)]
    Facts(FactsArgs),
    /// Join the results of sharded scans (`scan --format jsonl`) into one report, exactly as a
    /// single scan over all their inputs would report
    #[command(after_help = SHARD_EXAMPLES)]
    Merge(Box<MergeArgs>),
    /// Fetch the deployed state of an account (read-only calls) as AWS CLI output files
    Collect(CollectArgs),
    /// List the rules, or show one rule's full help
    Rules(RulesArgs),
    /// Print the resource model policies see for each unit (JSON), for policy authors; all
    /// deployed-state inputs form one unit
    Model {
        /// Files or directories
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// Terraform variable file for every root module (repeatable)
        #[arg(long = "tf-vars", visible_alias = "var-file", value_name = "FILE")]
        tf_vars: Vec<PathBuf>,
    },
    /// Run the Rego unit tests (`test_*` rules) of policy directories, or of the built-in
    /// policies when no directory is given
    Test(TestArgs),
    /// Write your own policies
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Print the shell completion script for SHELL (e.g. `atrest completions bash >
    /// /etc/bash_completion.d/atrest`)
    Completions { shell: clap_complete::Shell },
    /// Print the manual page, or with --dir write one page per command into DIR
    Man {
        /// Write atrest.1, atrest-scan.1, ... into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PolicyAction {
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Service {
    Lambda,
    Kms,
    Logs,
    Xray,
}

/// Where and how to call AWS (`collect`, `scan --aws`).
#[derive(clap::Args, Clone)]
struct AwsArgs {
    /// Region to collect (repeatable; default: the profile's or AWS_REGION)
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Named profile of the AWS config files (default: the default credential chain)
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Send the calls to this endpoint instead of AWS (an emulator such as moto)
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The services to collect, comma-separated
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "lambda,kms,logs,xray"
    )]
    services: Vec<Service>,
}

impl AwsArgs {
    fn options(&self, out_dir: PathBuf, progress: bool) -> CollectOptions {
        CollectOptions {
            regions: self.regions.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            services: self
                .services
                .iter()
                .map(|s| match s {
                    Service::Lambda => collect::Service::Lambda,
                    Service::Kms => collect::Service::Kms,
                    Service::Logs => collect::Service::Logs,
                    Service::Xray => collect::Service::Xray,
                })
                .collect(),
            out_dir,
            progress,
        }
    }
}

#[derive(clap::Args)]
struct CollectArgs {
    #[command(flatten)]
    aws: AwsArgs,
    /// Directory to write to, one subdirectory per region
    #[arg(long, short, value_name = "DIR", default_value = "aws-state")]
    output_dir: PathBuf,
    /// Print only errors
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(clap::Args)]
struct TestArgs {
    /// Policy directories (or files) holding policies and their `*_test.rego` files
    paths: Vec<PathBuf>,
    /// Print which lines of each policy ran
    #[arg(long)]
    coverage: bool,
    /// Do not load the built-in policies (and their libraries) beside yours
    #[arg(long)]
    no_builtin: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RulesFormat {
    Text,
    Markdown,
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

/// What decides and renders the report: shared by `scan` and `merge`.
#[derive(clap::Args)]
struct ReportArgs {
    /// Report format: text (default), json, sarif, junit, or jsonl (the results before
    /// suppressions, for `atrest merge`). FORMAT=FILE writes that report to FILE; repeatable, so
    /// one run writes several reports: `-f sarif=atrest.sarif -f text`
    #[arg(long, short, value_name = "FORMAT[=FILE]", value_parser = outputs::parse)]
    format: Vec<outputs::FormatArg>,
    /// Write the report (the one --format without a file) to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a finding has at least this severity [default: low]
    #[arg(long, value_enum, visible_alias = "severity")]
    fail_on: Option<FailOn>,
    /// What to do with findings that cannot be decided statically [default: warn]
    #[arg(long, value_enum)]
    unknown: Option<UnknownMode>,
    /// Settings file (default: .atrest.yaml in the current directory or a parent, up to the
    /// repository's top)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory (or file) of extra Rego policies, added to the built-in ones (repeatable)
    #[arg(long, value_name = "DIR")]
    policy: Vec<PathBuf>,
    /// Do not load the built-in policies
    #[arg(long)]
    no_builtin: bool,
    /// Run only this rule (repeatable)
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
    /// Suppress this rule's findings, optionally saying why: ID or ID=REASON (repeatable)
    #[arg(long = "skip-rule", value_name = "ID[=REASON]")]
    skip_rules: Vec<String>,
    /// Also show suppressed findings in the text report
    #[arg(long)]
    show_suppressed: bool,
    /// Also list the files that were not read as inputs, each with the reason (text report;
    /// the JSON report always lists them)
    #[arg(long, short)]
    verbose: bool,
    /// Warn about suppressions and baseline entries that match no finding
    #[arg(long)]
    report_unused_suppressions: bool,
    /// Report only findings that are not in this baseline
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    baseline: Option<PathBuf>,
    /// Write the open findings to FILE as a baseline (and report none of them)
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Report only findings in files changed since this git revision
    #[arg(long, value_name = "REV")]
    diff_base: Option<String>,
    /// SARIF analysis category (automationDetails.id), e.g. the workflow or stack name
    #[arg(long, value_name = "NAME")]
    sarif_category: Option<String>,
    /// Print only findings and errors
    #[arg(long, short)]
    quiet: bool,
    /// Colour the text output
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Refuse templates nested deeper than this (maps and lists)
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    max_depth: usize,
    /// Refuse templates larger than this many bytes
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_template_bytes)]
    max_file_size: u64,
    /// Also read files under PATH, outside the scanned tree (through symbolic links, Terraform
    /// module sources, paths in .atrest.yaml, paths in merged parts) (repeatable)
    #[arg(long, value_name = "PATH")]
    allow_outside: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Files or directories to scan (directories are walked, honouring .gitignore; default: .,
    /// or with --aws or --files-from only those)
    paths: Vec<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
    /// Terraform variable file (`*.tfvars`, `*.tfvars.json`) for every root module, read after
    /// `terraform.tfvars` and `*.auto.tfvars` as Terraform does (repeatable; later files win)
    #[arg(long = "tf-vars", visible_alias = "var-file", value_name = "FILE")]
    tf_vars: Vec<PathBuf>,
    /// What to check CloudTrail logs against, not reported on: templates, Terraform or API
    /// output (files or directories), or the model's JSON (`atrest model` output) (repeatable)
    #[arg(long, value_name = "PATH")]
    inventory: Vec<PathBuf>,
    /// Also scan the paths listed in FILE, one per line (`-`: standard input)
    #[arg(long, value_name = "FILE")]
    files_from: Option<PathBuf>,
    /// Leave out what matches GLOB, as `exclude` in .atrest.yaml does, from the current directory
    /// (a pattern without `/` matches at any depth) (repeatable)
    #[arg(long, value_name = "GLOB", value_parser = config::glob)]
    exclude: Vec<globset::GlobMatcher>,
    /// Read only the CloudTrail logs whose path hashes to shard I of N (1-based); shard 1 also
    /// reports the other inputs, which every shard reads to correlate its logs with
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Facts learned from all the logs by `atrest facts` (repeatable; joined)
    #[arg(long, value_name = "FILE")]
    facts: Vec<PathBuf>,
    /// Write every event of every CloudTrail finding to FILE as JSON lines (reports show a
    /// bounded sample of each finding's events)
    #[arg(long, value_name = "FILE")]
    all_events: Option<PathBuf>,
    /// Worker threads (default: one per core)
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
    /// Stop a rule that runs longer than this on one input (milliseconds; 0 = no limit)
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    policy_timeout: u64,
    /// Also collect the deployed state from AWS (as `atrest collect`) and scan it
    #[arg(long)]
    aws: bool,
    #[command(flatten)]
    aws_args: AwsArgs,
    /// With --aws: keep the collected files in DIR (default: a temporary directory)
    #[arg(long, value_name = "DIR", requires = "aws")]
    aws_dir: Option<PathBuf>,
    #[command(flatten)]
    trail: TrailArgs,
}

/// Which CloudTrail logs to read, by the folders the trail delivers to (see
/// `read::trail_layout`).
#[derive(clap::Args)]
struct TrailArgs {
    /// Read only logs delivered on or after this day (YYYY-MM-DD, or an RFC 3339 time)
    #[arg(long, value_name = "DATE", value_parser = Day::parse)]
    since: Option<Day>,
    /// Read only logs delivered up to this day (and the day after, for its last minutes)
    #[arg(long, value_name = "DATE", value_parser = Day::parse)]
    until: Option<Day>,
    /// Read only this account's logs (repeatable)
    #[arg(long = "account", value_name = "ID")]
    accounts: Vec<String>,
    /// Read only the logs of this region (repeatable)
    #[arg(long = "trail-region", value_name = "REGION")]
    trail_regions: Vec<String>,
}

impl TrailArgs {
    fn filter(&self) -> TrailFilter {
        TrailFilter {
            since: self.since,
            until: self.until,
            accounts: self.accounts.clone(),
            regions: self.trail_regions.clone(),
        }
    }
}

#[derive(clap::Args)]
struct FactsArgs {
    /// Files or directories whose CloudTrail logs to read (default: ., or with --files-from
    /// only those)
    #[arg(conflicts_with = "merge")]
    paths: Vec<PathBuf>,
    /// Also read the paths listed in FILE, one per line (`-`: standard input)
    #[arg(long, value_name = "FILE", conflicts_with = "merge")]
    files_from: Option<PathBuf>,
    /// Leave out what matches GLOB, as `exclude` in .atrest.yaml does, from the current directory
    /// (a pattern without `/` matches at any depth) (repeatable)
    #[arg(long, value_name = "GLOB", value_parser = config::glob, conflicts_with = "merge")]
    exclude: Vec<globset::GlobMatcher>,
    /// Read only the logs whose path hashes to shard I of N (as `scan --shard`)
    #[arg(long, value_name = "I/N", conflicts_with = "merge")]
    shard: Option<Shard>,
    /// Join facts files instead of reading logs
    #[arg(long, value_name = "FILE", num_args = 1..)]
    merge: Vec<PathBuf>,
    /// Write the facts to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Settings file, for its path excludes (default: as `scan` finds it)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Worker threads (default: one per core)
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// Results of `atrest scan --format jsonl` (shards of one scan, or earlier merges)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(clap::Args)]
struct RulesArgs {
    #[command(subcommand)]
    action: Option<RulesAction>,
    /// `markdown` writes the rule reference (docs/rules.md)
    #[arg(long, value_enum, default_value = "text")]
    format: RulesFormat,
    /// Include rules from this policy directory (repeatable)
    #[arg(long, value_name = "DIR", global = true)]
    policy: Vec<PathBuf>,
    /// The configuration file whose severity overrides, rules turned off and policy
    /// directories apply (default: `.atrest.yaml` found upward, as for `scan`; not with
    /// `--format markdown`, which documents the built-in catalogue)
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum RulesAction {
    /// Print one rule's description, remediation per source format, and references
    Show { id: String },
}

fn main() -> ExitCode {
    // regorus reports some ordinary evaluation outcomes as `anyhow` errors, and with
    // RUST_BACKTRACE=1 in the environment each of those captures a backtrace: a tenth of a
    // scan's instructions. Panics still follow RUST_BACKTRACE.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: set before any thread is started.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => run_scan(*args),
        Command::Facts(args) => run_facts(args),
        Command::Merge(args) => run_merge(*args),
        Command::Collect(args) => run_collect(args),
        Command::Rules(args) => run_rules(args),
        Command::Model { paths, tf_vars } => run_model(paths, tf_vars),
        Command::Test(args) => run_test(args),
        Command::Policy {
            action:
                PolicyAction::New {
                    name,
                    dir,
                    id,
                    severity,
                },
        } => run_policy_new(&name, &dir, id, severity),
        Command::Completions { shell } => {
            manual::completions(<Cli as clap::CommandFactory>::command(), shell)
        }
        Command::Man { dir } => {
            manual::man(<Cli as clap::CommandFactory>::command(), dir.as_deref())
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("atrest: {}", Escaped(&e));
            ExitCode::from(2)
        }
    }
}

/// The settings of one scan: the command line over `.atrest.yaml` over the defaults.
struct Settings {
    fail_on: FailOn,
    unknown: UnknownMode,
    policy: PolicyOptions,
}

fn settings(
    args: &ReportArgs,
    config: Option<&Config>,
    timeout: Option<std::time::Duration>,
) -> Result<Settings, String> {
    let fail_on = match (args.fail_on, config.and_then(|c| c.fail_on.as_ref())) {
        (Some(f), _) => f,
        (None, Some(s)) => FailOn::from_str(s, true)?,
        (None, None) => FailOn::Low,
    };
    let unknown = match (args.unknown, config.and_then(|c| c.unknown.as_ref())) {
        (Some(u), _) => u,
        (None, Some(s)) => UnknownMode::from_str(s, true)?,
        (None, None) => UnknownMode::Warn,
    };
    let mut dirs = args.policy.clone();
    let mut skip = Vec::new();
    let mut builtin = !args.no_builtin;
    if let Some(c) = config {
        dirs.extend(c.policy.iter().cloned());
        skip = c.disabled_rules();
        builtin &= c.no_builtin != Some(true);
    }
    Ok(Settings {
        fail_on,
        unknown,
        policy: PolicyOptions {
            builtin,
            dirs,
            only: args.rules.clone(),
            skip,
            timeout,
            interpreter_only: false,
        },
    })
}

fn limits(args: &ReportArgs) -> Limits {
    Limits {
        max_depth: args.max_depth,
        max_template_bytes: args.max_file_size,
    }
}

/// `--skip-rule ID[=REASON]` as a suppression of every finding of the rule.
fn skip_rule_directive(arg: &str) -> Directive {
    let (id, reason) = match arg.split_once('=') {
        Some((id, reason)) if !reason.trim().is_empty() => (id, reason.trim().to_owned()),
        Some((id, _)) => (id, format!("skipped with --skip-rule {id}")),
        None => (arg, format!("skipped with --skip-rule {arg}")),
    };
    Directive {
        rules: vec![id.to_owned()],
        target: Target::Everywhere,
        suppression: Suppression {
            kind: SuppressionKind::External,
            via: Via::CommandLine,
            justification: reason,
            until: None,
            place: None,
        },
    }
}

impl ReportArgs {
    fn targets(&self) -> Result<Vec<outputs::Target>, String> {
        outputs::targets(&self.format, self.output.as_deref())
    }

    fn to_stdout(&self) -> Option<Format> {
        outputs::to_stdout(&self.format, self.output.as_deref())
    }

    fn jsonl(&self) -> bool {
        self.format.iter().any(|f| f.format == Format::Jsonl)
    }

    /// The files the reports go to.
    fn files(&self) -> Result<Vec<PathBuf>, String> {
        Ok(self.targets()?.into_iter().filter_map(|t| t.file).collect())
    }
}

/// The files to scan: the walk of `paths`, less what the config and `--exclude` leave out.
/// `roots` is the scanned tree (see [`ScanOptions::roots`]).
fn files_to_scan(
    paths: &[PathBuf],
    roots: &[PathBuf],
    (config, exclude): (Option<&Config>, &[globset::GlobMatcher]),
    root: &Path,
) -> (Vec<PathBuf>, Vec<InputError>) {
    let boundary =
        scan::Boundary::new(root, roots.iter().map(PathBuf::as_path)).with_repositories();
    let (mut files, errors) = scan::collect_files(paths, &boundary);
    if let Some(c) = config {
        files.retain(|f| !c.excluded(&scan::display_path(f, root), root));
    }
    if !exclude.is_empty() {
        files.retain(|f| {
            let shown = scan::display_path(f, root);
            !exclude.iter().any(|g| config::path_matches(g, &shown))
        });
    }
    (files, errors)
}

fn use_jobs(jobs: Option<usize>) -> Result<(), String> {
    if let Some(jobs) = jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The settings file: `--config`, else `.atrest.yaml` found upward from the scan root.
/// Paths the config names may also lie under `allow` (`--allow-outside`). A config file found
/// (not named) that leads out of the repository is not read: an error of the scan, which runs
/// without it.
fn load_config(
    given: Option<&Path>,
    root: &Path,
    allow: &[PathBuf],
) -> Result<(Option<Config>, Vec<InputError>), String> {
    let path = match given {
        Some(p) => Some(p.to_path_buf()),
        None => config::discover(root),
    };
    if given.is_none()
        && let Some(p) = &path
    {
        let top = atrest::read::file::repository_top(root).unwrap_or_else(|| root.to_path_buf());
        if let Err(why) = scan::Boundary::new(root, [top.as_path()]).check(p) {
            let path = scan::display_path(p, root);
            let error = InputError {
                path,
                line: None,
                column: None,
                message: why,
            };
            return Ok((None, vec![error]));
        }
    }
    let config = path
        .map(|p| Config::load_within(&p, root, allow))
        .transpose()?;
    let refused = config
        .as_ref()
        .map(|c| c.refused.clone())
        .unwrap_or_default();
    Ok((config, refused))
}

/// What a scan or a merge decides before reading anything: settings and the rules.
struct Prepared {
    root: PathBuf,
    config: Option<Config>,
    settings: Settings,
    policies: PolicySet,
    policy_errors: Vec<InputError>,
    /// Every rule id, also of rules `--rule`/`--skip-rule` leave out.
    catalogue: Vec<String>,
}

fn prepare(args: &ReportArgs, timeout: Option<std::time::Duration>) -> Result<Prepared, String> {
    // `-o sarif` is checkov's way to ask for a format; here `-o` names the file. Writing the
    // text report to a file called `sarif` is never what was meant.
    if let Some(out) = &args.output
        && out.components().count() == 1
        && out.extension().is_none()
        && let Some(name) = out.to_str()
        && let Some(format) = match name {
            // checkov's names for its formats.
            "cli" => Some("text".to_owned()),
            "junitxml" => Some("junit".to_owned()),
            _ => Format::from_str(name, true)
                .ok()
                .and_then(|f| f.to_possible_value())
                .map(|v| v.get_name().to_owned()),
        }
    {
        return Err(format!(
            "`-o {name}` names the output file; for the report format use `-f {format}` (to write a file named {name}, give `-o ./{name}`)"
        ));
    }
    args.targets()?;
    if args.jsonl() {
        // A shard sees part of the findings: suppressions, baselines and their notices are
        // decided once, on the whole, by `atrest merge`.
        let triage = [
            ("--skip-rule", !args.skip_rules.is_empty()),
            ("--baseline", args.baseline.is_some()),
            ("--write-baseline", args.write_baseline.is_some()),
            ("--diff-base", args.diff_base.is_some()),
            ("--show-suppressed", args.show_suppressed),
            (
                "--report-unused-suppressions",
                args.report_unused_suppressions,
            ),
        ];
        if let Some((flag, _)) = triage.iter().find(|(_, given)| *given) {
            return Err(format!(
                "{flag} applies to the whole report: give it to `atrest merge`, not with --format jsonl"
            ));
        }
    }
    let root = scan::scan_root();
    let (config, config_errors) = load_config(args.config.as_deref(), &root, &args.allow_outside)?;
    let settings = settings(args, config.as_ref(), timeout)?;
    let (mut policies, policy_errors) = PolicySet::load(&settings.policy);
    // A typo in --rule, --skip-rule or the config would silently run the wrong rules.
    let (known, _) = PolicySet::load(&PolicyOptions {
        only: Vec::new(),
        skip: Vec::new(),
        ..settings.policy.clone()
    });
    for (flag, id) in
        args.rules
            .iter()
            .map(|id| ("--rule", id.as_str()))
            .chain(args.skip_rules.iter().map(|a| {
                (
                    "--skip-rule",
                    a.split_once('=').map_or(a.as_str(), |(id, _)| id),
                )
            }))
    {
        if !known.rules.iter().any(|r| r.id.eq_ignore_ascii_case(id)) {
            return Err(format!("{flag} {id}: no such rule (see `atrest rules`)"));
        }
    }
    if let Some(c) = &config {
        c.check_rule_ids(&known.rules)?;
        c.override_severities(&mut policies.rules);
    }
    Ok(Prepared {
        root,
        config,
        settings,
        policies,
        policy_errors: config_errors
            .into_iter()
            .chain(policy_errors.into_iter().map(Into::into))
            .collect(),
        catalogue: known.rules.iter().map(|r| r.id.clone()).collect(),
    })
}

/// The paths to scan: those given, those listed in `--files-from`, else `.`.
fn paths_to_scan(
    paths: &[PathBuf],
    files_from: Option<&Path>,
    more_to_come: bool,
) -> Result<Vec<PathBuf>, String> {
    let mut all = paths.to_vec();
    if let Some(list) = files_from {
        all.extend(shard::read_list(list)?);
    }
    if paths.is_empty() && files_from.is_none() && !more_to_come {
        all.push(PathBuf::from("."));
    }
    Ok(all)
}

fn run_scan(args: ScanArgs) -> Result<ExitCode, String> {
    use_jobs(args.jobs)?;
    let timeout =
        (args.policy_timeout > 0).then(|| std::time::Duration::from_millis(args.policy_timeout));
    let prepared = prepare(&args.report, timeout)?;
    let root = prepared.root.clone();
    let paths = paths_to_scan(&args.paths, args.files_from.as_deref(), args.aws)?;
    let (s3_urls, mut paths, mut s3_errors) = scan::split_s3(paths);
    let logs = scan::LogSelection {
        access: atrest::read::s3::Access {
            profile: args.aws_args.profile.clone(),
            region: args.aws_args.regions.first().cloned(),
            endpoint_url: args.aws_args.endpoint_url.clone(),
            ..Default::default()
        },
        s3: s3_urls,
        filter: args.trail.filter(),
    };
    let mut facts: Option<atrest::trail::Facts> = None;
    for path in &args.facts {
        facts
            .get_or_insert_with(Default::default)
            .merge(shard::read_facts(path)?);
    }
    let mut collect_errors = Vec::new();
    // Removed when the scan is reported (it outlives the rendering, which reads the files).
    let mut temporary = None;
    if args.aws {
        let dir = match &args.aws_dir {
            Some(d) => d.clone(),
            None => {
                let d = std::env::temp_dir().join(format!("atrest-aws-{}", std::process::id()));
                temporary = Some(TempDir(d.clone()));
                d
            }
        };
        let progress = !args.report.quiet && args.report.to_stdout().is_some();
        let report = collect::collect(&args.aws_args.options(dir, progress))?;
        paths.extend(report.dirs.iter().cloned());
        collect_errors = report
            .errors
            .iter()
            .map(|e| InputError {
                path: format!("aws:{}", e.region),
                line: None,
                column: None,
                message: format!("{}: {}", e.call, e.message),
            })
            .collect();
    } else if logs.s3.is_empty()
        && (!args.aws_args.regions.is_empty()
            || args.aws_args.profile.is_some()
            || args.aws_args.endpoint_url.is_some())
    {
        return Err("--region, --profile and --endpoint-url need --aws or an s3:// path".into());
    }
    let roots: Vec<PathBuf> = paths
        .iter()
        .chain(&args.report.allow_outside)
        .cloned()
        .collect();
    let (files, mut walk_errors) = files_to_scan(
        &paths,
        &roots,
        (prepared.config.as_ref(), &args.exclude),
        &root,
    );
    let show_progress = !args.report.quiet
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none()
        && !matches!(args.report.to_stdout(), Some(Format::Sarif | Format::Jsonl));
    let file_count = files.len();
    let mut result = progress::while_running(show_progress, file_count, || {
        scan::scan(
            &ScanOptions {
                paths: files,
                limits: limits(&args.report),
                // The config's variable files first, so the command line's win.
                tf_vars: prepared
                    .config
                    .iter()
                    .flat_map(|c| c.tfvars.iter().cloned())
                    .chain(args.tf_vars.iter().cloned())
                    .collect(),
                inventories: args.inventory.clone(),
                shard: args.shard,
                facts,
                roots,
                all_events: args.all_events.clone(),
                identities: args.report.format.iter().any(|f| f.format == Format::Jsonl),
                logs,
            },
            &prepared.policies,
        )
    });
    // With --diff-base, a broken file nobody changed is not this change's business either;
    // policy and collection errors always are.
    if let Some(rev) = &args.report.diff_base {
        let changed = triage::git::changed_files(rev, &root)?;
        result.errors.retain(|e| changed.contains(&e.path));
        walk_errors.retain(|e| changed.contains(&e.path));
    }
    // A CI job pointed at the wrong folder must not pass on "no findings". Only where every
    // path named is a directory: a file named explicitly (pre-commit passes every changed
    // `.yaml`, most of which are no templates) may well be no input.
    let only_dirs = !args.aws
        && args.shard.is_none()
        && args.files_from.is_none()
        && paths.iter().all(|p| p.is_dir());
    if only_dirs && result.inputs() == 0 && result.errors.is_empty() && walk_errors.is_empty() {
        let skipped = result.skipped.len();
        for p in &paths {
            walk_errors.push(InputError {
                path: p.display().to_string(),
                line: None,
                column: None,
                message: format!(
                    "no input found here: no template, Terraform file or plan, AWS API output or CloudTrail log ({skipped} other file{} skipped; --verbose lists them with the reason)",
                    if skipped == 1 { "" } else { "s" }
                ),
            });
        }
    }
    let mut errors = prepared.policy_errors.clone();
    errors.append(&mut collect_errors);
    errors.append(&mut s3_errors);
    errors.append(&mut walk_errors);
    errors.append(&mut result.errors);
    errors.sort();
    // A link the walk refused may be refused again as a file of a Terraform module.
    errors.dedup();
    result.errors = errors;
    let shards = args.shard.map(|s| shard::Shards {
        indexes: vec![s.index],
        count: s.count,
    });
    let code = finish(&args.report, &prepared, result, shards);
    drop(temporary);
    code
}

fn run_merge(args: MergeArgs) -> Result<ExitCode, String> {
    let prepared = prepare(&args.report, None)?;
    let root = &prepared.root;
    let mut parts = Vec::new();
    let mut errors = prepared.policy_errors.clone();
    let error = |path: &Path, message: String| InputError {
        path: scan::display_path(path, root),
        line: None,
        column: None,
        message,
    };
    // Reports show the lines of the files findings are in: a part may name only files in the
    // tree the merge runs in.
    let boundary = scan::Boundary::new(
        root,
        std::iter::once(Path::new("."))
            .chain(args.report.allow_outside.iter().map(PathBuf::as_path)),
    )
    .with_repositories();
    let inside = |p: &str| boundary.contains(&root.join(p));
    let mut seen: Vec<PathBuf> = Vec::new();
    let outputs: Vec<PathBuf> = args
        .report
        .files()?
        .iter()
        .filter_map(|o| std::fs::canonicalize(o).ok())
        .collect();
    for path in &args.files {
        if std::fs::canonicalize(path).is_ok_and(|p| outputs.contains(&p)) {
            return Err(format!(
                "--output {}: one of the parts; not overwritten",
                scan::display_path(path, root)
            ));
        }
        let same = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        if seen.contains(&same) {
            errors.push(error(path, "given twice: merged once".into()));
            continue;
        }
        seen.push(same);
        match shard::read(path, &prepared.policies.rules, &inside) {
            Ok(part) => parts.push((path, part)),
            // The other parts are still merged and reported; the exit code says one is missing.
            Err(message) => errors.push(error(path, message)),
        }
    }
    let cover = shard::cover(
        &parts
            .iter()
            .map(|(_, p)| p.shards.as_ref())
            .collect::<Vec<_>>(),
    );
    for (i, why) in cover.refused.iter().rev() {
        errors.push(error(parts[*i].0, why.clone()));
        parts.remove(*i);
    }
    // A merge written as jsonl may be one branch of a tree of merges; the final one is whole.
    if !args.report.jsonl() {
        errors.extend(cover.missing.iter().map(|s| InputError {
            path: format!("shard {s}"),
            line: None,
            column: None,
            message: "missing: no part holds it, so its logs are not in the report".into(),
        }));
    }
    let mut result = shard::combine(parts.into_iter().map(|(_, p)| p.result).collect());
    errors.append(&mut result.errors);
    errors.sort();
    // Every shard reports the errors of what they all read (the policies, the inventory).
    errors.dedup();
    result.errors = errors;
    finish(&args.report, &prepared, result, cover.shards)
}

fn run_facts(args: FactsArgs) -> Result<ExitCode, String> {
    use_jobs(args.jobs)?;
    let root = scan::scan_root();
    let mut facts = atrest::trail::Facts::default();
    let mut errors: Vec<InputError> = Vec::new();
    let summary;
    if !args.merge.is_empty() {
        for path in &args.merge {
            facts.merge(shard::read_facts(path)?);
        }
        summary = format!("joined {} facts files", args.merge.len());
    } else {
        let (config, config_errors) = load_config(args.config.as_deref(), &root, &[])?;
        errors.extend(config_errors);
        let paths = paths_to_scan(&args.paths, args.files_from.as_deref(), false)?;
        let (files, walk_errors) =
            files_to_scan(&paths, &paths, (config.as_ref(), &args.exclude), &root);
        errors.extend(walk_errors);
        let (mut logs, broken) = scan::logs_of(&files);
        errors.extend(broken);
        if let Some(s) = args.shard {
            logs.retain(|l| s.owns(&l.shown));
        }
        let (learned, events, log_errors) =
            atrest::trail::learn_facts(&logs, scan::MAX_EVENT_BYTES);
        facts = learned;
        errors.extend(
            log_errors
                .into_iter()
                .map(|e| InputError::read(&e.file, e.error)),
        );
        summary = format!(
            "{events} events in {} log file{}",
            logs.len(),
            if logs.len() == 1 { "" } else { "s" }
        );
    }
    let text = shard::write_facts(&facts);
    match &args.output {
        Some(path) => atrest::read::file::write_atomic(path, text.as_bytes())?,
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    errors.sort();
    for e in &errors {
        eprintln!("error: {}", Escaped(e));
    }
    eprintln!(
        "atrest: facts from {summary}: {} Lambda key{}, {} alias{}, {} AWS managed key{}",
        facts.lambda_keys.len(),
        if facts.lambda_keys.len() == 1 {
            ""
        } else {
            "s"
        },
        facts.aliases.len(),
        if facts.aliases.len() == 1 { "" } else { "es" },
        facts.aws_managed_keys.len(),
        if facts.aws_managed_keys.len() == 1 {
            ""
        } else {
            "s"
        },
    );
    Ok(ExitCode::from(if errors.is_empty() { 0 } else { 2 }))
}

/// Triage, render and write the report; the exit code. With `--format jsonl` the results are
/// written as they are, for `atrest merge` to triage.
fn finish(
    args: &ReportArgs,
    prepared: &Prepared,
    mut result: ScanResult,
    shards: Option<shard::Shards>,
) -> Result<ExitCode, String> {
    let root = &prepared.root;
    let policies = &prepared.policies;
    let targets = args.targets()?;
    for out in targets.iter().filter_map(|t| t.file.as_ref()) {
        // Writing the report over a template would destroy what was scanned.
        let shown = scan::display_path(out, root);
        let logs = result
            .trail
            .iter()
            .flat_map(|t| t.files.iter().map(|f| &f.0));
        // And over the settings or the baseline the report was decided with.
        let same = |p: &Path| std::fs::canonicalize(root.join(p)).ok();
        let settings = [
            args.baseline.as_deref(),
            prepared
                .config
                .as_ref()
                .map(|c| Path::new(c.shown.as_str())),
        ];
        let settings = settings.into_iter().flatten().filter_map(same);
        if result
            .scanned
            .iter()
            .map(|(p, _)| p)
            .chain(logs)
            .any(|p| *p == shown)
            || same(out).is_some_and(|o| settings.into_iter().any(|s| s == o))
        {
            return Err(format!(
                "--output {shown}: one of the inputs; not overwritten"
            ));
        }
    }
    if args.jsonl() {
        let rendered = shard::write(&result, &policies.rules, shards.as_ref());
        write_report(targets[0].file.as_deref(), &rendered)?;
        for e in &result.errors {
            eprintln!("error: {}", Escaped(e));
        }
        // Findings decide the exit code of the merge, not of a shard.
        return Ok(ExitCode::from(if result.errors.is_empty() { 0 } else { 2 }));
    }
    let notices = triage_findings(args, prepared, &mut result)?;
    let report = Report {
        result: &result,
        rules: &policies.rules,
        unknown: prepared.settings.unknown,
        notices: &notices,
        category: args.sarif_category.as_deref(),
        config: prepared.config.as_ref().map(|c| c.shown.as_str()),
        fail_on: Some(match prepared.settings.fail_on {
            FailOn::Low => "low",
            FailOn::Medium => "medium",
            FailOn::High => "high",
            FailOn::Critical => "critical",
            FailOn::None => "none",
        }),
    };
    // Which file's settings apply: a stray one would change the scan without a word.
    if let Some(c) = &prepared.config
        && !args.quiet
    {
        eprintln!("atrest: settings from {}", Escaped(&c.shown));
    }
    let mut sarif_cut = None;
    let mut markdown_cut = None;
    for target in &targets {
        let color = match args.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                target.file.is_none()
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let rendered = match target.format {
            Format::Text => report::text::render(
                &report,
                report::text::Style {
                    color,
                    quiet: args.quiet,
                    show_suppressed: args.show_suppressed,
                    verbose: args.verbose,
                },
            ),
            Format::Json => report::json::render(&report),
            Format::Sarif => {
                let sarif = report::sarif::render(&report, root);
                sarif_cut = sarif_cut.or(report::sarif::truncation_notice(&sarif));
                sarif
            }
            Format::Junit => report::junit::render(&report),
            Format::Html => report::html::render(&report),
            Format::Markdown => {
                let markdown = report::markdown::render(&report);
                markdown_cut = markdown_cut
                    .or(report::markdown::truncation_notice(&markdown).map(str::to_owned));
                markdown
            }
            Format::Jsonl => unreachable!("written above"),
        };
        write_report(target.file.as_deref(), &rendered)?;
    }
    // Errors are in the report; repeat them on stderr when the report is not text on screen.
    if args.to_stdout() != Some(Format::Text) {
        for e in &result.errors {
            eprintln!("error: {}", Escaped(e));
        }
        for n in &notices {
            eprintln!("warning: {}", Escaped(n));
        }
        // A SARIF cut to GitHub's limits says so inside; a CI log should say so too.
        if let Some(text) = sarif_cut {
            eprintln!("warning: {}", Escaped(&text));
        }
        if let Some(text) = markdown_cut {
            eprintln!("warning: {}", Escaped(&text));
        }
        if !args.quiet && targets.iter().any(|t| t.format == Format::Text) {
            eprintln!("{}", report::text::summary(&report));
        }
    }
    if !result.errors.is_empty() {
        return Ok(ExitCode::from(2));
    }
    let threshold = match prepared.settings.fail_on {
        FailOn::None => None,
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Critical => Some(Severity::Critical),
    };
    let failed = matches!((threshold, report.worst()), (Some(t), Some(w)) if w >= t);
    Ok(ExitCode::from(if failed { 1 } else { 0 }))
}

fn write_report(file: Option<&Path>, rendered: &str) -> Result<(), String> {
    match file {
        Some(path) => atrest::read::file::write_atomic(path, rendered.as_bytes()),
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`atrest scan | head`) is not an error worth a message.
            let _ = out.write_all(rendered.as_bytes());
            Ok(())
        }
    }
}

/// Suppressions, `--diff-base` and the baseline, in that order. With `--write-baseline`, the
/// findings still open after the suppressions become the baseline.
fn triage_findings(
    args: &ReportArgs,
    prepared: &Prepared,
    result: &mut ScanResult,
) -> Result<Vec<triage::Notice>, String> {
    let (config, policies, root) = (
        prepared.config.as_ref(),
        &prepared.policies,
        prepared.root.as_path(),
    );
    let changed: Option<BTreeSet<String>> = args
        .diff_base
        .as_deref()
        .map(|rev| triage::git::changed_files(rev, root))
        .transpose()?;
    let baseline = args
        .baseline
        .as_deref()
        .map(|p| triage::baseline::Baseline::load(p, root))
        .transpose()?;
    let mut external: Vec<Directive> = config.map(|c| c.ignore().to_vec()).unwrap_or_default();
    external.extend(args.skip_rules.iter().map(|a| skip_rule_directive(a)));
    let mut notices = triage::apply(
        result,
        &policies.rules,
        root,
        triage::Triage {
            external,
            baseline: baseline.as_ref(),
            changed: changed.as_ref(),
            report_unused: args.report_unused_suppressions,
            today: Date::today(),
            limits: limits(args),
            catalogue: prepared.catalogue.clone(),
        },
    );
    if let Some(path) = &args.write_baseline {
        let written = triage::baseline::write(path, result, &policies.rules, root)?;
        let baseline = triage::baseline::Baseline::load(path, root)?;
        baseline.apply(result, &policies.rules, root);
        eprintln!(
            "atrest: wrote {written} finding{} to the baseline {}",
            if written == 1 { "" } else { "s" },
            Escaped(scan::display_path(path, root))
        );
    }
    notices.sort_by(|a, b| (&a.place, a.kind).cmp(&(&b.place, b.kind)));
    Ok(notices)
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_collect(args: CollectArgs) -> Result<ExitCode, String> {
    let report = collect::collect(&args.aws.options(args.output_dir.clone(), !args.quiet))?;
    for e in &report.errors {
        eprintln!("error: {}", Escaped(e));
    }
    if !args.quiet {
        eprintln!("{}", collect_summary(&report, &args.output_dir));
    }
    Ok(ExitCode::from(if report.errors.is_empty() { 0 } else { 2 }))
}

fn collect_summary(report: &CollectReport, dir: &std::path::Path) -> String {
    let failed = match report.errors.len() {
        0 => String::new(),
        1 => ", 1 failed".into(),
        n => format!(", {n} failed"),
    };
    format!(
        "Wrote {} files from {} calls{failed} into {}; scan them with `atrest scan {}`.",
        report.files,
        report.calls,
        dir.display(),
        dir.display()
    )
}

fn run_rules(args: RulesArgs) -> Result<ExitCode, String> {
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
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(ExitCode::from(if errors.is_empty() { 0 } else { 2 }))
}

fn run_model(paths: Vec<PathBuf>, tf_vars: Vec<PathBuf>) -> Result<ExitCode, String> {
    let loaded = scan::load(&ScanOptions {
        tf_vars,
        ..ScanOptions::of(paths)
    });
    // One entry per evaluation unit: a template, a Terraform root module or plan, or all
    // deployed-state inputs together.
    let models: Vec<serde_json::Value> = loaded
        .units
        .iter()
        .map(|unit| {
            serde_json::json!({
                "file": unit.files.first().map(|f| f.to_string()),
                "files": unit.files.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                "kind": unit.kind.name(),
                "model": unit.inventory,
            })
        })
        .collect();
    let text = atrest::escape::to_json(&models, true);
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    for e in &loaded.notes {
        eprintln!("note: {}", Escaped(e));
    }
    for e in &loaded.errors {
        eprintln!("error: {}", Escaped(e));
    }
    Ok(ExitCode::from(if loaded.errors.is_empty() { 0 } else { 2 }))
}

fn run_test(args: TestArgs) -> Result<ExitCode, String> {
    let (sources, mut errors) = testing::sources(!args.no_builtin, &args.paths);
    let mut run = testing::run(&sources, args.coverage);
    errors.append(&mut run.errors);
    run.errors = errors;
    let text = testing::render(&run);
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if run.results.is_empty() && run.errors.is_empty() {
        eprintln!("atrest: no tests found (rules named test_* in *_test.rego files)");
    }
    Ok(ExitCode::from(if !run.errors.is_empty() {
        2
    } else if run.failed() > 0 {
        1
    } else {
        0
    }))
}

fn run_policy_new(
    name: &str,
    dir: &Path,
    id: Option<String>,
    severity: SeverityArg,
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
        println!("created {}", p.display());
    }
    println!(
        "next: edit the rule, then `atrest test {}` and `atrest scan --policy {} .`",
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
