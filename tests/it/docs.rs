//! The README and the book under `docs/`: every internal link and `#anchor` resolves, every page
//! is in the book, and the outputs the README shows are what atrest prints.
//!
//! Links are checked in the Markdown, parsed as CommonMark (pulldown-cmark, the parser mdBook
//! uses), so `cargo test` checks them without mdBook installed, and the README, which is not in
//! the book, with the same code. Anchors are made from headings as mdBook and GitHub make them.

use crate::common;
use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Links into the repository written as URLs (pages of the book must not link out of `docs/`
/// with a relative path: the built book does not hold those files). They are checked as files.
const REPO_URLS: &[&str] = &[
    "https://github.com/atrest-dev/atrest/blob/main/",
    "https://github.com/atrest-dev/atrest/tree/main/",
];

struct Page {
    anchors: HashSet<String>,
    /// Link destinations, with their line.
    links: Vec<(String, usize)>,
}

/// A heading's anchor as mdBook (`id_from_content`) and GitHub make it.
fn anchor(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c)
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

fn parse(text: &str) -> Page {
    let mut anchors = HashSet::new();
    let mut links = Vec::new();
    let mut heading: Option<String> = None;
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    for (event, range) in
        Parser::new_ext(text, pulldown_cmark::Options::ENABLE_TABLES).into_offset_iter()
    {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                heading = Some(String::new());
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = anchor(&heading.take().unwrap_or_default());
                // Repeated headings get -1, -2, ... as in mdBook and on GitHub.
                let mut id = base.clone();
                let mut n = 0;
                while !anchors.insert(id.clone()) {
                    n += 1;
                    id = format!("{base}-{n}");
                }
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                links.push((dest_url.to_string(), line_of(range.start)));
            }
            _ => {}
        }
    }
    Page { anchors, links }
}

/// The Markdown files under `dir`, recursively.
fn markdown_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            markdown_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every broken link of the Markdown files `files` (relative to `root`), one line each:
/// `file:line: what`. `book` is the book's source directory (relative to `root`): its pages may
/// not link out of it with a relative path, and each must be listed in its `SUMMARY.md`.
fn broken_links(root: &Path, files: &[PathBuf], book: &Path) -> Vec<String> {
    let mut pages: BTreeMap<PathBuf, Page> = BTreeMap::new();
    let mut problems = Vec::new();
    let load = |rel: &Path, pages: &mut BTreeMap<PathBuf, Page>| -> bool {
        if !pages.contains_key(rel) {
            match std::fs::read_to_string(root.join(rel)) {
                Ok(text) => {
                    pages.insert(rel.to_path_buf(), parse(&text));
                }
                Err(_) => return false,
            }
        }
        true
    };
    for file in files {
        load(file, &mut pages);
    }
    for file in files {
        let links = pages[file].links.clone();
        let dir = file.parent().unwrap_or(Path::new(""));
        let in_book = file.starts_with(book);
        for (dest, line) in links {
            let at = format!("{}:{line}", file.display());
            let (target, fragment) = match dest.split_once('#') {
                Some((t, f)) => (t.to_string(), Some(f.to_string())),
                None => (dest.clone(), None),
            };
            let target_path =
                if let Some(rest) = REPO_URLS.iter().find_map(|u| target.strip_prefix(u)) {
                    PathBuf::from(rest)
                } else if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                } else if target.is_empty() {
                    file.clone()
                } else {
                    let resolved = normalize(&dir.join(&target));
                    if in_book && !resolved.starts_with(book) {
                        problems.push(format!(
                            "{at}: {dest} leaves the book ({}/): the built book does not hold it; \
                         link to {}{} instead",
                            book.display(),
                            REPO_URLS[0],
                            resolved.display()
                        ));
                        continue;
                    }
                    resolved
                };
            let full = root.join(&target_path);
            if !full.exists() {
                problems.push(format!("{at}: {dest}: no file {}", target_path.display()));
                continue;
            }
            let Some(fragment) = fragment else { continue };
            if full.is_dir() || target_path.extension().is_none_or(|e| e != "md") {
                continue;
            }
            load(&target_path, &mut pages);
            if !pages[&target_path].anchors.contains(&fragment) {
                problems.push(format!(
                    "{at}: {dest}: no heading with the anchor #{fragment} in {}",
                    target_path.display()
                ));
            }
        }
    }
    // A page the summary does not list is not built, and links to it break in the book.
    let summary = book.join("SUMMARY.md");
    if let Some(listed) = pages.get(&summary).map(|p| {
        p.links
            .iter()
            .map(|(d, _)| normalize(&book.join(d.split('#').next().unwrap_or(""))))
            .collect::<HashSet<_>>()
    }) {
        for file in files {
            if file.starts_with(book) && *file != summary && !listed.contains(file) {
                problems.push(format!(
                    "{}: not listed in {}",
                    file.display(),
                    summary.display()
                ));
            }
        }
    }
    problems
}

/// The README, the changelog and every page of the book.
fn repository_markdown(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    markdown_under(&root.join("docs"), &mut files);
    let mut files: Vec<PathBuf> = files
        .into_iter()
        .map(|f| f.strip_prefix(root).unwrap().to_path_buf())
        .collect();
    files.sort();
    files
}

