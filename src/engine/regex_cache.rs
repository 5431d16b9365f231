//! `regex.match` with compiled patterns kept per thread, in place of regorus's own.
//!
//! regorus 0.14.1 caches each compiled pattern, but hands every call a clone of it, and a clone
//! of a `regex::Regex` starts with empty matching caches: each call builds its lazy DFA again
//! from nothing. That made the call cost about 100 times the match itself, and a policy that
//! tests every environment variable (ATR-L009) took most of its time there (12,500 variables:
//! past the policy time limit in a debug build). Here one `Regex` per pattern and thread is
//! kept and matched by reference, so its caches are reused across calls.
//!
//! The answers are regorus's: the same `regex` crate (and features), the same size limit, and
//! the same errors (regorus's builtin errors are strict by default): an invalid pattern, an
//! argument that is not a string, a pattern over the size limit. Only their column differs:
//! regorus places an extension's error at the call, its builtin's at the argument.

use regorus::Value;
use std::cell::RefCell;
use std::collections::HashMap;

/// regorus's limit on a compiled pattern (`REGEX_SIZE_LIMIT` in its `builtins/regex.rs`).
const SIZE_LIMIT: usize = 100 * 1024;

/// Patterns kept per thread; past this many the cache starts again (a policy that builds
/// patterns from its input must not grow it without bound). regorus keeps 256.
const MAX_PATTERNS: usize = 256;

thread_local! {
    static COMPILED: RefCell<HashMap<Box<str>, Option<regex::Regex>>> =
        RefCell::new(HashMap::new());
}

/// `regex.match(pattern, value)`.
pub fn is_match(args: Vec<Value>) -> anyhow::Result<Value> {
    let [pattern, value] = args.as_slice() else {
        anyhow::bail!("`regex.match` expects 2 arguments");
    };
    let (pattern, value) = (string(pattern)?, string(value)?);
    with_compiled(pattern, |re| match re {
        Some(re) => Ok(Value::Bool(re.is_match(value))),
        None => anyhow::bail!("invalid regex"),
    })
}

/// A string argument, or regorus's error for another value.
fn string(v: &Value) -> anyhow::Result<&str> {
    match v {
        Value::String(s) => Ok(s),
        _ => anyhow::bail!("`regex.match` expects string argument. Got `{v}` instead"),
    }
}

/// Runs `f` with the compiled `pattern` (`None`: not a valid pattern).
fn with_compiled<T>(
    pattern: &str,
    f: impl FnOnce(Option<&regex::Regex>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    COMPILED.with(|cell| {
        let mut cache = cell.borrow_mut();
        if !cache.contains_key(pattern) {
            let compiled = match regex::RegexBuilder::new(pattern)
                .size_limit(SIZE_LIMIT)
                .build()
            {
                Ok(re) => Some(re),
                Err(regex::Error::CompiledTooBig(_)) => {
                    anyhow::bail!("compiled regex exceeded size limit ({SIZE_LIMIT} bytes)")
                }
                Err(_) => None,
            };
            if cache.len() >= MAX_PATTERNS {
                cache.clear();
            }
            cache.insert(pattern.into(), compiled);
        }
        f(cache.get(pattern).and_then(Option::as_ref))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(pattern: &str, value: &str) -> Value {
        is_match(vec![Value::from(pattern), Value::from(value)]).unwrap()
    }

    #[test]
    fn matches_as_regorus_does() {
        let cases = [
            (r"(?i)(PASSWORD|API_?KEY)", "db_password"),
            (r"(?i)(PASSWORD|API_?KEY)", "db_user"),
            (r"^(true|false|\d+)$", "42"),
            (r"^(true|false|\d+)$", "\u{663}"),
            (r"(?i)K", "\u{212a}"),
            (r"^[a-z]+$", ""),
        ];
        // regorus's own builtin, in an engine without the replacement.
        let mut engine = regorus::Engine::new();
        engine
            .add_policy(
                "t.rego".into(),
                "package t\nr := regex.match(input.p, input.v)\n".into(),
            )
            .unwrap();
        for (pattern, value) in cases {
            let input = serde_json::json!({ "p": pattern, "v": value }).to_string();
            engine.set_input(Value::from_json_str(&input).unwrap());
            let expected = engine.eval_rule("data.t.r".into()).unwrap();
            assert_eq!(call(pattern, value), expected, "{pattern} on {value:?}");
        }
    }

    #[test]
    fn invalid_patterns_and_arguments_are_errors() {
        let err = |args: Vec<Value>| is_match(args).unwrap_err().to_string();
        assert_eq!(
            err(vec![Value::from("("), Value::from("x")]),
            "invalid regex"
        );
        // Cached as invalid: the second call answers the same.
        assert_eq!(
            err(vec![Value::from("("), Value::from("x")]),
            "invalid regex"
        );
        assert_eq!(
            err(vec![Value::from("a"), Value::from(1)]),
            "`regex.match` expects string argument. Got `1` instead"
        );
    }

    #[test]
    fn a_pattern_over_the_size_limit_is_an_error() {
        let err = is_match(vec![Value::from(r"\w{1000}"), Value::from("x")]).unwrap_err();
        assert!(err.to_string().contains("size limit"), "{err}");
    }

    #[test]
    fn the_cache_is_bounded() {
        for i in 0..(MAX_PATTERNS * 2) {
            assert_eq!(
                call(&format!("^a{i}$"), &format!("a{i}")),
                Value::Bool(true)
            );
        }
        COMPILED.with(|c| assert!(c.borrow().len() <= MAX_PATTERNS));
    }
}
