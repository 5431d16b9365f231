//! Terragrunt configuration (`terragrunt.hcl`): Terragrunt runs the module its
//! `terraform { source = ... }` names with `inputs` as the module's variables. That is what a
//! module call is, so the file is read as a root module with one: `module "terragrunt"` with
//! the source and one argument per input (its `locals` kept, for the inputs that use them).
//! The call is then followed like any other: a local source is evaluated with the inputs, a
//! remote one (`tfr:///`, `git::`) is a note unless it is on disk.
//!
//! What Terragrunt adds from elsewhere is not merged: an `include`d configuration's inputs and
//! `dependency` outputs. Each `include` is a note, so findings that an included input would
//! change are not taken for the whole story.

use crate::read::Span;
use crate::read::hcl::{Attribute, Block, Body, ExprKind, ObjectKey};

/// The name Terragrunt gives the configuration it reads in each directory.
pub(super) const FILE_NAME: &str = "terragrunt.hcl";

/// The name of the module call the file becomes.
pub(super) const CALL: &str = "terragrunt";

/// The root module a `terragrunt.hcl` stands for, and what it leaves out: (where, why).
pub(super) fn translate(body: &Body) -> (Body, Vec<(Span, String)>) {
    let mut notes = Vec::new();
    let mut out = Body::default();
    // Terragrunt's locals are written as Terraform's, and the inputs may use them.
    out.blocks.extend(body.blocks_of("locals").cloned());
    for inc in body.blocks_of("include") {
        let name = inc
            .labels
            .first()
            .map_or(String::new(), |l| format!(" \"{l}\""));
        notes.push((
            inc.span,
            format!(
                "include{name}: the included Terragrunt configuration is not merged; inputs it gives are not known here"
            ),
        ));
    }
    let source = body
        .blocks_of("terraform")
        .find_map(|t| t.body.attr("source"));
    let Some(source) = source else {
        if let Some(inputs) = body.attr("inputs") {
            notes.push((
                inputs.name_span,
                "inputs of a Terragrunt configuration without terraform.source are not applied to the Terraform files of its directory".into(),
            ));
        }
        return (out, notes);
    };
    let mut call = Body::default();
    call.attributes.push(source.clone());
    match body.attr("inputs").map(|a| (a, &a.expr.kind)) {
        Some((_, ExprKind::Object(items))) => {
            for item in items {
                let name = match &item.key {
                    ObjectKey::Name(n) => n.clone(),
                    ObjectKey::Expr(e) => match e.as_str() {
                        Some(n) => n.to_owned(),
                        None => {
                            notes.push((
                                item.key_span,
                                "an input whose name is computed is not applied".into(),
                            ));
                            continue;
                        }
                    },
                };
                call.attributes.push(Attribute {
                    name,
                    name_span: item.key_span,
                    expr: item.value.clone(),
                });
            }
        }
        Some((a, _)) => notes.push((
            a.name_span,
            "inputs computed by an expression are not applied: the module is evaluated with its defaults".into(),
        )),
        None => {}
    }
    out.blocks.push(Block {
        kind: "module".into(),
        labels: vec![CALL.into()],
        span: source.name_span,
        body: call,
    });
    (out, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Limits, hcl};

    fn translated(text: &str) -> (Body, Vec<String>) {
        let (body, notes) = translate(&hcl::parse(text, &Limits::default()).unwrap());
        (body, notes.into_iter().map(|(_, n)| n).collect())
    }

    #[test]
    fn inputs_become_the_arguments_of_one_module_call() {
        let (body, notes) = translated(concat!(
            "locals {\n  stage = \"prod\"\n}\n",
            "terraform {\n  source = \"../modules//fn\"\n}\n",
            "dependency \"vpc\" {\n  config_path = \"../vpc\"\n}\n",
            "inputs = {\n  name = \"fn-${local.stage}\"\n  \"quoted\" = 1\n  (local.stage) = 2\n}\n",
        ));
        assert_eq!(notes, ["an input whose name is computed is not applied"]);
        let call = body.blocks_of("module").next().unwrap();
        assert_eq!(call.labels, [CALL]);
        let names: Vec<&str> = call
            .body
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["source", "name", "quoted"]);
        assert_eq!(body.blocks_of("locals").count(), 1);
        assert_eq!(body.blocks_of("dependency").count(), 0);
    }

    #[test]
    fn what_is_not_applied_is_said() {
        let (body, notes) = translated("inputs = {\n  a = 1\n}\n");
        assert!(body.blocks.is_empty());
        assert!(notes[0].contains("without terraform.source"), "{notes:?}");
        let (_, notes) =
            translated("terraform {\n  source = \"./m\"\n}\ninputs = merge(local.a, { b = 1 })\n");
        assert!(
            notes[0].starts_with("inputs computed by an expression"),
            "{notes:?}"
        );
    }
}
