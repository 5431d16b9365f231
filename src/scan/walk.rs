//! The walk: which files under the scanned paths are inputs.

use super::{Boundary, InputError, display_path, scan_root};
use crate::read::detect;
use std::path::{Path, PathBuf};

/// Every file under the given paths, respecting ignore files and hidden-file conventions, with
/// the files git tracks taken even where an ignore file matches them; paths named explicitly
/// are always taken. Only regular files are taken: a FIFO, device or socket is an error, and so
/// is a symbolic link that leads out of `boundary` (its target is not read). Sorted, so results
/// never depend on directory order.
pub fn collect_files(paths: &[PathBuf], boundary: &Boundary) -> (Vec<PathBuf>, Vec<InputError>) {
    let mut walk = Walk {
        boundary,
        root: scan_root(),
        files: Vec::new(),
        errors: Vec::new(),
        visited: std::collections::HashSet::new(),
    };
    for p in paths {
        match std::fs::metadata(p) {
            // A file named on the command line is taken wherever it is.
            Ok(m) if m.is_file() => walk.files.push(p.clone()),
            Ok(m) if m.is_dir() => walk.dir(p),
            Ok(m) => walk.refuse(p, crate::read::file::refuse_kind(&m).unwrap_or_default()),
            Err(_) if std::fs::symlink_metadata(p).is_ok() => {
                walk.refuse(p, "a symbolic link that leads nowhere".into())
            }
            Err(_) => walk.refuse(p, "no such file or directory".into()),
        }
    }
    let Walk {
        mut files, errors, ..
    } = walk;
    files.sort();
    files.dedup();
    (files, errors)
}

/// A walk of the scanned paths (see [`collect_files`]).
struct Walk<'a> {
    boundary: &'a Boundary,
    root: PathBuf,
    files: Vec<PathBuf>,
    errors: Vec<InputError>,
    /// Directories walked, canonical: a link back up the tree is not walked twice.
    visited: std::collections::HashSet<PathBuf>,
}

impl Walk<'_> {
    fn refuse(&mut self, path: &Path, message: String) {
        self.errors.push(InputError {
            path: display_path(path, &self.root),
            line: None,
            column: None,
            message,
        });
    }

    fn dir(&mut self, dir: &Path) {
        if let Ok(c) = std::fs::canonicalize(dir)
            && !self.visited.insert(c)
        {
            return;
        }
        // `.gitignore` is honoured outside a git repository too (an unpacked archive, a CI
        // workspace without `.git`): what the user ignores is never scanned.
        let mut builder = ignore::WalkBuilder::new(dir);
        builder.require_git(false);
        // The walker reads the ignore files of this directory and of those above it itself: one
        // that is a FIFO, `/dev/zero` or a link out of the tree is named, and this directory is
        // walked without ignore files. Below, a directory with such a file is walked apart.
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let above = canonical
            .ancestors()
            .skip(1)
            .find_map(|d| bad_ignore_file(d, None));
        let refused = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        if let Some((file, why)) = above.or_else(|| bad_ignore_file(dir, Some(self.boundary))) {
            self.refuse(&file, format!("{why} (ignore files are not used here)"));
            builder.git_ignore(false).ignore(false).parents(false);
        } else {
            let (boundary, refused) = (self.boundary.clone(), refused.clone());
            builder.filter_entry(move |e| {
                let bad = e.file_type().is_some_and(|t| t.is_dir())
                    && bad_ignore_file(e.path(), Some(&boundary)).is_some();
                if bad && let Ok(mut r) = refused.lock() {
                    r.push(e.path().to_path_buf());
                }
                !bad
            });
        }
        let walker = builder.build();
        let mut seen = std::collections::HashSet::new();
        for entry in walker {
            match entry {
                Ok(e) if e.depth() > 0 => {
                    seen.insert(e.path().to_path_buf());
                    // The walker knows a regular file already: no second look at it.
                    match e.file_type() {
                        Some(t) if t.is_file() => self.files.push(e.into_path()),
                        Some(t) if t.is_dir() => {}
                        _ => self.entry(e.path()),
                    }
                }
                Ok(_) => {}
                Err(e) => self.refuse(dir, format!("cannot walk: {e}")),
            }
        }
        let apart: Vec<PathBuf> = refused.lock().map(|r| r.clone()).unwrap_or_default();
        for sub in apart {
            self.dir(&sub);
        }
        // Git scans what it tracks whatever an ignore file says; an ignore file a change adds
        // must not hide a template from the check of that change.
        if crate::read::file::repository_top(dir).is_some()
            && let Ok(tracked) = crate::git::tracked_files(dir)
        {
            for path in tracked {
                let hidden = path.strip_prefix(dir).is_ok_and(|rel| {
                    rel.components()
                        .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b"."))
                });
                if !hidden && !seen.contains(&path) && std::fs::symlink_metadata(&path).is_ok() {
                    self.entry(&path);
                }
            }
        }
    }

    /// One entry of a walk: a file is taken; a link is followed inside the boundary only; a
    /// FIFO, device or socket is refused. A link or special file whose name no input has
    /// (`README.md`) is left alone, as a regular file of that name would be skipped.
    fn entry(&mut self, path: &Path) {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        if meta.is_file() {
            self.files.push(path.to_path_buf());
            return;
        }
        if meta.is_dir() {
            return;
        }
        // What the entry leads to; a dangling link leads nowhere and has nothing to read.
        let Ok(target) = std::fs::metadata(path) else {
            return;
        };
        if !target.is_dir() && !may_be_input(path) {
            return;
        }
        if meta.is_symlink()
            && let Err(why) = self.boundary.check(path)
        {
            return self.refuse(path, why);
        }
        if target.is_file() {
            self.files.push(path.to_path_buf());
        } else if target.is_dir() {
            self.dir(path);
        } else {
            let why = crate::read::file::refuse_kind(&target).unwrap_or_default();
            self.refuse(path, why);
        }
    }
}

