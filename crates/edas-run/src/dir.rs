//! Run directories: what a search or training run writes, how it is
//! protected from being overwritten, and how it is resumed.
//!
//! The layout and every file name: [`crate::files`].

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Result, RunError, io};
use crate::files::{
    CHECKPOINT_DIR, CHECKPOINT_OLD, CHECKPOINT_TMP, COMMAND_FILE, CONFIG_FILE, GIT_FILE, LOCK_FILE,
    LOG_FILE, METRICS_FILE, RESULTS_FILE, RUN_OUTPUTS, STATE_FILE,
};
use crate::signal::StopFlag;

/// `git.txt`'s entry for a program that did not say its commit.
const UNKNOWN_BUILD: &str = "unknown";

/// Takes the run directory's lock, or fails naming the process that holds
/// it (at once for another process; after up to a second for this one).
fn lock(path: &Path) -> Result<File> {
    let p = path.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&p)
        .map_err(io(&p))?;
    // A lock recorded as this process's own, but not held by this thread's
    // caller, is usually a child process that another thread is starting
    // (`git` for the provenance): between its fork and its exec it shares
    // the lock's open file. It goes at the exec; retry for up to a second
    // before calling the directory busy.
    let mut tries = 0;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                let recorded = std::fs::read_to_string(&p)
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty());
                let ours = recorded.as_deref() == Some(&std::process::id().to_string());
                if ours && tries < 20 {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    continue;
                }
                let holder = recorded.map_or_else(
                    || "another process".to_owned(),
                    |pid| format!("process {pid}"),
                );
                return Err(dir_error(
                    path,
                    format!("is in use by {holder}; wait for it to end or choose another --out"),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&p)(e)),
        }
    }
    file.set_len(0).map_err(io(&p))?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
        .map_err(io(&p))?;
    Ok(file)
}

/// Why `path` may never be cleared by `--force`, given the current
/// directory `cwd` (both absolute and canonical): it is `/`, the current
/// directory or one of its ancestors, or a folder named `runs`.
fn protected(path: &Path, cwd: &Path) -> Option<&'static str> {
    if path.parent().is_none() {
        Some("is the root directory")
    } else if cwd.starts_with(path) {
        Some("is the current directory or one of its ancestors")
    } else if path.file_name().is_some_and(|n| n == "runs") {
        Some("is a `runs` folder itself, not a run in it")
    } else {
        None
    }
}

/// The entries of a previous run in `path` that `--force` removes: only
/// what a run writes ([`RUN_OUTPUTS`], not the lock); a directory holding
/// anything else, or a [`protected`] one, is refused and left untouched.
fn previous_run(path: &Path) -> Result<Vec<String>> {
    let canonical = std::fs::canonicalize(path).map_err(io(path))?;
    let cwd = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .map_err(io("."))?;
    if let Some(why) = protected(&canonical, &cwd) {
        return Err(dir_error(
            path,
            format!("{why}; --force only replaces a previous run; choose another --out"),
        ));
    }
    let mut names = Vec::new();
    let mut foreign = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io(path))? {
        let name = entry.map_err(io(path))?.file_name();
        match name.to_str() {
            Some(LOCK_FILE) => {}
            Some(n) if RUN_OUTPUTS.contains(&n) || is_our_temporary(n) => names.push(n.to_owned()),
            _ => foreign.push(name.to_string_lossy().into_owned()),
        }
    }
    if !foreign.is_empty() {
        foreign.sort();
        let shown: Vec<&str> = foreign.iter().take(3).map(String::as_str).collect();
        return Err(dir_error(
            path,
            format!(
                "holds files that are not a run's ({}{}); --force only replaces a previous run: \
                 move them or choose another --out",
                shown.join(", "),
                if foreign.len() > 3 { ", ..." } else { "" }
            ),
        ));
    }
    Ok(names)
}

/// Whether `name` is a temporary file that [`edas_fs::write_atomic`] left
/// behind for one of [`RUN_OUTPUTS`] (`.genotype.json.123-0.tmp`) when a
/// process died between creating and renaming it.
fn is_our_temporary(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_suffix(".tmp"))
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(output, id)| {
            RUN_OUTPUTS.contains(&output)
                && id.split_once('-').is_some_and(|(pid, k)| {
                    pid.bytes().all(|b| b.is_ascii_digit()) && k.bytes().all(|b| b.is_ascii_digit())
                })
        })
}

