//! Builtins whose result can be far larger than their arguments, bounded before they allocate.
//!
//! regorus checks its time limit between evaluation steps, and one builtin call is one step: a
//! call that builds a gigabyte string runs past any timeout and aborts the process when the
//! allocation fails. The result of these builtins is not bounded by the size of their input:
//!
//! - `sprintf` pads to any width or precision written in its format (`%0999999999d`);
//! - `replace`, `strings.replace_n` and `regex.replace` multiply: every match of a one-byte
//!   pattern becomes the whole replacement, so three nested calls on a 1 KB string make 1 TB;
//! - `concat` doubles a string per call, so a function applied to its own result forty times
//!   asks for a terabyte within a few steps.
//!
//! Each is replaced by a version that works out the size of its result first and refuses one
//! over `MAX_RESULT_BYTES`, with an error that names the builtin (the caller adds the rule).
//! Below the bound the result is the builtin's own: the string ones are computed the same way,
//! and `sprintf`, whose format language is regorus's own, is handed to a separate engine that
//! has only the original builtins.

use regorus::{Engine, Value};
use std::cell::RefCell;

/// The largest string a builtin may build: 16 MiB, far beyond any message or key a policy
/// makes, and small enough that a policy doubling it on each call stays within memory.
pub const MAX_RESULT_BYTES: usize = 16 << 20;

/// The largest width or precision a `sprintf` verb may ask for.
pub const MAX_WIDTH: u64 = 4096;

/// Adds the bounded builtins to an engine, before its policies are added.
pub fn register(engine: &mut Engine) -> anyhow::Result<()> {
    engine.add_extension(
        "sprintf".into(),
        2,
        Box::new(|args: Vec<Value>| sprintf(&args[0], &args[1])),
    )?;
    engine.add_extension(
        "replace".into(),
        3,
        Box::new(|args: Vec<Value>| {
            let (s, old, new) = (
                string(&args[0], "replace")?,
                string(&args[1], "replace")?,
                string(&args[2], "replace")?,
            );
            Ok(Value::String(replace(s, old, new, "replace")?.into()))
        }),
    )?;
    engine.add_extension(
        "strings.replace_n".into(),
        2,
        Box::new(|args: Vec<Value>| replace_n(&args[0], &args[1])),
    )?;
    engine.add_extension(
        "regex.replace".into(),
        3,
        Box::new(|args: Vec<Value>| regex_replace(&args[0], &args[1], &args[2])),
    )?;
    engine.add_extension(
        "concat".into(),
        2,
        Box::new(|args: Vec<Value>| concat(&args[0], &args[1])),
    )?;
    Ok(())
}

fn string<'v>(v: &'v Value, builtin: &str) -> anyhow::Result<&'v str> {
    match v {
        Value::String(s) => Ok(s),
        _ => anyhow::bail!("`{builtin}` expects string argument."),
    }
}

fn too_large(builtin: &str, bytes: u128) -> anyhow::Error {
    anyhow::anyhow!(
        "{builtin} would build a string of {bytes} bytes, over the limit of {MAX_RESULT_BYTES} \
         (it would exhaust memory)"
    )
}

/// `s` with every `old` replaced by `new` (Rust's and Go's `ReplaceAll`: an empty `old`
/// matches at every character boundary), refused when the result would be too large.
fn replace(s: &str, old: &str, new: &str, builtin: &str) -> anyhow::Result<String> {
    if new.len() > old.len() {
        let matches = if old.is_empty() {
            s.chars().count() + 1
        } else {
            s.matches(old).count()
        };
        let size = s.len() as u128 + matches as u128 * (new.len() - old.len()) as u128;
        if size > MAX_RESULT_BYTES as u128 {
            return Err(too_large(builtin, size));
        }
    }
    Ok(s.replace(old, new))
}

