//! atrest: checks that AWS Lambda data at rest is encrypted under customer managed KMS keys.
//!
//! Data flows one way: [`read`] (detect and parse, keeping positions) -> [`model`] (one resource
//! model per AWS concept) -> [`engine`] (Rego policies in regorus) -> [`report`] (text, JSON,
//! SARIF). [`scan`] wires the stages together.

pub mod engine;
pub mod model;
pub mod read;
pub mod report;
pub mod scan;
pub mod trail;