/// Removes `names` (from [`previous_run`]) from `path`.
fn remove_entries(path: &Path, names: &[String]) -> Result<()> {
    for name in names {
        let p = path.join(name);
        let meta = std::fs::symlink_metadata(&p).map_err(io(&p))?;
        if meta.is_dir() {
            std::fs::remove_dir_all(&p).map_err(io(&p))?;
        } else {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    Ok(())
}

/// How to treat an existing run directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Start a run; the directory must be absent or empty.
    New,
    /// Continue the run in the directory from its checkpoint.
    Resume,
    /// Start a run, replacing a previous run in the directory (only the
    /// files a run writes; anything else makes it an error).
    Force,
}

/// How to run a search or a training.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The run directory.
    pub out: PathBuf,
    /// New, resume or force.
    pub mode: OpenMode,
    /// Stop (with a checkpoint) once this many epochs are done in total.
    pub stop_after: Option<usize>,
    /// The command line, recorded in the run directory.
    pub command_line: Vec<String>,
    /// The commit the running program was built from (`-dirty` when its
    /// tree had uncommitted changes), recorded in `git.txt`; `None`
    /// records `unknown`. The `edas` binary embeds it at build time.
    pub build_commit: Option<String>,
    /// Print progress and epoch lines to standard error.
    pub verbose: bool,
    /// Also checkpoint every this many steps within an epoch (bounds the
    /// work a hard kill loses; an epoch's end always checkpoints).
    pub checkpoint_every: Option<usize>,
    /// When set (by a signal), the run checkpoints at the next step
    /// boundary and returns, interrupted.
    pub stop: StopFlag,
}

impl RunOptions {
    /// Options for a run in `out` under `mode`: no stop after an epoch, no
    /// command line or build commit, quiet, checkpoints at epoch ends
    /// only, no signal.
    pub fn new(out: impl Into<PathBuf>, mode: OpenMode) -> RunOptions {
        RunOptions {
            out: out.into(),
            mode,
            stop_after: None,
            command_line: Vec::new(),
            build_commit: None,
            verbose: false,
            checkpoint_every: None,
            stop: StopFlag::new(),
        }
    }
}

/// An open run directory.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    log: File,
    echo: bool,
    /// Held while the run directory is open ([`LOCK_FILE`]).
    _lock: File,
}

fn dir_error(path: &Path, message: impl Into<String>) -> RunError {
    RunError::RunDir {
        path: path.to_owned(),
        message: message.into(),
    }
}

