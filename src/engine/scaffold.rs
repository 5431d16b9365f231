//! `atrest policy new NAME`: a custom policy and its tests, ready to edit. The scaffold follows
//! the built-in conventions (`# METADATA`, a `deny` set of `{resource, property, message}`
//! objects, `test_*` rules beside it), and its tests pass as generated, so `atrest test`
//! starts green.

use super::Severity;
use std::path::{Path, PathBuf};

/// What to generate.
pub struct Scaffold<'a> {
    /// `snake_case`: the file name and the last part of the package.
    pub name: &'a str,
    pub id: &'a str,
    pub severity: Severity,
}

/// Whether `name` can be a file name and a Rego package segment.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Scaffold<'_> {
    fn package(&self) -> String {
        format!("custom.{}", self.name)
    }

    /// The policy file's text.
    pub fn policy(&self) -> String {
        format!(
            r#"# METADATA
# title: Lambda functions declare a function name
# description: |
#   Describe what the rule checks and why it matters. This example fails functions without a
#   FunctionName; replace it with your rule. `atrest model TEMPLATE` prints what `input` holds.
# custom:
#   id: {id}
#   severity: {severity}
#   remediation:
#     cloudformation: |
#       Set `FunctionName` on the `AWS::Lambda::Function`.
package {package}

import rego.v1

deny contains finding if {{
	some f in input.functions
	not f.name
	finding := {{
		"resource": f.id,
		"property": "name",
		"message": sprintf("Function %s does not set a FunctionName.", [f.logical_id]),
	}}
}}
"#,
            id = self.id,
            severity = self.severity,
            package = self.package(),
        )
    }

    /// The test file's text: one input that fails, one that passes.
    pub fn tests(&self) -> String {
        format!(
            r#"package {package}

import rego.v1

test_function_without_a_name_fails if {{
	some finding in deny with input as {{"functions": [{{"id": "Fn", "logical_id": "Fn"}}]}}
	finding.resource == "Fn"
}}

test_function_with_a_name_passes if {{
	count(deny) == 0 with input as {{"functions": [{{"id": "Fn", "logical_id": "Fn", "name": "orders"}}]}}
}}
"#,
            package = self.package(),
        )
    }

    /// Writes `NAME.rego` and `NAME_test.rego` into `dir`, refusing to overwrite.
    pub fn write(&self, dir: &Path) -> Result<[PathBuf; 2], String> {
        if !valid_name(self.name) {
            return Err(format!(
                "{:?}: a policy name is lower_snake_case, starting with a letter",
                self.name
            ));
        }
        let policy = dir.join(format!("{}.rego", self.name));
        let tests = dir.join(format!("{}_test.rego", self.name));
        for p in [&policy, &tests] {
            if p.exists() {
                return Err(format!("{} already exists", p.display()));
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::write(&policy, self.policy()).map_err(|e| format!("{}: {e}", policy.display()))?;
        std::fs::write(&tests, self.tests()).map_err(|e| format!("{}: {e}", tests.display()))?;
        Ok([policy, tests])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Source, Verdict, run};
    use super::*;

    #[test]
    fn the_scaffold_is_a_rule_whose_tests_pass() {
        let s = Scaffold {
            name: "function_name",
            id: "ORG-001",
            severity: Severity::High,
        };
        let rule = super::super::metadata::parse("p.rego", &s.policy())
            .unwrap()
            .unwrap();
        assert_eq!(
            (rule.id.as_str(), rule.severity),
            ("ORG-001", Severity::High)
        );
        let run = run(
            &[
                Source {
                    path: "function_name.rego".into(),
                    text: s.policy(),
                    target: true,
                },
                Source {
                    path: "function_name_test.rego".into(),
                    text: s.tests(),
                    target: true,
                },
            ],
            false,
        );
        assert!(run.errors.is_empty(), "{:?}", run.errors);
        assert_eq!(run.results.len(), 2);
        assert!(
            run.results.iter().all(|r| r.verdict == Verdict::Pass),
            "{:?}",
            run.results
        );
        assert!(valid_name("a_1") && !valid_name("A") && !valid_name("1a") && !valid_name("a-b"));
    }
}
