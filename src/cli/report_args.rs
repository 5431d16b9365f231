//! What decides and renders a report, shared by `scan` and `merge`: the settings, the rules,
//! triage, the rendering and the exit code.

use super::load_config;
use super::outputs::{self, Format};
use crate::config::Config;
use crate::engine::{PolicyOptions, PolicySet, Severity};
use crate::escape::Escaped;
use crate::read::Limits;
use crate::report::{self, Report, UnknownMode};
use crate::scan::{self, InputError, ScanResult};
use crate::shard;
use crate::triage::{self, Date, Directive, Suppression, SuppressionKind, Target, Via};
use clap::ValueEnum;
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `--unknown`: the report's [`UnknownMode`], as the command line and `.atrest.yaml` name it
/// (the library knows nothing of clap).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Unknown {
    /// Drop them.
    Pass,
    /// Report them as notes; they do not count for `--fail-on`.
    Warn,
    /// Report and count them like failures.
    Fail,
}

impl From<Unknown> for UnknownMode {
    fn from(u: Unknown) -> Self {
        match u {
            Unknown::Pass => UnknownMode::Pass,
            Unknown::Warn => UnknownMode::Warn,
            Unknown::Fail => UnknownMode::Fail,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// What decides and renders the report: shared by `scan` and `merge`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Report format: text (default), json, sarif, junit, or jsonl (the results before
    /// suppressions, for `atrest merge`). FORMAT=FILE writes that report to FILE; repeatable, so
    /// one run writes several reports: `-f sarif=atrest.sarif -f text`
    #[arg(long, short, value_name = "FORMAT[=FILE]", value_parser = outputs::parse)]
    pub format: Vec<outputs::FormatArg>,
    /// Write the report (the one --format without a file) to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding has at least this severity [default: low]
    #[arg(long, value_enum, visible_alias = "severity")]
    pub fail_on: Option<FailOn>,
    /// What to do with findings that cannot be decided statically [default: warn]
    #[arg(long, value_enum)]
    pub unknown: Option<Unknown>,
    /// Settings file (default: .atrest.yaml in the current directory or a parent, up to the
    /// repository's top)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory (or file) of extra Rego policies, added to the built-in ones (repeatable)
    #[arg(long, value_name = "DIR")]
    pub policy: Vec<PathBuf>,
    /// Do not load the built-in policies
    #[arg(long)]
    pub no_builtin: bool,
    /// Run only this rule (repeatable)
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Suppress this rule's findings, optionally saying why: ID or ID=REASON (repeatable)
    #[arg(long = "skip-rule", value_name = "ID[=REASON]")]
    pub skip_rules: Vec<String>,
    /// Also show suppressed findings in the text report
    #[arg(long)]
    pub show_suppressed: bool,
    /// Also list the files that were not read as inputs, each with the reason (text report;
    /// the JSON report always lists them)
    #[arg(long, short)]
    pub verbose: bool,
    /// Warn about suppressions and baseline entries that match no finding
    #[arg(long)]
    pub report_unused_suppressions: bool,
    /// Report only findings that are not in this baseline
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Write the open findings to FILE as a baseline (and report none of them)
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Report only findings in files changed since this git revision
    #[arg(long, value_name = "REV")]
    pub diff_base: Option<String>,
    /// SARIF analysis category (automationDetails.id), e.g. the workflow or stack name
    #[arg(long, value_name = "NAME")]
    pub sarif_category: Option<String>,
    /// Print only findings and errors
    #[arg(long, short)]
    pub quiet: bool,
    /// Colour the text output
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
    /// Refuse templates nested deeper than this (maps and lists)
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Refuse templates larger than this many bytes
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_template_bytes)]
    pub max_file_size: u64,
    /// Also read files under PATH, outside the scanned tree (through symbolic links, Terraform
    /// module sources, paths in .atrest.yaml, paths in merged parts) (repeatable)
    #[arg(long, value_name = "PATH")]
    pub allow_outside: Vec<PathBuf>,
}

impl ReportArgs {
    pub fn targets(&self) -> Result<Vec<outputs::Target>, String> {
        outputs::targets(&self.format, self.output.as_deref())
    }

    pub fn to_stdout(&self) -> Option<Format> {
        outputs::to_stdout(&self.format, self.output.as_deref())
    }

    pub fn jsonl(&self) -> bool {
        self.format.iter().any(|f| f.format == Format::Jsonl)
    }

