//! `atrest facts`: what the rules need from all the logs, the first phase of a sharded scan.

use super::scan::TrailArgs;
use super::{files_to_scan, load_config, paths_to_scan, use_jobs};
use crate::escape::Escaped;
use crate::scan::{self, InputError, LogSelection, ScanOptions};
use crate::shard::{self, Shard};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct FactsArgs {
    /// Files, directories or s3://bucket/prefix URLs whose CloudTrail logs to read (default: .,
    /// or with --files-from only those)
    #[arg(conflicts_with = "merge")]
    pub paths: Vec<PathBuf>,
    /// Also read the paths listed in FILE, one per line (`-`: standard input)
    #[arg(long, value_name = "FILE", conflicts_with = "merge")]
    pub files_from: Option<PathBuf>,
    /// Leave out what matches GLOB, as `exclude` in .atrest.yaml does, from the current directory
    /// (a pattern without `/` matches at any depth) (repeatable)
    #[arg(long, value_name = "GLOB", value_parser = crate::config::glob, conflicts_with = "merge")]
    pub exclude: Vec<globset::GlobMatcher>,
    /// Read only the logs whose path hashes to shard I of N (as `scan --shard`)
    #[arg(long, value_name = "I/N", conflicts_with = "merge")]
    pub shard: Option<Shard>,
    /// Join facts files instead of reading logs
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub merge: Vec<PathBuf>,
    /// Write the facts to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Settings file, for its path excludes (default: as `scan` finds it)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Worker threads (default: one per core)
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print the logs the paths hold, one per line, instead of reading them: what a sharded
    /// scan splits between its tasks (local files after the excludes and the CloudTrail
    /// selection; S3 objects as listed with the same pruning, not fetched)
    #[arg(long, conflicts_with = "merge")]
    pub list: bool,
    #[command(flatten)]
    pub s3: S3Args,
    #[command(flatten)]
    pub trail: TrailArgs,
}

/// How to reach S3 for s3:// paths, as `scan` does.
#[derive(clap::Args)]
pub struct S3Args {
    /// The region of the bucket of s3:// paths (default: the profile's or AWS_REGION)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile of the AWS config files, for s3:// paths (default: the default credential
    /// chain)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send the S3 calls to this endpoint instead of AWS (an emulator such as moto)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl S3Args {
    fn access(&self) -> crate::read::s3::Access {
        crate::read::s3::Access {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            ..Default::default()
        }
    }

    fn given(&self) -> bool {
        self.region.is_some() || self.profile.is_some() || self.endpoint_url.is_some()
    }
}

pub fn run(args: FactsArgs, out: &mut dyn Write) -> Result<ExitCode, String> {
    use_jobs(args.jobs)?;
    let root = scan::scan_root();
    let mut facts = crate::trail::Facts::default();
    let mut errors: Vec<InputError> = Vec::new();
    let mut notes: Vec<InputError> = Vec::new();
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
        let (urls, paths, url_errors) = scan::split_s3(paths);
        errors.extend(url_errors);
        if urls.is_empty() && args.s3.given() {
            return Err("--region, --profile and --endpoint-url need an s3:// path".into());
        }
        let (mut files, walk_errors) =
            files_to_scan(&paths, &paths, (config.as_ref(), &args.exclude), &root);
        errors.extend(walk_errors);
        let filter = args.trail.filter();
        if !filter.is_empty() {
            files.retain(|f| scan::keeps_local(&filter, &root.join(f)));
        }
        let remote = scan::s3_logs(&ScanOptions {
            shard: args.shard,
            logs: LogSelection {
                s3: urls,
                access: args.s3.access(),
                filter,
            },
            ..ScanOptions::of(Vec::new())
        });
        errors.extend(remote.errors);
        notes = remote.notes;
        if args.list {
            let mut listed: Vec<String> = files
                .iter()
                .map(|f| scan::display_path(f, &root))
                .filter(|shown| args.shard.is_none_or(|s| s.owns(shown)))
                .chain(remote.logs.iter().map(|l| l.shown.to_string()))
                .collect();
            listed.sort();
            listed.dedup();
            summary = format!(
                "{} log file{} listed",
                listed.len(),
                if listed.len() == 1 { "" } else { "s" }
            );
            let mut text = listed.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            return finish(&args.output, &text, out, &errors, &notes, &summary);
        }
        let (mut logs, broken) = scan::logs_of(&files);
        errors.extend(broken);
        if let Some(s) = args.shard {
            logs.retain(|l| s.owns(&l.shown));
        }
        logs.extend(remote.logs);
        logs.sort_by(|a, b| a.shown.cmp(&b.shown));
        let (learned, events, log_errors) = crate::trail::learn_facts(&logs, scan::MAX_EVENT_BYTES);
        facts = learned;
        errors.extend(log_errors);
        summary = format!(
            "{events} events in {} log file{}",
            logs.len(),
            if logs.len() == 1 { "" } else { "s" }
        );
    }
    let text = shard::write_facts(&facts);
    let summary = format!(
        "facts from {summary}: {} Lambda key{}, {} alias{}, {} AWS managed key{}",
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
    finish(&args.output, &text, out, &errors, &notes, &summary)
}

/// Writes `text` (to `output` or `out`), then the errors, notes and summary to standard error.
fn finish(
    output: &Option<PathBuf>,
    text: &str,
    out: &mut dyn Write,
    errors: &[InputError],
    notes: &[InputError],
    summary: &str,
) -> Result<ExitCode, String> {
    match output {
        Some(path) => crate::read::file::write_atomic(path, text.as_bytes())?,
        None => {
            let _ = out.write_all(text.as_bytes());
        }
    }
    let mut errors = errors.to_vec();
    errors.sort();
    for e in &errors {
        eprintln!("error: {}", Escaped(e));
    }
    for n in notes {
        eprintln!("note: {}", Escaped(n));
    }
    eprintln!("atrest: {summary}");
    Ok(super::exit_code(!errors.is_empty(), false))
}
