//! What keeps a user's policy from taking the process down or making reports change between
//! runs. regorus 0.14.1 bounds time (`--policy-timeout`, checked between evaluation steps) but
//! not the stack or memory: a function that calls itself overflows the stack and aborts, and
//! `numbers.range(1, 1e9)` asks for gigabytes in one builtin call, which aborts on allocation
//! failure or runs far past the time limit. Its memory budget needs its own allocator (the
//! `allocator-memory-limits` feature replaces the global allocator with mimalloc), and an abort
//! cannot be caught; so the causes are refused instead:
//!
//! - Recursion: Rego forbids it (OPA rejects it at compile time) but regorus detects it only
//!   between rules, not between functions. Function calls are followed in the policies' syntax
//!   trees, and a rule that can reach a cycle is not evaluated, with an error naming the cycle.
//! - Builtins whose result size comes from a number, not from their input (`numbers.range`,
//!   `numbers.range_step`), are replaced by versions that refuse more than `MAX_RANGE`
//!   elements before allocating.
//! - Brackets opened one right after another (`[[[[`, `{{(`) are limited to
//!   `MAX_OPENER_RUN`: regorus's parser first tries each as a comprehension and parses it again
//!   when that fails, so its time triples with each level (20 levels took minutes).
//! - Builtins whose result outgrows their arguments (`sprintf` widths, `replace` chains,
//!   `concat` doubling) are bounded in `sized.rs`.
//! - `rand.intn` is refused: a report must be the same for the same inputs. (`time.now_ns` and
//!   `uuid.rfc4122` are not compiled into this build of regorus: calling them is already an
//!   error naming the rule.)

use regorus::unstable::{Expr, Literal, Module, Query, Rule, RuleHead};
use regorus::{Engine, Value};
use std::collections::{HashMap, HashSet};

/// The most elements a `numbers.range` may make: 16 MB of values, far beyond any real policy.
pub const MAX_RANGE: u64 = 1_000_000;

/// The longest run of brackets opened one right after another that a policy may have. The
/// built-in policies and their tests have at most 2; each level triples parsing time.
pub const MAX_OPENER_RUN: usize = 12;

/// The line of the first run of more than `MAX_OPENER_RUN` opening brackets with nothing but
/// white space between them, outside strings and comments.
pub fn opener_run_too_long(text: &str) -> Option<u32> {
    let (mut line, mut run) = (1u32, 0usize);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '[' | '{' | '(' => {
                run += 1;
                if run > MAX_OPENER_RUN {
                    return Some(line);
                }
            }
            '"' | '`' => {
                run = 0;
                let mut escaped = false;
                for d in chars.by_ref() {
                    match d {
                        '\n' => line += 1,
                        '\\' if c == '"' && !escaped => {
                            escaped = true;
                            continue;
                        }
                        d if d == c && !escaped => break,
                        _ => {}
                    }
                    escaped = false;
                }
            }
            '#' => {
                run = 0;
                if chars.by_ref().any(|d| d == '\n') {
                    line += 1;
                }
            }
            _ => run = 0,
        }
    }
    None
}

/// Adds the bounded and refusing builtins to an engine, before its policies are added.
pub fn register(engine: &mut Engine) -> anyhow::Result<()> {
    engine.add_extension(
        "numbers.range".into(),
        2,
        Box::new(|args: Vec<Value>| range(&args[0], &args[1], None)),
    )?;
    engine.add_extension(
        "numbers.range_step".into(),
        3,
        Box::new(|args: Vec<Value>| range(&args[0], &args[1], Some(&args[2]))),
    )?;
    engine.add_extension(
        "rand.intn".into(),
        2,
        Box::new(|_: Vec<Value>| {
            anyhow::bail!("rand.intn is not allowed: a report must not change between runs")
        }),
    )?;
    super::sized::register(engine)
}

