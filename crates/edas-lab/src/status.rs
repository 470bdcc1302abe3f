//! A run directory's state as the lab sees it: what to do with it (skip,
//! resume, start) and a few words for `--status`, both from
//! [`edas_run::status`]'s structured records.

use std::path::Path;

use anyhow::{Context, Result};
use edas_run::status::{Progress, RunState, run_state};

/// What to do with a run directory: skip it (finished), resume it, or start it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `results.json` exists.
    Skip,
    /// A checkpoint exists (also after a failure: the retry resumes).
    Resume,
    /// Nothing of a run, or a run that failed before its first checkpoint:
    /// start over.
    Start,
}

/// The action for run directory `dir`. A damaged record (a `state.json`
/// that cannot be read) is an error naming it, not a fresh start that
/// would replace the run.
pub fn action(dir: &Path) -> Result<Action> {
    let state =
        run_state(dir).with_context(|| format!("cannot tell the state of {}", dir.display()))?;
    Ok(match state {
        RunState::Finished => Action::Skip,
        RunState::InProgress(_)
        | RunState::Failed {
            progress: Some(_), ..
        } => Action::Resume,
        RunState::Failed { progress: None, .. } | RunState::Started | RunState::NotStarted => {
            Action::Start
        }
    })
}

/// `epoch 3/50`, or `epoch 3/50, step 120` in the middle of one.
fn progress_text(p: &Progress) -> String {
    let total = p.epochs.map_or_else(|| "?".to_owned(), |e| e.to_string());
    match p.step {
        0 => format!("epoch {}/{total}", p.epochs_done),
        step => format!("epoch {}/{total}, step {step}", p.epochs_done),
    }
}

/// One run directory's state, in a few words: `done`, `epoch 3/50`,
/// `failed: <its error>`, `started`, `-` (not started), or `unreadable:
/// <why>` when its records cannot be read.
pub fn describe(dir: &Path) -> String {
    match run_state(dir) {
        Ok(RunState::Finished) => "done".into(),
        Ok(RunState::InProgress(p)) => progress_text(&p),
        Ok(RunState::Failed { error, progress }) => match progress {
            Some(p) => format!("failed at {}: {error}", progress_text(&p)),
            None => format!("failed: {error}"),
        },
        Ok(RunState::Started) => "started".into(),
        Ok(RunState::NotStarted) => "-".into(),
        Err(e) => format!("unreadable: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use edas_run::files::{
        CHECKPOINT_DIR, CONFIG_FILE, LOG_FILE, RESULTS_FILE, STATE_FILE, STATUS_FILE,
    };

    #[test]
    fn run_states_read_the_run_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        assert_eq!(describe(&dir), "-");
        assert_eq!(action(&dir).unwrap(), Action::Start);
        std::fs::create_dir_all(dir.join(CHECKPOINT_DIR)).unwrap();
        std::fs::write(dir.join(CONFIG_FILE), "epochs = 50\n").unwrap();
        std::fs::write(dir.join(LOG_FILE), "search ...\n").unwrap();
        assert_eq!(describe(&dir), "started");
        let state = dir.join(CHECKPOINT_DIR).join(STATE_FILE);
        std::fs::write(&state, r#"{"epochs_done": 3, "step": 120}"#).unwrap();
        assert_eq!(describe(&dir), "epoch 3/50, step 120");
        assert_eq!(action(&dir).unwrap(), Action::Resume);
        std::fs::write(
            dir.join(STATUS_FILE),
            r#"{"state": "failed", "error": "the training loss became NaN at epoch 4, step 2"}"#,
        )
        .unwrap();
        assert_eq!(
            describe(&dir),
            "failed at epoch 3/50, step 120: the training loss became NaN at epoch 4, step 2"
        );
        // A failed run with a checkpoint is retried from it.
        assert_eq!(action(&dir).unwrap(), Action::Resume);
        // A resume records that it runs again: the old error is gone.
        std::fs::write(dir.join(STATUS_FILE), r#"{"state": "running"}"#).unwrap();
        assert_eq!(describe(&dir), "epoch 3/50, step 120");
        // A damaged checkpoint is named, and not started over.
        std::fs::write(&state, "{").unwrap();
        assert!(
            describe(&dir).starts_with("unreadable: "),
            "{}",
            describe(&dir)
        );
        let e = format!("{:#}", action(&dir).unwrap_err());
        assert!(e.contains("state.json"), "{e}");
        std::fs::write(dir.join(RESULTS_FILE), "{}").unwrap();
        assert_eq!(describe(&dir), "done");
        assert_eq!(action(&dir).unwrap(), Action::Skip);
    }
}
