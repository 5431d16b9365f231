//! Policy files: which `.rego` files a directory holds, read within its bounds and checked
//! for characters that Rego source never needs.

use super::Problem;
use std::path::Path;

/// (path, text) of the `.rego` files under `dir` (see [`rego_files`]); what cannot be read is
/// reported in `errors`.
pub(super) fn read_rego_files(
    dir: &Path,
    tests: bool,
    errors: &mut Vec<Problem>,
) -> Vec<(String, String)> {
    let files = match rego_files(dir, tests) {
        Ok(files) => files,
        Err(message) => {
            errors.push(Problem {
                path: dir.display().to_string(),
                line: None,
                column: None,
                message,
            });
            return Vec::new();
        }
    };
    // A policy directory is a tree of its own: a link in it that leads elsewhere is not read
    // (a parse error would quote the file it leads to).
    let boundary = crate::read::file::Boundary::new(Path::new("."), [dir]);
    let mut out = Vec::new();
    for f in files {
        let read = boundary
            .check(&f)
            .and_then(|()| crate::read::file::read_text_bounded(&f, MAX_POLICY_BYTES));
        match read {
            // regorus prints some warnings itself, quoting the source line: a policy must not
            // hold what a terminal or CI log would act on (nor bidi tricks, "Trojan Source").
            Ok(t) => match unsafe_in_source(&t) {
                None => out.push((f.display().to_string(), t)),
                Some((line, c)) => errors.push(Problem {
                    path: f.display().to_string(),
                    line: Some(line),
                    column: None,
                    message: format!(
                        "holds the control or bidirectional character U+{:04X}, which Rego \
                         source never needs: write it as an escape in a string",
                        c as u32
                    ),
                }),
            },
            Err(message) => errors.push(Problem {
                path: f.display().to_string(),
                line: None,
                column: None,
                message,
            }),
        }
    }
    out
}

/// The largest policy file read.
pub(super) const MAX_POLICY_BYTES: u64 = 16 * 1024 * 1024;

/// The first line (from 1) of `text` holding a character [`crate::escape`] would escape,
/// and that character; tabs and line ends (`\n`, `\r\n`) are source.
pub(super) fn unsafe_in_source(text: &str) -> Option<(u32, char)> {
    text.split('\n').enumerate().find_map(|(i, line)| {
        let line = line.strip_suffix('\r').unwrap_or(line);
        line.chars()
            .find(|&c| c != '\t' && crate::escape::is_unsafe(c))
            .map(|c| (i as u32 + 1, c))
    })
}

/// `.rego` files under a directory, sorted; `*_test.rego` only when `tests` is set.
pub(super) fn rego_files(dir: &Path, tests: bool) -> Result<Vec<std::path::PathBuf>, String> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    if !dir.is_dir() {
        return Err("policy directory does not exist".into());
    }
    // Ignore files are not read here: a policy directory is small, and one linked to
    // `/dev/zero` would stop the load (the scan's walk checks them; see `scan::collect_files`).
    let mut files: Vec<_> = ignore::WalkBuilder::new(dir)
        .git_ignore(false)
        .git_exclude(false)
        .git_global(false)
        .ignore(false)
        .parents(false)
        .build()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rego") && (tests || !is_test_file(p)))
        .collect();
    files.sort();
    Ok(files)
}

/// `*_test.rego`: Rego unit tests, run by `atrest test`, never loaded as rules.
pub fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("_test.rego"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_source_with_control_characters_is_named_by_line() {
        assert_eq!(unsafe_in_source("package a\r\n\tx := 1\r\n"), None);
        assert_eq!(
            unsafe_in_source("package a\n# ok\n# \u{1b}[2J\n"),
            Some((3, '\u{1b}'))
        );
        assert_eq!(
            unsafe_in_source("package a\n# x\r::error::y\n"),
            Some((2, '\r'))
        );
        assert_eq!(unsafe_in_source("x := \"\u{202e}\""), Some((1, '\u{202e}')));
    }
}
