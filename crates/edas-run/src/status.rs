//! A run's state, as a reader that does not hold the run's lock sees it
//! (the lab's runners, `--status` and reports): finished, in progress
//! (stopped or running, at epoch e and step s of E), failed with its error,
//! started or not started. Read from structured records only: `results.json`,
//! the driver's `status.json` ([`StatusRecord`]) and the newest checkpoint's
//! `state.json` with the run's `config.toml`; an unreadable record is an
//! error naming its file, never a default.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::load;
use crate::dir::{RunDir, latest_checkpoint, read_json};
use crate::error::{Result, RunError};
use crate::files::{CONFIG_FILE, LOG_FILE, RESULTS_FILE, STATE_FILE, STATUS_FILE};

/// What `status.json` holds: the state the run's last process left it in.
/// The driver writes `running` when it starts or resumes a run, and the
/// outcome when it ends; a process killed without a word leaves `running`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StatusRecord {
    /// A process is running it (or was, until it was killed).
    Running,
    /// Stopped at a checkpoint: by a signal (`interrupted`), else by
    /// `--stop-after`.
    Stopped {
        /// Whether a signal stopped it.
        interrupted: bool,
    },
    /// The run failed; `error` is the error chain as the binary printed it.
    Failed {
        /// The error and its causes, `a: b: c`.
        error: String,
    },
    /// Every epoch is done (`results.json` is written).
    Finished,
}

impl RunDir {
    /// Records the run's state in `status.json` (atomically).
    pub fn write_status(&self, record: &StatusRecord) -> Result<()> {
        self.write_json(STATUS_FILE, record)
    }
}

/// How far a run got: its newest checkpoint's counters and the epochs its
/// config asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Whole epochs done.
    pub epochs_done: u64,
    /// Steps done within the next epoch (0 at an epoch boundary).
    pub step: u64,
    /// The run's epochs, when its config says.
    pub epochs: Option<u64>,
}

/// A run directory's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunState {
    /// No run directory, or nothing of a run in it.
    NotStarted,
    /// A run began (its log exists) but has no checkpoint yet, and no
    /// failure was recorded.
    Started,
    /// A checkpoint exists: the run is running, or stopped and resumable.
    InProgress(Progress),
    /// The last process failed; the checkpoint it left, if any, resumes.
    Failed {
        /// The recorded error.
        error: String,
        /// Where the newest checkpoint stands.
        progress: Option<Progress>,
    },
    /// `results.json` exists.
    Finished,
}

/// The state of the run in `dir`.
pub fn run_state(dir: &Path) -> Result<RunState> {
    if dir.join(RESULTS_FILE).is_file() {
        return Ok(RunState::Finished);
    }
    let progress = progress(dir)?;
    let status = dir.join(STATUS_FILE);
    let record = if status.symlink_metadata().is_ok() {
        Some(read_json::<StatusRecord>(&status)?)
    } else {
        None
    };
    Ok(match (record, progress) {
        (Some(StatusRecord::Failed { error }), progress) => RunState::Failed { error, progress },
        (_, Some(p)) => RunState::InProgress(p),
        (_, None) if dir.join(LOG_FILE).is_file() => RunState::Started,
        (_, None) => RunState::NotStarted,
    })
}

/// Where the newest checkpoint of the run in `dir` stands (`None` without
/// one). A checkpoint or config that cannot be read is an error naming it.
pub fn progress(dir: &Path) -> Result<Option<Progress>> {
    let Some(checkpoint) = latest_checkpoint(dir) else {
        return Ok(None);
    };
    let path = checkpoint.join(STATE_FILE);
    let state: serde_json::Value = read_json(&path)?;
    let counter = |key: &str| -> Result<u64> {
        match state.get(key) {
            None => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| RunError::RunDir {
                path: path.clone(),
                message: format!("`{key}` is {v}, not a count"),
            }),
        }
    };
    let (epochs_done, step) = (counter("epochs_done")?, counter("step")?);
    let config = dir.join(CONFIG_FILE);
    let epochs = if config.symlink_metadata().is_ok() {
        load::<toml::Table>(&config, &[])?
            .config
            .get("epochs")
            .and_then(toml::Value::as_integer)
            .and_then(|e| u64::try_from(e).ok())
    } else {
        None
    };
    Ok(Some(Progress {
        epochs_done,
        step,
        epochs,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::files::CHECKPOINT_DIR;

    #[test]
    fn states_come_from_the_records() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        assert_eq!(run_state(&dir).unwrap(), RunState::NotStarted);
        std::fs::create_dir_all(dir.join(CHECKPOINT_DIR)).unwrap();
        std::fs::write(dir.join(LOG_FILE), "search ...\n").unwrap();
        assert_eq!(run_state(&dir).unwrap(), RunState::Started);
        std::fs::write(dir.join(CONFIG_FILE), "epochs = 50\n").unwrap();
        std::fs::write(
            dir.join(CHECKPOINT_DIR).join(STATE_FILE),
            r#"{"epochs_done": 3, "step": 120}"#,
        )
        .unwrap();
        let at = Progress {
            epochs_done: 3,
            step: 120,
            epochs: Some(50),
        };
        assert_eq!(run_state(&dir).unwrap(), RunState::InProgress(at));
        let failed = StatusRecord::Failed {
            error: "training loss is NaN".into(),
        };
        std::fs::write(
            dir.join(STATUS_FILE),
            serde_json::to_string(&failed).unwrap(),
        )
        .unwrap();
        assert_eq!(
            run_state(&dir).unwrap(),
            RunState::Failed {
                error: "training loss is NaN".into(),
                progress: Some(at)
            }
        );
        // A resumed run is running again until it ends.
        std::fs::write(dir.join(STATUS_FILE), r#"{"state": "running"}"#).unwrap();
        assert_eq!(run_state(&dir).unwrap(), RunState::InProgress(at));
        std::fs::write(dir.join(RESULTS_FILE), "{}").unwrap();
        assert_eq!(run_state(&dir).unwrap(), RunState::Finished);
    }

    #[test]
    fn unreadable_records_are_errors_that_name_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join(CHECKPOINT_DIR)).unwrap();
        let state = dir.join(CHECKPOINT_DIR).join(STATE_FILE);
        std::fs::write(&state, "{not json").unwrap();
        let e = run_state(dir).unwrap_err().to_string();
        assert!(e.contains("state.json"), "{e}");
        std::fs::write(&state, r#"{"epochs_done": -1}"#).unwrap();
        let e = run_state(dir).unwrap_err().to_string();
        assert!(e.contains("`epochs_done` is -1, not a count"), "{e}");
        std::fs::write(&state, r#"{"epochs_done": 1}"#).unwrap();
        std::fs::write(dir.join(STATUS_FILE), r#"{"state": "exploded"}"#).unwrap();
        let e = run_state(dir).unwrap_err().to_string();
        assert!(e.contains("status.json"), "{e}");
        std::fs::remove_file(dir.join(STATUS_FILE)).unwrap();
        std::fs::write(dir.join(CONFIG_FILE), "epochs = [").unwrap();
        let e = run_state(dir).unwrap_err().to_string();
        assert!(e.contains("config.toml"), "{e}");
    }
}