impl RunDir {
    /// Opens `path` for a run under `mode`. A directory that holds a
    /// finished run is never reused without [`OpenMode::Force`]; one that
    /// holds an unfinished run must be resumed or forced.
    pub fn open(path: &Path, mode: OpenMode) -> Result<RunDir> {
        let exists = path.exists();
        let mut non_empty = false;
        // A run directory (one with a lock file) is locked before it is
        // judged: a run in progress there is "in use", not "holds no
        // checkpoint". No lock file is made in a directory that is refused.
        let mut early_lock = None;
        if exists {
            for entry in std::fs::read_dir(path).map_err(io(path))? {
                non_empty |= entry.map_err(io(path))?.file_name() != LOCK_FILE;
            }
            if path.join(LOCK_FILE).exists() {
                early_lock = Some(lock(path)?);
            }
        }
        let finished = path.join(RESULTS_FILE).exists();
        let has_checkpoint = latest_checkpoint(path).is_some();
        match mode {
            OpenMode::New if finished => {
                return Err(dir_error(
                    path,
                    "holds a finished run; pass --force to overwrite it or choose another --out",
                ));
            }
            OpenMode::New if has_checkpoint => {
                return Err(dir_error(
                    path,
                    "holds an unfinished run; pass --resume to continue it or --force to start over",
                ));
            }
            OpenMode::New if non_empty => {
                return Err(dir_error(
                    path,
                    "exists and is not empty; pass --force to overwrite it or choose another --out",
                ));
            }
            OpenMode::Resume if !exists => {
                return Err(dir_error(path, "no such run directory to resume"));
            }
            OpenMode::Resume if finished => {
                return Err(dir_error(
                    path,
                    "the run has already finished; nothing to resume",
                ));
            }
            OpenMode::Resume if !has_checkpoint => {
                let epochs = read_jsonl(&path.join(METRICS_FILE))?.len();
                let why = if epochs == 0 {
                    "the run stopped before its first epoch ended".to_owned()
                } else {
                    format!(
                        "checkpoint/ is missing although {METRICS_FILE} records {epochs} epoch(s); \
                         start over with --force"
                    )
                };
                return Err(dir_error(
                    path,
                    format!("holds no checkpoint to resume from ({why})"),
                ));
            }
            _ => {}
        }
        let to_remove = if mode == OpenMode::Force && non_empty {
            previous_run(path)?
        } else {
            Vec::new()
        };
        std::fs::create_dir_all(path).map_err(io(path))?;
        // From here on this process owns the directory.
        let lock = match early_lock {
            Some(l) => l,
            None => lock(path)?,
        };
        remove_entries(path, &to_remove)?;
        let log_path = path.join(LOG_FILE);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io(&log_path))?;
        Ok(RunDir {
            path: path.to_owned(),
            log,
            echo: true,
            _lock: lock,
        })
    }

    /// Whether [`RunDir::line`] also prints to standard error.
    pub fn set_echo(&mut self, echo: bool) {
        self.echo = echo;
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `name` atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.file(name), bytes)
    }

    /// Writes `value` as pretty JSON to `name`, atomically.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let path = self.file(name);
        let text = serde_json::to_string_pretty(value).map_err(|source| RunError::Json {
            path: path.clone(),
            line: None,
            source,
        })?;
        write_atomic(&path, format!("{text}\n").as_bytes())
    }

    /// Records what started the run: the resolved config, the command line
    /// and the commit the program was built from (`unknown` when not given).
    pub fn write_provenance(
        &self,
        config_toml: &str,
        command_line: &[String],
        build_commit: Option<&str>,
    ) -> Result<()> {
        self.write(CONFIG_FILE, config_toml.as_bytes())?;
        self.write(
            COMMAND_FILE,
            format!("{}\n", shell_line(command_line)).as_bytes(),
        )?;
        self.write(
            GIT_FILE,
            format!("{}\n", build_commit.unwrap_or(UNKNOWN_BUILD)).as_bytes(),
        )
    }

    /// Records a resume by a program built from another commit than the
    /// last one `git.txt` names: appends `<commit> resumed after <when>`.
    pub fn record_resume_build(&self, build_commit: Option<&str>, when: &str) -> Result<()> {
        let commit = build_commit.unwrap_or(UNKNOWN_BUILD);
        let path = self.file(GIT_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(&path)(e)),
        };
        let last = text
            .lines()
            .last()
            .and_then(|l| l.split_whitespace().next());
        if last == Some(commit) {
            return Ok(());
        }
        self.write(
            GIT_FILE,
            format!("{text}{commit} resumed after {when}\n").as_bytes(),
        )
    }

    /// Appends a line to `log.txt` (and prints it to standard error unless
    /// echo is off).
    pub fn line(&mut self, text: &str) {
        if self.echo {
            eprintln!("{text}");
        }
        self.log_only(text);
    }

    /// Appends a line to `log.txt` only (errors the caller reports itself).
    pub fn log_only(&mut self, text: &str) {
        tracing::info!(target: "edas::run", run = %self.path.display(), "{text}");
        // The log is a convenience copy of the terminal; a failing write must
        // not stop a long run.
        let _ = writeln!(self.log, "{text}");
    }

    /// Appends one record to `metrics.jsonl`.
    pub fn append_metrics<T: Serialize>(&self, record: &T) -> Result<()> {
        let path = self.file(METRICS_FILE);
        let line = serde_json::to_string(record).map_err(|source| RunError::Json {
            path: path.clone(),
            line: None,
            source,
        })?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        writeln!(f, "{line}").map_err(io(&path))?;
        f.sync_data().map_err(io(&path))
    }

    /// The `state.json` a resume reads (the latest checkpoint's, else where
    /// `checkpoint/` would hold it), for errors that name it.
    pub(crate) fn checkpoint_state_file(&self) -> PathBuf {
        latest_checkpoint(&self.path)
            .unwrap_or_else(|| self.file(CHECKPOINT_DIR))
            .join(STATE_FILE)
    }

    /// Checks a checkpoint's `epochs_done` against the run's `epochs` and its
    /// `metrics.jsonl`, then drops the records of later epochs (so that
    /// epochs after the checkpoint are logged once). A checkpoint past the
    /// last epoch, or metrics that lack some of its epochs, are an error
    /// naming the file: resuming would report a wrong run.
    pub fn resume_metrics(&self, epochs_done: usize, epochs: usize) -> Result<()> {
        if epochs_done > epochs {
            return Err(dir_error(
                &self.checkpoint_state_file(),
                format!(
                    "says {epochs_done} epochs are done, but the run has {epochs}; \
                     the checkpoint does not belong to this run (start over with --force)"
                ),
            ));
        }
        // A record's 0-based epoch, when it has one.
        let epoch_of = crate::epoch_number::index_of;
        let records = self.read_metrics()?;
        let mut seen = vec![false; epochs_done];
        for e in records.iter().filter_map(epoch_of) {
            if let Some(slot) = seen.get_mut(e) {
                *slot = true;
            }
        }
        let have = seen.iter().filter(|&&b| b).count();
        if have < epochs_done {
            return Err(dir_error(
                &self.file(METRICS_FILE),
                format!(
                    "holds {have} of the {epochs_done} epochs the checkpoint has done; \
                     resuming would lose their metrics (start over with --force)"
                ),
            ));
        }
        // Metrics are appended before the checkpoint is committed, so a
        // crash between the two leaves at most the record of epoch
        // `epochs_done` (0-based) beyond it; a later one means the
        // checkpoint is older than the metrics (or was edited).
        if let Some(e) = records
            .iter()
            .filter_map(epoch_of)
            .filter(|&e| e > epochs_done)
            .max()
        {
            return Err(dir_error(
                &self.checkpoint_state_file(),
                format!(
                    "says {epochs_done} epochs are done, but {METRICS_FILE} records epoch {}; \
                     the checkpoint does not belong to these metrics (start over with --force)",
                    e + 1
                ),
            ));
        }
        // Drop the records of epochs after the checkpoint.
        let kept: Vec<String> = records
            .iter()
            .filter(|v| epoch_of(v).is_some_and(|e| e < epochs_done))
            .map(serde_json::Value::to_string)
            .collect();
        let mut text = kept.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        write_atomic(&self.file(METRICS_FILE), text.as_bytes())
    }

    /// The records of `metrics.jsonl` (none if it does not exist), their
    /// epochs counted from 1 (a file written when they counted from 0 is
    /// renumbered: `epoch_number::normalise`).
    pub fn read_metrics(&self) -> Result<Vec<serde_json::Value>> {
        let mut records = read_jsonl(&self.file(METRICS_FILE))?;
        crate::epoch_number::normalise(&mut records);
        Ok(records)
    }

    /// The metrics records as `T` (a search's or a training's per-epoch
    /// record). A record that does not parse as `T` (edited by hand, or
    /// written by another kind of run) is an error naming the file and the
    /// epoch: leaving it out would give the run's results and curves one
    /// epoch fewer without a word.
    pub fn records<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        let path = self.file(METRICS_FILE);
        self.read_metrics()?
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let epoch = crate::epoch_number::index_of(&v);
                serde_json::from_value(v).map_err(|e| {
                    let which = epoch.map_or_else(
                        || format!("record {}", i + 1),
                        |n| format!("epoch {}'s record", n + 1),
                    );
                    dir_error(
                        &path,
                        format!(
                            "{which} does not fit this run ({e}); restore the file or start over with --force"
                        ),
                    )
                })
            })
            .collect()
    }

    /// The checkpoint to resume from and its `state.json` as `T`.
    pub fn read_checkpoint<T: DeserializeOwned>(&self) -> Result<(PathBuf, T)> {
        let dir = latest_checkpoint(&self.path).ok_or_else(|| RunError::RunDir {
            path: self.path.clone(),
            message: "holds no checkpoint to resume from".into(),
        })?;
        let state = read_json(&dir.join(STATE_FILE))?;
        Ok((dir, state))
    }

    /// Writes `state` as `state.json` into the staged checkpoint (whose other
    /// files the caller has written) and swaps it in ([`commit_checkpoint`]).
    pub fn commit_checkpoint_with<T: Serialize>(&self, state: &T) -> Result<PathBuf> {
        let path = self.path.join(CHECKPOINT_TMP).join(STATE_FILE);
        let json = serde_json::to_string(state).map_err(|source| RunError::Json {
            path: path.clone(),
            line: None,
            source,
        })?;
        write_atomic(&path, json.as_bytes())?;
        commit_checkpoint(&self.path)
    }

    /// What a failure leaves for the user: the intact checkpoint, or none.
    pub fn checkpoint_status(&self) -> String {
        match latest_checkpoint(&self.path) {
            Some(p) => format!("the last good checkpoint is intact in {}", p.display()),
            None => "no checkpoint had been written yet".into(),
        }
    }
}