/// `numbers.range(a, b)` and `numbers.range_step(a, b, step)` as OPA defines them (both ends
/// included, counting down when `b < a`; a step must be positive), refusing long ranges.
fn range(a: &Value, b: &Value, step: Option<&Value>) -> anyhow::Result<Value> {
    let int = |v: &Value, what: &str| match v {
        Value::Number(n) if n.is_integer() => n
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("numbers.range: {what} is out of range")),
        _ => anyhow::bail!("numbers.range: {what} must be an integer"),
    };
    let (a, b) = (int(a, "the start")?, int(b, "the end")?);
    let step = match step {
        Some(s) => match int(s, "the step")? {
            s if s > 0 => s,
            _ => anyhow::bail!("numbers.range_step: the step must be a positive integer"),
        },
        None => 1,
    };
    let count = (a.abs_diff(b) / step as u64).saturating_add(1);
    if count > MAX_RANGE {
        anyhow::bail!(
            "numbers.range of {count} elements is over the limit of {MAX_RANGE} (it would \
             exhaust memory)"
        );
    }
    let step = if b < a { -step } else { step };
    let items: Vec<Value> = (0..count as i64)
        .map(|i| Value::from(a + i * step))
        .collect();
    Ok(Value::from(items))
}

/// Rules that can reach a cycle of function calls, by package (`org.example`), with the
/// cycle as written (`data.org.lib.f -> data.org.lib.g -> data.org.lib.f`) and the file and
/// line of its first function.
pub fn recursive_packages(modules: &[regorus::unstable::Ref<Module>]) -> HashMap<String, Cycle> {
    let mut graph = Graph::default();
    for module in modules {
        let package = module.package.refr.span().text().to_owned();
        let imports: Vec<(String, String)> = module
            .imports
            .iter()
            .map(|i| {
                let path = i.refr.span().text().to_owned();
                let alias = match &i.r#as {
                    Some(a) => a.text().to_owned(),
                    None => path.rsplit('.').next().unwrap_or(&path).to_owned(),
                };
                (alias, path)
            })
            .collect();
        let resolve = |name: &str| -> String {
            if name.starts_with("data.") {
                return name.to_owned();
            }
            let first = name.split('.').next().unwrap_or(name);
            match imports.iter().find(|(alias, _)| alias == first) {
                Some((alias, path)) => format!("{path}{}", &name[alias.len()..]),
                None => format!("data.{package}.{name}"),
            }
        };
        let package_node = format!("package {package}");
        for rule in &module.policy {
            let Rule::Spec { head, bodies, .. } = rule.as_ref() else {
                continue;
            };
            let mut calls = Vec::new();
            let node = match head {
                RuleHead::Func {
                    refr, args, assign, ..
                } => {
                    args.iter().for_each(|a| expr_calls(a, &mut calls));
                    if let Some(a) = assign {
                        expr_calls(&a.value, &mut calls);
                    }
                    let name = resolve(refr.span().text());
                    let span = refr.span();
                    graph
                        .at
                        .entry(name.clone())
                        .or_insert_with(|| (span.source.file().clone(), span.line));
                    name
                }
                RuleHead::Compr { assign, .. } => {
                    if let Some(a) = assign {
                        expr_calls(&a.value, &mut calls);
                    }
                    package_node.clone()
                }
                RuleHead::Set { key, .. } => {
                    if let Some(k) = key {
                        expr_calls(k, &mut calls);
                    }
                    package_node.clone()
                }
            };
            for body in bodies {
                if let Some(a) = &body.assign {
                    expr_calls(&a.value, &mut calls);
                }
                query_calls(&body.query, &mut calls);
            }
            let edges = graph.edges.entry(node).or_default();
            edges.extend(calls.into_iter().map(|c| resolve(&c)));
        }
    }
    graph.packages_reaching_cycles()
}

/// A cycle of function calls, as the error names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub path: String,
    pub line: u32,
    pub names: Vec<String>,
}

#[derive(Default)]
struct Graph {
    edges: HashMap<String, HashSet<String>>,
    /// File and line of each function's first definition.
    at: HashMap<String, (String, u32)>,
}

