//! The integration tests, one binary (as ripgrep does): each test binary would link the library
//! and regorus again, and linking twenty of them was most of a clean build.

mod common;

mod action;
#[cfg(feature = "aws")]
mod aws_moto;
mod cli;
mod cloudtrail;
mod corpus;
mod corpus_api;
mod corpus_cloudtrail;
mod corpus_terraform;
mod examples;
mod hostile_inputs;
mod hostile_scaling;
mod model_schema;
mod parity;
mod parity_terraform;
mod policies;
mod positions;
mod pre_commit;
mod rego_vm;
mod rules;
mod shard;
mod workflow;
