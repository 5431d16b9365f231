//! Template against deployed state. A function a template declares with a literal
//! `FunctionName` and the deployed state (AWS API input) shows under that name are paired (a
//! CloudFormation or SAM function without one, with the deployed function whose
//! `aws:cloudformation:logical-id` tag names it), and
//! for each key both sides set, the model records whether they name the same key. The pairs
//! are [`Deployment`] objects in the deployed state's inventory, so ATR-L011 is an ordinary
//! policy over one inventory and never sees a file format.

use super::api::DeployedKeys;
use super::keys::{KeyRef, KeyState};
use super::{Deployment, Function, Inventory, KeyPair, Loc, Origin, TemplateFunction, Tri};

/// The steps across units once the deployed state is modelled: a template's literal key that
/// the deployed state describes is what it says it is ([`DeployedKeys::settle`]), and the
/// template's functions are paired with the deployed ones ([`correlate`]).
pub fn join_deployed(
    deployed: &mut Inventory,
    keys: &DeployedKeys,
    mut templates: Vec<&mut Inventory>,
) {
    for t in templates.iter_mut() {
        keys.settle(t);
    }
    let templates: Vec<&Inventory> = templates.into_iter().map(|t| &*t).collect();
    correlate(deployed, &templates);
}

/// Adds to `deployed` a [`Deployment`] for every function of `templates` it also describes.
pub fn correlate(deployed: &mut Inventory, templates: &[&Inventory]) {
    let mut pairs = Vec::new();
    for template in templates {
        for t in &template.functions {
            // A literal name; else (no `FunctionName`, or one made from the stack's name) the
            // logical id CloudFormation tags the deployed function with.
            let literal = t.name.as_deref().filter(|n| !n.contains("${"));
            let cloudformation = matches!(t.origin.source, "cloudformation" | "sam" | "serverless");
            for d in deployed.functions.iter().filter(|d| {
                // Versions and aliases (`name:3`) are not the function itself.
                let unqualified = d.name.as_deref() == Some(d.origin.logical_id.as_str());
                unqualified
                    && match literal {
                        Some(name) => d.name.as_deref() == Some(name),
                        None => {
                            cloudformation
                                && d.stack_logical_id.as_deref()
                                    == Some(t.origin.logical_id.as_str())
                        }
                    }
            }) {
                pairs.push(pair(t, d, deployed));
            }
        }
    }
    deployed.deployments.extend(pairs);
}

fn pair(t: &Function, d: &Function, deployed: &Inventory) -> Deployment {
    let file = t
        .origin
        .declared_at()
        .map(|l| l.file.to_string())
        .unwrap_or_default();
    let mut keys = vec![compare("kms_key", t, &t.kms_key, &d.kms_key, deployed)];
    if d.code_kms_key.state != KeyState::Unknown {
        keys.push(compare(
            "code_kms_key",
            t,
            &t.code_kms_key,
            &d.code_kms_key,
            deployed,
        ));
    }
    if let (Some(td), Some(dd)) = (&t.durable, &d.durable) {
        keys.push(compare(
            "durable.kms_key",
            t,
            &td.kms_key,
            &dd.kms_key,
            deployed,
        ));
    }
    // The template's side of each key, so a finding can point at both (`template.<key>`).
    let mut locations = d.origin.locations.clone();
    for k in &keys {
        if let Some(at) = t
            .origin
            .locate(&k.property)
            .or_else(|| t.origin.declared_at())
        {
            locations.insert(format!("template.{}", k.property), at.clone());
        }
    }
    Deployment {
        origin: Origin {
            id: format!("deployment:{}<-{file}#{}", d.origin.id, t.origin.logical_id),
            source: d.origin.source,
            logical_id: d.origin.logical_id.clone(),
            resource_type: d.origin.resource_type.clone(),
            locations,
            via: None,
        },
        function: d.origin.id.clone(),
        template: TemplateFunction {
            source: t.origin.source,
            logical_id: t.origin.logical_id.clone(),
            file,
        },
        keys,
    }
}

