//! Stopping a run at the next step boundary when the process is asked to
//! end (SIGTERM from a cluster's scheduler before a time limit or a
//! preemption, SIGINT from Ctrl-C): the run writes a checkpoint that
//! resumes exactly, mid-epoch included, and the process exits with
//! [`INTERRUPTED`]. A second SIGINT ends the process at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::error::RunError;

/// The exit status of a run stopped by a signal after writing its
/// checkpoint (`EX_TEMPFAIL`: try again; `--resume` continues it).
pub const INTERRUPTED: u8 = 75;

/// Set when the process has been asked to stop.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag no signal sets (tests set it by hand).
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// A flag SIGTERM and SIGINT set; a second SIGINT exits the process
    /// at once (status 1).
    pub fn on_signals() -> Result<StopFlag, RunError> {
        let flag = StopFlag::new();
        let register = |result: std::io::Result<signal_hook::SigId>| {
            result.map_err(|source| RunError::Io {
                path: "signal handler".into(),
                source,
            })
        };
        // Order matters: the shutdown check must see the flag before the
        // first handler sets it.
        register(signal_hook::flag::register_conditional_shutdown(
            SIGINT,
            1,
            Arc::clone(&flag.0),
        ))?;
        for signal in [SIGINT, SIGTERM] {
            register(signal_hook::flag::register(signal, Arc::clone(&flag.0)))?;
        }
        Ok(flag)
    }

    /// Asks the run to stop at its next step boundary.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
