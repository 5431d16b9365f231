//! `atrest scan`.

use super::collect::AwsArgs;
use super::outputs::Format;
use super::progress;
use super::report_args::{ReportArgs, finish, limits, prepare};
use super::{files_to_scan, paths_to_scan, use_jobs};
use crate::collect;
use crate::read::trail_layout::{Day, TrailFilter};
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
    /// Leave out what matches GLOB, as `exclude` in .atrest.yaml does, from the current directory
    /// (a pattern without `/` matches at any depth) (repeatable)
    #[arg(long, value_name = "GLOB", value_parser = crate::config::glob)]
    pub exclude: Vec<globset::GlobMatcher>,
    /// Read only the CloudTrail logs whose path hashes to shard I of N (1-based); shard 1 also
    /// reports the other inputs, which every shard reads to correlate its logs with
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Facts learned from all the logs by `atrest facts` (repeatable; joined)
    #[arg(long, value_name = "FILE")]
    pub facts: Vec<PathBuf>,
    /// Write every event of every CloudTrail finding to FILE as JSON lines (reports show a
    /// bounded sample of each finding's events)
    #[arg(long, value_name = "FILE")]
    pub all_events: Option<PathBuf>,
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
    #[command(flatten)]
    pub trail: TrailArgs,
}

/// Which CloudTrail logs to read, by the folders the trail delivers to (see
/// `read::trail_layout`).
#[derive(clap::Args)]
pub struct TrailArgs {
    /// Read only logs delivered on or after this day (YYYY-MM-DD, or an RFC 3339 time)
    #[arg(long, value_name = "DATE", value_parser = Day::parse)]
    pub since: Option<Day>,
    /// Read only logs delivered up to this day (and the day after, for its last minutes)
    #[arg(long, value_name = "DATE", value_parser = Day::parse)]
    pub until: Option<Day>,
    /// Read only this account's logs (repeatable)
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Read only the logs of this region (repeatable)
    #[arg(long = "trail-region", value_name = "REGION")]
    pub trail_regions: Vec<String>,
}

impl TrailArgs {
    pub fn filter(&self) -> TrailFilter {
        TrailFilter {
            since: self.since,
            until: self.until,
            accounts: self.accounts.clone(),
            regions: self.trail_regions.clone(),
        }
    }
}

pub fn run(args: ScanArgs, out: &mut dyn std::io::Write) -> Result<ExitCode, String> {
    use_jobs(args.jobs)?;
    let timeout =
        (args.policy_timeout > 0).then(|| std::time::Duration::from_millis(args.policy_timeout));
    let prepared = prepare(&args.report, timeout)?;
    let root = prepared.root.clone();
    let paths = paths_to_scan(&args.paths, args.files_from.as_deref(), args.aws)?;
    let (s3_urls, mut paths, mut s3_errors) = scan::split_s3(paths);
    let logs = scan::LogSelection {
        access: crate::read::s3::Access {
            profile: args.aws_args.profile.clone(),
            region: args.aws_args.regions.first().cloned(),
            endpoint_url: args.aws_args.endpoint_url.clone(),
            ..Default::default()
        },
        s3: s3_urls,
        filter: args.trail.filter(),
    };
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
                identities: args.report.jsonl(),
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
    // `.yaml`, most of which are no templates) may well be no input. `--files-from` entries
    // count as named on the command line; an empty list (nothing changed) names nothing.
    let only_dirs =
        !args.aws && args.shard.is_none() && !paths.is_empty() && paths.iter().all(|p| p.is_dir());
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
