//! The epoch driver that search and training share: resume from the
//! checkpoint, stop after `--stop-after` epochs, stop on a diverged loss,
//! checkpoint after every epoch, append the metrics line, redraw the plots
//! and write the final results.
//!
//! A search or a training plugs in through [`EpochTask`]: it owns its data,
//! its network and its optimisers, runs one epoch when asked and says what a
//! checkpoint holds; the driver owns the run directory's life cycle, so a
//! fix to resume or to the divergence stop is made once for both.
//!
//! A checkpoint's `state.json` is [`CheckpointState`]: the driver's fields
//! (`epochs_done`, `config`, `elapsed_s`, and within an epoch `step` and the
//! epoch's running sums) and the task's state flattened beside them.
//! Metrics line first, checkpoint second: the checkpoint is staged, the
//! epoch's record appended, then the checkpoint committed, so that a crash
//! between the two resumes from the previous checkpoint and drops the later
//! record ([`RunDir::resume_metrics`]); the other order would leave a
//! checkpoint whose epoch has no record, which cannot be resumed.
//!
//! Within an epoch a task pauses at a step boundary when
//! [`Epoch::pause_after`] says so (a stop was requested by a signal, or
//! `checkpoint_every` steps are done): it returns [`EpochEnd::Paused`] with
//! its running sums, the driver checkpoints, and either returns
//! (interrupted) or calls the task again from that step. A run resumed from
//! such a checkpoint ends as an uninterrupted one: data order is a function
//! of (seed, epoch, batch), and the task's state holds its random
//! generators and optimisers.

use std::path::Path;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::dir::{OpenMode, RunDir, RunOptions, stage_checkpoint};
use crate::error::RunError;
use crate::files::{STATE_FILE, STATUS_FILE};
use crate::progress::Progress;
use crate::signal::StopFlag;
use crate::status::StatusRecord;
use crate::sys::{mib, peak_rss_bytes, reset_peak_rss};

/// One line of `metrics.jsonl`; the driver fills in what the epoch cost.
pub trait EpochRecord: Serialize + DeserializeOwned + Clone {
    /// Records the epoch's wall time (steps, evaluation and checkpoint) and
    /// the process's peak resident memory during it, where measurable.
    fn set_cost(&mut self, epoch_time_s: f64, peak_memory_mib: Option<f64>);
}

/// How an epoch call ended.
#[derive(Clone, Debug)]
pub enum EpochEnd<R> {
    /// Every step and the end-of-epoch evaluation are done.
    Done(R),
    /// Paused at a step boundary ([`Epoch::pause_after`]).
    Paused {
        /// Steps of the epoch done.
        step: usize,
        /// The epoch's running sums, handed back through
        /// [`Epoch::partial`] when the epoch continues.
        partial: serde_json::Value,
    },
}

impl<R> EpochEnd<R> {
    /// Paused after `step` steps with the running sums `sums`.
    pub fn paused<T: Serialize>(step: usize, sums: &T) -> Result<EpochEnd<R>, RunError> {
        let partial = serde_json::to_value(sums).map_err(|source| RunError::Json {
            path: crate::files::CHECKPOINT_DIR.into(),
            line: None,
            source,
        })?;
        Ok(EpochEnd::Paused { step, partial })
    }
}

/// A search or a training, as the epoch driver runs it.
pub trait EpochTask {
    /// One line of `metrics.jsonl`.
    type Record: EpochRecord;
    /// What a checkpoint's `state.json` holds besides the driver's fields
    /// (its files are written by [`EpochTask::save`]): a struct or map,
    /// whose fields sit beside the driver's.
    type State: Serialize + DeserializeOwned;
    /// The task's error; run-directory errors convert into it.
    type Error: From<RunError>;

    /// The `edas` subcommand that resumes the run (`search`, `train`).
    const COMMAND: &'static str;
    /// What to change when a loss diverges, naming config keys.
    const ADVICE: &'static str;

