//! Routing: which CloudTrail rules read an event, decided from its `eventSource` and
//! `eventName` alone. regorus has no rule index and its cost grows with every rule evaluated,
//! so an event meets only the rules that declared it; an event no rule declared is never
//! converted into a Rego value at all.

use super::Rule;
use std::collections::HashMap;
use std::sync::Arc;

/// Looked up once or more per event: a fast hash, randomly seeded.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The routes of every rule, grouped by event source.
#[derive(Debug, Clone, Default)]
pub struct Router {
    sources: FastMap<String, SourceRoutes>,
}

#[derive(Debug, Clone, Default)]
struct SourceRoutes {
    exact: FastMap<String, Vec<usize>>,
    /// `(prefix, rule)` for names written `Prefix*`.
    prefixes: Vec<(String, usize)>,
}

impl Router {
    pub fn new(rules: &[Rule]) -> Self {
        Router::of(rules, |_| true)
    }

    /// The routes of the rules `keep` accepts; rule indexes stay those of `rules`.
    pub fn of(rules: &[Rule], keep: impl Fn(&Rule) -> bool) -> Self {
        let mut sources: FastMap<String, SourceRoutes> = FastMap::default();
        for (index, rule) in rules.iter().enumerate().filter(|(_, r)| keep(r)) {
            for route in &rule.routes {
                let s = sources.entry(route.source.clone()).or_default();
                for name in &route.names {
                    match name.strip_suffix('*') {
                        Some(prefix) => s.prefixes.push((prefix.to_owned(), index)),
                        None => s.exact.entry(name.clone()).or_default().push(index),
                    }
                }
            }
        }
        Router { sources }
    }

    /// Whether any rule reads events of this source (a cheap first filter).
    pub fn reads_source(&self, source: &str) -> bool {
        self.sources.contains_key(source)
    }

    /// The rules (indexes, ascending, once each) that read this event.
    pub fn rules_for(&self, source: &str, name: &str) -> Vec<usize> {
        let Some(s) = self.sources.get(source) else {
            return Vec::new();
        };
        let mut out: Vec<usize> = s.exact.get(name).cloned().unwrap_or_default();
        out.extend(
            s.prefixes
                .iter()
                .filter(|(p, _)| name.starts_with(p.as_str()))
                .map(|(_, r)| *r),
        );
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A worker's memo of [`Router::rules_for`]: a log repeats a few hundred (source, name) pairs
/// millions of times.
pub struct RouteCache {
    memo: FastMap<String, FastMap<String, Arc<[usize]>>>,
    /// Shared answer for the sources no rule reads: most events, so no allocation for them.
    none: Arc<[usize]>,
}

impl Default for RouteCache {
    fn default() -> Self {
        RouteCache {
            memo: FastMap::default(),
            none: Arc::from([]),
        }
    }
}

impl RouteCache {
    pub fn get(&mut self, router: &Router, source: &str, name: &str) -> Arc<[usize]> {
        if !router.reads_source(source) {
            return self.none.clone();
        }
        // Look up without allocating; allocate only the first time a pair is seen.
        if let Some(hit) = self.memo.get(source).and_then(|m| m.get(name)) {
            return hit.clone();
        }
        let rules: Arc<[usize]> = router.rules_for(source, name).into();
        self.memo
            .entry(source.to_owned())
            .or_default()
            .insert(name.to_owned(), rules.clone());
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Route, Severity};

    fn rule(id: &str, routes: Vec<Route>) -> Rule {
        Rule {
            id: id.into(),
            title: String::new(),
            description: String::new(),
            severity: Severity::Low,
            security_severity: "3.0".into(),
            tags: vec![],
            remediation: Default::default(),
            references: vec![],
            package: id.into(),
            path: String::new(),
            builtin: true,
            routes,
            needs_inventory: false,
            reads: None,
            equivalents: vec![],
        }
    }

    #[test]
    fn exact_names_and_prefixes_route_to_their_rules_only() {
        let kms = |names: &[&str]| Route {
            source: "kms.amazonaws.com".into(),
            names: names.iter().map(|s| s.to_string()).collect(),
        };
        let rules = vec![
            rule("iac", vec![]),
            rule("a", vec![kms(&["Decrypt", "GenerateDataKey*"])]),
            rule("b", vec![kms(&["Decrypt"])]),
        ];
        let r = Router::new(&rules);
        assert_eq!(r.rules_for("kms.amazonaws.com", "Decrypt"), vec![1, 2]);
        assert_eq!(
            r.rules_for("kms.amazonaws.com", "GenerateDataKeyWithoutPlaintext"),
            vec![1]
        );
        assert!(r.rules_for("kms.amazonaws.com", "ListKeys").is_empty());
        assert!(r.rules_for("s3.amazonaws.com", "Decrypt").is_empty());
        // A router of some rules keeps the others' indexes.
        let only_b = Router::of(&rules, |r| r.id != "a");
        assert_eq!(only_b.rules_for("kms.amazonaws.com", "Decrypt"), vec![2]);
        assert!(
            only_b
                .rules_for("kms.amazonaws.com", "GenerateDataKey")
                .is_empty()
        );
        let mut cache = RouteCache::default();
        assert_eq!(&*cache.get(&r, "kms.amazonaws.com", "Decrypt"), &[1, 2]);
        assert_eq!(&*cache.get(&r, "kms.amazonaws.com", "Decrypt"), &[1, 2]);
    }
}
