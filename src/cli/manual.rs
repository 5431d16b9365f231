//! `atrest completions SHELL` and `atrest man`: shell completions and manual pages generated from
//! the command-line definition itself, so that they list exactly the options the binary takes.

use crate::escape::Escaped;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Writes the completion script for `shell` to `out` (standard output).
pub fn completions(
    mut cmd: clap::Command,
    shell: clap_complete::Shell,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let name = cmd.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    write_out(out, &script)
}

/// Without `dir`, writes the page of `atrest` itself to standard output; with it, writes one page
/// per command (`atrest.1`, `atrest-scan.1`, ...) into `dir`, creating it if needed.
pub fn man(
    cmd: clap::Command,
    dir: Option<&Path>,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let Some(dir) = dir else {
        // As `generate_to` renders it: `help` is a flag there, not a command with a page.
        let mut cmd = cmd.disable_help_subcommand(true);
        cmd.build();
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut page)
            .map_err(|e| format!("cannot render the manual page: {e}"))?;
        return write_out(out, &page);
    };
    let shown = Escaped(dir.display());
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {shown}: {e}"))?;
    clap_mangen::generate_to(cmd, dir)
        .map_err(|e| format!("cannot write the manual pages into {shown}: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn write_out(out: &mut dyn Write, bytes: &[u8]) -> Result<ExitCode, String> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `atrest completions bash | head`: a closed pipe is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(format!("cannot write to standard output: {e}")),
    }
}