    /// Epochs of the whole run.
    fn epochs(&self) -> usize;
    /// Steps per epoch (for the progress display).
    fn steps(&self) -> usize;
    /// The opening line of a new run, after its provenance is written; the
    /// task may also write files of its own here.
    fn start(&mut self, run: &mut RunDir) -> Result<String, Self::Error>;
    /// Restores the checkpoint in `dir`, whose state is `state`.
    fn resume(&mut self, dir: &Path, state: Self::State) -> Result<(), Self::Error>;
    /// Runs epoch `epoch.index` from step `epoch.start_step` (with the
    /// running sums of [`Epoch::partial`] when it is not 0): its steps and
    /// its end-of-epoch evaluation, or up to a pause.
    fn epoch(&mut self, epoch: &mut Epoch<'_>) -> Result<EpochEnd<Self::Record>, Self::Error>;
    /// Writes the checkpoint's files into the staging directory `dir` and
    /// returns its state.
    fn save(&mut self, dir: &Path) -> Result<Self::State, Self::Error>;
    /// The epoch's line in the log.
    fn epoch_line(&self, record: &Self::Record) -> String;
    /// Redraws the plots from all records so far.
    fn plots(&self, run: &RunDir, records: &[Self::Record]) -> Result<(), Self::Error>;
    /// Writes the final files after the last epoch (the driver's caller
    /// sees a finished run once `results.json` exists) and returns the
    /// closing line.
    fn finish(
        &mut self,
        run: &mut RunDir,
        records: &[Self::Record],
        elapsed_s: f64,
    ) -> Result<String, Self::Error>;
}

/// The state a checkpoint holds: the driver's fields and the task's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointState<S> {
    /// Epochs completed.
    pub epochs_done: usize,
    /// The resolved config the run was started with (TOML text).
    pub config: String,
    /// Seconds of work so far.
    pub elapsed_s: f64,
    /// Steps done in epoch `epochs_done` (0: at an epoch boundary).
    #[serde(default)]
    pub step: usize,
    /// That epoch's running sums (the task's), when `step > 0`.
    #[serde(default)]
    pub partial: Option<serde_json::Value>,
    /// The task's state.
    #[serde(flatten)]
    pub task: S,
}

/// What the driver returns.
#[derive(Clone, Debug)]
pub struct Outcome<R> {
    /// Epochs completed in total.
    pub epochs_done: usize,
    /// Whether all epochs are done (the run directory holds `results.json`).
    pub finished: bool,
    /// Whether a stop request (a signal) ended the run at a step boundary,
    /// after a checkpoint.
    pub interrupted: bool,
    /// The last epoch's record.
    pub last: Option<R>,
}

/// The epoch being run: its index, the progress display and the
/// divergence check.
pub struct Epoch<'a> {
    /// 0-based epoch.
    pub index: usize,
    /// Epochs of the run.
    pub epochs: usize,
    /// The first step to run (0, or where a paused epoch continues).
    pub start_step: usize,
    partial: Option<serde_json::Value>,
    steps: usize,
    checkpoint_every: Option<usize>,
    stop: StopFlag,
    progress: Progress,
    verbose: bool,
    run: &'a RunDir,
    advice: &'static str,
}

