//! Terraform's built-in functions, as far as they can be evaluated without running anything.
//! Functions that read files, call the network or depend on time are unknown.

use super::V;
use super::budget::MAX_STRING_BYTES;
use std::collections::{HashMap, HashSet};

fn unknown(args: &[V]) -> Option<V> {
    args.iter()
        .find_map(|a| match a {
            V::Err(_) => a.unknown_of(),
            _ => None,
        })
        .or_else(|| args.iter().find_map(V::unknown_of))
}

fn err(msg: &str) -> V {
    V::Err(msg.to_owned())
}

fn to_list(v: &V) -> Option<Vec<V>> {
    match v {
        V::List(items) => Some(items.clone()),
        _ => None,
    }
}

fn to_str(v: &V) -> Option<String> {
    v.text()
}

/// The first of equal items, in order. Values are compared by their debug text in a hash set
/// (a scan of every earlier item was quadratic; `V` holds floats, so it is not `Hash`).
fn dedup(mut items: Vec<V>) -> Vec<V> {
    let mut seen = HashSet::new();
    items.retain(|x| seen.insert(format!("{x:?}")));
    items
}

/// Map entries where a later key replaces an earlier one and moves to its place, as a map
/// built one key at a time does, in linear time.
pub(super) fn last_wins(items: Vec<(String, V)>) -> Vec<(String, V)> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, (k, _)) in items.iter().enumerate() {
        last.insert(k, i);
    }
    if last.len() == items.len() {
        return items;
    }
    let keep: Vec<bool> = (0..items.len())
        .map(|i| last[items[i].0.as_str()] == i)
        .collect();
    items
        .into_iter()
        .zip(keep)
        .filter_map(|(item, k)| k.then_some(item))
        .collect()
}

/// The unknown value for a string longer than one call may make.
fn too_long(name: &str, bytes: usize) -> V {
    V::Unknown(format!(
        "{name}() would make a string of {bytes} bytes, {TOO_LARGE}"
    ))
}

const TOO_LARGE: &str = "over the evaluation limit";

/// Whether a call's result is the refusal of `too_long`.
pub(super) fn too_large(v: &V) -> bool {
    matches!(v, V::Unknown(w) if w.ends_with(TOO_LARGE))
}

/// JSON text of a known value, keys in order, as `jsonencode` writes it.
fn json_text(v: &V) -> Option<String> {
    v.to_json().map(|j| j.to_string())
}

fn format(fmt: &str, args: &[V]) -> V {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        // Flags and width are dropped; the verb decides.
        let mut verb = None;
        for n in chars.by_ref() {
            if n.is_ascii_alphabetic() {
                verb = Some(n);
                break;
            }
        }
        let Some(arg) = it.next() else {
            return err("format: too few arguments");
        };
        match (verb, arg) {
            (Some('q'), V::Str(s)) => out.push_str(&format!("{s:?}")),
            (Some('v' | 's' | 'd' | 'f' | 'g'), a) => match a.text().or_else(|| json_text(a)) {
                Some(t) => out.push_str(&t),
                None => return a.unknown_of().unwrap_or(err("format: bad argument")),
            },
            (_, a) => return a.unknown_of().unwrap_or(err("format: unsupported verb")),
        }
    }
    V::Str(out)
}

