//! The `atrest` command line: one module per command, and what they share. `main.rs` parses
//! and dispatches.

pub mod collect;
pub mod facts;
pub mod manual;
pub mod merge;
pub mod model;
pub mod outputs;
pub mod policy;
pub mod progress;
pub mod report_args;
pub mod rules;
pub mod scan;
pub mod test;

use crate::config::{self, Config};
use crate::scan::InputError;
use crate::shard;
use clap::{Parser, Subcommand};
use collect::CollectArgs;
use facts::FactsArgs;
use merge::MergeArgs;
use policy::PolicyAction;
use rules::RulesArgs;
use scan::ScanArgs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use test::TestArgs;

pub const EXAMPLES: &str = "\
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

pub const SHARD_EXAMPLES: &str = "\
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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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

/// The files to scan: the walk of `paths`, less what the config and `--exclude` leave out.
/// `roots` is the scanned tree (see [`ScanOptions::roots`]).
pub fn files_to_scan(
    paths: &[PathBuf],
    roots: &[PathBuf],
    (config, exclude): (Option<&Config>, &[globset::GlobMatcher]),
    root: &Path,
) -> (Vec<PathBuf>, Vec<InputError>) {
    let boundary =
        crate::scan::Boundary::new(root, roots.iter().map(PathBuf::as_path)).with_repositories();
    let (mut files, errors) = crate::scan::collect_files(paths, &boundary);
    if let Some(c) = config {
        files.retain(|f| !c.excluded(&crate::scan::display_path(f, root), root));
    }
    if !exclude.is_empty() {
        files.retain(|f| {
            let shown = crate::scan::display_path(f, root);
            !exclude.iter().any(|g| config::path_matches(g, &shown))
        });
    }
    (files, errors)
}

pub fn use_jobs(jobs: Option<usize>) -> Result<(), String> {
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
pub fn load_config(
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
        let top = crate::read::file::repository_top(root).unwrap_or_else(|| root.to_path_buf());
        if let Err(why) = crate::scan::Boundary::new(root, [top.as_path()]).check(p) {
            let path = crate::scan::display_path(p, root);
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

/// The exit code of every command: 2 when an input (a file, a policy, a call) failed, else 1
/// when the check failed (a finding at `--fail-on`, a failing Rego test), else 0.
pub fn exit_code(input_failed: bool, check_failed: bool) -> ExitCode {
    ExitCode::from(match (input_failed, check_failed) {
        (true, _) => 2,
        (false, true) => 1,
        (false, false) => 0,
    })
}

/// The paths to scan: those given, those listed in `--files-from`, else `.`.
pub fn paths_to_scan(
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