#[test]
fn every_internal_link_of_the_readme_and_the_book_resolves() {
    let root = common::manifest_dir();
    let files = repository_markdown(&root);
    assert!(files.len() > 10, "{files:?}");
    let problems = broken_links(&root, &files, Path::new("docs"));
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

/// The checker itself finds each kind of broken link: a missing file, a missing anchor on
/// another page and on the same page, a relative link out of the book, a repository URL to a
/// file that does not exist, and a page the summary leaves out.
#[test]
fn the_link_check_finds_broken_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("LICENSE"), "").unwrap();
    std::fs::write(
        root.join("README.md"),
        "# Top\n\n[ok](docs/a.md#a-b--c) [no file](docs/gone.md) [no anchor](docs/a.md#nowhere)\n\
         [here](#top) [not here](#bottom) [license](LICENSE)\n\n```md\n[in code](nothing.md)\n```\n",
    )
    .unwrap();
    std::fs::write(root.join("docs/SUMMARY.md"), "# Summary\n\n- [A](a.md)\n").unwrap();
    std::fs::write(
        root.join("docs/a.md"),
        "# A\n\n## A, `b` & C\n\n[out](../LICENSE) [url](https://github.com/atrest-dev/atrest/blob/main/LICENSE) \
         [bad url](https://github.com/atrest-dev/atrest/blob/main/NOTICE) [b](b.md) [x](https://example.com/x.md)\n",
    )
    .unwrap();
    std::fs::write(root.join("docs/b.md"), "# B\n").unwrap();
    let files = repository_markdown(root)
        .into_iter()
        .filter(|f| root.join(f).exists())
        .collect::<Vec<_>>();
    let problems = broken_links(root, &files, Path::new("docs"));
    let expected = [
        "README.md:3: docs/gone.md: no file docs/gone.md",
        "README.md:3: docs/a.md#nowhere: no heading with the anchor #nowhere in docs/a.md",
        "README.md:4: #bottom: no heading with the anchor #bottom in README.md",
        "docs/a.md:5: ../LICENSE leaves the book (docs/)",
        "docs/a.md:5: https://github.com/atrest-dev/atrest/blob/main/NOTICE: no file NOTICE",
        "docs/b.md: not listed in docs/SUMMARY.md",
    ];
    for e in expected {
        assert!(
            problems.iter().any(|p| p.starts_with(e)),
            "{e:?} not in:\n{}",
            problems.join("\n")
        );
    }
    assert_eq!(problems.len(), expected.len(), "{}", problems.join("\n"));
}

/// The text of the first fenced block after `after` in `text`, and the rest after it.
fn block_after<'a>(text: &'a str, after: &str, fence: &str) -> &'a str {
    let rest = text
        .split_once(after)
        .unwrap_or_else(|| panic!("no {after:?}"))
        .1;
    let body = rest
        .split_once(fence)
        .unwrap_or_else(|| panic!("no {fence:?} after {after:?}"))
        .1;
    body.split_once("```").unwrap().0
}

/// The README's side-by-side example: the template Checkov passes fails ATR-L001, with exactly
/// the output the README shows.
#[test]
fn the_readme_checkov_example_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(common::manifest_dir().join("README.md")).unwrap();
    let template = block_after(
        &readme,
        "## Checkov passes it, atrest fails it",
        "```yaml\n",
    );
    let shown = block_after(&readme, "$ atrest scan --rule ATR-L001 template.yaml\n", "");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("template.yaml"), template).unwrap();
    let out = common::atrest(dir.path())
        .args(["scan", "--rule", "ATR-L001", "template.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), shown);
    assert!(shown.contains("alias/aws/lambda"));
}

/// The quick start's output: the README shows the start of `atrest scan examples/` and its last
/// line.
#[test]
fn the_readme_quick_start_prints_what_the_readme_shows() {
    let root = common::manifest_dir();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let shown = block_after(&readme, "## Quick start", "```text\n");
    let (start, last) = shown.split_once("  ...\n\n").expect("the elision");
    let out = common::atrest(&root)
        .args(["scan", "examples/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.starts_with(start), "{printed}");
    assert_eq!(printed.lines().last(), last.lines().next(), "{printed}");
}

/// The README's rules table lists every built-in rule, with its severity, security-severity and
/// title as the policies' METADATA gives them.
#[test]
fn the_readme_rules_table_is_the_builtin_catalogue() {
    let readme = std::fs::read_to_string(common::manifest_dir().join("README.md")).unwrap();
    let section = readme
        .split_once("\n## Rules\n")
        .expect("a Rules section")
        .1;
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<String> = section
        .lines()
        .filter(|l| l.starts_with("| ATR-"))
        .map(str::to_owned)
        .collect();
    let mut rules: Vec<_> = common::builtin().rules.iter().collect();
    rules.sort_by_key(|r| (!r.id.starts_with("ATR-L"), r.id.clone()));
    let expected: Vec<String> = rules
        .iter()
        .map(|r| {
            format!(
                "| {} | {} | {} | {} |",
                r.id, r.severity, r.security_severity, r.title
            )
        })
        .collect();
    assert_eq!(rows, expected);
}
