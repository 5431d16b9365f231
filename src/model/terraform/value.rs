//! Values of statically evaluated Terraform expressions, and what they compare and join.

/// A resource attribute known only after apply: `aws_kms_key.k.arn`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Target {
    /// Model id of the resource: its address without instance keys.
    pub(super) id: String,
    /// `aws_kms_key`, or `data.aws_kms_alias` for data sources.
    pub(super) ty: String,
    /// The attribute named (`arn`), where one is.
    pub(super) attr: Option<String>,
}

/// A statically evaluated value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum V {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<V>),
    Obj(Vec<(String, V)>),
    /// A string with parts known only later, shown as `${?}` or `${address}`.
    Partial {
        text: String,
        refs: Vec<Target>,
    },
    Ref(Target),
    /// One of these, depending on a condition that is not known.
    Choice(Vec<V>),
    Unknown(String),
    /// What Terraform would reject (a missing attribute): `try` and `can` catch it.
    Err(String),
}

impl V {
    pub(super) fn is_known(&self) -> bool {
        match self {
            V::Null | V::Bool(_) | V::Num(_) | V::Str(_) => true,
            V::List(items) => items.iter().all(V::is_known),
            V::Obj(items) => items.iter().all(|(_, v)| v.is_known()),
            _ => false,
        }
    }

    /// Not a definite value: what an operation on it yields.
    pub(super) fn unknown_of(&self) -> Option<V> {
        match self {
            V::Err(e) => Some(V::Err(e.clone())),
            V::Unknown(w) => Some(V::Unknown(w.clone())),
            V::Ref(t) => Some(V::Unknown(format!(
                "{} is known only when Terraform runs",
                t.id
            ))),
            V::Partial { .. } => Some(V::Unknown("a string known only after apply".into())),
            V::Choice(_) => Some(V::Unknown(
                "depends on a condition that is not known".into(),
            )),
            _ => None,
        }
    }

    /// How many parts the value has (itself and everything inside it).
    pub(super) fn size(&self) -> u32 {
        let inner = match self {
            V::List(items) | V::Choice(items) => {
                items.iter().map(V::size).fold(0, u32::saturating_add)
            }
            V::Obj(items) => items
                .iter()
                .map(|(_, v)| v.size())
                .fold(0, u32::saturating_add),
            _ => 0,
        };
        inner.saturating_add(1)
    }

    /// Why this value, or the first value inside it, is not known.
    pub(super) fn first_unknown(&self) -> Option<String> {
        match self {
            V::List(items) => items.iter().find_map(V::first_unknown),
            V::Obj(items) => items.iter().find_map(|(_, v)| v.first_unknown()),
            other => other.unknown_of().map(|u| match u {
                V::Unknown(why) | V::Err(why) => why,
                _ => String::new(),
            }),
        }
    }

