//! Paths as atrest shows and compares them: resolved lexically, relative to the scan root with
//! `/` separators, and matched against the globs of `.atrest.yaml`. The one place paths are
//! normalised, below every stage.

use globset::GlobMatcher;
use std::path::{Path, PathBuf};

/// `path` with `.` and `..` resolved lexically (`a/b/../c` is `a/c`), as paths given on the
/// command line (`--baseline ../baseline.json`) must compare with walked ones.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` (as shown, relative to `root` or absolute) relative to `base`, with `/` separators.
pub fn relative_to(path: &str, root: &Path, base: &Path) -> Option<String> {
    let abs = normalize(&root.join(path));
    let rel = abs.strip_prefix(normalize(base)).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// `path` relative to `base` like [`relative_to`], but also for paths outside it: those climb
/// with `..` (`../other/t.yaml`), and paths with no common part (another drive) stay absolute.
pub fn relative_from(path: &str, root: &Path, base: &Path) -> String {
    if let Some(inside) = relative_to(path, root, base) {
        return inside;
    }
    let abs = normalize(&root.join(path));
    let base = normalize(base);
    let (a, b): (Vec<_>, Vec<_>) = (abs.components().collect(), base.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let rooted = |c: &std::path::Component| {
        matches!(
            c,
            std::path::Component::RootDir | std::path::Component::Prefix(_)
        )
    };
    if a[..common].iter().all(rooted) {
        // Only the root (or nothing, another drive) is shared: climbing to it gains nothing.
        return abs.to_string_lossy().replace('\\', "/");
    }
    let up = (common..b.len()).map(|_| "..".to_owned());
    let down = a[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    up.chain(down).collect::<Vec<_>>().join("/")
}

/// The directory paths are shown relative to, and SARIF's `%SRCROOT%`.
pub fn scan_root() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// Shows `path` relative to `root` where it lies inside it, with `/` separators; otherwise
/// absolute.
pub fn display_path(path: &Path, root: &Path) -> String {
    // `..` resolved first: `../other/t.yaml` is outside the root, not a path under it.
    let abs = normalize(&if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    });
    let normal = |p: &Path| {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect::<PathBuf>()
            .to_string_lossy()
            .replace('\\', "/")
    };
    match abs.strip_prefix(root) {
        Ok(rel) => normal(rel),
        Err(_) => normal(&abs),
    }
}

/// A glob as `exclude` and `ignore.path` use it: a pattern without `/` matches at any depth.
pub fn glob(pattern: &str) -> Result<GlobMatcher, String> {
    let trimmed = pattern.trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    let full = if trimmed.contains('/') {
        trimmed.to_owned()
    } else {
        format!("**/{trimmed}")
    };
    globset::GlobBuilder::new(&full)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("bad glob {pattern:?}: {e}"))
}

/// Whether `rel` (`/`-separated) or one of the directories it is in matches `glob`.
pub fn path_matches(glob: &GlobMatcher, rel: &str) -> bool {
    let mut p = rel;
    loop {
        if glob.is_match(p) {
            return true;
        }
        match p.rfind('/') {
            Some(i) => p = &p[..i],
            None => return false,
        }
    }
}
