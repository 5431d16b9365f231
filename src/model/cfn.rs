//! CloudFormation and SAM templates into the model.
//!
//! Intrinsic functions are resolved as far as the template alone allows: `Ref`/`Fn::GetAtt` to
//! resources and parameter defaults, `Fn::Sub`/`Fn::Join` with known parts, `Fn::FindInMap`,
//! `Fn::Select`, and both branches of `Fn::If`. Pseudo parameters stay symbols (`${AWS::Region}`).
//! Anything else is unknown, never guessed.

use super::keys::{KeyRef, KeyState, is_aws_managed_alias};
use super::policy;
use super::{
    Durable, EnvVar, Environment, EventSourceMapping, FileId, FilterCriteria, Function, Inventory,
    KmsAlias, KmsKey, Loc, Locations, LogGroup, Origin, PolicyStatement, RoleRef, Tri, ValueSource,
};
use crate::read::{Entry, Node, ReadError, Span, Value};
use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};

/// Event types SAM turns into an `AWS::Lambda::EventSourceMapping`, with the property that
/// names the event source.
const PULL_EVENTS: &[(&str, &str)] = &[
    ("SQS", "Queue"),
    ("Kinesis", "Stream"),
    ("DynamoDB", "Stream"),
    ("MSK", "Stream"),
    ("SelfManagedKafka", ""),
    ("MQ", "Broker"),
    ("DocumentDB", "Cluster"),
];

const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Resolution is bounded: templates can be cyclic (alias -> alias) or absurdly nested.
const MAX_RESOLVE_DEPTH: usize = 16;

mod key_refs;
mod lang_ext;
mod resolve;
mod resources;

use resolve::*;

/// The model of a template, after the language extensions (`Fn::ForEach`) are applied.
pub fn inventory(file: &FileId, root: &Node, sam: bool) -> Inventory {
    inventory_and_notes(file, root, sam).inventory
}

/// A template's model with what reading it found: `errors` make the template an input that
/// failed (CloudFormation would refuse it), `notes` name parts atrest cannot see (a macro, a
/// loop over a parameter without a default).
pub struct Modelled {
    pub inventory: Inventory,
    pub errors: Vec<ReadError>,
    pub notes: Vec<ReadError>,
}

pub fn inventory_and_notes(file: &FileId, root: &Node, sam: bool) -> Modelled {
    let expanded = lang_ext::expand(root);
    Modelled {
        inventory: inventory_of(file, &expanded.root, sam),
        errors: expanded.errors,
        notes: expanded.notes,
    }
}

fn inventory_of(file: &FileId, root: &Node, sam: bool) -> Inventory {
    let t = Template::new(file, root, sam);
    let mut inv = Inventory::default();
    for entry in t.resources {
        let Some(ty) = entry.value.get("Type").and_then(Node::as_str) else {
            continue;
        };
        match ty {
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => {
                let serverless = ty == "AWS::Serverless::Function";
                inv.functions.push(t.function(entry, serverless));
                if serverless {
                    inv.event_source_mappings.extend(t.sam_pull_events(entry));
                }
            }
            "AWS::Lambda::EventSourceMapping" => inv
                .event_source_mappings
                .push(t.event_source_mapping(entry)),
            "AWS::KMS::Key" | "AWS::KMS::ReplicaKey" => inv.kms_keys.push(t.kms_key(entry, ty)),
            "AWS::KMS::Alias" => inv.kms_aliases.push(t.kms_alias(entry)),
            "AWS::Logs::LogGroup" => inv.log_groups.push(t.log_group(entry)),
            _ => {}
        }
    }
    inv.link();
    inv
}

struct Template<'a> {
    file: &'a FileId,
    root: &'a Node,
    resources: &'a [Entry],
    /// Logical ID -> resource, so references resolve in constant time in large templates.
    by_id: HashMap<&'a str, &'a Entry>,
    /// Each declared log group's name as resolved, computed once (functions look it up).
    log_group_names: OnceCell<Vec<(&'a str, Resolved)>>,
    /// `Globals.Function` of a SAM template.
    globals: Option<&'a Node>,
    source: &'static str,
}

/// A property found on a resource or, for SAM functions, in `Globals.Function`.
struct Prop<'a> {
    entry: &'a Entry,
    pointer: String,
}

impl<'a> Prop<'a> {
    /// A key inside this property's map value (`Code` -> `Code.SourceKMSKeyArn`).
    fn child(&self, name: &str) -> Option<Prop<'a>> {
        self.entry.value.entry(name).map(|e| Prop {
            entry: e,
            pointer: format!("{}/{}", self.pointer, pointer_escape(name)),
        })
    }
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

impl<'a> Template<'a> {
    fn new(file: &'a FileId, root: &'a Node, sam: bool) -> Self {
        let resources = root.get("Resources").map(Node::entries).unwrap_or(&[]);
        Template {
            file,
            root,
            resources,
            by_id: resources.iter().map(|e| (e.key.as_str(), e)).collect(),
            log_group_names: OnceCell::new(),
            globals: if sam {
                root.get("Globals").and_then(|g| g.get("Function"))
            } else {
                None
            },
            source: if sam { "sam" } else { "cloudformation" },
        }
    }

    fn loc(&self, pointer: &str, span: Span) -> Loc {
        Loc {
            file: self.file.clone(),
            pointer: pointer.to_owned(),
            span,
        }
    }

    /// Records where a property is written, if it is.
    fn note(&self, locations: &mut Locations, path: &str, prop: Option<&Prop>) {
        if let Some(p) = prop {
            locations.insert(path.to_owned(), self.loc(&p.pointer, p.entry.key_span));
        }
    }

    fn resource(&self, logical_id: &str) -> Option<&'a Entry> {
        self.by_id.get(logical_id).copied()
    }

    fn resource_type(&self, logical_id: &str) -> Option<&'a str> {
        self.resource(logical_id)?.value.get("Type")?.as_str()
    }

    fn origin(&self, entry: &Entry, ty: &str) -> Origin {
        let mut locations = Locations::new();
        locations.insert(
            String::new(),
            Loc {
                file: self.file.clone(),
                pointer: format!("/Resources/{}", pointer_escape(&entry.key)),
                span: entry.key_span,
            },
        );
        Origin {
            id: entry.key.clone(),
            source: if ty.starts_with("AWS::Serverless::") {
                "sam"
            } else {
                "cloudformation"
            },
            logical_id: entry.key.clone(),
            resource_type: ty.to_owned(),
            locations,
            via: None,
        }
    }

    /// A property of the resource, else (for SAM functions, `with_globals`) of `Globals.Function`.
    fn prop(&self, entry: &'a Entry, name: &str, with_globals: bool) -> Option<Prop<'a>> {
        let own = entry.value.get("Properties").and_then(|p| p.entry(name));
        if let Some(e) = own {
            return Some(Prop {
                entry: e,
                pointer: format!(
                    "/Resources/{}/Properties/{}",
                    pointer_escape(&entry.key),
                    pointer_escape(name)
                ),
            });
        }
        if with_globals {
            let g = self.globals?.entry(name)?;
            return Some(Prop {
                entry: g,
                pointer: format!("/Globals/Function/{}", pointer_escape(name)),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests;
