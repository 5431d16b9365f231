//! `--diff-base REV`: the files changed since a git revision, so that a pre-commit hook or a
//! pull request check on a large repository reports only what the change touched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            err.lines().next().unwrap_or("failed").trim()
        ));
    }
    Ok(out.stdout)
}

/// The files git tracks under `dir` (a directory in a work tree), as paths under `dir`.
pub fn tracked_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let names = git(dir, &["ls-files", "--cached", "-z"])?;
    Ok(names
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| dir.join(path_of_bytes(n)))
        .collect())
}

/// A path git printed (`-z`: raw bytes, which need not be UTF-8).
fn path_of_bytes(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).as_ref())
    }
}

/// Files changed in the working tree since `rev` (committed, staged or not), plus untracked
/// files git does not ignore, as shown relative to `root`.
pub fn changed_files(rev: &str, root: &Path) -> Result<BTreeSet<String>, String> {
    if rev.starts_with('-') {
        return Err(format!("--diff-base {rev}: not a revision"));
    }
    let top = git(root, &["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
    let mut names = git(
        &top,
        &["diff", "--name-only", "--no-renames", "-z", rev, "--"],
    )?;
    // git names the top-level canonically; compare against the canonical root too.
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    names.extend(git(
        &top,
        &["ls-files", "--others", "--exclude-standard", "-z"],
    )?);
    Ok(names
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| {
            let path = top.join(String::from_utf8_lossy(n).as_ref());
            crate::paths::display_path(&path, &root)
        })
        .collect())
}