impl Epoch<'_> {
    /// The running sums the epoch paused with (`None` when it starts at
    /// step 0).
    pub fn partial<T: DeserializeOwned>(&mut self) -> Result<Option<T>, RunError> {
        match self.partial.take() {
            None => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|source| RunError::Json {
                    path: self.run.checkpoint_state_file(),
                    line: None,
                    source,
                }),
        }
    }

    /// `Ok` when a paused epoch's running count `field` (in the
    /// checkpoint's `partial`) is `value` = `expected`, what the steps
    /// before [`Epoch::start_step`] give (examples seen, say); otherwise the
    /// checkpoint was edited or is another run's, and the resume is refused
    /// naming the file and field.
    pub fn check_partial(
        &self,
        field: &str,
        value: usize,
        expected: usize,
    ) -> Result<(), RunError> {
        if value == expected {
            return Ok(());
        }
        Err(RunError::Checkpoint {
            path: self.run.checkpoint_state_file(),
            message: format!(
                "partial.{field} is {value}, but the {} steps before the pause give {expected}; \
                 the checkpoint does not belong to this run (start over with --force)",
                self.start_step
            ),
        })
    }

    /// Whether to pause after `done` steps of the epoch: a stop was
    /// requested, or `checkpoint_every` steps are done; never after the
    /// epoch's last step (its end checkpoints anyway).
    pub fn pause_after(&self, done: usize) -> bool {
        done < self.steps
            && (self.stop.is_requested()
                || self
                    .checkpoint_every
                    .is_some_and(|n| n > 0 && done.is_multiple_of(n)))
    }

    /// One more step done; `status` (running loss and accuracy) is asked
    /// for only when progress is shown.
    pub fn step_done(&mut self, status: impl FnOnce() -> String) {
        if self.verbose {
            self.progress.step(&status());
        }
    }

    /// Ends the progress display (before the end-of-epoch evaluation).
    pub fn steps_done(&mut self) {
        self.progress.finish();
    }

    /// The error for something that became non-finite at 0-based `step`
    /// (`what`: `training loss became NaN`): the run stops, the last good
    /// checkpoint stays as it is.
    pub fn diverged(&self, what: impl Into<String>, step: usize) -> RunError {
        RunError::Diverged {
            what: what.into(),
            epoch: self.index + 1,
            step: step + 1,
            checkpoint: self.run.checkpoint_status(),
            advice: self.advice,
        }
    }

    /// `Ok` when `value` is finite, else [`Epoch::diverged`] naming `what`
    /// (`training loss`) and the value.
    pub fn check_finite(&self, what: &str, value: f64, step: usize) -> Result<(), RunError> {
        if value.is_finite() {
            Ok(())
        } else {
            Err(self.diverged(format!("{what} became {value}"), step))
        }
    }
}

/// Refuses a checkpoint whose driver counters disagree with each other or
/// with the run: a step within an epoch at or past its last, a paused epoch
/// without its running sums (or sums without a pause), a negative or
/// non-finite time. (The epochs against the run and its metrics:
/// [`RunDir::resume_metrics`]; the sums against the step:
/// [`Epoch::check_partial`].)
fn check_counters<S>(
    path: &Path,
    state: &CheckpointState<S>,
    steps: usize,
) -> Result<(), RunError> {
    let refuse = |message: String| {
        Err(RunError::Checkpoint {
            path: path.to_owned(),
            message: format!(
                "{message}; the checkpoint does not belong to this run (start over with --force)"
            ),
        })
    };
    if state.step > 0 && state.step >= steps {
        return refuse(format!(
            "step is {}, but an epoch of this run has {steps} steps",
            state.step
        ));
    }
    match (state.step, &state.partial) {
        (0, Some(_)) => {
            return refuse(
                "step is 0 (an epoch boundary) but partial holds a paused epoch's sums".into(),
            );
        }
        (s, None) if s > 0 => {
            return refuse(format!(
                "step is {s} (within an epoch) but partial is missing"
            ));
        }
        _ => {}
    }
    if !(state.elapsed_s.is_finite() && state.elapsed_s >= 0.0) {
        return refuse(format!("elapsed_s is {}", state.elapsed_s));
    }
    Ok(())
}

/// Opens the run directory `options` names, printing to standard error
/// when `options.verbose`.
pub fn open(options: &RunOptions) -> Result<RunDir, RunError> {
    let mut run = RunDir::open(&options.out, options.mode)?;
    run.set_echo(options.verbose);
    Ok(run)
}

