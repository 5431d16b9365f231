//! Opening files an untrusted tree names: only regular files, never more than a size bound, and
//! never outside the scanned tree.
//!
//! A pull request writes the tree atrest scans, so it chooses what a path leads to: a symbolic
//! link to `~/.aws/credentials`, a FIFO that blocks the reader forever, `/dev/zero` that never
//! ends. Every read of a file the tree names goes through here: [`Boundary::check`] refuses a path
//! that leads out of the scanned tree (through a link or `..`), and [`read_bounded`] reads only
//! regular files, checking the size before allocating and reading through `take(limit + 1)` in
//! case the file grows.

use std::fs::{File, Metadata};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// What a non-regular file is, for the message that refuses it.
fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

/// Why `meta` (of the file a path leads to) may not be read, if it may not.
pub fn refuse_kind(meta: &Metadata) -> Option<String> {
    (!meta.is_file()).then(|| format!("{}, not a regular file: not read", kind_of(meta)))
}

/// Opens a regular file for reading. Anything else (a FIFO, a device, a socket) is refused
/// before it is opened, so that opening never blocks; the type is checked again on the open
/// file in case the path changed in between.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if let Some(why) = refuse_kind(&meta) {
        return Err(why);
    }
    let file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if let Some(why) = refuse_kind(&meta) {
        return Err(why);
    }
    Ok((file, meta))
}

fn too_large(limit: u64) -> String {
    format!("larger than the {limit}-byte limit: not read")
}

/// Reads a regular file whole, refusing one larger than `limit` bytes before allocating for
/// it. The error is one line, without the path (the caller names the file).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte over the limit tells a file that grew from one that fits exactly.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text_bounded(path: &Path, limit: u64) -> Result<String, String> {
    let bytes = read_bounded(path, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        format!("line {line}: invalid UTF-8 (binary file?)")
    })
}

/// Lines of a stream, none longer than `max_line` bytes and none past `max_total` bytes in all:
/// `/dev/zero` or a file without newlines is an error at its line, not an allocation failure.
/// An error starts with the line number (`7: longer than ...`), for `file:7: ...`.
pub fn bounded_lines<R: BufRead>(
    mut reader: R,
    max_line: u64,
    max_total: u64,
) -> impl Iterator<Item = Result<String, String>> {
    let mut total = 0u64;
    let mut line_no = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        line_no += 1;
        let mut buf = Vec::new();
        let read = (&mut reader).take(max_line + 1).read_until(b'\n', &mut buf);
        let fail = |done: &mut bool, m: String| {
            *done = true;
            Some(Err(format!("{line_no}: {m}")))
        };
        match read {
            Err(e) => return fail(&mut done, format!("cannot read: {e}")),
            Ok(0) => return None,
            Ok(n) => total += n as u64,
        }
        if buf.len() as u64 > max_line && !buf.ends_with(b"\n") {
            return fail(&mut done, format!("longer than {max_line} bytes"));
        }
        if total > max_total {
            return fail(&mut done, format!("file over the {max_total}-byte limit"));
        }
        if buf.ends_with(b"\n") {
            buf.pop();
        }
        match String::from_utf8(buf) {
            Ok(s) => Some(Ok(s)),
            Err(_) => fail(&mut done, "invalid UTF-8".into()),
        }
    })
}

/// The top of the git work tree `path` is in (the nearest directory at or above it that has
/// `.git`), if any.
pub fn repository_top(path: &Path) -> Option<PathBuf> {
    let mut dir = Some(path);
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// The scanned tree: the directories and files a scan may read. A path is inside when the file
/// it leads to, with every symbolic link on the way resolved, lies in one of the roots.
#[derive(Debug, Clone, Default)]
pub struct Boundary {
    /// Canonical roots.
    roots: Vec<PathBuf>,
}

impl Boundary {
    /// The roots `paths` name (relative to `base`), each as far as it exists. A root that does
    /// not exist adds nothing.
    pub fn new<'a>(base: &Path, paths: impl IntoIterator<Item = &'a Path>) -> Self {
        let mut b = Boundary::default();
        for p in paths {
            b.add(&base.join(p));
        }
        b
    }

    /// Adds a root (a directory or a file).
    pub fn add(&mut self, path: &Path) {
        if let Ok(c) = std::fs::canonicalize(path)
            && !self.roots.contains(&c)
        {
            self.roots.push(c);
        }
    }

    /// Adds, for each root so far, the top of the git repository it is in: a root module's
    /// `../modules/x` lies in the same repository, outside the directory that was named.
    pub fn with_repositories(mut self) -> Self {
        let tops: Vec<PathBuf> = self
            .roots
            .iter()
            .filter_map(|r| repository_top(r))
            .collect();
        for t in tops {
            self.add(&t);
        }
        self
    }

    /// Whether the canonical path `c` lies in a root.
    fn holds(&self, c: &Path) -> bool {
        self.roots.iter().any(|r| c.starts_with(r))
    }

    /// Whether `path` leads into the tree. A path that leads nowhere (missing, a dangling link)
    /// is not refused here: nothing can be read through it, and the read says so.
    pub fn contains(&self, path: &Path) -> bool {
        std::fs::canonicalize(path).map_or(true, |c| self.holds(&c))
    }

    /// `Ok` when `path` may be read; otherwise the one-line reason, which names no target (the
    /// caller names `path`).
    pub fn check(&self, path: &Path) -> Result<(), String> {
        if self.contains(path) {
            return Ok(());
        }
        let through_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink());
        Err(if through_link {
            "a symbolic link that leads out of the scanned tree: its target is not read (name it on the command line or with --allow-outside to read it)"
        } else {
            "outside the scanned tree: not read (name it on the command line or with --allow-outside to read it)"
        }
        .into())
    }
}

