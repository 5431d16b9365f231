//! `atrest collect`: the deployed state of an account, fetched with read-only calls and written
//! as the AWS CLI prints it, one file per call, so `atrest scan DIR` reads it like output a
//! reviewer saved by hand.
//!
//! The AWS SDK is behind the `aws` cargo feature (it is heavy to build). Without it, the options
//! and file names below still exist and [`collect`] says how to get the feature.

#[cfg(feature = "aws")]
mod sdk;

use std::fmt;
use std::path::PathBuf;

/// The services whose state is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    Lambda,
    Kms,
    Logs,
    Xray,
}

impl Service {
    pub const ALL: [Service; 4] = [Service::Lambda, Service::Kms, Service::Logs, Service::Xray];
}

#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Regions to collect; empty: the default region of the profile or environment.
    pub regions: Vec<String>,
    pub profile: Option<String>,
    /// Send every call here instead of the AWS endpoint (an emulator such as moto).
    pub endpoint_url: Option<String>,
    pub services: Vec<Service>,
    /// The directory the files go to, one subdirectory per region.
    pub out_dir: PathBuf,
    /// Show a progress bar on standard error.
    pub progress: bool,
}

/// A call that failed (after the SDK's retries).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallError {
    pub region: String,
    /// `lambda ListFunctions`, `kms GetKeyPolicy 1234abcd-...`.
    pub call: String,
    pub message: String,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.region, self.call, self.message)
    }
}

#[derive(Debug, Default)]
pub struct CollectReport {
    /// The region directories written.
    pub dirs: Vec<PathBuf>,
    pub calls: usize,
    pub files: usize,
    pub errors: Vec<CallError>,
}

/// Fetches the deployed state and writes it under `opts.out_dir`. An error that stops
/// everything (no region, no credentials, an existing output directory) is `Err`; failed calls
/// are listed in the report and the others still run.
pub fn collect(opts: &CollectOptions) -> Result<CollectReport, String> {
    #[cfg(feature = "aws")]
    {
        sdk::collect(opts)
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = opts;
        Err("this atrest was built without the `aws` feature, which `collect` and `scan --aws` need: build it with `cargo install --path . --features aws`".into())
    }
}

/// A file name part made of a name from the account (a function name, a key id).
pub fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
