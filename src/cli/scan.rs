//! `atrest scan`.

use super::collect::AwsArgs;
use super::progress;
use super::report_args::{Format, ReportArgs, finish, limits, prepare};
use super::{files_to_scan, paths_to_scan, use_jobs};
use crate::collect;
use crate::scan::{self, InputError, ScanOptions};
use crate::shard::{self, Shard};
use crate::triage;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan (directories are walked, honouring .gitignore; default: .,
    /// or with --aws or --files-from only those)
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Terraform variable file (`*.tfvars`, `*.tfvars.json`) for every root module, read after
    /// `terraform.tfvars` and `*.auto.tfvars` as Terraform does (repeatable; later files win)
    #[arg(long = "tf-vars", visible_alias = "var-file", value_name = "FILE")]
    pub tf_vars: Vec<PathBuf>,
    /// What to check CloudTrail logs against, not reported on: templates, Terraform or API
    /// output (files or directories), or the model's JSON (`atrest model` output) (repeatable)
    #[arg(long, value_name = "PATH")]
    pub inventory: Vec<PathBuf>,
    /// Also scan the paths listed in FILE, one per line (`-`: standard input)
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// Read only the CloudTrail logs whose path hashes to shard I of N (1-based); shard 1 also
    /// reports the other inputs, which every shard reads to correlate its logs with
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Facts learned from all the logs by `atrest facts` (repeatable; joined)
    #[arg(long, value_name = "FILE")]
    pub facts: Vec<PathBuf>,
    /// Worker threads (default: one per core)
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
    /// Stop a rule that runs longer than this on one input (milliseconds; 0 = no limit)
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub policy_timeout: u64,
    /// Also collect the deployed state from AWS (as `atrest collect`) and scan it
    #[arg(long)]
    pub aws: bool,
    #[command(flatten)]
    pub aws_args: AwsArgs,
    /// With --aws: keep the collected files in DIR (default: a temporary directory)
    #[arg(long, value_name = "DIR", requires = "aws")]
    pub aws_dir: Option<PathBuf>,
}

pub fn run(args: ScanArgs, out: &mut dyn std::io::Write) -> Result<ExitCode, String> {
    use_jobs(args.jobs)?;
    let timeout =
        (args.policy_timeout > 0).then(|| std::time::Duration::from_millis(args.policy_timeout));
    let prepared = prepare(&args.report, timeout)?;
    let root = prepared.root.clone();
    let mut paths = paths_to_scan(&args.paths, args.files_from.as_deref(), args.aws)?;
    let mut facts: Option<crate::trail::Facts> = None;
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
        let progress = !args.report.quiet && args.report.output.is_none();
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
    } else if !args.aws_args.regions.is_empty()
        || args.aws_args.profile.is_some()
        || args.aws_args.endpoint_url.is_some()
    {
        return Err("--region, --profile and --endpoint-url need --aws".into());
    }
    let roots: Vec<PathBuf> = paths
        .iter()
        .chain(&args.report.allow_outside)
        .cloned()
        .collect();
    let (files, mut walk_errors) = files_to_scan(&paths, &roots, prepared.config.as_ref(), &root);
    let show_progress = !args.report.quiet
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none()
        && !(matches!(args.report.format, Format::Sarif | Format::Jsonl)
            && args.report.output.is_none());
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
    let code = finish(&args.report, &prepared, result, shards, out);
    drop(temporary);
    code
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
