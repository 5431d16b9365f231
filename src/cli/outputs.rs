//! Where the reports of one run go: `--format NAME` (to standard output, or to `--output FILE`)
//! and `--format NAME=FILE`, repeatable, so that one scan writes SARIF for code scanning and
//! the text report for the log.

use clap::ValueEnum;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    Jsonl,
    /// A review report: one self-contained page with the data-at-rest map
    Html,
    /// A review report for a pull-request comment or `$GITHUB_STEP_SUMMARY`
    Markdown,
}

/// One `--format` value: a format, and the file it goes to when given as `NAME=FILE`.
#[derive(Clone, Debug)]
pub struct FormatArg {
    pub format: Format,
    pub file: Option<PathBuf>,
}

/// Parses `NAME` or `NAME=FILE` (the file may hold `=` itself; a format name never does).
pub fn parse(value: &str) -> Result<FormatArg, String> {
    let (name, file) = match value.split_once('=') {
        Some((name, file)) => (name, Some(file)),
        None => (value, None),
    };
    let format = Format::from_str(name, true).map_err(|_| {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| v.get_name().to_owned())
            .collect();
        format!("no format {name:?} (one of: {})", names.join(", "))
    })?;
    if file == Some("") {
        return Err(format!("`{name}=` names no file"));
    }
    Ok(FormatArg {
        format,
        file: file.map(PathBuf::from),
    })
}

/// A report to write: its format and its file (`None`: standard output).
pub struct Target {
    pub format: Format,
    pub file: Option<PathBuf>,
}

/// The reports to write for `--format` values and `--output`. With no `--format`, the text
/// report; a format without a file goes to `--output`, or else to standard output, so at most
/// one may be without one.
pub fn targets(formats: &[FormatArg], output: Option<&Path>) -> Result<Vec<Target>, String> {
    let text = [FormatArg {
        format: Format::Text,
        file: None,
    }];
    let formats = if formats.is_empty() { &text } else { formats };
    let name = |f: Format| f.to_possible_value().map(|v| v.get_name().to_owned());
    let name = |f: Format| name(f).unwrap_or_default();
    let plain: Vec<Format> = formats
        .iter()
        .filter(|f| f.file.is_none())
        .map(|f| f.format)
        .collect();
    if let [first, second, ..] = plain[..] {
        let to = output.map_or("standard output".to_owned(), |o| {
            format!("--output {}", o.display())
        });
        return Err(format!(
            "--format {} and --format {} would both go to {to}: name a file for one (`--format {}=FILE`)",
            name(first),
            name(second),
            name(second)
        ));
    }
    if output.is_some() && plain.is_empty() {
        return Err("--output: every --format already names its file (FORMAT=FILE)".into());
    }
    if formats.len() > 1 && formats.iter().any(|f| f.format == Format::Jsonl) {
        return Err(
            "--format jsonl is written alone: it is the input of `atrest merge`, which writes the reports"
                .into(),
        );
    }
    let root = crate::scan::scan_root();
    let mut seen: Vec<String> = Vec::new();
    let mut targets = Vec::new();
    for f in formats {
        let file = f.file.clone().or_else(|| output.map(Path::to_path_buf));
        if let Some(file) = &file {
            let shown = crate::scan::display_path(file, &root);
            if seen.contains(&shown) {
                return Err(format!("--format: {shown} is named for two reports"));
            }
            seen.push(shown);
        }
        targets.push(Target {
            format: f.format,
            file,
        });
    }
    Ok(targets)
}

/// The format written to standard output, if one is.
pub fn to_stdout(formats: &[FormatArg], output: Option<&Path>) -> Option<Format> {
    if output.is_some() {
        return None;
    }
    if formats.is_empty() {
        return Some(Format::Text);
    }
    formats.iter().find(|f| f.file.is_none()).map(|f| f.format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(values: &[&str]) -> Vec<FormatArg> {
        values.iter().map(|v| parse(v).unwrap()).collect()
    }

    fn shown(targets: &[Target]) -> Vec<(String, Option<String>)> {
        targets
            .iter()
            .map(|t| {
                (
                    t.format.to_possible_value().unwrap().get_name().to_owned(),
                    t.file.as_ref().map(|f| f.display().to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn one_format_goes_to_output_or_standard_output() {
        let t = targets(&args(&["sarif"]), Some(Path::new("a.sarif"))).unwrap();
        assert_eq!(shown(&t), [("sarif".into(), Some("a.sarif".into()))]);
        let t = targets(&[], None).unwrap();
        assert_eq!(shown(&t), [("text".into(), None)]);
        assert_eq!(to_stdout(&[], None), Some(Format::Text));
        assert_eq!(to_stdout(&args(&["json"]), Some(Path::new("x"))), None);
    }

    #[test]
    fn several_formats_each_with_its_file() {
        let given = args(&["sarif=out/a=b.sarif", "text", "JSON=r.json"]);
        let t = targets(&given, None).unwrap();
        assert_eq!(
            shown(&t),
            [
                ("sarif".into(), Some("out/a=b.sarif".into())),
                ("text".into(), None),
                ("json".into(), Some("r.json".into())),
            ]
        );
        assert_eq!(to_stdout(&given, None), Some(Format::Text));
        let t = targets(&args(&["sarif=a.sarif", "text"]), Some(Path::new("t.txt"))).unwrap();
        assert_eq!(t[1].file.as_deref(), Some(Path::new("t.txt")));
    }

    #[test]
    fn conflicts_are_refused_with_the_way_out() {
        let e = targets(&args(&["sarif", "text"]), None).err().unwrap();
        assert!(e.contains("`--format text=FILE`"), "{e}");
        let e = targets(&args(&["sarif=a", "text=b"]), Some(Path::new("c")))
            .err()
            .unwrap();
        assert!(e.starts_with("--output: every --format"), "{e}");
        let e = targets(&args(&["jsonl=a", "text"]), None).err().unwrap();
        assert!(e.contains("written alone"), "{e}");
        let e = targets(&args(&["sarif=a", "json=./a"]), None)
            .err()
            .unwrap();
        assert_eq!(e, "--format: a is named for two reports");
        assert!(parse("xml").unwrap_err().contains("one of: text, json"));
        assert_eq!(parse("sarif=").unwrap_err(), "`sarif=` names no file");
    }
}
