//! Ctrl-C and SIGTERM: the first one asks the run to stop after the current event (the replay
//! loop polls [`requested`], one relaxed load per event), so the cells already done are kept,
//! their report written and the work directory cleaned; a second one exits at once.

use std::fmt;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Once;

/// SIGINT's number on Linux.
const SIGINT: c_int = 2;
/// SIGTERM's number on Linux.
const SIGTERM: c_int = 15;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static INSTALL: Once = Once::new();

extern "C" {
    fn signal(signum: c_int, handler: usize) -> usize;
    fn write(fd: c_int, buf: *const u8, count: usize) -> isize;
    fn _exit(status: c_int) -> !;
}

/// The handler: only async-signal-safe calls (atomics, write, _exit).
extern "C" fn on_signal(signum: c_int) {
    SIGNAL.store(signum, Ordering::SeqCst);
    if REQUESTED.swap(true, Ordering::SeqCst) {
        let message = b"\nstatebench: second interrupt, aborting now\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer outlives the call.
        unsafe {
            write(2, message.as_ptr(), message.len());
            _exit(128 + signum);
        }
    }
}

/// Installs the SIGINT and SIGTERM handler (once per process).
pub fn install() {
    INSTALL.call_once(|| {
        let handler = on_signal as extern "C" fn(c_int) as usize;
        // SAFETY: glibc's signal() installs a persistent, restarting handler; `on_signal` only
        // touches atomics until it exits.
        unsafe {
            signal(SIGINT, handler);
            signal(SIGTERM, handler);
        }
    });
}

/// Whether a stop was asked for: the check the replay loop makes once per event.
#[inline]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// The error a run stops with when interrupted; `kept` says what the run kept.
#[derive(Debug)]
pub struct Interrupted {
    /// The signal's number.
    pub signal: i32,
    /// What was kept and how to resume, once the run has finished up.
    pub kept: Option<String>,
}

impl Interrupted {
    /// The interruption asked for now.
    pub fn now() -> Interrupted {
        Interrupted {
            signal: SIGNAL.load(Ordering::SeqCst),
            kept: None,
        }
    }

    /// The exit status a shell expects of a process stopped by this signal (128 + number).
    pub fn exit_status(&self) -> u8 {
        128u8.saturating_add(u8::try_from(self.signal).unwrap_or(0))
    }
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.signal {
            SIGTERM => "SIGTERM",
            _ => "SIGINT",
        };
        write!(f, "interrupted by {name}")?;
        match &self.kept {
            Some(kept) => write!(f, ": {kept}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Interrupted {}
