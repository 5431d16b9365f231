//! `atrest facts`: what the rules need from all the logs, the first phase of a sharded scan.

use super::{files_to_scan, load_config, paths_to_scan, use_jobs};
use crate::escape::Escaped;
use crate::scan::{self, InputError};
use crate::shard::{self, Shard};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct FactsArgs {
    /// Files or directories whose CloudTrail logs to read (default: ., or with --files-from
    /// only those)
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
}

pub fn run(args: FactsArgs, out: &mut dyn Write) -> Result<ExitCode, String> {
    use_jobs(args.jobs)?;
    let root = scan::scan_root();
    let mut facts = crate::trail::Facts::default();
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
    match &args.output {
        Some(path) => crate::read::file::write_atomic(path, text.as_bytes())?,
        None => {
            let _ = out.write_all(text.as_bytes());
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
    Ok(super::exit_code(!errors.is_empty(), false))
}