/// A JSON file as `T`: a regular file of at most [`JSON_LIMIT`] bytes.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = edas_fs::read_to_string_bounded(path, JSON_LIMIT, "run's JSON file")?;
    serde_json::from_str(&text).map_err(|source| RunError::Json {
        path: path.to_owned(),
        line: None,
        source,
    })
}

/// The records of a JSON-lines file (none if it does not exist): a regular
/// file of at most [`JSON_LIMIT`] bytes; a bad record is named by its line.
pub fn read_jsonl(path: &Path) -> Result<Vec<serde_json::Value>> {
    if edas_fs::kind_of(path, true)? == edas_fs::FileKind::Missing {
        return Ok(Vec::new());
    }
    let text = edas_fs::read_to_string_bounded(path, JSON_LIMIT, "metrics file")?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|source| RunError::Json {
            path: path.to_owned(),
            line: Some(i + 1),
            source,
        })?);
    }
    Ok(out)
}

/// Writes `bytes` to `path` via a fresh temporary file beside it, synced and
/// renamed over `path` (the rules of [`edas_fs::write_atomic`]: only over a
/// regular file or a symlink, which is replaced, not followed).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    edas_fs::write_atomic(path, bytes).map_err(RunError::from)
}

/// The largest `state.json`, `results.json` or metrics record edas reads
/// (ours are kilobytes; the cap keeps `/dev/zero` or a runaway file out).
pub const JSON_LIMIT: u64 = 64 << 20;

