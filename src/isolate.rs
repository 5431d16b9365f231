//! Keeps a bug in the handling of one input from taking the whole scan down.
//!
//! Each input (a template, a Terraform root module or plan, the deployed state, the CloudTrail
//! logs, one evaluation) is read, modelled and evaluated inside [`isolate`]. A panic there
//! becomes an error for that input that names it and says it is a bug, with the panic's message
//! and where in atrest it happened, while every other input is still scanned and reported. This
//! needs `panic = "unwind"`, which every profile in `Cargo.toml` keeps.
//!
//! The panic hook is replaced once, by the first call: while a thread is inside `isolate`, a
//! panic is recorded for the caller instead of being printed; outside, the previous hook runs
//! as before.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// How many `isolate` calls this thread is inside.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The last panic caught on this thread: its message and where it was raised.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if DEPTH.with(Cell::get) == 0 {
                previous(info);
                return;
            }
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            let text = match info.location() {
                Some(at) => format!("{message} (at {}:{}:{})", at.file(), at.line(), at.column()),
                None => message,
            };
            LAST.with(|l| *l.borrow_mut() = Some(text));
        }));
    });
}

/// Runs `f`; a panic inside it becomes `Err` with a one-line message for the user: what failed,
/// that it is a bug in atrest, and the panic's own message and place.
///
/// `what` says what was being done, as in "modelling this template".
pub fn isolate<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    result.map_err(|_| {
        let detail = LAST
            .with(|l| l.borrow_mut().take())
            .unwrap_or_else(|| "no message".to_owned());
        let detail = detail.replace(['\n', '\r'], " ");
        format!(
            "internal error while {what}: {detail}; this is a bug in atrest, please report it (the other inputs were scanned)"
        )
    })
}

/// A test-only trigger: in debug builds, when `ATREST_TEST_PANIC` is set and `name` (a path as
/// shown to the user) ends with its value, panic, so that tests can check that one input's
/// panic leaves the rest of the scan intact. Release builds compile this to nothing.
pub fn test_trigger(name: &str) {
    #[cfg(debug_assertions)]
    if let Some(target) = std::env::var_os("ATREST_TEST_PANIC")
        && !target.is_empty()
        && name.ends_with(target.to_string_lossy().as_ref())
    {
        panic!("test panic for {name} (ATREST_TEST_PANIC)");
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message_and_place() {
        let err = isolate("modelling t.yaml", || -> u32 { panic!("boom {}", 7) }).unwrap_err();
        assert!(
            err.starts_with("internal error while modelling t.yaml: boom 7 (at "),
            "{err}"
        );
        assert!(err.contains("src/isolate.rs:"), "{err}");
        assert!(err.contains("this is a bug in atrest"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn no_panic_passes_the_value_through() {
        assert_eq!(isolate("x", || 3), Ok(3));
    }

    #[test]
    fn nested_and_repeated_panics_are_each_reported() {
        let outer = isolate("outer", || {
            let inner = isolate("inner", || panic!("first"));
            assert!(inner.unwrap_err().contains("first"));
            panic!("second")
        });
        let err: Result<(), String> = outer;
        let err = err.unwrap_err();
        assert!(err.contains("outer: second"), "{err}");
        assert!(!err.contains("first"), "{err}");
    }
}
