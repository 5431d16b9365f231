//! A spinner on standard error for scans that take longer than a second, so a large repository
//! does not look hung. Only for people at a terminal: the caller decides when it may show.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// Runs `work`; if it is still running after a second and `enabled`, shows a spinner with the
/// number of files and the elapsed time until it ends, then clears it.
pub fn while_running<T>(enabled: bool, files: usize, work: impl FnOnce() -> T) -> T {
    if !enabled {
        return work();
    }
    let (done, finished) = mpsc::channel::<()>();
    let spinner = std::thread::spawn(move || {
        if !matches!(
            finished.recv_timeout(Duration::from_secs(1)),
            Err(RecvTimeoutError::Timeout)
        ) {
            return;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_elapsed(Duration::from_secs(1));
        bar.set_style(
            ProgressStyle::with_template("{spinner} scanning {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("{files} file{}", if files == 1 { "" } else { "s" }));
        bar.enable_steady_tick(Duration::from_millis(120));
        let _ = finished.recv();
        bar.finish_and_clear();
    });
    let out = work();
    drop(done);
    let _ = spinner.join();
    out
}
