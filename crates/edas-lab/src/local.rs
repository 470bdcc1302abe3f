//! The local runner: a matrix's units in order, `--jobs N` at a time,
//! finished steps skipped, interrupted ones resumed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Result, bail};

use crate::binary::{
    Stopped, edas_binary, pinned_binary, resume_args, run_edas, run_edas_threads, start_args,
};
use crate::check::check_configs;
use crate::matrix::{Matrix, MatrixUnit};
use crate::report::ReportOptions;
use crate::status::{Action, action};
use crate::summary::summary;

/// How the local runner runs a matrix: `--jobs N`, `--bin PATH`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct LocalOptions {
    /// Units run at a time; each `edas` gets the cores / N CPU threads
    /// (`RAYON_NUM_THREADS`).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_jobs)]
    pub jobs: usize,
    /// Run this `edas` binary as it is, from the first unit to the last (no
    /// build); default: build the release binary now.
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
}

impl LocalOptions {
    /// The `--bin` binary, else the release build (built now).
    pub fn binary(&self) -> Result<PathBuf> {
        match &self.bin {
            Some(b) => pinned_binary(b),
            None => edas_binary(None),
        }
    }
}

/// The `--jobs` value: a whole number of at least 1.
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("a whole number of at least 1, not `{text}`")),
    }
}

/// `edas COMMAND` for run directory `dir` as [`action`] says: skip a
/// finished run, `--resume` an interrupted one, else start it with `start`
/// (the config and overrides) and the seed (none: the config's). The run's
/// progress shows live (a bar on a terminal, periodic lines when piped),
/// and its result is printed at the end ([`summary`]).
pub fn run_step(
    bin: &Path,
    command: &str,
    dir: &Path,
    seed: Option<u64>,
    start: Vec<String>,
) -> Result<()> {
    run_unit_step(bin, None, dir, &start_args(command, dir, seed, start))?;
    println!("{}", summary(command, dir)?);
    Ok(())
}

/// `edas` with `start` (from [`MatrixUnit::steps`]) for run directory
/// `dir`, as [`action`] says: skipped when finished, resumed when
/// interrupted, started otherwise. With `threads` (several units at a time)
/// each `edas` is `--quiet`, since their progress would interleave; one at
/// a time, its progress shows.
fn run_unit_step(bin: &Path, threads: Option<usize>, dir: &Path, start: &[String]) -> Result<()> {
    let command = start.first().map_or("edas", String::as_str);
    let mut a = match action(dir)? {
        Action::Skip => {
            eprintln!("{command} finished; skipped ({})", dir.display());
            return Ok(());
        }
        Action::Resume => resume_args(command, dir),
        Action::Start => start.to_vec(),
    };
    if threads.is_some() {
        a.push("--quiet".into());
    }
    run_edas_threads(bin, &a, threads)
}

/// Runs one unit: its sampled cell, search and training, each skipped when
/// finished and resumed when interrupted; `threads`: the CPU backend's.
fn run_unit(
    bin: &Path,
    threads: Option<usize>,
    u: &MatrixUnit,
    position: usize,
    total: usize,
) -> Result<()> {
    eprintln!(
        "== run {position}/{total}: {}{}, seed {} -> {}",
        u.dataset
            .as_ref()
            .map(|d| format!("{d}, "))
            .unwrap_or_default(),
        u.strategy,
        u.seed,
        u.dir.display()
    );
    let steps = u.steps();
    if let Some(file) = &steps.sampled_cell
        && !file.is_file()
    {
        run_edas(bin, &u.sample_args(file))?;
    }
    if let Some((dir, start)) = &steps.search {
        run_unit_step(bin, threads, dir, start)?;
    }
    if let Some((dir, start)) = &steps.train {
        run_unit_step(bin, threads, dir, start)?;
    }
    Ok(())
}

/// Runs `units` in order on `jobs` workers, each taking the next unit not
/// yet taken. After a failure no further unit is taken; the units under way
/// finish, and the first failure (in unit order) is returned.
fn run_units(
    units: &[MatrixUnit],
    jobs: usize,
    run: impl Fn(usize, &MatrixUnit) -> Result<()> + Sync,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(units.len()) {
            s.spawn(|| {
                while !failed.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(u) = units.get(i) else { break };
                    if let Err(e) = run(i, u) {
                        failed.store(true, Ordering::SeqCst);
                        failures
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((i, e));
                    }
                }
            });
        }
    });
    let mut failures = failures
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failures.sort_by_key(|(i, _)| *i);
    if !failures.is_empty()
        && failures
            .iter()
            .all(|(_, e)| e.downcast_ref::<Stopped>().is_some())
    {
        let units: Vec<String> = failures.iter().map(|(i, _)| (i + 1).to_string()).collect();
        bail!(
            "stopped by a signal: unit(s) {} checkpointed; the same command resumes them",
            units.join(", ")
        );
    }
    let others = failures.len().saturating_sub(1);
    match failures.into_iter().next() {
        None => Ok(()),
        Some((i, e)) if others > 0 => Err(e.context(format!(
            "unit {} failed (and {others} more unit(s) under way failed or stopped too)",
            i + 1
        ))),
        Some((i, e)) => Err(e.context(format!("unit {} failed", i + 1))),
    }
}

