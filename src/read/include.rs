//! Files an input includes by a relative path (a Serverless Framework service's
//! `${file(./config.yml)}`): read only where they lie inside the including file's directory or
//! the scan root, and parsed as YAML or JSON. Anything else (an absolute path, a path that leaves
//! both, a script, a file that does not parse) is not read: the caller treats its value as
//! unknown. Included YAML is read as the framework's js-yaml reads it: aliases expanded.

use super::{Limits, Node, json, text, yaml};
use std::path::Path;

pub fn local(dir: &Path, rel: &str, root: &Path, limits: &Limits) -> Option<Node> {
    if Path::new(rel).is_absolute() {
        return None;
    }
    let path = dir.join(rel).canonicalize().ok()?;
    let inside = [dir, root]
        .iter()
        .filter_map(|d| d.canonicalize().ok())
        .any(|d| path.starts_with(d));
    let meta = std::fs::metadata(&path).ok()?;
    if !inside || !meta.is_file() || meta.len() > limits.max_template_bytes {
        return None;
    }
    let text = text::decode(&std::fs::read(&path).ok()?).ok()?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json") => json::parse(&text, limits).ok().map(|p| p.root),
        Some("yml" | "yaml") => yaml::parse_with(&text, limits, yaml::Aliases::EXPAND)
            .ok()
            .map(|p| p.root),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_inside_the_directory_or_root() {
        let tmp = tempfile::tempdir().unwrap();
        let svc = tmp.path().join("root/svc");
        std::fs::create_dir_all(&svc).unwrap();
        std::fs::write(svc.join("a.yml"), "k: v\n").unwrap();
        std::fs::write(tmp.path().join("root/shared.json"), "{\"k\": 1}").unwrap();
        std::fs::write(tmp.path().join("outside.yml"), "k: v\n").unwrap();
        std::fs::write(svc.join("b.js"), "module.exports = {}").unwrap();
        let root = tmp.path().join("root");
        let l = Limits::default();
        assert!(local(&svc, "./a.yml", &root, &l).is_some());
        assert!(local(&svc, "../shared.json", &root, &l).is_some());
        assert!(local(&svc, "../../outside.yml", &root, &l).is_none());
        assert!(local(&svc, "./b.js", &root, &l).is_none());
        assert!(local(&svc, "./missing.yml", &root, &l).is_none());
        let abs = svc.join("a.yml");
        assert!(local(&svc, abs.to_str().unwrap(), &root, &l).is_none());
    }
}