/// The ignore files the walker reads in each directory (besides git's own, in `.git`).
const IGNORE_FILES: &[&str] = &[".gitignore", ".ignore"];

/// The largest ignore file the walker may read.
const MAX_IGNORE_BYTES: u64 = 1024 * 1024;

/// An ignore file of `dir` the walker must not read, and why: not a regular file (the walker
/// would block on a FIFO or read `/dev/zero` until memory runs out), larger than
/// [`MAX_IGNORE_BYTES`], or (where `boundary` is given) a link out of the tree, whose lines an
/// error about a bad pattern would quote.
fn bad_ignore_file(dir: &Path, boundary: Option<&Boundary>) -> Option<(PathBuf, String)> {
    IGNORE_FILES.iter().find_map(|name| {
        let path = dir.join(name);
        let link = std::fs::symlink_metadata(&path).ok()?.is_symlink();
        if link && let Some(Err(why)) = boundary.map(|b| b.check(&path)) {
            return Some((path, why));
        }
        let why = match std::fs::metadata(&path).ok()? {
            m if !m.is_file() => crate::read::file::refuse_kind(&m)?,
            m if m.len() > MAX_IGNORE_BYTES => {
                format!("larger than the {MAX_IGNORE_BYTES}-byte limit for ignore files: not read")
            }
            _ => return None,
        };
        Some((path, why))
    })
}

/// Whether a file of this name could be read as an input (a template, Terraform, API output
/// or a CloudTrail log), whatever its content.
fn may_be_input(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    crate::read::detect::name_hint(path).is_some() || detect::LOG_EXTENSIONS.contains(&ext.as_str())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Where links may point, relative to the directory they are in: into the tree, up and
    /// out of it, to themselves, nowhere, and the file system's root.
    const TARGETS: &[&str] = &[
        "x.yaml",
        "d",
        ".",
        "..",
        "../..",
        "../../outside",
        "../outside/secret.yaml",
        "../../outside/secret.yaml",
        "nowhere.yaml",
        "/",
    ];
    const DIRS: &[&str] = &["tree", "tree/d", "tree/d/d"];
    const NAMES: &[&str] = &["x.yaml", "y.json", "z", "l.tf"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever links a tree holds, the walk ends, takes no file whose target lies outside
        /// the tree, and names every link it refuses.
        #[test]
        fn the_walk_never_leaves_the_tree(
            links in proptest::collection::vec((0..DIRS.len(), 0..NAMES.len(), 0..TARGETS.len()), 0..10)
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let base = tmp.path();
            for d in DIRS {
                std::fs::create_dir_all(base.join(d)).unwrap();
            }
            std::fs::create_dir_all(base.join("outside")).unwrap();
            std::fs::write(base.join("outside/secret.yaml"), "x").unwrap();
            std::fs::write(base.join("tree/x.yaml"), "x").unwrap();
            for (d, n, t) in links {
                let at = base.join(DIRS[d]).join(NAMES[n]);
                let _ = std::os::unix::fs::symlink(TARGETS[t], &at);
            }
            let tree = base.join("tree");
            let boundary = Boundary::new(base, [Path::new("tree")]);
            let (files, errors) = collect_files(std::slice::from_ref(&tree), &boundary);
            let inside = std::fs::canonicalize(&tree).unwrap();
            for f in &files {
                let target = std::fs::canonicalize(f).unwrap();
                prop_assert!(target.starts_with(&inside), "{} -> {}", f.display(), target.display());
            }
            for e in &errors {
                prop_assert!(e.message.contains("symbolic link"), "{e}");
            }
            // Every link out of the tree that could matter is named.
            let root = scan_root();
            for d in DIRS {
                for n in NAMES {
                    let at = base.join(d).join(n);
                    let Ok(target) = std::fs::canonicalize(&at) else { continue };
                    let matters = target.is_dir() || may_be_input(&at);
                    if !target.starts_with(&inside) && matters {
                        let shown = display_path(&at, &root);
                        prop_assert!(errors.iter().any(|e| e.path == shown), "{shown} not named: {errors:?}");
                    }
                }
            }
        }
    }
}