/// Runs matrix `m` on `jobs` workers, with `extra` overrides for every
/// search and training.
pub fn run_matrix(mut m: Matrix, extra: &[String], bin: &Path, jobs: usize) -> Result<()> {
    m.search_set.extend(extra.iter().cloned());
    m.train_set.extend(extra.iter().cloned());
    let units = m.units();
    check_configs(bin, &units)?;
    // N jobs share the cores: each edas' CPU backend gets cores / N threads
    // (rayon would otherwise start one per core in every process).
    let threads = (jobs > 1).then(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / jobs).max(1)
    });
    if let Some(t) = threads {
        eprintln!("{jobs} units at a time, {t} CPU thread(s) each (RAYON_NUM_THREADS)");
    }
    run_units(&units, jobs, |i, u| {
        run_unit(bin, threads, u, i + 1, units.len())
    })?;
    crate::report::report(&ReportOptions::of(vec![m.out.clone()]))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn nine_units() -> Vec<MatrixUnit> {
        Matrix::parse(
            r#"
out = "runs/m"
search_config = "configs/search/fashion-mnist-{strategy}.toml"
strategies = ["edas", "darts", "gdas"]
seeds = [1, 2, 3]
"#,
            "m.toml",
        )
        .unwrap()
        .units()
    }

    /// Counts a unit as started and waits, up to 10 s, until `k` have.
    fn all_start(started: &(Mutex<usize>, std::sync::Condvar), k: usize) -> Result<()> {
        let (n, cv) = started;
        let mut n = n.lock().unwrap();
        *n += 1;
        cv.notify_all();
        let (n, wait) = cv
            .wait_timeout_while(n, std::time::Duration::from_secs(10), |n| *n < k)
            .unwrap();
        anyhow::ensure!(!wait.timed_out(), "only {} units ran at once", *n);
        Ok(())
    }

    #[test]
    fn units_run_once_each_on_parallel_workers() {
        let units = nine_units();
        // Three workers: units 0-2 are under way together, and every unit
        // runs exactly once.
        let runs = Mutex::new(vec![0; units.len()]);
        let started = Mutex::default();
        let started = (started, std::sync::Condvar::new());
        run_units(&units, 3, |i, _| {
            runs.lock().unwrap()[i] += 1;
            if i < 3 {
                all_start(&started, 3)
            } else {
                Ok(())
            }
        })
        .unwrap();
        assert_eq!(runs.into_inner().unwrap(), vec![1; 9]);
        // One worker: in order, and nothing is taken after a failure.
        let seen = Mutex::new(Vec::new());
        let e = run_units(&units, 1, |i, _| {
            seen.lock().unwrap().push(i);
            if i == 4 { bail!("edas failed") } else { Ok(()) }
        })
        .unwrap_err();
        assert_eq!(seen.into_inner().unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(format!("{e:#}"), "unit 5 failed: edas failed");
        // Two workers, both stopped (a SIGTERM stops every edas): no further
        // unit is taken, and the stop is reported as one. With one of them
        // failed instead, the first failure in unit order is reported and
        // the other counted.
        for (first_fails, says) in [
            (
                false,
                "stopped by a signal: unit(s) 1, 2 checkpointed; the same command resumes them",
            ),
            (
                true,
                "unit 1 failed (and 1 more unit(s) under way failed or stopped too): broken",
            ),
        ] {
            let started = (Mutex::default(), std::sync::Condvar::new());
            let seen = Mutex::new(Vec::new());
            let e = run_units(&units, 2, |i, _| {
                seen.lock().unwrap().push(i);
                all_start(&started, 2)?;
                if first_fails && i == 0 {
                    bail!("broken")
                }
                Err(Stopped {
                    command: format!("edas {i}"),
                }
                .into())
            })
            .unwrap_err();
            let mut seen = seen.into_inner().unwrap();
            seen.sort_unstable();
            assert_eq!(seen, vec![0, 1]);
            assert_eq!(format!("{e:#}"), says);
        }
        assert!(parse_jobs("0").is_err() && parse_jobs("x").is_err());
        assert_eq!(parse_jobs("2").unwrap(), 2);
    }

    #[test]
    fn local_options_take_jobs_and_a_pinned_binary() {
        let parse = crate::cli::parse_as::<LocalOptions>;
        assert_eq!(parse(&[]).unwrap(), LocalOptions { jobs: 1, bin: None });
        assert_eq!(
            parse(&["--bin", "b/edas", "--jobs", "2"]).unwrap(),
            LocalOptions {
                jobs: 2,
                bin: Some(PathBuf::from("b/edas"))
            }
        );
        for (bad, says) in [
            (&["--jobs"][..], "a value is required for '--jobs <N>'"),
            (&["--bin"][..], "a value is required for '--bin <PATH>'"),
            (
                &["--jobs", "0"][..],
                "a whole number of at least 1, not `0`",
            ),
            (&["--fast"][..], "unexpected argument '--fast'"),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
        // A program that is not edas is refused before any unit runs.
        let e = format!("{:#}", pinned_binary(Path::new("/bin/true")).unwrap_err());
        assert!(e.contains("is not an edas binary"), "{e}");
        let e = format!(
            "{:#}",
            pinned_binary(Path::new("/nonexistent/edas")).unwrap_err()
        );
        assert!(e.contains("cannot run --bin /nonexistent/edas"), "{e}");
    }
}