/// Runs (or resumes) `task` in `run` as `options` say; `config_toml` is
/// the resolved config, recorded in the run and compared on resume.
pub fn drive<T: EpochTask>(
    task: &mut T,
    run: &mut RunDir,
    options: &RunOptions,
    config_toml: &str,
) -> Result<Outcome<T::Record>, T::Error> {
    let epochs = task.epochs();
    let mut epoch = 0;
    let mut elapsed = 0.0;
    // Where a checkpoint taken within an epoch left it.
    let mut start_step = 0;
    let mut partial = None;
    if options.mode == OpenMode::Resume {
        let (dir, state): (_, CheckpointState<T::State>) = run.read_checkpoint()?;
        if state.config != config_toml {
            return Err(RunError::RunDir {
                path: run.path().to_owned(),
                message: "the config differs from the one the run started with; resume with \
                          the run's own config.toml"
                    .into(),
            }
            .into());
        }
        check_counters(&dir.join(STATE_FILE), &state, task.steps())?;
        run.resume_metrics(state.epochs_done, epochs)?;
        task.resume(&dir, state.task)?;
        epoch = state.epochs_done;
        elapsed = state.elapsed_s;
        (start_step, partial) = (state.step, state.partial);
        let within = if start_step > 0 {
            format!(
                ", step {start_step}/{} of epoch {}",
                task.steps(),
                epoch + 1
            )
        } else {
            String::new()
        };
        run.line(&format!(
            "resuming {} after epoch {epoch}/{epochs}{within}",
            run.path().display()
        ));
        run.record_resume_build(
            options.build_commit.as_deref(),
            &format!("epoch {epoch}/{epochs}{within}"),
        )?;
    } else {
        run.write_provenance(
            config_toml,
            &options.command_line,
            options.build_commit.as_deref(),
        )?;
        let line = task.start(run)?;
        run.line(&line);
    }

    run.write_status(&StatusRecord::Running)?;
    let mut records: Vec<T::Record> = run.records()?;
    let mut interrupted = false;
    // The whole run's ETA, from the epochs this process has run.
    let (started, first_epoch) = (Instant::now(), epoch);
    'epochs: while epoch < epochs && options.stop_after.is_none_or(|s| epoch < s) {
        let t0 = Instant::now();
        let label = match epoch - first_epoch {
            0 => format!("epoch {}/{epochs}", epoch + 1),
            done => {
                let per_epoch = started.elapsed().as_secs_f64() / done as f64;
                format!(
                    "epoch {}/{epochs} (run eta {})",
                    epoch + 1,
                    crate::progress::fmt_duration(per_epoch * (epochs - epoch) as f64)
                )
            }
        };
        let measured = reset_peak_rss();
        let mut record = loop {
            let mut cx = Epoch {
                index: epoch,
                epochs,
                start_step,
                partial: partial.take(),
                steps: task.steps(),
                checkpoint_every: options.checkpoint_every,
                stop: options.stop.clone(),
                progress: if options.verbose {
                    Progress::new(label.clone(), task.steps())
                } else {
                    Progress::silent(label.clone(), task.steps())
                },
                verbose: options.verbose,
                run,
                advice: T::ADVICE,
            };
            let result = task.epoch(&mut cx);
            cx.steps_done();
            match result? {
                EpochEnd::Done(record) => break record,
                EpochEnd::Paused {
                    step,
                    partial: sums,
                } => {
                    checkpoint(
                        task,
                        run,
                        CheckpointState {
                            epochs_done: epoch,
                            config: config_toml.to_owned(),
                            elapsed_s: elapsed + t0.elapsed().as_secs_f64(),
                            step,
                            partial: Some(sums.clone()),
                            task: (),
                        },
                    )?;
                    if options.stop.is_requested() {
                        elapsed += t0.elapsed().as_secs_f64();
                        run.line(&format!(
                            "stopped by a signal at step {step}/{} of epoch {}/{epochs}, \
                             checkpointed; continue with: edas {} --resume {}",
                            task.steps(),
                            epoch + 1,
                            T::COMMAND,
                            run.path().display()
                        ));
                        interrupted = true;
                        break 'epochs;
                    }
                    (start_step, partial) = (step, Some(sums));
                }
            }
        };
        (start_step, partial) = (0, None);
        let at = CheckpointState {
            epochs_done: epoch + 1,
            config: config_toml.to_owned(),
            elapsed_s: elapsed + t0.elapsed().as_secs_f64(),
            step: 0,
            partial: None,
            task: (),
        };
        let task_state = stage(task, run)?;
        elapsed += t0.elapsed().as_secs_f64();
        let peak = if measured {
            peak_rss_bytes().map(mib)
        } else {
            None
        };
        record.set_cost(t0.elapsed().as_secs_f64(), peak);
        // The epoch's record goes in before the checkpoint that counts the
        // epoch done: a kill between the two resumes from the previous
        // checkpoint (`resume_metrics` drops the later record), whereas a
        // checkpoint whose epoch has no record cannot be resumed at all.
        run.append_metrics(&record)?;
        commit(run, at, task_state)?;
        run.line(&task.epoch_line(&record));
        records.push(record);
        task.plots(run, &records)?;
        epoch += 1;
    }

    let finished = epoch >= epochs && !interrupted;
    if finished {
        let line = task.finish(run, &records, elapsed)?;
        run.write_status(&StatusRecord::Finished)?;
        run.line(&line);
    } else {
        run.write_status(&StatusRecord::Stopped { interrupted })?;
        if !interrupted {
            run.line(&format!(
                "stopped after epoch {epoch}/{epochs}; continue with: edas {} --resume {}",
                T::COMMAND,
                run.path().display()
            ));
        }
    }
    Ok(Outcome {
        epochs_done: epoch,
        finished,
        interrupted,
        last: records.pop(),
    })
}

