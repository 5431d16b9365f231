//! `atrest collect`: the deployed state of an account, and the AWS options `scan --aws` shares.

use crate::collect::{self, CollectOptions, CollectReport};
use crate::escape::Escaped;
use clap::ValueEnum;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Service {
    Lambda,
    Kms,
    Logs,
    Xray,
}

/// Where and how to call AWS (`collect`, `scan --aws`).
#[derive(clap::Args, Clone)]
pub struct AwsArgs {
    /// Region to collect (repeatable; default: the profile's or AWS_REGION)
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Named profile of the AWS config files (default: the default credential chain)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send the calls to this endpoint instead of AWS (an emulator such as moto)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The services to collect, comma-separated
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "lambda,kms,logs,xray"
    )]
    pub services: Vec<Service>,
}

impl AwsArgs {
    pub fn options(&self, out_dir: PathBuf, progress: bool) -> CollectOptions {
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
pub struct CollectArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Directory to write to, one subdirectory per region
    #[arg(long, short, value_name = "DIR", default_value = "aws-state")]
    pub output_dir: PathBuf,
    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: CollectArgs, _out: &mut dyn std::io::Write) -> Result<ExitCode, String> {
    let report = collect::collect(&args.aws.options(args.output_dir.clone(), !args.quiet))?;
    for e in &report.errors {
        eprintln!("error: {}", Escaped(e));
    }
    if !args.quiet {
        eprintln!("{}", collect_summary(&report, &args.output_dir));
    }
    Ok(super::exit_code(!report.errors.is_empty(), false))
}

pub fn collect_summary(report: &CollectReport, dir: &std::path::Path) -> String {
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
