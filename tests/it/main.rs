//! The integration tests, one binary (as ripgrep does): each test binary would link the library
//! and regorus again, and linking twenty of them was most of a clean build.

mod common;

mod action;
#[cfg(feature = "aws")]
mod aws_moto;
mod bounded;
mod cfn_lang;
mod cli;
mod cli_calls;
mod cli_habits;
mod cloudtrail;
mod cloudtrail_shapes;
mod completions;
mod corpus;
mod corpus_api;
mod corpus_cloudtrail;
mod corpus_terraform;
mod dist;
mod docs;
mod examples;
mod hostile_boundary;
mod hostile_escaping;
mod hostile_inputs;
mod hostile_scaling;
mod isolation;
mod json_report;
mod layers;
mod model_schema;
mod nothing_hidden;
mod parity;
mod parity_terraform;
mod policies;
mod positions;
mod pre_commit;
mod rego_vm;
mod report_snapshots;
mod review_report;
mod rules;
#[cfg(feature = "aws")]
mod s3_moto;
#[cfg(feature = "aws")]
mod s3_resume;
mod serverless;
mod shard;
mod terraform_real;
mod workflow;
mod yaml_diff;