/// Starts a new run of `task` in `run` without running an epoch: writes
/// its provenance and the task's opening files, and checkpoints it before
/// epoch 1, so that `edas <command> --resume` runs it from there. This is
/// how weights made elsewhere (an imported PyTorch network) become a run.
pub fn initialise<T: EpochTask>(
    task: &mut T,
    run: &mut RunDir,
    options: &RunOptions,
    config_toml: &str,
) -> Result<(), T::Error> {
    if options.mode == OpenMode::Resume {
        return Err(RunError::RunDir {
            path: run.path().to_owned(),
            message: "holds a run already; a new run cannot start in it (use --force)".into(),
        }
        .into());
    }
    run.write_provenance(
        config_toml,
        &options.command_line,
        options.build_commit.as_deref(),
    )?;
    let line = task.start(run)?;
    run.line(&line);
    checkpoint(
        task,
        run,
        CheckpointState {
            epochs_done: 0,
            config: config_toml.to_owned(),
            elapsed_s: 0.0,
            step: 0,
            partial: None,
            task: (),
        },
    )
}

/// Stages `task`'s files and state and swaps the checkpoint in, at the
/// place in the run `at` says (its `task` is the task's own state).
fn checkpoint<T: EpochTask>(
    task: &mut T,
    run: &RunDir,
    at: CheckpointState<()>,
) -> Result<(), T::Error> {
    let task_state = stage(task, run)?;
    Ok(commit(run, at, task_state)?)
}

/// Writes `task`'s files into a fresh staged checkpoint; returns its state.
fn stage<T: EpochTask>(task: &mut T, run: &RunDir) -> Result<T::State, T::Error> {
    let staged = stage_checkpoint(run.path())?;
    task.save(&staged)
}

/// Swaps the staged checkpoint in, with `state.json` saying `at` and the
/// task's `task_state`: from here on a resume starts at `at`.
fn commit<S: Serialize>(
    run: &RunDir,
    at: CheckpointState<()>,
    task_state: S,
) -> Result<(), RunError> {
    run.commit_checkpoint_with(&CheckpointState {
        epochs_done: at.epochs_done,
        config: at.config,
        elapsed_s: at.elapsed_s,
        step: at.step,
        partial: at.partial,
        task: task_state,
    })?;
    Ok(())
}

