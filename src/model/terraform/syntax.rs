//! Blocks written as arguments. In native syntax a nested block is `environment { ... }`;
//! `environment = { ... }` is an argument Terraform rejects ("An argument named "environment"
//! is not expected here"). Read as nothing, it would hide the data the block holds, so each
//! is a problem at its line (and the model still reads it, as JSON syntax would).

use super::Problem;
use crate::model::FileId;
use crate::read::hcl::{Block, Body};

/// The nested blocks, by resource type and the path of blocks above; from the AWS provider's
/// resource schemas.
fn nested_blocks(ty: &str, path: &[&str]) -> &'static [&'static str] {
    match (ty, path) {
        ("aws_lambda_function", []) => &[
            "capacity_provider_config",
            "dead_letter_config",
            "durable_config",
            "environment",
            "ephemeral_storage",
            "file_system_config",
            "image_config",
            "logging_config",
            "snap_start",
            "tenancy_config",
            "timeouts",
            "tracing_config",
            "vpc_config",
        ],
        ("aws_lambda_event_source_mapping", []) => &[
            "amazon_managed_kafka_event_source_config",
            "destination_config",
            "document_db_event_source_config",
            "filter_criteria",
            "metrics_config",
            "provisioned_poller_config",
            "scaling_config",
            "self_managed_event_source",
            "self_managed_kafka_event_source_config",
            "source_access_configuration",
        ],
        ("aws_lambda_event_source_mapping", ["filter_criteria"]) => &["filter"],
        ("aws_lambda_event_source_mapping", ["destination_config"]) => &["on_failure"],
        ("aws_lambda_function_event_invoke_config", []) => &["destination_config"],
        ("aws_lambda_function_event_invoke_config", ["destination_config"]) => {
            &["on_failure", "on_success"]
        }
        ("data.aws_iam_policy_document", []) => &["statement"],
        ("data.aws_iam_policy_document", ["statement"]) => {
            &["condition", "not_principals", "principals"]
        }
        _ => &[],
    }
}

/// Problems for the blocks of a resource or data source written as arguments.
pub(super) fn argument_blocks(file: &FileId, block: &Block, problems: &mut Vec<Problem>) {
    let ty = match (block.kind.as_str(), block.labels.first()) {
        ("resource", Some(ty)) => ty.clone(),
        ("data", Some(ty)) => format!("data.{ty}"),
        _ => return,
    };
    let mut path = Vec::new();
    walk(file, &ty, &block.body, &mut path, problems);
}

fn walk<'b>(
    file: &FileId,
    ty: &str,
    body: &'b Body,
    path: &mut Vec<&'b str>,
    problems: &mut Vec<Problem>,
) {
    if body.json {
        return;
    }
    for &name in nested_blocks(ty, path) {
        if let Some(a) = body.attr(name) {
            problems.push(Problem::at(file, Some(a.name_span), format!(
                    "{name} is a block: write `{name} {{ ... }}`, not `{name} = ...` (Terraform rejects this argument syntax)"
                )));
        }
        // Its own blocks, written directly or as the content of a `dynamic` block.
        let bodies = body.blocks.iter().filter_map(|b| {
            if b.kind == name && b.labels.is_empty() {
                Some(&b.body)
            } else if b.kind == "dynamic" && b.labels.first().map(String::as_str) == Some(name) {
                b.body.blocks_of("content").next().map(|c| &c.body)
            } else {
                None
            }
        });
        for inner in bodies {
            path.push(name);
            walk(file, ty, inner, path, problems);
            path.pop();
        }
    }
}