/// regorus's `strings.replace_n`: each pattern of the object in turn, in key order.
fn replace_n(patterns: &Value, s: &Value) -> anyhow::Result<Value> {
    const NAME: &str = "strings.replace_n";
    let Value::Object(patterns) = patterns else {
        anyhow::bail!("`{NAME}` expects object argument.");
    };
    let mut s = string(s, NAME)?.to_owned();
    for (old, new) in patterns.iter() {
        let (Value::String(old), Value::String(new)) = (old, new) else {
            anyhow::bail!("`{NAME}` expects string keys and values in pattern object.");
        };
        s = replace(&s, old, new, NAME)?;
    }
    Ok(Value::String(s.into()))
}

/// regorus's `regex.replace` (`$1`, `${name}` expand to the groups), stopped as soon as the
/// result passes the bound.
fn regex_replace(s: &Value, pattern: &Value, with: &Value) -> anyhow::Result<Value> {
    const NAME: &str = "regex.replace";
    let (s, pattern, with) = (
        string(s, NAME)?,
        string(pattern, NAME)?,
        string(with, NAME)?,
    );
    // regorus's size limit, so a pattern it refuses is refused here too.
    let re = match regex::RegexBuilder::new(pattern)
        .size_limit(100 * 1024)
        .build()
    {
        Ok(re) => re,
        Err(e @ regex::Error::CompiledTooBig(_)) => anyhow::bail!("{NAME}: {e}"),
        // regorus makes an invalid pattern undefined (as OPA's tests expect).
        Err(_) => return Ok(Value::Undefined),
    };
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let m = caps.get(0).expect("group 0 is the match");
        out.push_str(&s[last..m.start()]);
        caps.expand(with, &mut out);
        last = m.end();
        if out.len() > MAX_RESULT_BYTES {
            return Err(too_large(NAME, (out.len() + s.len() - last) as u128));
        }
    }
    out.push_str(&s[last..]);
    Ok(Value::String(out.into()))
}

/// `concat(delimiter, strings)` over an array or a set, refused when the result would be too
/// large.
fn concat(delimiter: &Value, items: &Value) -> anyhow::Result<Value> {
    const NAME: &str = "concat";
    let delimiter = string(delimiter, NAME)?;
    let items: anyhow::Result<Vec<&str>> = match items {
        Value::Array(a) => a.iter().map(|v| string(v, NAME)).collect(),
        Value::Set(s) => s.iter().map(|v| string(v, NAME)).collect(),
        _ => Err(anyhow::anyhow!("`{NAME}` expects array/set of strings.")),
    };
    let items = items?;
    let size = items.iter().map(|s| s.len() as u128).sum::<u128>()
        + delimiter.len() as u128 * items.len().saturating_sub(1) as u128;
    if size > MAX_RESULT_BYTES as u128 {
        return Err(too_large(NAME, size));
    }
    Ok(Value::String(items.join(delimiter).into()))
}

/// `sprintf`, refusing widths and precisions over `MAX_WIDTH` and results over the bound, and
/// otherwise formatting with regorus's own builtin.
fn sprintf(format: &Value, args: &Value) -> anyhow::Result<Value> {
    const NAME: &str = "sprintf";
    let text = string(format, NAME)?;
    let mut widths = 0u128;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            continue;
        }
        // regorus reads one run of digits and dots (a width, a precision) after the `%`;
        // each number in it is bounded.
        let mut width = 0u64;
        while let Some(&c) = chars.peek().filter(|c| **c == '.' || c.is_numeric()) {
            chars.next();
            match c.to_digit(10) {
                Some(d) => width = width.saturating_mul(10).saturating_add(u64::from(d)),
                None if c == '.' => {
                    widths += u128::from(width);
                    width = 0;
                }
                // regorus panics on a digit that is not ASCII.
                None => anyhow::bail!("{NAME}: {c:?} in a width is not a digit 0-9"),
            }
            if width > MAX_WIDTH {
                anyhow::bail!(
                    "{NAME}: a width or precision over {MAX_WIDTH} is over the limit (it would \
                     exhaust memory)"
                );
            }
        }
        widths += u128::from(width);
    }
    let Value::Array(items) = args else {
        // The builtin's own error.
        return original_sprintf(format, args);
    };
    // Each argument is shown at most once per verb, as its JSON text or shorter.
    let shown: u128 = items.iter().map(|v| v.to_string().len() as u128).sum();
    let size = text.len() as u128 + widths + shown;
    if size > MAX_RESULT_BYTES as u128 {
        return Err(too_large(NAME, size));
    }
    original_sprintf(format, args)
}

