//! `atrest merge`: the parts of a sharded scan joined into one report.

use super::report_args::{ReportArgs, finish, prepare};
use crate::scan::{self, InputError};
use crate::shard;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Results of `atrest scan --format jsonl` (shards of one scan, or earlier merges)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn run(args: MergeArgs, out: &mut dyn std::io::Write) -> Result<ExitCode, String> {
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
    finish(&args.report, &prepared, result, cover.shards, out)
}
