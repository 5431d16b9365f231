//! A finding's identity: what survives lines moving, and what fingerprints and baselines both
//! match on. Defined here once; the SARIF `partialFingerprints`, the JSON `fingerprint`,
//! `--all-events` and the baseline's entries all derive from [`Identity`].

use super::{FileFinding, Subject};

/// What identifies a finding whatever line it is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity<'a> {
    File(InFile<'a>),
    /// A CloudTrail finding is the same finding whichever log file its first event is in: its
    /// rule and subject.
    Trail {
        rule: &'a str,
        subject: &'a Subject,
    },
}

/// A finding in a file: its rule, the file (as given), the resource and property, and where
/// they apply the other object it is about and how the object was reached (a module called
/// from several roots). Parts that are absent add nothing, so findings without them keep the
/// identity they always had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFile<'a> {
    pub rule: &'a str,
    pub file: &'a str,
    pub resource: &'a str,
    pub property: &'a str,
    pub via: Option<&'a str>,
    pub subject: Option<&'a str>,
}

impl<'a> Identity<'a> {
    /// The identity of `f`, a finding of the rule `rule`, filed under `file`.
    pub fn of(f: &'a FileFinding, rule: &'a str, file: &'a str) -> Self {
        match &f.finding.trail {
            Some(t) => Identity::Trail {
                rule,
                subject: &t.subject,
            },
            None => Identity::File(InFile {
                rule,
                file,
                resource: &f.finding.resource_id,
                property: &f.finding.property,
                via: f.finding.via.as_deref(),
                subject: f.finding.subject.as_deref(),
            }),
        }
    }

    /// The parts a fingerprint hashes, in order.
    pub fn parts(&self) -> Vec<&'a str> {
        match *self {
            Identity::Trail { rule, subject } => subject.identity_parts(rule).to_vec(),
            Identity::File(k) => [k.rule, k.file, k.resource, k.property]
                .into_iter()
                .chain(k.via)
                .chain(k.subject.map(|_| "subject"))
                .chain(k.subject)
                .collect(),
        }
    }

    /// The identity as a hash: FNV-1a ([`crate::fnv`]) of the parts, so the value never changes
    /// with a dependency update.
    pub fn fingerprint(&self) -> String {
        crate::fnv::fingerprint(self.parts())
    }
}