thread_local! {
    /// An engine with regorus's builtins only, to format with its `sprintf`.
    static PLAIN: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fn original_sprintf(format: &Value, args: &Value) -> anyhow::Result<Value> {
    PLAIN.with(|plain| {
        let mut plain = plain.borrow_mut();
        let engine = match plain.as_mut() {
            Some(e) => e,
            None => {
                let mut e = Engine::new();
                e.add_policy(
                    "sprintf.rego".into(),
                    "package atrest.sprintf\n\nr := sprintf(input[0], input[1])\n".into(),
                )?;
                plain.insert(e)
            }
        };
        engine.set_input(Value::from(vec![format.clone(), args.clone()]));
        engine.eval_rule("data.atrest.sprintf.r".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn results_below_the_bound_are_the_builtins_own() {
        assert_eq!(replace("a.b.c", ".", "::", "replace").unwrap(), "a::b::c");
        assert_eq!(replace("ab", "", "-", "replace").unwrap(), "-a-b-");
        let args = Value::from(vec![s("x"), Value::from(3u64)]);
        assert_eq!(sprintf(&s("%s=%03d%%"), &args).unwrap(), s("x=003%"));
        assert_eq!(
            regex_replace(&s("a1b22"), &s("([0-9]+)"), &s("<$1>")).unwrap(),
            s("a<1>b<22>")
        );
        assert_eq!(
            regex_replace(&s("a"), &s("("), &s("x")).unwrap(),
            Value::Undefined
        );
        let pats = Value::from_json_str(r#"{"a": "1", "b": "2"}"#).unwrap();
        assert_eq!(replace_n(&pats, &s("abc")).unwrap(), s("12c"));
        let items = Value::from(vec![s("a"), s("b")]);
        assert_eq!(concat(&s(", "), &items).unwrap(), s("a, b"));
    }

    #[test]
    fn results_over_the_bound_are_refused_before_they_are_built() {
        let kb = "a".repeat(1024);
        let mb = replace(&kb, "a", &kb, "replace").unwrap();
        let err = replace(&mb, "a", &kb, "replace").unwrap_err().to_string();
        assert!(
            err.contains("replace would build a string of 1073741824 bytes"),
            "{err}"
        );
        let err = regex_replace(&s(&mb), &s(""), &s(&kb))
            .unwrap_err()
            .to_string();
        assert!(err.contains("regex.replace would build"), "{err}");
        let err = sprintf(
            &s("%0999999999999999999999d"),
            &Value::from(vec![Value::from(1u64)]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("width or precision over 4096"), "{err}");
        let err = sprintf(&s("%.99999f"), &Value::from(vec![Value::from(1u64)])).unwrap_err();
        assert!(err.to_string().contains("over 4096 is over the limit"));
        let err = sprintf(&s("%\u{663}d"), &Value::from(vec![Value::from(1u64)])).unwrap_err();
        assert!(err.to_string().contains("not a digit"), "{err}");
        let big = Value::from(vec![s(&mb); 17]);
        let err = concat(&s(""), &big).unwrap_err().to_string();
        assert!(err.contains("concat would build"), "{err}");
        let pats = Value::from_json_str(&format!(r#"{{"a": "{kb}"}}"#)).unwrap();
        let err = replace_n(&pats, &s(&mb)).unwrap_err().to_string();
        assert!(err.contains("strings.replace_n would build"), "{err}");
    }
}