    /// The files the reports go to.
    pub fn files(&self) -> Result<Vec<PathBuf>, String> {
        Ok(self.targets()?.into_iter().filter_map(|t| t.file).collect())
    }
}

/// The settings of one scan: the command line over `.atrest.yaml` over the defaults.
pub struct Settings {
    pub fail_on: FailOn,
    pub unknown: UnknownMode,
    pub policy: PolicyOptions,
}

pub fn settings(
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
        (None, Some(s)) => Unknown::from_str(s, true)?,
        (None, None) => Unknown::Warn,
    }
    .into();
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

pub fn limits(args: &ReportArgs) -> Limits {
    Limits {
        max_depth: args.max_depth,
        max_template_bytes: args.max_file_size,
    }
}

/// `--skip-rule ID[=REASON]` as a suppression of every finding of the rule.
pub fn skip_rule_directive(arg: &str) -> Directive {
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

/// What a scan or a merge decides before reading anything: settings and the rules.
pub struct Prepared {
    pub root: PathBuf,
    pub config: Option<Config>,
    pub settings: Settings,
    pub policies: PolicySet,
    pub policy_errors: Vec<InputError>,
    /// Every rule id, also of rules `--rule`/`--skip-rule` leave out.
    pub catalogue: Vec<String>,
}

pub fn prepare(
    args: &ReportArgs,
    timeout: Option<std::time::Duration>,
) -> Result<Prepared, String> {
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
    // A typo in --rule, --skip-rule or the config would silently run the wrong rules: ids are
    // checked against every rule. Unless rules are left out, that is the set just loaded, and
    // the policies are not compiled a second time.
    let known = if settings.policy.only.is_empty() && settings.policy.skip.is_empty() {
        policies.rules.clone()
    } else {
        PolicySet::load(&PolicyOptions {
            only: Vec::new(),
            skip: Vec::new(),
            ..settings.policy.clone()
        })
        .0
        .rules
    };
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
        if !known.iter().any(|r| r.id.eq_ignore_ascii_case(id)) {
            return Err(format!("{flag} {id}: no such rule (see `atrest rules`)"));
        }
    }
    if let Some(c) = &config {
        c.check_rule_ids(&known)?;
        c.override_severities(&mut policies.rules);
    }
    Ok(Prepared {
        root,
        config,
        settings,
        policies,
        policy_errors: config_errors.into_iter().chain(policy_errors).collect(),
        catalogue: known.iter().map(|r| r.id.clone()).collect(),
    })
}

/// Triage, render and write the report; the exit code. With `--format jsonl` the results are
/// written as they are, for `atrest merge` to triage.
pub fn finish(
    args: &ReportArgs,
    prepared: &Prepared,
    mut result: ScanResult,
    shards: Option<shard::Shards>,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let root = &prepared.root;
    let policies = &prepared.policies;
    let targets = args.targets()?;
    for file in targets.iter().filter_map(|t| t.file.as_ref()) {
        // Writing the report over a template would destroy what was scanned.
        let shown = scan::display_path(file, root);
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
            || same(file).is_some_and(|o| settings.into_iter().any(|s| s == o))
        {
            return Err(format!(
                "--output {shown}: one of the inputs; not overwritten"
            ));
        }
    }
    if args.jsonl() {
        let rendered = shard::write(&result, &policies.rules, shards.as_ref());
        write_report(targets[0].file.as_deref(), &rendered, out)?;
        for e in &result.errors {
            eprintln!("error: {}", Escaped(e));
        }
        // Findings decide the exit code of the merge, not of a shard.
        return Ok(super::exit_code(!result.errors.is_empty(), false));
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
        write_report(target.file.as_deref(), &rendered, out)?;
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
    let threshold = match prepared.settings.fail_on {
        FailOn::None => None,
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Critical => Some(Severity::Critical),
    };
    let failed = matches!((threshold, report.worst()), (Some(t), Some(w)) if w >= t);
    Ok(super::exit_code(!result.errors.is_empty(), failed))
}

pub fn write_report(
    file: Option<&Path>,
    rendered: &str,
    out: &mut dyn Write,
) -> Result<(), String> {
    match file {
        Some(path) => crate::read::file::write_atomic(path, rendered.as_bytes()),
        None => {
            // A closed pipe (`atrest scan | head`) is not an error worth a message.
            let _ = out.write_all(rendered.as_bytes());
            Ok(())
        }
    }
}

/// Suppressions, `--diff-base` and the baseline, in that order. With `--write-baseline`, the
/// findings still open after the suppressions become the baseline.
pub fn triage_findings(
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
