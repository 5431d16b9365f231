//! atrest: checks that AWS Lambda data at rest is encrypted under customer managed KMS keys.
//!
//! Data flows one way: [`read`] (detect and parse, keeping positions) -> [`model`] (one resource
//! model per AWS concept) -> [`engine`] (Rego policies in regorus) -> [`report`] (text, JSON,
//! SARIF, JUnit). [`scan`] wires the stages together; [`shard`] splits a scan across machines
//! and merges the parts. Between the engine and the report,
//! [`triage`] applies suppressions, baselines and `--diff-base`, as set on the command line and
//! in [`config`].

pub mod cli;
pub mod collect;
pub mod config;
pub mod engine;
pub mod escape;
pub mod finding;
pub mod fnv;
pub mod git;
pub mod isolate;
pub mod model;
pub mod paths;
pub mod problem;
pub mod read;
pub mod report;
pub mod scan;
pub mod shard;
pub mod trail;
pub mod triage;
