//! Matrices on a Slurm cluster: `matrix FILE --slurm [--partition
//! P] [--gpus N] [--time T] [--device D] [--checkpoint-every STEPS]
//! [--signal-secs S] [--dry-run]` writes one batch script per step of each
//! unit into `OUT/slurm/` and submits them with `sbatch`, the training after
//! its search (`--dependency=afterok`); `--status` adds what `squeue` says.
//!
//! Each script decides when it runs, not when it is written: a finished run
//! (`results.json`) exits at once, a checkpointed one resumes, anything else
//! starts afresh, so that a requeued or resubmitted job continues where the
//! last one stopped. Jobs ask for `--requeue` and a SIGTERM `--signal-secs`
//! before their time limit; edas then checkpoints at the next step and exits
//! with status 75, and the script requeues its job (`scontrol requeue`).
//! Preemption (SIGTERM to the job step) ends the same way.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::binary::{STOPPED_STATUS, resume_args};
use crate::matrix::{Matrix, MatrixUnit};
use crate::status::{Action, action};

/// The options of `--slurm`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct SlurmOptions {
    /// Slurm partition of every job (`#SBATCH --partition`).
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// GPUs per job (`#SBATCH --gres=gpu:N`).
    #[arg(long, value_name = "N")]
    pub gpus: Option<u32>,
    /// Time limit per job (`#SBATCH --time`).
    #[arg(long, value_name = "T")]
    pub time: Option<String>,
    /// edas' `--device` in the jobs.
    #[arg(long, value_name = "D", default_value = "cpu")]
    pub device: String,
    /// edas' `--checkpoint-every STEPS` in the jobs.
    #[arg(long, value_name = "STEPS")]
    pub checkpoint_every: Option<u64>,
    /// Seconds before the time limit at which Slurm sends SIGTERM (the job
    /// checkpoints and is requeued).
    #[arg(long, value_name = "S", default_value_t = 300)]
    pub signal_secs: u32,
    /// Write the scripts without submitting them (and without a build).
    #[arg(long)]
    pub dry_run: bool,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        SlurmOptions {
            partition: None,
            gpus: None,
            time: None,
            device: "cpu".into(),
            checkpoint_every: None,
            signal_secs: 300,
            dry_run: false,
        }
    }
}

/// `text` as one shell word; refused if it holds a control character (a
/// newline would end a `#SBATCH` line or a command, and run what follows).
fn quote(text: &str) -> Result<String> {
    Ok(edas_fs::shell::quote(text)?)
}

/// `text` as the value of a `#SBATCH` option (`what` names it in the
/// error): no control character, quoted like a shell word.
fn option(what: &str, text: &str) -> Result<String> {
    edas_fs::shell::check_line(what, text)?;
    quote(text)
}

fn words(args: &[String]) -> Result<String> {
    Ok(edas_fs::shell::join(args)?)
}

/// What every job name of matrix `m` starts with: `edas:<its out dir>:`.
fn job_prefix(m: &Matrix) -> String {
    let out = m
        .out
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    format!("edas:{out}:")
}

/// The job name of one step: the matrix's directory, the unit, the step.
pub fn job_name(m: &Matrix, unit: &MatrixUnit, step: &str) -> String {
    let unit = unit
        .dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    format!("{}{unit}:{step}", job_prefix(m))
}

/// One step of a unit as a Slurm job.
pub struct Job<'a> {
    /// Job name ([`job_name`]).
    pub name: &'a str,
    /// Its output file (appended to across requeues).
    pub log: &'a Path,
    /// The run directory.
    pub dir: &'a Path,
    /// The arguments that start the run (the first is the edas command).
    pub start: &'a [String],
    /// Shell lines run first (sampling a random cell).
    pub before: &'a [String],
}

