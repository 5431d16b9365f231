//! `atrest model`: the resource model policies see, as JSON.

use crate::escape::Escaped;
use crate::model::{Inventory, ModelEntry};
use crate::scan::{self, ScanOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(
    paths: Vec<PathBuf>,
    tf_vars: Vec<PathBuf>,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let loaded = scan::load(&ScanOptions {
        tf_vars,
        ..ScanOptions::of(paths)
    });
    // One entry per evaluation unit: a template, a Terraform root module or plan, or all
    // deployed-state inputs together.
    let models: Vec<ModelEntry<&Inventory>> = loaded
        .units
        .iter()
        .map(|unit| ModelEntry {
            file: unit.files.first().map(|f| f.to_string()),
            files: unit.files.iter().map(|f| f.to_string()).collect(),
            kind: unit.kind.name().to_owned(),
            model: &unit.inventory,
        })
        .collect();
    let text = crate::escape::to_json(&models, true);
    let _ = writeln!(out, "{text}");
    for e in &loaded.notes {
        eprintln!("note: {}", Escaped(e));
    }
    for e in &loaded.errors {
        eprintln!("error: {}", Escaped(e));
    }
    Ok(super::exit_code(!loaded.errors.is_empty(), false))
}