/// `title()`: the first letter of each word in upper case.
fn title(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut start = true;
    for c in t.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

pub(super) fn call(name: &str, args: Vec<V>) -> V {
    // Functions that look into unknown values without failing.
    match name {
        "coalesce" => {
            for a in &args {
                match a {
                    V::Null => continue,
                    V::Str(s) if s.is_empty() => continue,
                    V::Unknown(_) | V::Choice(_) | V::Err(_) => {
                        return unknown(&args).unwrap_or_else(|| a.clone());
                    }
                    other => return other.clone(),
                }
            }
            return err("coalesce: no non-null argument");
        }
        "merge" => {
            let mut out: Vec<(String, V)> = Vec::new();
            for a in &args {
                match a {
                    V::Null => {}
                    V::Obj(items) => out.extend(items.iter().cloned()),
                    other => return other.unknown_of().unwrap_or(err("merge: not a map")),
                }
            }
            return V::Obj(last_wins(out));
        }
        "length" => {
            return match args.first() {
                Some(V::List(l)) => V::Num(l.len() as f64),
                Some(V::Obj(o)) => V::Num(o.len() as f64),
                Some(V::Str(s)) => V::Num(s.chars().count() as f64),
                Some(other) => other.unknown_of().unwrap_or(err("length: bad argument")),
                None => err("length: no argument"),
            };
        }
        "keys" | "values" => {
            return match args.first() {
                Some(V::Obj(o)) => {
                    let mut items = o.clone();
                    items.sort_by(|a, b| a.0.cmp(&b.0));
                    V::List(
                        items
                            .into_iter()
                            .map(|(k, v)| if name == "keys" { V::Str(k) } else { v })
                            .collect(),
                    )
                }
                Some(other) => other.unknown_of().unwrap_or(err("keys: not a map")),
                None => err("keys: no argument"),
            };
        }
        "lookup" => {
            return match args.as_slice() {
                [m @ V::Obj(_), k] | [m @ V::Obj(_), k, _] => {
                    let Some(key) = to_str(k) else {
                        return k.unknown_of().unwrap_or(err("lookup: bad key"));
                    };
                    match (m.get(&key), args.get(2)) {
                        (Some(v), _) => v.clone(),
                        (None, Some(d)) => d.clone(),
                        (None, None) => err("lookup: no such key"),
                    }
                }
                [m, ..] => m.unknown_of().unwrap_or(err("lookup: not a map")),
                [] => err("lookup: no argument"),
            };
        }
        "concat" => {
            let mut out = Vec::new();
            for a in &args {
                match a {
                    V::List(l) => out.extend(l.iter().cloned()),
                    other => return other.unknown_of().unwrap_or(err("concat: not a list")),
                }
            }
            return V::List(out);
        }
        "tolist" | "toset" | "tomap" | "tostring" | "sensitive" | "nonsensitive" => {
            return match (name, args.into_iter().next()) {
                ("toset", Some(V::List(l))) => V::List(dedup(l)),
                ("tostring", Some(v @ (V::Num(_) | V::Bool(_)))) => {
                    v.text().map(V::Str).unwrap_or(v)
                }
                (_, Some(v)) => v,
                (_, None) => err("no argument"),
            };
        }
        "one" => {
            return match args.first() {
                Some(V::List(l)) if l.len() <= 1 => l.first().cloned().unwrap_or(V::Null),
                Some(other) => other
                    .unknown_of()
                    .unwrap_or(err("one: more than one element")),
                None => err("one: no argument"),
            };
        }
        "element" => {
            return match args.as_slice() {
                [V::List(l), V::Num(i)] if *i >= 0.0 => match l.len() {
                    0 => err("element: empty list"),
                    n => l.get((*i as usize) % n).cloned().unwrap_or(err("element")),
                },
                [V::List(_), V::Num(_)] => err("element: negative index"),
                [a, b] => unknown(&[a.clone(), b.clone()]).unwrap_or(err("element: bad arguments")),
                _ => err("element: two arguments"),
            };
        }
        "flatten" => {
            fn flat(v: &V, out: &mut Vec<V>) -> Result<(), V> {
                match v {
                    V::List(l) => {
                        for x in l {
                            flat(x, out)?;
                        }
                        Ok(())
                    }
                    other => match other.unknown_of() {
                        Some(u) if !matches!(other, V::Ref(_) | V::Partial { .. }) => Err(u),
                        _ => {
                            out.push(other.clone());
                            Ok(())
                        }
                    },
                }
            }
            let mut out = Vec::new();
            return match args.first().map(|a| flat(a, &mut out)) {
                Some(Ok(())) => V::List(out),
                Some(Err(u)) => u,
                None => err("flatten: no argument"),
            };
        }
        "compact" => {
            return match args.first() {
                Some(V::List(l)) => V::List(
                    l.iter()
                        .filter(|x| {
                            !matches!(x, V::Null) && !matches!(x, V::Str(s) if s.is_empty())
                        })
                        .cloned()
                        .collect(),
                ),
                Some(other) => other.unknown_of().unwrap_or(err("compact: not a list")),
                None => err("compact: no argument"),
            };
        }
        "jsonencode" => {
            return match args.first() {
                Some(v) => match json_text(v) {
                    Some(t) => V::Str(t),
                    None => v
                        .unknown_of()
                        .unwrap_or(V::Unknown("jsonencode of a value that is not known".into())),
                },
                None => err("jsonencode: no argument"),
            };
        }
        _ => {}
    }
    if let Some(u) = unknown(&args) {
        return u;
    }
    let s = |i: usize| args.get(i).and_then(to_str);
    match name {
        "jsondecode" => match s(0).and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        {
            Some(j) => V::from_json(&j),
            None => err("jsondecode: invalid JSON"),
        },
        "format" => match args.split_first() {
            Some((V::Str(f), rest)) => format(f, rest),
            _ => err("format: bad arguments"),
        },
        "join" => match (s(0), args.get(1).and_then(to_list)) {
            (Some(sep), Some(items)) => {
                let parts: Option<Vec<String>> = items.iter().map(to_str).collect();
                let Some(parts) = parts else {
                    return err("join: not strings");
                };
                let bytes = parts.iter().map(String::len).sum::<usize>()
                    + sep.len().saturating_mul(parts.len().saturating_sub(1));
                if bytes > MAX_STRING_BYTES {
                    return too_long(name, bytes);
                }
                V::Str(parts.join(&sep))
            }
            _ => err("join: bad arguments"),
        },
        "split" => match (s(0), s(1)) {
            (Some(sep), Some(text)) => {
                V::List(text.split(sep.as_str()).map(|x| V::Str(x.into())).collect())
            }
            _ => err("split: bad arguments"),
        },
        "lower" => s(0)
            .map(|t| V::Str(t.to_lowercase()))
            .unwrap_or(err("lower")),
        "upper" => s(0)
            .map(|t| V::Str(t.to_uppercase()))
            .unwrap_or(err("upper")),
        "trimspace" => s(0)
            .map(|t| V::Str(t.trim().into()))
            .unwrap_or(err("trimspace")),
        "trimprefix" => match (s(0), s(1)) {
            (Some(t), Some(p)) => V::Str(t.strip_prefix(p.as_str()).unwrap_or(&t).into()),
            _ => err("trimprefix"),
        },
        "trimsuffix" => match (s(0), s(1)) {
            (Some(t), Some(p)) => V::Str(t.strip_suffix(p.as_str()).unwrap_or(&t).into()),
            _ => err("trimsuffix"),
        },
        "startswith" => match (s(0), s(1)) {
            (Some(t), Some(p)) => V::Bool(t.starts_with(&p)),
            _ => err("startswith"),
        },
        "endswith" => match (s(0), s(1)) {
            (Some(t), Some(p)) => V::Bool(t.ends_with(&p)),
            _ => err("endswith"),
        },
        "replace" => match (s(0), s(1), s(2)) {
            // `/.../` is a regular expression (RE2 syntax, which the regex crate follows), and
            // `$1` in the replacement names a group, in both.
            (Some(t), Some(from), Some(to))
                if from.len() > 1 && from.starts_with('/') && from.ends_with('/') =>
            {
                let pattern = from.strip_prefix('/').and_then(|f| f.strip_suffix('/'));
                match pattern.map(regex::Regex::new) {
                    Some(Ok(re)) => V::Str(re.replace_all(&t, to.as_str()).into_owned()),
                    // Perhaps valid RE2 that this build of the regex crate lacks (Unicode classes).
                    _ => V::Unknown("a regular expression that is not evaluated here".into()),
                }
            }
            (Some(t), Some(from), Some(to)) => {
                // Checked before building: each level of a `replace` chain can multiply a
                // string's length.
                let times = if from.is_empty() {
                    t.chars().count() + 1
                } else {
                    t.matches(from.as_str()).count()
                };
                let bytes =
                    (t.len() - times * from.len()).saturating_add(times.saturating_mul(to.len()));
                if bytes > MAX_STRING_BYTES {
                    return too_long(name, bytes);
                }
                V::Str(t.replace(&from, &to))
            }
            _ => err("replace"),
        },
        "title" => s(0).map(|t| V::Str(title(&t))).unwrap_or(err("title")),
        "setintersection" | "setunion" | "setsubtract" => {
            let Some(lists) = args.iter().map(to_list).collect::<Option<Vec<_>>>() else {
                return err("set function: not lists");
            };
            let mut sets = lists.into_iter().map(dedup);
            let first = sets.next().unwrap_or_default();
            V::List(sets.fold(first, |acc, next| match name {
                "setunion" => dedup(acc.into_iter().chain(next).collect()),
                "setsubtract" => acc.into_iter().filter(|x| !next.contains(x)).collect(),
                _ => acc.into_iter().filter(|x| next.contains(x)).collect(),
            }))
        }
        "contains" => match (args.first().and_then(to_list), args.get(1)) {
            // Found where an element is known equal; not known where some element may be.
            (Some(l), Some(x)) => {
                let answers: Vec<Option<bool>> = l.iter().map(|e| super::equal(e, x)).collect();
                if answers.contains(&Some(true)) {
                    V::Bool(true)
                } else if answers.iter().all(Option::is_some) {
                    V::Bool(false)
                } else {
                    V::Unknown("contains() over values that are not known".into())
                }
            }
            _ => err("contains"),
        },
        "distinct" => args
            .first()
            .and_then(to_list)
            .map(|l| V::List(dedup(l)))
            .unwrap_or(err("distinct")),
        "slice" => match (args.first().and_then(to_list), args.get(1), args.get(2)) {
            (Some(l), Some(V::Num(a)), Some(V::Num(b))) if *a >= 0.0 && *a <= *b => l
                .get(*a as usize..*b as usize)
                .map(|s| V::List(s.to_vec()))
                .unwrap_or(err("slice: index out of range")),
            _ => err("slice"),
        },
        "zipmap" => match (
            args.first().and_then(to_list),
            args.get(1).and_then(to_list),
        ) {
            (Some(k), Some(v)) if k.len() == v.len() => {
                let keys: Option<Vec<String>> = k.iter().map(to_str).collect();
                match keys {
                    Some(keys) => V::Obj(keys.into_iter().zip(v).collect()),
                    None => err("zipmap: keys"),
                }
            }
            _ => err("zipmap"),
        },
        "coalescelist" => args
            .iter()
            .find(|a| matches!(a, V::List(l) if !l.is_empty()))
            .cloned()
            .unwrap_or(err("coalescelist")),
        "min" | "max" => {
            let nums: Option<Vec<f64>> = args
                .iter()
                .map(|a| if let V::Num(n) = a { Some(*n) } else { None })
                .collect();
            match nums {
                Some(n) if !n.is_empty() => V::Num(if name == "min" {
                    n.iter().cloned().fold(f64::INFINITY, f64::min)
                } else {
                    n.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                }),
                _ => err("min/max"),
            }
        }
        "abs" => match args.first() {
            Some(V::Num(n)) => V::Num(n.abs()),
            _ => err("abs"),
        },
        "tonumber" => match args.first() {
            Some(V::Num(n)) => V::Num(*n),
            Some(V::Str(t)) => t.parse().map(V::Num).unwrap_or(err("tonumber")),
            _ => err("tonumber"),
        },
        "tobool" => match args.first() {
            Some(V::Bool(b)) => V::Bool(*b),
            Some(V::Str(t)) if t == "true" || t == "false" => V::Bool(t == "true"),
            _ => err("tobool"),
        },
        "range" => match args.as_slice() {
            [V::Num(n)] if *n >= 0.0 && *n <= 1024.0 => {
                V::List((0..*n as usize).map(|i| V::Num(i as f64)).collect())
            }
            _ => V::Unknown("range() is not evaluated here".into()),
        },
        "substr" => match (s(0), args.get(1), args.get(2)) {
            (Some(t), Some(V::Num(o)), Some(V::Num(l))) if *o >= 0.0 => {
                let chars = t.chars().skip(*o as usize);
                V::Str(if *l < 0.0 {
                    chars.collect()
                } else {
                    chars.take(*l as usize).collect()
                })
            }
            _ => err("substr"),
        },
        "base64encode" | "base64decode" | "md5" | "sha1" | "sha256" | "uuid" | "timestamp"
        | "file" | "filebase64" | "filebase64sha256" | "filemd5" | "filesha256" | "fileexists"
        | "fileset" | "templatefile" | "abspath" | "pathexpand" | "dirname" | "basename"
        | "bcrypt" | "uuidv5" | "formatdate" | "timeadd" | "cidrsubnet" | "cidrhost" | "regex"
        | "regexall" => V::Unknown(format!("{name}() is not evaluated statically")),
        _ => V::Unknown(format!("function {name}() is not evaluated statically")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::num_text;
    use super::*;

    #[test]
    fn common_functions() {
        let m = V::Obj(vec![("b".into(), V::Num(2.0)), ("a".into(), V::Num(1.0))]);
        assert_eq!(
            call("keys", vec![m.clone()]),
            V::List(vec![V::Str("a".into()), V::Str("b".into())])
        );
        assert_eq!(call("length", vec![m]), V::Num(2.0));
        assert_eq!(
            call(
                "jsonencode",
                vec![V::Obj(vec![("x".into(), V::List(vec![V::Num(1.0)]))])]
            ),
            V::Str("{\"x\":[1]}".into())
        );
        assert_eq!(
            call(
                "format",
                vec![V::Str("%s-%d".into()), V::Str("a".into()), V::Num(3.0)]
            ),
            V::Str("a-3".into())
        );
        assert_eq!(
            call("coalesce", vec![V::Null, V::Str("x".into())]),
            V::Str("x".into())
        );
        assert!(matches!(
            call("file", vec![V::Str("x".into())]),
            V::Unknown(_)
        ));
        assert_eq!(num_text(3.0), "3");
        let st = |x: &str| V::Str(x.into());
        assert_eq!(
            call("replace", vec![st("a_b.c"), st("/[^-a-zA-Z0-9]/"), st("")]),
            st("abc")
        );
        assert_eq!(
            call("replace", vec![st("v1.2"), st("/v(\\d)/"), st("$1")]),
            st("1.2")
        );
        assert!(matches!(
            call("replace", vec![st("x"), st("/(/"), st("")]),
            V::Unknown(_)
        ));
        assert_eq!(
            call("title", vec![st("hello wide-world")]),
            st("Hello Wide-World")
        );
        let l = |xs: &[&str]| V::List(xs.iter().map(|x| st(x)).collect());
        assert_eq!(
            call("setintersection", vec![l(&["a", "b", "b"]), l(&["b", "c"])]),
            l(&["b"])
        );
        assert_eq!(
            call("setunion", vec![l(&["a"]), l(&["b", "a"])]),
            l(&["a", "b"])
        );
        assert_eq!(
            call("setsubtract", vec![l(&["a", "b"]), l(&["b"])]),
            l(&["a"])
        );
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    #[test]
    fn replace_and_join_refuse_strings_over_the_limit_before_building_them() {
        let big = V::Str("a".repeat(MAX_STRING_BYTES / 2));
        let r = call(
            "replace",
            vec![big.clone(), V::Str("a".into()), V::Str("aaa".into())],
        );
        assert!(too_large(&r), "{r:?}");
        let ok = call(
            "replace",
            vec![big.clone(), V::Str("a".into()), V::Str("b".into())],
        );
        assert!(matches!(ok, V::Str(ref s) if s.len() == MAX_STRING_BYTES / 2));
        let list = V::List(vec![V::Str("x".into()); 1000]);
        let sep = V::Str("-".repeat(MAX_STRING_BYTES / 100));
        assert!(matches!(call("join", vec![sep, list]), V::Unknown(_)));
    }

    #[test]
    fn merge_and_distinct_keep_terraform_order_on_wide_inputs() {
        let obj = |keys: &[&str], n: f64| {
            V::Obj(keys.iter().map(|k| (k.to_string(), V::Num(n))).collect())
        };
        let m = call("merge", vec![obj(&["a", "b", "c"], 1.0), obj(&["b"], 2.0)]);
        assert_eq!(
            m,
            V::Obj(vec![
                ("a".into(), V::Num(1.0)),
                ("c".into(), V::Num(1.0)),
                ("b".into(), V::Num(2.0)),
            ])
        );
        let wide: Vec<V> = (0..100_000).map(|i| V::Num((i % 1000) as f64)).collect();
        match call("distinct", vec![V::List(wide)]) {
            V::List(l) => {
                assert_eq!(l.len(), 1000);
                assert_eq!(l[999], V::Num(999.0));
            }
            other => panic!("{other:?}"),
        }
    }
}