/// The batch script of `job`, running `bin` from the project `root`.
pub fn script(bin: &Path, root: &Path, job: &Job<'_>, o: &SlurmOptions) -> Result<String> {
    let Job {
        name,
        log,
        dir,
        start,
        before,
    } = *job;
    let command = start.first().map_or("train", String::as_str);
    let mut extra = vec!["--quiet".to_owned(), "--device".into(), o.device.clone()];
    if let Some(k) = o.checkpoint_every {
        extra.extend(["--checkpoint-every".into(), k.to_string()]);
    }
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!(
        "#SBATCH --job-name={}\n",
        option("the job name", name)?
    ));
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        option("the job's output file", &log.display().to_string())?
    ));
    s.push_str("#SBATCH --open-mode=append\n#SBATCH --requeue\n");
    s.push_str(&format!("#SBATCH --signal=TERM@{}\n", o.signal_secs));
    if let Some(p) = &o.partition {
        s.push_str(&format!(
            "#SBATCH --partition={}\n",
            option("--partition", p)?
        ));
    }
    if let Some(g) = o.gpus {
        s.push_str(&format!("#SBATCH --gres=gpu:{g}\n"));
    }
    if let Some(t) = &o.time {
        s.push_str(&format!("#SBATCH --time={}\n", option("--time", t)?));
    }
    s.push_str(&format!(
        "# Written by `cargo xtask matrix ... --slurm`; rewritten on every submission.\n\
         # Finished: exit; checkpointed: resume; otherwise start afresh. Status 75 means\n\
         # edas stopped on SIGTERM (time limit, preemption, scancel --signal=TERM) after a\n\
         # checkpoint: the job requeues itself.\n\
         set -u\n\
         cd {}\n\
         RUN={}\n",
        quote(&root.display().to_string())?,
        quote(&dir.display().to_string())?
    ));
    s.push_str("echo \"== $(date -Is) job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname)\"\n");
    s.push_str("if [ -f \"$RUN/results.json\" ]; then echo \"$RUN: finished\"; exit 0; fi\n");
    for line in before {
        s.push_str(line);
        s.push('\n');
    }
    let mut resume = vec![bin.display().to_string()];
    resume.extend(resume_args(command, dir));
    resume.extend(extra.iter().cloned());
    let mut fresh = vec![bin.display().to_string()];
    fresh.extend(start.iter().cloned());
    fresh.extend(extra);
    s.push_str(&format!(
        "if [ -f \"$RUN/checkpoint/state.json\" ] || [ -f \"$RUN/checkpoint.old/state.json\" ]; then\n    \
         set -- {}\nelse\n    set -- {}\nfi\n",
        words(&resume)?,
        words(&fresh)?
    ));
    s.push_str(&format!(
        "echo \"+ $*\"\n\
         srun \"$@\"\n\
         status=$?\n\
         if [ \"$status\" -eq {STOPPED_STATUS} ]; then\n    \
         echo \"stopped by a signal, checkpointed; requeueing job $SLURM_JOB_ID\"\n    \
         scontrol requeue \"$SLURM_JOB_ID\"\n    \
         exit 0\n\
         fi\n\
         exit \"$status\"\n",
    ));
    Ok(s)
}

/// The shell line that samples a `random-cell` unit's genotype into `file`
/// unless it is there.
fn sample_line(bin: &Path, unit: &MatrixUnit, file: &Path) -> Result<String> {
    let mut sample = vec![bin.display().to_string()];
    sample.extend(unit.sample_args(file));
    Ok(format!(
        "[ -f {} ] || {} || exit 1",
        quote(&file.display().to_string())?,
        words(&sample)?
    ))
}