fn compare(
    property: &str,
    t: &Function,
    template: &KeyRef,
    deployed: &KeyRef,
    inv: &Inventory,
) -> KeyPair {
    let at = t
        .origin
        .locate(property)
        .or_else(|| t.origin.declared_at())
        .map(position)
        .unwrap_or_default();
    KeyPair {
        property: property.to_owned(),
        template: template.clone(),
        template_at: at,
        deployed: deployed.clone(),
        same: same_key(template, deployed, inv),
    }
}

fn position(l: &Loc) -> String {
    format!("{}:{}:{}", l.file, l.span.start.line, l.span.start.col)
}

/// Whether two key references name the same key. Absent and AWS managed keys are all "a key
/// AWS controls" and count as the same.
fn same_key(a: &KeyRef, b: &KeyRef, inv: &Inventory) -> Tri {
    use KeyState::*;
    match (a.state, b.state) {
        (Unknown, _) | (_, Unknown) => Tri::Unknown,
        (CustomerManaged, CustomerManaged) => match (key_id(a, inv), key_id(b, inv)) {
            (Some(x), Some(y)) => Tri::from(x == y),
            _ => Tri::Unknown,
        },
        (CustomerManaged, _) | (_, CustomerManaged) => Tri::No,
        _ => Tri::Yes,
    }
}

/// The key id a reference names, where the text or the deployed aliases tell it; a key
/// declared in a template (no physical id yet) has none.
fn key_id(r: &KeyRef, inv: &Inventory) -> Option<String> {
    // A deployed reference's `key` is the described key's ARN; a template's is a logical id.
    let arn = r.key.as_deref().filter(|k| k.contains(":key/"));
    let text = arn.or(r.value.as_deref())?;
    if let Some((_, id)) = text.rsplit_once(":key/") {
        return Some(id.to_owned());
    }
    if text.starts_with("alias/") || text.contains(":alias/") {
        let name = text.rsplit_once(':').map_or(text, |(_, n)| n);
        let target = inv
            .kms_aliases
            .iter()
            .find(|a| a.name.as_deref() == Some(name))?
            .target_key
            .as_deref()?;
        return Some(
            target
                .rsplit_once(":key/")
                .map_or(target, |(_, id)| id)
                .to_owned(),
        );
    }
    // A bare key id (no ARN parts, no unresolved `${...}`).
    (!text.contains(':') && !text.contains('$')).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KmsAlias;

    fn literal(text: &str) -> KeyRef {
        KeyRef::from_literal(text, vec!["KmsKeyArn".into()])
    }

    #[test]
    fn keys_are_compared_by_key_id() {
        let mut inv = Inventory::default();
        inv.kms_aliases.push(KmsAlias {
            origin: Origin {
                id: "a".into(),
                source: "aws-api",
                logical_id: "alias/orders".into(),
                resource_type: "AWS::KMS::Alias".into(),
                locations: Default::default(),
                via: None,
            },
            name: Some("alias/orders".into()),
            target_key: Some("arn:aws:kms:eu-west-1:1:key/k1".into()),
        });
        let deployed = literal("arn:aws:kms:eu-west-1:1:key/k1");
        let cases = [
            (
                literal("arn:${AWS::Partition}:kms:${AWS::Region}:1:key/k1"),
                Tri::Yes,
            ),
            (literal("alias/orders"), Tri::Yes),
            (literal("k1"), Tri::Yes),
            (literal("arn:aws:kms:eu-west-1:1:key/k2"), Tri::No),
            (literal("alias/aws/lambda"), Tri::No),
            (KeyRef::absent(vec!["KmsKeyArn".into()]), Tri::No),
            (literal("alias/unknown"), Tri::Unknown),
            (KeyRef::unknown(vec!["KmsKeyArn".into()]), Tri::Unknown),
        ];
        for (template, want) in cases {
            assert_eq!(same_key(&template, &deployed, &inv), want, "{template:?}");
        }
        let absent = KeyRef::absent(vec![]);
        assert_eq!(
            same_key(&absent, &literal("alias/aws/lambda"), &inv),
            Tri::Yes
        );
    }
}