/// Writes `bytes` to `path` whole or not at all: into a temporary file in the same directory,
/// renamed over `path` when complete, so a failed write leaves no truncated report and a link
/// planted at `path` is replaced, not followed. A device or FIFO (`/dev/stdout`) is written
/// to directly.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return std::fs::write(path, bytes).map_err(fail);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".atrest-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // What `fs::write` gives a new file: 0o666 less the umask.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_out_of_the_tree_are_outside() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "x").unwrap();
        std::fs::write(tree.join("sub/in.yaml"), "x").unwrap();
        let b = Boundary::new(dir.path(), [Path::new("tree")]);
        assert!(b.contains(&tree.join("sub/in.yaml")));
        assert!(!b.contains(&outside.join("secret")));
        assert!(!b.contains(&tree.join("../outside/secret")));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.join("secret"), tree.join("link")).unwrap();
            std::os::unix::fs::symlink(&outside, tree.join("dirlink")).unwrap();
            std::os::unix::fs::symlink("sub/in.yaml", tree.join("inner")).unwrap();
            assert!(
                b.check(&tree.join("link"))
                    .unwrap_err()
                    .contains("symbolic link")
            );
            assert!(!b.contains(&tree.join("dirlink/secret")));
            assert!(b.contains(&tree.join("inner")));
        }
        // Nothing there to read: the read reports it.
        assert!(b.contains(&outside.join("new")));
    }

    #[test]
    fn reads_are_bounded_and_regular() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "12345").unwrap();
        assert_eq!(read_bounded(&f, 5).unwrap(), b"12345");
        assert!(read_bounded(&f, 4).unwrap_err().contains("4-byte limit"));
        assert!(
            read_bounded(dir.path(), 10)
                .unwrap_err()
                .contains("directory")
        );
        #[cfg(unix)]
        {
            let e = read_bounded(Path::new("/dev/zero"), 10).unwrap_err();
            assert!(e.contains("character device"), "{e}");
        }
    }

    #[test]
    fn writes_replace_whole_files_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.json");
        write_atomic(&out, b"one").unwrap();
        write_atomic(&out, b"two").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"two");
        #[cfg(unix)]
        {
            let victim = dir.path().join("victim");
            std::fs::write(&victim, "keep").unwrap();
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(&victim, &link).unwrap();
            write_atomic(&link, b"report").unwrap();
            assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
            assert_eq!(std::fs::read(&link).unwrap(), b"report");
            // A device is written to, never replaced (`-o /dev/stdout`).
            write_atomic(Path::new("/dev/null"), b"x").unwrap();
            assert!(std::fs::metadata("/dev/null").is_ok_and(|m| !m.is_file()));
        }
        let e = write_atomic(&dir.path().join("no/such/dir/x"), b"x").unwrap_err();
        assert!(e.contains("cannot write"), "{e}");
        // Nothing but the outputs is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(names.len() <= 3, "{names:?}");
    }

    #[test]
    fn lines_are_bounded() {
        let text = b"a\nbb\n\ncccc";
        let lines: Vec<_> = bounded_lines(&text[..], 4, 100).collect();
        assert_eq!(
            lines,
            [
                Ok("a".into()),
                Ok("bb".into()),
                Ok("".into()),
                Ok("cccc".into())
            ]
        );
        let lines: Vec<_> = bounded_lines(&text[..], 3, 100).collect();
        assert_eq!(
            lines.last().unwrap().as_ref().unwrap_err(),
            "4: longer than 3 bytes"
        );
        let zero = std::io::BufReader::new(std::io::repeat(0).take(1 << 20));
        let lines: Vec<_> = bounded_lines(zero, 1000, 1 << 30).collect();
        assert_eq!(lines.len(), 1);
        let lines: Vec<_> = bounded_lines(&text[..], 4, 6).collect();
        assert!(
            lines
                .last()
                .unwrap()
                .as_ref()
                .unwrap_err()
                .contains("6-byte limit")
        );
    }
}