/// The checkpoint of a run directory: `checkpoint/`, or `checkpoint.old/`
/// when a crash came between the two renames of [`commit_checkpoint`]. A
/// `state.json` that exists as anything (a directory, a symlink to a device)
/// names its checkpoint, so that reading it says what is wrong.
pub fn latest_checkpoint(run: &Path) -> Option<PathBuf> {
    [CHECKPOINT_DIR, CHECKPOINT_OLD]
        .into_iter()
        .map(|n| run.join(n))
        .find(|p| p.join(STATE_FILE).symlink_metadata().is_ok())
}

/// A fresh staging directory for the next checkpoint (`checkpoint.tmp/`).
pub fn stage_checkpoint(run: &Path) -> Result<PathBuf> {
    let tmp = run.join(CHECKPOINT_TMP);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    Ok(tmp)
}

/// Replaces `checkpoint/` by the staged one: `checkpoint -> checkpoint.old`,
/// `checkpoint.tmp -> checkpoint`, then `checkpoint.old` is removed. At
/// every instant one complete checkpoint exists.
pub fn commit_checkpoint(run: &Path) -> Result<PathBuf> {
    let tmp = run.join(CHECKPOINT_TMP);
    let cur = run.join(CHECKPOINT_DIR);
    let old = run.join(CHECKPOINT_OLD);
    if !tmp.join(STATE_FILE).is_file() {
        return Err(RunError::Checkpoint {
            path: tmp,
            message: "staged checkpoint has no state.json".into(),
        });
    }
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    if cur.exists() {
        std::fs::rename(&cur, &old).map_err(io(&cur))?;
    }
    std::fs::rename(&tmp, &cur).map_err(io(&tmp))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(cur)
}

