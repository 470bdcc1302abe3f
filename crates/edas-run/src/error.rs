//! Errors of the run machinery.

use std::path::PathBuf;

/// What can go wrong while setting up, writing or resuming a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Reading or writing a file (the cause follows in the error chain).
    #[error("cannot access {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A config file or override is wrong; `key` is the dotted key.
    #[error("{file}: {}{message}", key_prefix(.key))]
    Config {
        /// The config file (or `--set` for an override).
        file: String,
        /// The dotted key (`edas.tau`), empty for the whole file.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The run directory is in a state that does not allow the request.
    #[error("{path}: {message}")]
    RunDir {
        /// The run directory.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file that cannot be written or read under the file rules
    /// (`edas-fs`: not a regular file, too large, exists).
    #[error(transparent)]
    Fs(#[from] edas_fs::FsError),
    /// A chart cannot be drawn.
    #[error("cannot draw a chart: {0}")]
    Plot(String),
    /// An exported weights file cannot be written.
    #[error("cannot write {path}: {message}")]
    Export {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A checkpoint cannot be written or read.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A loss or gradient became NaN or infinite; the run stopped without
    /// checkpointing the epoch.
    #[error(
        "the {what} at epoch {epoch}, step {step}; the run stopped and {checkpoint} ({advice})"
    )]
    Diverged {
        /// What became non-finite (`training loss became NaN`).
        what: String,
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step in the epoch.
        step: usize,
        /// What is left on disk.
        checkpoint: String,
        /// What to change (config keys), then start over.
        advice: &'static str,
    },
    /// JSON (metrics, state) that cannot be written or parsed (the cause
    /// follows in the error chain).
    #[error("invalid JSON in {}{}", path.display(), line.map_or_else(String::new, |l| format!(", line {l}")))]
    Json {
        /// The file.
        path: PathBuf,
        /// The 1-based line of a JSON-lines file (`metrics.jsonl`).
        line: Option<usize>,
        /// The cause.
        source: serde_json::Error,
    },
}

/// `Result` with [`RunError`].
pub type Result<T> = std::result::Result<T, RunError>;

/// "key `K`: " before a config message, nothing when the key is empty.
fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("key `{key}`: ")
    }
}

/// An error and its causes on one line, `a: b: c`, as the binary prints
/// them (an error's message does not repeat its cause): for a log that
/// records what it cannot return.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// Attaches `path` to an I/O error (`.map_err(io(path))`).
pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RunError {
    let path = path.into();
    move |source| RunError::Io { path, source }
}