impl Graph {
    /// A path from `from` back to itself, if there is one (breadth-first, so the shortest).
    fn cycle_through(&self, from: &str) -> Option<Vec<String>> {
        let mut came_from: HashMap<&str, &str> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([from]);
        while let Some(n) = queue.pop_front() {
            for next in self.edges.get(n).into_iter().flatten() {
                if next == from {
                    // Walked back from `n`: reversed, it runs from `from` to `n`.
                    let mut path = vec![from.to_owned()];
                    let mut at = n;
                    while at != from {
                        path.push(at.to_owned());
                        at = came_from[at];
                    }
                    path[1..].reverse();
                    path.push(from.to_owned());
                    return Some(path);
                }
                if !came_from.contains_key(next.as_str()) {
                    came_from.insert(next, n);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// Every node reachable from `from`, itself included.
    fn reachable<'a>(&'a self, from: &'a str) -> HashSet<&'a str> {
        let mut seen = HashSet::from([from]);
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            for next in self.edges.get(n).into_iter().flatten() {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen
    }

    fn packages_reaching_cycles(&self) -> HashMap<String, Cycle> {
        let mut cycles: HashMap<&str, Cycle> = HashMap::new();
        let mut functions: Vec<&String> = self.at.keys().collect();
        functions.sort();
        for f in functions {
            if let Some(names) = self.cycle_through(f) {
                let (path, line) = self.at[f.as_str()].clone();
                cycles.insert(f, Cycle { path, line, names });
            }
        }
        let mut out = HashMap::new();
        if cycles.is_empty() {
            return out;
        }
        let mut packages: Vec<&String> = self
            .edges
            .keys()
            .filter(|k| k.starts_with("package "))
            .collect();
        packages.sort();
        for p in packages {
            let mut reached: Vec<&str> = self.reachable(p).into_iter().collect();
            reached.sort();
            if let Some(c) = reached.iter().find_map(|n| cycles.get(n)) {
                out.insert(p["package ".len()..].to_owned(), c.clone());
            }
        }
        out
    }
}

/// The names of the functions called in a query, as written (`f`, `lib.f`, `data.x.f`).
fn query_calls(q: &Query, out: &mut Vec<String>) {
    for stmt in &q.stmts {
        match &stmt.literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn {
                key,
                value,
                collection,
                ..
            } => exprs_calls(key.iter().chain([value, collection]), out),
            Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => expr_calls(expr, out),
            Literal::Every { domain, query, .. } => {
                expr_calls(domain, out);
                query_calls(query, out);
            }
        }
        for w in &stmt.with_mods {
            expr_calls(&w.refr, out);
            expr_calls(&w.r#as, out);
            // `with f as g`: calls of `f` may run `g`.
            out.push(w.r#as.span().text().to_owned());
        }
    }
}

fn expr_calls(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::String { .. }
        | Expr::RawString { .. }
        | Expr::Number { .. }
        | Expr::Bool { .. }
        | Expr::Null { .. }
        | Expr::Var { .. } => {}
        Expr::Array { items, .. } | Expr::Set { items, .. } => {
            items.iter().for_each(|x| expr_calls(x, out))
        }
        Expr::Object { fields, .. } => {
            for (_, k, v) in fields {
                expr_calls(k, out);
                expr_calls(v, out);
            }
        }
        Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
            expr_calls(term, out);
            query_calls(query, out);
        }
        Expr::ObjectCompr {
            key, value, query, ..
        } => {
            expr_calls(key, out);
            expr_calls(value, out);
            query_calls(query, out);
        }
        Expr::Call { fcn, params, .. } => {
            out.push(fcn.span().text().to_owned());
            params.iter().for_each(|x| expr_calls(x, out));
        }
        Expr::UnaryExpr { expr, .. } => expr_calls(expr, out),
        Expr::RefDot { refr, .. } => expr_calls(refr, out),
        Expr::RefBrack { refr, index, .. } => {
            expr_calls(refr, out);
            expr_calls(index, out);
        }
        Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. }
        | Expr::ArithExpr { lhs, rhs, .. }
        | Expr::AssignExpr { lhs, rhs, .. } => {
            expr_calls(lhs, out);
            expr_calls(rhs, out);
        }
        Expr::Membership {
            key,
            value,
            collection,
            ..
        } => exprs_calls(key.iter().chain([value, collection]), out),
    }
}

fn exprs_calls<'a>(
    exprs: impl Iterator<Item = &'a regorus::unstable::Ref<Expr>>,
    out: &mut Vec<String>,
) {
    exprs.for_each(|e| expr_calls(e, out));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycles(policies: &[(&str, &str)]) -> HashMap<String, Cycle> {
        let mut engine = Engine::new();
        for (path, text) in policies {
            engine
                .add_policy(path.to_string(), text.to_string())
                .unwrap();
        }
        recursive_packages(engine.get_modules())
    }

    #[test]
    fn a_cycle_of_functions_is_found_across_packages_and_imports() {
        let lib = "package lib\nimport rego.v1\nf(x) := y if { y := data.lib.g(x) }\ng(x) := y if { y := [f(x)] }\nh(x) := x\n";
        let user = "package org.a\nimport rego.v1\nimport data.lib as l\ndeny contains x if { x := l.f(1) }\n";
        let fine = "package org.b\nimport rego.v1\nimport data.lib\ndeny contains x if { x := lib.h(1) }\n";
        let found = cycles(&[("lib.rego", lib), ("a.rego", user), ("b.rego", fine)]);
        let c = &found["org.a"];
        assert_eq!(c.names, ["data.lib.f", "data.lib.g", "data.lib.f"]);
        assert_eq!((c.path.as_str(), c.line), ("lib.rego", 3));
        assert!(!found.contains_key("org.b"), "{found:?}");
        assert!(
            !found.contains_key("lib"),
            "lib has no rule that calls the cycle"
        );
    }

    #[test]
    fn functions_of_the_same_name_in_other_packages_are_not_a_cycle() {
        let a = "package a\nimport rego.v1\nf(x) := data.b.f(x)\ndeny contains 1 if { f(1) }\n";
        let b = "package b\nimport rego.v1\nf(x) := x\n";
        assert!(cycles(&[("a.rego", a), ("b.rego", b)]).is_empty());
    }

    #[test]
    fn runs_of_opening_brackets_are_limited_outside_strings_and_comments() {
        let run = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert_eq!(opener_run_too_long(&run(MAX_OPENER_RUN)), None);
        let text = format!("package p\nx := {}\n", run(MAX_OPENER_RUN + 1));
        assert_eq!(opener_run_too_long(&text), Some(2));
        // Not a run: elements before each nested list.
        let spread = "[1, ".repeat(40) + &"]".repeat(40);
        assert_eq!(opener_run_too_long(&spread), None);
        let quoted = format!(
            "x := \"\\\"{}\"\n# {}\ny := `{}`",
            run(40),
            run(40),
            run(40)
        );
        assert_eq!(opener_run_too_long(&quoted), None);
        let spaced = format!("x := [ (\n{{ {}", run(MAX_OPENER_RUN - 2));
        assert_eq!(opener_run_too_long(&spaced), Some(2));
    }

    #[test]
    fn ranges_are_bounded_and_follow_opa() {
        let n = |i: i64| Value::from(i);
        let r = range(&n(3), &n(1), None).unwrap();
        assert_eq!(r, Value::from(vec![n(3), n(2), n(1)]));
        let r = range(&n(0), &n(10), Some(&n(4))).unwrap();
        assert_eq!(r, Value::from(vec![n(0), n(4), n(8)]));
        let e = range(&n(1), &n(1_000_000_000), None).unwrap_err();
        assert!(e.to_string().contains("over the limit"), "{e}");
        assert!(range(&n(1), &n(5), Some(&n(0))).is_err());
    }
}