/// The command line as one shell line, for `command.txt` (shown, never run:
/// a control character is escaped, not refused).
fn shell_line(args: &[String]) -> String {
    args.iter()
        .map(|a| edas_fs::shell::quote_display(a))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_txt_records_the_build_and_other_builds_that_resume() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::open(&tmp.path().join("run"), OpenMode::New).unwrap();
        let read = || std::fs::read_to_string(run.file(GIT_FILE)).unwrap();
        run.write_provenance("", &[], None).unwrap();
        assert_eq!(read(), "unknown\n");
        run.write_provenance("", &[], Some("aaa")).unwrap();
        assert_eq!(read(), "aaa\n");
        run.record_resume_build(Some("aaa"), "epoch 1/6").unwrap();
        assert_eq!(read(), "aaa\n");
        run.record_resume_build(Some("bbb-dirty"), "epoch 2/6")
            .unwrap();
        run.record_resume_build(Some("bbb-dirty"), "epoch 3/6")
            .unwrap();
        run.record_resume_build(Some("aaa"), "epoch 4/6, step 3/9 of epoch 5")
            .unwrap();
        assert_eq!(
            read(),
            "aaa\nbbb-dirty resumed after epoch 2/6\naaa resumed after epoch 4/6, step 3/9 of epoch 5\n"
        );
    }

    #[test]
    fn run_dir_guards() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("run");
        let mut run = RunDir::open(&p, OpenMode::New).unwrap();
        run.set_echo(false);
        run.line("hello");
        drop(run); // releases the lock
        // Not finished, no checkpoint, but not empty (log.txt): New refuses.
        let e = RunDir::open(&p, OpenMode::New).unwrap_err().to_string();
        assert!(e.contains("not empty"), "{e}");
        let e = RunDir::open(&p, OpenMode::Resume).unwrap_err().to_string();
        assert!(
            e.contains("no checkpoint") && e.contains("before its first epoch"),
            "{e}"
        );
        std::fs::write(p.join(METRICS_FILE), "{\"epoch\": 0}\n").unwrap();
        let e = RunDir::open(&p, OpenMode::Resume).unwrap_err().to_string();
        assert!(
            e.contains("checkpoint/ is missing although metrics.jsonl records 1 epoch(s)"),
            "{e}"
        );
        std::fs::remove_file(p.join(METRICS_FILE)).unwrap();
        let staged = stage_checkpoint(&p).unwrap();
        std::fs::write(staged.join("state.json"), "{}").unwrap();
        commit_checkpoint(&p).unwrap();
        let e = RunDir::open(&p, OpenMode::New).unwrap_err().to_string();
        assert!(e.contains("--resume"), "{e}");
        let run = RunDir::open(&p, OpenMode::Resume).unwrap();
        run.write_json(RESULTS_FILE, &serde_json::json!({"ok": true}))
            .unwrap();
        drop(run);
        let e = RunDir::open(&p, OpenMode::New).unwrap_err().to_string();
        assert!(e.contains("finished") && e.contains("--force"), "{e}");
        let e = RunDir::open(&p, OpenMode::Resume).unwrap_err().to_string();
        assert!(e.contains("already finished"), "{e}");
        let run = RunDir::open(&p, OpenMode::Force).unwrap();
        assert!(!run.file(RESULTS_FILE).exists());
        assert!(latest_checkpoint(&p).is_none());
    }

    #[test]
    fn a_run_directory_is_locked_while_open() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("run");
        let first = RunDir::open(&p, OpenMode::New).unwrap();
        let e = RunDir::open(&p, OpenMode::Force).unwrap_err().to_string();
        assert!(
            e.contains(&format!("is in use by process {}", std::process::id())),
            "{e}"
        );
        // The refused open removed nothing.
        assert!(p.join("log.txt").is_file());
        drop(first);
        RunDir::open(&p, OpenMode::Force).unwrap();
    }

    #[test]
    fn force_replaces_only_a_previous_run() {
        let tmp = tempfile::tempdir().unwrap();
        // A folder of the user's: refused, untouched.
        let mine = tmp.path().join("mine");
        std::fs::create_dir_all(mine.join("data")).unwrap();
        std::fs::write(mine.join("thesis.tex"), "x").unwrap();
        std::fs::write(mine.join("log.txt"), "x").unwrap();
        let e = RunDir::open(&mine, OpenMode::Force)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a run's (data, thesis.tex)"), "{e}");
        assert!(mine.join("thesis.tex").is_file() && mine.join("log.txt").is_file());
        // A previous run: replaced.
        let p = tmp.path().join("run");
        let mut run = RunDir::open(&p, OpenMode::New).unwrap();
        run.set_echo(false);
        run.write_json(RESULTS_FILE, &serde_json::json!({"ok": true}))
            .unwrap();
        let staged = stage_checkpoint(&p).unwrap();
        std::fs::write(staged.join("state.json"), "{}").unwrap();
        commit_checkpoint(&p).unwrap();
        drop(run);
        RunDir::open(&p, OpenMode::Force).unwrap();
        let left: Vec<_> = std::fs::read_dir(&p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let mut left: Vec<_> = left
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [".lock", "log.txt"],
            "only the new run's log and lock"
        );
        // `runs` itself, the root, the current directory and its ancestors.
        let cwd = Path::new("/home/u/project");
        assert!(protected(Path::new("/"), cwd).is_some());
        assert!(protected(Path::new("/home/u/project"), cwd).is_some());
        assert!(protected(Path::new("/home/u"), cwd).is_some());
        assert!(protected(Path::new("/home/u/project/runs"), cwd).is_some());
        assert!(protected(Path::new("/home/u/project/runs/a"), cwd).is_none());
        let runs = tmp.path().join("runs");
        std::fs::create_dir_all(&runs).unwrap();
        std::fs::write(runs.join("log.txt"), "x").unwrap();
        let e = RunDir::open(&runs, OpenMode::Force)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`runs` folder itself"), "{e}");
    }

    #[test]
    fn checkpoints_replace_atomically_and_metrics_truncate() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::open(tmp.path(), OpenMode::Force).unwrap();
        for epoch in 0..3 {
            let staged = stage_checkpoint(run.path()).unwrap();
            std::fs::write(staged.join("state.json"), format!("{epoch}")).unwrap();
            let cur = commit_checkpoint(run.path()).unwrap();
            assert_eq!(
                std::fs::read_to_string(cur.join("state.json")).unwrap(),
                epoch.to_string()
            );
            run.append_metrics(&serde_json::json!({"epoch": epoch + 1, "loss": 1.0}))
                .unwrap();
        }
        assert!(!run.path().join("checkpoint.old").exists());
        assert!(!run.path().join("checkpoint.tmp").exists());
        // A crash between the renames leaves only checkpoint.old: still found.
        std::fs::rename(
            run.path().join("checkpoint"),
            run.path().join("checkpoint.old"),
        )
        .unwrap();
        assert_eq!(
            latest_checkpoint(run.path()).unwrap(),
            run.path().join("checkpoint.old")
        );
        // A checkpoint past the run's epochs, or metrics missing some of
        // the checkpoint's epochs, are refused, naming the file.
        let e = run.resume_metrics(7, 3).unwrap_err().to_string();
        assert!(
            e.contains("state.json") && e.contains("says 7 epochs are done, but the run has 3"),
            "{e}"
        );
        run.resume_metrics(2, 3).unwrap();
        let m = run.read_metrics().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1]["epoch"], 2);
        let e = run.resume_metrics(3, 3).unwrap_err().to_string();
        assert!(
            e.contains("metrics.jsonl") && e.contains("holds 2 of the 3 epochs"),
            "{e}"
        );
        std::fs::remove_file(run.file(METRICS_FILE)).unwrap();
        let e = run.resume_metrics(1, 3).unwrap_err().to_string();
        assert!(e.contains("holds 0 of the 1 epochs"), "{e}");
    }

    #[test]
    fn a_zero_based_metrics_file_resumes_renumbered_from_one() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::open(tmp.path(), OpenMode::Force).unwrap();
        // Written before epochs counted from 1: 0, 1, 2.
        for epoch in 0..3 {
            run.append_metrics(&serde_json::json!({"epoch": epoch, "loss": 1.0}))
                .unwrap();
        }
        run.resume_metrics(2, 3).unwrap();
        let text = std::fs::read_to_string(run.file(METRICS_FILE)).unwrap();
        let epochs: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(epochs, [1, 2]);
    }

    #[test]
    fn command_lines_are_quoted_for_a_shell() {
        let args: Vec<String> = ["edas", "search", "--set", "name=a b", "it's"]
            .map(String::from)
            .to_vec();
        assert_eq!(shell_line(&args), r"edas search --set 'name=a b' 'it'\''s'");
    }
}