/// `sbatch --parsable [--dependency=afterok:ID] SCRIPT`: the job id.
fn sbatch(script: &Path, after: Option<&str>) -> Result<String> {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable");
    if let Some(id) = after {
        cmd.arg(format!("--dependency=afterok:{id}"));
    }
    let out = cmd
        .arg(script)
        .output()
        .context("cannot run sbatch (is this a Slurm login node?)")?;
    if !out.status.success() {
        bail!(
            "sbatch {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // `--parsable` prints `ID` or `ID;CLUSTER`.
    Ok(text.trim().split(';').next().unwrap_or("").to_owned())
}

/// Jobs of this matrix in the queue: job name -> `ID STATE (REASON)`.
pub fn queue(m: &Matrix) -> Option<BTreeMap<String, String>> {
    let out = Command::new("squeue")
        .args(["--noheader", "--format=%i|%j|%T|%r"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let prefix = job_prefix(m);
    let mut jobs = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('|').collect();
        if let [id, name, state, reason] = f[..]
            && name.starts_with(&prefix)
        {
            let reason = if reason == "None" {
                String::new()
            } else {
                format!(" ({reason})")
            };
            jobs.insert(name.to_owned(), format!("job {id} {state}{reason}"));
        }
    }
    Some(jobs)
}

/// `cargo xtask matrix FILE --slurm ...`: writes and submits the scripts.
pub fn submit(m: &Matrix, bin: &Path, o: &SlurmOptions) -> Result<()> {
    let root = crate::workspace::project_root();
    if m.out.file_name().is_none() {
        bail!(
            "the matrix's out {:?} names no directory of its own (`/`, `..`); the scripts would \
             go to {}; set out to a runs directory",
            m.out,
            m.out.join("slurm").display()
        );
    }
    edas_fs::shell::check_line("the matrix's out", &m.out.display().to_string())?;
    for (what, value) in [("--partition", &o.partition), ("--time", &o.time)] {
        if let Some(v) = value {
            edas_fs::shell::check_line(what, v)?;
        }
    }
    let dir = m.out.join("slurm");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let queued = if o.dry_run { None } else { queue(m) };
    println!("| unit | search | training |");
    println!("|---|---|---|");
    for u in m.units() {
        let steps = u.steps();
        let unit = u
            .dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut cells = Vec::new();
        // One step: write its script, and submit it unless it is finished
        // or already queued.
        let step = |kind: &str,
                    run: &Path,
                    start: &[String],
                    before: &[String],
                    after: Option<&str>|
         -> Result<(String, Option<String>)> {
            let name = job_name(m, &u, kind);
            let path = dir.join(format!("{unit}-{kind}.sh"));
            let log = dir.join(format!("{unit}-{kind}.out"));
            let job = Job {
                name: &name,
                log: &log,
                dir: run,
                start,
                before,
            };
            let text = script(bin, &root, &job, o)?;
            edas_fs::write_atomic(&path, text.as_bytes())?;
            if action(run)? == Action::Skip {
                return Ok(("finished".into(), None));
            }
            if let Some(q) = queued.as_ref().and_then(|q| q.get(&name)) {
                let id = q.split_whitespace().nth(1).map(str::to_owned);
                return Ok((format!("already queued: {q}"), id));
            }
            if o.dry_run {
                return Ok((format!("written: {}", path.display()), None));
            }
            let id = sbatch(&path, after)?;
            Ok((format!("submitted: job {id}"), Some(id)))
        };
        let search_job = match &steps.search {
            Some((run, start)) => {
                let (cell, id) = step("search", run, start, &[], None)?;
                cells.push(cell);
                id
            }
            None => {
                cells.push("(sampled cell)".into());
                None
            }
        };
        match &steps.train {
            Some((run, start)) => {
                let before: Vec<String> = steps
                    .sampled_cell
                    .iter()
                    .map(|file| sample_line(bin, &u, file))
                    .collect::<Result<_>>()?;
                let (cell, _) = step("train", run, start, &before, search_job.as_deref())?;
                cells.push(cell);
            }
            None => cells.push("(none)".into()),
        }
        println!("| {unit} | {} | {} |", cells[0], cells[1]);
    }
    if o.dry_run {
        println!("\nscripts in {} (not submitted: --dry-run)", dir.display());
    } else {
        println!(
            "\nscripts and job output in {}; follow with: cargo xtask matrix FILE --status",
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(quote("seed=3").unwrap(), "seed=3");
        assert_eq!(quote("a b").unwrap(), "'a b'");
        assert_eq!(quote("it's").unwrap(), r"'it'\''s'");
        assert_eq!(quote("").unwrap(), "''");
    }

    /// A newline in the matrix's `out`, `--partition` or `--time` would end
    /// a `#SBATCH` line and run the next line as a command: refused, and no
    /// script is written; `out = "/"` would write `/slurm/*.sh`: refused.
    #[test]
    fn control_characters_and_a_root_out_are_refused() {
        let matrix = |out: &str| {
            Matrix::parse(
                &format!(
                    "out = {}\nsearch_config = \"configs/search/x-{{strategy}}.toml\"\n\
                     train_config = \"configs/train/x.toml\"\nstrategies = [\"edas\"]\nseeds = [2]\n",
                    toml::Value::String(out.into())
                ),
                "t.toml",
            )
            .unwrap()
        };
        let tmp = tempfile::tempdir().unwrap();
        let bin = Path::new("/bin/edas");
        let out = tmp.path().join("x\ntouch /tmp/pwned #");
        let e = submit(
            &matrix(out.to_str().unwrap()),
            bin,
            &SlurmOptions {
                dry_run: true,
                ..SlurmOptions::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("control character"), "{e:#}");
        assert!(!out.exists() && std::fs::read_dir(tmp.path()).unwrap().count() == 0);
        let e = submit(
            &matrix("/"),
            bin,
            &SlurmOptions {
                dry_run: true,
                ..SlurmOptions::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("names no directory of its own"),
            "{e:#}"
        );
        let m = matrix(tmp.path().join("runs").to_str().unwrap());
        for (flag, value) in [
            ("--partition", "gpu\ntouch /tmp/pwned"),
            ("--time", "1:00:00\rx"),
        ] {
            let o = crate::cli::parse_as::<SlurmOptions>(&[flag, value, "--dry-run"]).unwrap();
            let e = submit(&m, bin, &o).unwrap_err();
            assert!(
                e.to_string()
                    .contains(&format!("{flag} {value:?} holds a control character")),
                "{e:#}"
            );
        }
        // Nothing was written for the refused jobs.
        let scripts = tmp.path().join("runs/slurm");
        assert_eq!(std::fs::read_dir(&scripts).map_or(0, |d| d.count()), 0);
    }

    #[test]
    fn scripts_resume_or_start_and_requeue_on_status_75() {
        let m = Matrix::parse(
            r#"
out = "runs/t"
search_config = "configs/search/x-{strategy}.toml"
train_config = "configs/train/x.toml"
strategies = ["edas", "random-cell"]
seeds = [2]
"#,
            "t.toml",
        )
        .unwrap();
        let o = crate::cli::parse_as::<SlurmOptions>(&[
            "--partition",
            "gpu",
            "--gpus",
            "1",
            "--time",
            "1:00:00",
            "--device",
            "cuda",
            "--checkpoint-every",
            "200",
        ])
        .unwrap();
        let units = m.units();
        let (run, start) = units[0].steps().search.unwrap();
        let name = job_name(&m, &units[0], "search");
        let job = Job {
            name: &name,
            log: Path::new("/p/runs/t/slurm/edas-s2-search.out"),
            dir: &run,
            start: &start,
            before: &[],
        };
        let s = script(Path::new("/bin/edas"), Path::new("/p"), &job, &o).unwrap();
        bash_syntax(&s);
        for line in [
            "#SBATCH --job-name=edas:t:edas-s2:search",
            "#SBATCH --requeue",
            "#SBATCH --signal=TERM@300",
            "#SBATCH --partition=gpu",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --time=1:00:00",
            "RUN=runs/t/edas-s2/search",
            "    set -- /bin/edas search --resume runs/t/edas-s2/search --quiet --device cuda --checkpoint-every 200",
            "    set -- /bin/edas search --out runs/t/edas-s2/search --force --set seed=2 --config configs/search/x-edas.toml --quiet --device cuda --checkpoint-every 200",
            "srun \"$@\"",
            "if [ \"$status\" -eq 75 ]; then",
            "    scontrol requeue \"$SLURM_JOB_ID\"",
        ] {
            assert!(s.lines().any(|l| l == line), "no `{line}` in\n{s}");
        }
        // random-cell: sampled in the training job, trained on the sample.
        let steps = units[1].steps();
        assert!(steps.search.is_none());
        let (run, start) = steps.train.unwrap();
        let cell = steps.sampled_cell.unwrap();
        assert!(start.contains(&cell.display().to_string()));
        let before = [sample_line(Path::new("/bin/edas"), &units[1], &cell).unwrap()];
        let name = job_name(&m, &units[1], "train");
        let job = Job {
            name: &name,
            log: Path::new("/p/t.out"),
            dir: &run,
            start: &start,
            before: &before,
        };
        let s = script(Path::new("/bin/edas"), Path::new("/p"), &job, &o).unwrap();
        bash_syntax(&s);
        assert!(s.contains(
            "[ -f runs/t/random-cell-s2/cell/genotype.json ] || /bin/edas genotype random \
             --seed 2 -o runs/t/random-cell-s2/cell/genotype.json || exit 1"
        ));
        assert!(crate::cli::parse_as::<SlurmOptions>(&["--gpu"]).is_err());
    }

    /// `bash -n` accepts `script`.
    fn bash_syntax(script: &str) {
        let dir = std::env::temp_dir().join(format!("edas-slurm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.sh");
        std::fs::write(&file, script).unwrap();
        let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            syntax.status.success(),
            "{}",
            String::from_utf8_lossy(&syntax.stderr)
        );
    }
}