    pub(super) fn text(&self) -> Option<String> {
        match self {
            V::Str(s) => Some(s.clone()),
            V::Num(n) => Some(num_text(*n)),
            V::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&V> {
        match self {
            V::Obj(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(super) fn to_json(&self) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        Some(match self {
            V::Null => J::Null,
            V::Bool(b) => J::Bool(*b),
            V::Num(n) => serde_json::Number::from_f64(*n)
                .map(|x| {
                    if n.fract() == 0.0 && n.abs() < 1e15 {
                        J::from(*n as i64)
                    } else {
                        J::Number(x)
                    }
                })
                .unwrap_or(J::Null),
            V::Str(s) => J::String(s.clone()),
            V::List(items) => J::Array(items.iter().map(V::to_json).collect::<Option<_>>()?),
            V::Obj(items) => J::Object(
                items
                    .iter()
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        })
    }

    pub(super) fn from_json(j: &serde_json::Value) -> V {
        use serde_json::Value as J;
        match j {
            J::Null => V::Null,
            J::Bool(b) => V::Bool(*b),
            J::Number(n) => V::Num(n.as_f64().unwrap_or(f64::NAN)),
            J::String(s) => V::Str(s.clone()),
            J::Array(a) => V::List(a.iter().map(V::from_json).collect()),
            J::Object(o) => V::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), V::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// Whether two values are equal as Terraform's `==` says, where that is known: `None` when it
/// depends on a value known only later. An object or list is never null, even when values
/// inside it are not known, and two values that differ in a known part differ.
pub(super) fn equal(a: &V, b: &V) -> Option<bool> {
    // Each option of a choice compared: known when every option gives the same answer.
    let choice = |options: &[V], other: &V| {
        let mut answers = options.iter().map(|o| equal(o, other));
        let first = answers.next()??;
        answers.all(|x| x == Some(first)).then_some(first)
    };
    // Every known answer is false: false; all true: true; else not known.
    let all = |answers: &mut dyn Iterator<Item = Option<bool>>| {
        let mut known = true;
        for x in answers {
            match x {
                Some(false) => return Some(false),
                Some(true) => {}
                None => known = false,
            }
        }
        known.then_some(true)
    };
    match (a, b) {
        (V::Choice(options), other) | (other, V::Choice(options)) => choice(options, other),
        (V::Null, V::Null) => Some(true),
        // A reference or a partly known string is never null.
        (V::Null, x) | (x, V::Null) => match x {
            V::Unknown(_) | V::Err(_) => None,
            _ => Some(false),
        },
        (V::Num(x), V::Num(y)) => Some(x == y),
        (V::Bool(x), V::Bool(y)) => Some(x == y),
        (V::Str(x), V::Str(y)) => Some(x == y),
        (V::List(x), V::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            all(&mut x.iter().zip(y).map(|(p, q)| equal(p, q)))
        }
        (V::Obj(x), V::Obj(y)) => {
            if x.len() != y.len() || x.iter().any(|(k, _)| b.get(k).is_none()) {
                return Some(false);
            }
            all(&mut x.iter().map(|(k, v)| b.get(k).and_then(|w| equal(v, w))))
        }
        (V::Unknown(_) | V::Err(_) | V::Ref(_) | V::Partial { .. }, _)
        | (_, V::Unknown(_) | V::Err(_) | V::Ref(_) | V::Partial { .. }) => None,
        // Known values of different types: Terraform's `==` does not convert.
        _ => Some(false),
    }
}

/// Several possible values as one: the value where they agree and are known, else a choice.
pub(super) fn one_of(options: Vec<V>) -> V {
    match options.first() {
        Some(first) if first.is_known() && options.iter().all(|o| o == first) => first.clone(),
        _ => V::Choice(options),
    }
}

/// Most combinations of options a function or operator is applied to.
pub(super) const MAX_CHOICE_CALLS: usize = 16;

/// A function or operator of arguments some of which are one of several values
/// (`var.prod ? a : b`): applied to each option, where the combinations are few; else to the
/// arguments as they are (which gives unknown).
pub(super) fn each_option(args: Vec<V>, f: &dyn Fn(Vec<V>) -> V) -> V {
    let combinations = args.iter().try_fold(1usize, |n, a| match a {
        V::Choice(o) => n.checked_mul(o.len()),
        _ => Some(n),
    });
    let Some(i) = args.iter().position(|a| matches!(a, V::Choice(_))) else {
        return f(args);
    };
    if combinations.is_none_or(|n| n > MAX_CHOICE_CALLS) {
        return f(args);
    }
    let V::Choice(options) = &args[i] else {
        return f(args);
    };
    let out = options
        .iter()
        .map(|o| {
            let mut each = args.clone();
            each[i] = o.clone();
            each_option(each, f)
        })
        .collect();
    one_of(out)
}

pub(super) fn num_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Joins template parts; parts known only later make a partial string.
pub(super) fn concat(parts: &[V]) -> V {
    let mut text = String::new();
    let mut refs = Vec::new();
    let mut complete = true;
    for p in parts {
        match p {
            V::Err(e) => return V::Err(e.clone()),
            V::Null => return V::Err("null in a string template".into()),
            V::Ref(t) => {
                text.push_str(&format!("${{{}}}", t.id));
                refs.push(t.clone());
                complete = false;
            }
            V::Partial { text: t, refs: r } => {
                text.push_str(t);
                refs.extend(r.iter().cloned());
                complete = false;
            }
            other => match other.text() {
                Some(t) => text.push_str(&t),
                None => {
                    text.push_str("${?}");
                    complete = false;
                }
            },
        }
    }
    if complete {
        V::Str(text)
    } else {
        V::Partial { text, refs }
    }
}