/// Runs `f`, and if it fails writes `error: ...` into the run's `log.txt`
/// (not to the terminal: the caller reports the error), so that the log
/// says why the run stopped.
pub fn logging_errors<T, E: std::error::Error>(
    run: &mut RunDir,
    f: impl FnOnce(&mut RunDir) -> Result<T, E>,
) -> Result<T, E> {
    let result = f(run);
    if let Err(e) = &result {
        let error = crate::error::chain(e);
        run.log_only(&format!("error: {error}"));
        // The structured record the lab reads; a failure to write it is
        // logged beside the error it was to record.
        if let Err(w) = run.write_status(&StatusRecord::Failed { error }) {
            run.log_only(&format!(
                "note: cannot record the failure in {STATUS_FILE}: {w}"
            ));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A toy task: a counter that adds the step index at every step, a
    /// "loss" that becomes NaN at a chosen (epoch, step), and records of the
    /// epoch's sum. Its state is the counter, so an exact resume shows.
    #[derive(Default)]
    struct Count {
        total: u64,
        nan_at: Option<(usize, usize)>,
        entered: Vec<(usize, usize)>,
        /// Whether each epoch's progress was silent.
        silent: Vec<bool>,
    }

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Rec {
        #[serde(with = "crate::epoch_number")]
        epoch: usize,
        sum: u64,
        total: u64,
        time: f64,
    }

    impl EpochRecord for Rec {
        fn set_cost(&mut self, epoch_time_s: f64, _peak: Option<f64>) {
            self.time = epoch_time_s;
        }
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct CountState {
        total: u64,
    }

    impl EpochTask for Count {
        type Record = Rec;
        type State = CountState;
        type Error = RunError;
        const COMMAND: &'static str = "count";
        const ADVICE: &'static str = "count less";

        fn epochs(&self) -> usize {
            3
        }
        fn steps(&self) -> usize {
            5
        }
        fn start(&mut self, _run: &mut RunDir) -> Result<String, RunError> {
            Ok("counting".into())
        }
        fn resume(&mut self, _dir: &Path, state: CountState) -> Result<(), RunError> {
            self.total = state.total;
            Ok(())
        }
        fn epoch(&mut self, cx: &mut Epoch<'_>) -> Result<EpochEnd<Rec>, RunError> {
            self.entered.push((cx.index, cx.start_step));
            self.silent.push(cx.progress.is_silent());
            let mut sum: u64 = cx.partial()?.unwrap_or(0);
            for s in cx.start_step..self.steps() {
                let loss = if self.nan_at == Some((cx.index, s)) {
                    f64::NAN
                } else {
                    1.0
                };
                cx.check_finite("toy loss", loss, s)?;
                sum += s as u64;
                self.total += s as u64;
                if cx.pause_after(s + 1) {
                    return EpochEnd::paused(s + 1, &sum);
                }
            }
            Ok(EpochEnd::Done(Rec {
                epoch: cx.index,
                sum,
                total: self.total,
                time: 0.0,
            }))
        }
        fn save(&mut self, _dir: &Path) -> Result<CountState, RunError> {
            Ok(CountState { total: self.total })
        }
        fn epoch_line(&self, r: &Rec) -> String {
            format!("epoch {} sum {}", r.epoch + 1, r.sum)
        }
        fn plots(&self, _run: &RunDir, _records: &[Rec]) -> Result<(), RunError> {
            Ok(())
        }
        fn finish(
            &mut self,
            run: &mut RunDir,
            records: &[Rec],
            _elapsed_s: f64,
        ) -> Result<String, RunError> {
            run.write_json(crate::files::RESULTS_FILE, &records.len())?;
            Ok("done".into())
        }
    }

    fn drive_in(options: &RunOptions, task: &mut Count) -> Result<Outcome<Rec>, RunError> {
        let mut run = open(options)?;
        drive(task, &mut run, options, "config")
    }

    fn records(dir: &Path) -> Vec<(usize, u64, u64)> {
        crate::dir::read_jsonl(&dir.join(crate::files::METRICS_FILE))
            .unwrap()
            .iter()
            .map(|v| {
                let r: Rec = serde_json::from_value(v.clone()).unwrap();
                (r.epoch, r.sum, r.total)
            })
            .collect()
    }

    #[test]
    fn stops_resumes_and_pauses_like_one_run() {
        let tmp = tempfile::tempdir().unwrap();
        // Uninterrupted: every epoch sums 0+1+2+3+4.
        let whole = tmp.path().join("whole");
        let o = drive_in(
            &RunOptions::new(&whole, OpenMode::New),
            &mut Count::default(),
        )
        .unwrap();
        assert!(o.finished && !o.interrupted && o.epochs_done == 3);
        // Not verbose (`--quiet`): no bar is drawn, no progress line printed.
        let mut task = Count::default();
        drive_in(
            &RunOptions::new(tmp.path().join("quiet"), OpenMode::New),
            &mut task,
        )
        .unwrap();
        assert_eq!(task.silent, [true, true, true]);
        let want = vec![(0, 10, 10), (1, 10, 20), (2, 10, 30)];
        assert_eq!(records(&whole), want);

        // Stopped by a request during epoch 1's first step, resumed with a
        // checkpoint every 2 steps: the same records, epochs re-entered at
        // steps 1, 3 then whole.
        let cut = tmp.path().join("cut");
        let stopped = RunOptions::new(&cut, OpenMode::New);
        stopped.stop.request();
        let mut task = Count::default();
        let o = drive_in(&stopped, &mut task).unwrap();
        assert!(o.interrupted && !o.finished && o.epochs_done == 0);
        let state: CheckpointState<CountState> =
            crate::dir::read_json(&cut.join("checkpoint/state.json")).unwrap();
        assert_eq!((state.epochs_done, state.step, state.task.total), (0, 1, 0));
        let resumed = RunOptions {
            checkpoint_every: Some(2),
            ..RunOptions::new(&cut, OpenMode::Resume)
        };
        let mut task = Count::default();
        let o = drive_in(&resumed, &mut task).unwrap();
        assert!(o.finished && !o.interrupted);
        assert_eq!(records(&cut), want);
        assert_eq!(
            task.entered,
            [
                (0, 1),
                (0, 2),
                (0, 4),
                (1, 0),
                (1, 2),
                (1, 4),
                (2, 0),
                (2, 2),
                (2, 4)
            ]
        );
        let log = std::fs::read_to_string(cut.join("log.txt")).unwrap();
        assert!(
            log.contains("stopped by a signal at step 1/5 of epoch 1/3"),
            "{log}"
        );
        assert!(
            log.contains("resuming") && log.contains("step 1/5 of epoch 1"),
            "{log}"
        );

        // --stop-after 1, then resume: the same records again.
        let parts = tmp.path().join("parts");
        let first = RunOptions {
            stop_after: Some(1),
            ..RunOptions::new(&parts, OpenMode::New)
        };
        let o = drive_in(&first, &mut Count::default()).unwrap();
        assert!(!o.finished && !o.interrupted && o.epochs_done == 1);
        let o = drive_in(
            &RunOptions::new(&parts, OpenMode::Resume),
            &mut Count::default(),
        )
        .unwrap();
        assert!(o.finished);
        assert_eq!(records(&parts), want);
    }

    /// A kept metrics record that no longer parses (a field edited by
    /// hand) stops the resume naming file and epoch; it used to be dropped,
    /// and the run finished with one epoch missing from its results.
    #[test]
    fn a_damaged_metrics_record_stops_the_resume() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("damaged");
        let first = RunOptions {
            stop_after: Some(2),
            ..RunOptions::new(&dir, OpenMode::New)
        };
        drive_in(&first, &mut Count::default()).unwrap();
        let metrics = dir.join(crate::files::METRICS_FILE);
        let text = std::fs::read_to_string(&metrics).unwrap();
        assert!(text.contains("\"sum\":10,"), "{text}");
        std::fs::write(
            &metrics,
            text.replacen("\"sum\":10,", "\"sum\":\"ten\",", 1),
        )
        .unwrap();
        let err = drive_in(
            &RunOptions::new(&dir, OpenMode::Resume),
            &mut Count::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("metrics.jsonl: epoch 1's record does not fit this run"),
            "{err}"
        );
        assert!(!dir.join(crate::files::RESULTS_FILE).exists());
    }

    #[test]
    fn an_initialised_run_resumes_from_epoch_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("init");
        let options = RunOptions::new(&dir, OpenMode::New);
        // State made elsewhere (as imported weights are) before epoch 1.
        let mut task = Count {
            total: 100,
            ..Count::default()
        };
        let mut run = open(&options).unwrap();
        initialise(&mut task, &mut run, &options, "config").unwrap();
        drop(run);
        let state: CheckpointState<CountState> =
            crate::dir::read_json(&dir.join("checkpoint/state.json")).unwrap();
        assert_eq!(
            (state.epochs_done, state.step, state.task.total),
            (0, 0, 100)
        );
        assert!(dir.join("config.toml").is_file() && !dir.join("metrics.jsonl").exists());
        // Not over a run being resumed.
        let resume = RunOptions::new(&dir, OpenMode::Resume);
        let mut run = open(&resume).unwrap();
        assert!(initialise(&mut Count::default(), &mut run, &resume, "config").is_err());
        drop(run);
        let o = drive_in(
            &RunOptions::new(&dir, OpenMode::Resume),
            &mut Count::default(),
        )
        .unwrap();
        assert!(o.finished && o.epochs_done == 3);
        assert_eq!(
            records(&dir),
            vec![(0, 10, 110), (1, 10, 120), (2, 10, 130)]
        );
    }

    #[test]
    fn a_nan_stops_the_run_naming_epoch_step_and_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let options = RunOptions::new(&dir, OpenMode::New);
        let mut task = Count {
            nan_at: Some((1, 3)),
            ..Count::default()
        };
        let mut run = open(&options).unwrap();
        let e = logging_errors(&mut run, |run| drive(&mut task, run, &options, "config"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("the toy loss became NaN at epoch 2, step 4; the run stopped and the last good checkpoint is intact")
                && e.ends_with("(count less)"),
            "{e}"
        );
        // Epoch 1's checkpoint and record stay; the log says why it stopped.
        assert_eq!(records(&dir).len(), 1);
        let state: CheckpointState<CountState> =
            crate::dir::read_json(&dir.join("checkpoint/state.json")).unwrap();
        assert_eq!((state.epochs_done, state.step), (1, 0));
        assert!(
            std::fs::read_to_string(dir.join("log.txt"))
                .unwrap()
                .contains("error: the toy loss")
        );
        // A changed config is refused on resume.
        drop(run);
        let resume = RunOptions::new(&dir, OpenMode::Resume);
        let mut run = open(&resume).unwrap();
        let e = drive(&mut Count::default(), &mut run, &resume, "another config")
            .unwrap_err()
            .to_string();
        assert!(e.contains("the config differs"), "{e}");
    }

    proptest::proptest! {
        // 48 cases, or `PROPTEST_CASES` (which `with_cases` alone would ignore).
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48)
        ))]

        /// The checkpoint `state.json` of a run stopped after epoch 1,
        /// with its driver fields set to anything (or removed): the resume
        /// never panics or hangs, and when it is accepted the run ends with
        /// one record per epoch.
        #[test]
        fn edited_checkpoint_counters_never_panic(
            epochs_done in proptest::option::of(0u64..6),
            step in proptest::option::of(0u64..8),
            partial in proptest::option::of(0u64..100),
            elapsed in proptest::option::of(-2.0f64..1e6),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("run");
            let mut first = RunOptions::new(&dir, OpenMode::New);
            first.stop_after = Some(1);
            drive_in(&first, &mut Count::default()).unwrap();
            let path = dir.join("checkpoint/state.json");
            let mut v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let set = |v: &mut serde_json::Value, k: &str, x: Option<serde_json::Value>| match x {
                Some(x) => v[k] = x,
                None => {
                    v.as_object_mut().unwrap().remove(k);
                }
            };
            set(&mut v, "epochs_done", epochs_done.map(Into::into));
            set(&mut v, "step", step.map(Into::into));
            set(&mut v, "partial", partial.map(Into::into));
            set(&mut v, "elapsed_s", elapsed.map(Into::into));
            std::fs::write(&path, v.to_string()).unwrap();
            let resumed = drive_in(&RunOptions::new(&dir, OpenMode::Resume), &mut Count::default());
            if let Ok(o) = resumed {
                proptest::prop_assert!(o.finished);
                let epochs: Vec<usize> = records(&dir).iter().map(|r| r.0).collect();
                proptest::prop_assert_eq!(epochs, vec![0, 1, 2]);
            }
        }
    }
}
