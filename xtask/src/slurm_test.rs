//! `cargo xtask slurm-test`: a one-node Slurm cluster on this machine
//! (Debian's `slurmctld`, `slurmd`, `munge`; run as root), a tiny matrix
//! (two strategies x two seeds, search and training) run through it with
//! `cargo xtask matrix --slurm`, one search job sent SIGTERM in the middle
//! of an epoch and requeued, and the report compared with the local
//! runner's on the same matrix: everything but times and memory must be
//! equal. Writes under `target/slurm-test/`; stops its daemons when done.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use edas_run::files::LOG_FILE;

use crate::project_root;

/// The daemons of the test cluster; stopped when dropped.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for pid in ["slurmd.pid", "slurmctld.pid"] {
            if let Ok(p) = std::fs::read_to_string(self.dir.join(pid)) {
                let _ = Command::new("kill").arg(p.trim()).status();
            }
        }
        let _ = Command::new("munged")
            .arg("--stop")
            .arg(format!(
                "--socket={}",
                self.dir.join("munge.sock").display()
            ))
            .status();
    }
}

impl Cluster {
    /// `program ARGS` with this cluster's config.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Standard output of `program ARGS`, failing on a non-zero status.
    fn output(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .with_context(|| format!("cannot run {program}"))?;
        if !out.status.success() {
            bail!(
                "{program} {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Starts munge, slurmctld and slurmd in `dir` and waits for the node.
fn start(dir: &Path) -> Result<Cluster> {
    for tool in [
        "munged",
        "slurmctld",
        "slurmd",
        "sbatch",
        "squeue",
        "scontrol",
        "scancel",
    ] {
        if Command::new("which")
            .arg(tool)
            .output()
            .map_or(true, |o| !o.status.success())
        {
            bail!(
                "`{tool}` is missing: apt-get install slurmctld slurmd slurm-client munge \
                 (Debian), then run this as root"
            );
        }
    }
    let uid = Command::new("id").arg("-u").output()?;
    if uid.stdout.trim_ascii() != b"0" {
        bail!("the test cluster's slurmd runs jobs as root: run cargo xtask slurm-test as root");
    }
    for sub in ["state", "spool", "log"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let key = dir.join("munge.key");
    let mut bytes = vec![0u8; 1024];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    std::fs::write(&key, bytes)?;
    run(Command::new("chmod").args(["700"]).arg(dir))?;
    run(Command::new("chmod").args(["400"]).arg(&key))?;
    let hostname = String::from_utf8_lossy(&Command::new("hostname").arg("-s").output()?.stdout)
        .trim()
        .to_owned();
    let d = dir.display();
    let conf = dir.join("slurm.conf");
    std::fs::write(
        &conf,
        format!(
            "ClusterName=edas-test\nSlurmctldHost={hostname}\nSlurmUser=root\nSlurmdUser=root\n\
             AuthType=auth/munge\nAuthInfo=socket={d}/munge.sock\nCredType=cred/munge\n\
             StateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/log/slurmctld.log\nSlurmdLogFile={d}/log/slurmd.log\n\
             SlurmctldPort=16817\nSlurmdPort=16818\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSwitchType=switch/none\n\
             MpiDefault=none\nSchedulerType=sched/backfill\nSelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\nReturnToService=2\nJobRequeue=1\nKillWait=30\n\
             MinJobAge=300\n\
             NodeName={hostname} CPUs=2 RealMemory=4000 State=UNKNOWN\n\
             PartitionName=debug Nodes={hostname} Default=YES MaxTime=INFINITE State=UP\n"
        ),
    )?;
    run(Command::new("munged")
        .arg("--force")
        .arg(format!("--key-file={}", key.display()))
        .arg(format!("--socket={d}/munge.sock"))
        .arg(format!("--pid-file={d}/munged.pid"))
        .arg(format!("--log-file={d}/munged.log"))
        .arg(format!("--seed-file={d}/munged.seed")))?;
    let cluster = Cluster {
        dir: dir.to_owned(),
        conf: conf.clone(),
    };
    run(cluster.command("slurmctld").arg("-f").arg(&conf))?;
    run(cluster.command("slurmd").arg("-f").arg(&conf))?;
    let t0 = Instant::now();
    loop {
        let state = cluster
            .output("sinfo", &["-h", "-o", "%T"])
            .unwrap_or_default();
        if state.trim() == "idle" {
            break;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            bail!(
                "the test node did not come up (sinfo: {}); see {d}/log/",
                state.trim()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("one-node Slurm cluster up ({hostname}, {})", conf.display());
    Ok(cluster)
}

/// The tiny matrix's configs and its two matrix files (local and Slurm),
/// identical but for `out`.
fn write_matrix(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let data = "[data]\ndataset = \"synthetic\"\n[data.synthetic]\nchannels = 3\nheight = 16\n\
                width = 16\nclasses = 4\ntrain_len = 192\ntest_len = 48\nnoise = 30.0\nseed = 4\n";
    for strategy in ["edas", "darts"] {
        std::fs::write(
            dir.join(format!("search-{strategy}.toml")),
            format!(
                "name = \"tiny\"\nstrategy = \"{strategy}\"\nepochs = 2\n{data}\
                 [loader]\nbatch_size = 16\nworkers = 1\neval_examples = 32\n\
                 [network]\nchannels = 4\nlayers = 3\n"
            ),
        )?;
    }
    std::fs::write(
        dir.join("train.toml"),
        format!(
            "name = \"tiny\"\nepochs = 2\n{data}[loader]\nbatch_size = 16\nworkers = 1\n\
             [network]\nchannels = 4\nlayers = 3\nauxiliary = false\n"
        ),
    )?;
    let d = dir.display();
    let matrix = |out: &str| {
        format!(
            "out = \"{d}/{out}\"\nsearch_config = \"{d}/search-{{strategy}}.toml\"\n\
             train_config = \"{d}/train.toml\"\nstrategies = [\"edas\", \"darts\"]\nseeds = [1, 2]\n"
        )
    };
    let (local, slurm) = (dir.join("local.toml"), dir.join("slurm.toml"));
    std::fs::write(&local, matrix("runs-local"))?;
    std::fs::write(&slurm, matrix("runs-slurm"))?;
    Ok((local, slurm))
}

/// The report's rows (Markdown for reading, CSV with every genotype for
/// comparing) without the columns that measure the machine (search time,
/// peak memory).
fn comparable(dir: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let units = edas_lab::report::units::collect(dir)?;
    let edas_lab::report::table::Table { header, md, csv } =
        edas_lab::report::table::table(&units, None)?;
    let machine = |h: &str| h.contains("time") || h.contains("memory");
    let md = md
        .into_iter()
        .map(|row| {
            let cells: Vec<String> = row
                .into_iter()
                .zip(&header)
                .filter(|(_, h)| !machine(h))
                .map(|(c, _)| c)
                .collect();
            format!("| {} |", cells.join(" | "))
        })
        .collect();
    // CSV: group, runs, device, then mean and std of time, memory, gap,
    // params, error, ...: columns 3 to 6 are the machine's.
    let csv = csv
        .into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .filter(|(i, _)| !(3..7).contains(i))
                .map(|(_, c)| c)
                .collect()
        })
        .collect();
    Ok((md, csv))
}

/// `cargo xtask slurm-test`.
pub fn slurm_test(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("cargo xtask slurm-test takes no arguments (got `{a}`)");
    }
    let work = project_root().join("target").join("slurm-test");
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("cannot clear {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    let cluster = start(&work)?;
    let (local, slurm) = write_matrix(&work)?;
    let xtask = std::env::current_exe()?;

    eprintln!("== the local runner");
    run(Command::new(&xtask).arg("matrix").arg(&local))?;

    eprintln!("== the same matrix through Slurm");
    run(cluster
        .command(&xtask.display().to_string())
        .arg("matrix")
        .arg(&slurm)
        .args(["--slurm", "--checkpoint-every", "1", "--signal-secs", "30"]))?;

    // --status sees the jobs in the queue.
    let status = cluster
        .command(&xtask.display().to_string())
        .arg("matrix")
        .arg(&slurm)
        .arg("--status")
        .output()?;
    let text = String::from_utf8_lossy(&status.stdout);
    println!("{text}");
    if !status.status.success() || !(text.contains("RUNNING") || text.contains("PENDING")) {
        bail!("`matrix --status` shows no job of the queue:\n{text}");
    }

    // Preempt the first search seen in the middle of an epoch.
    let t0 = Instant::now();
    let (job, dir) = loop {
        let q = cluster.output("squeue", &["-h", "-t", "R", "-o", "%i|%j"])?;
        let hit = q.lines().find_map(|l| {
            let (id, name) = l.split_once('|')?;
            let unit = name.strip_suffix(":search")?.rsplit(':').next()?;
            let run = work.join("runs-slurm").join(unit).join("search");
            // A live run: its checkpoint may be mid-swap (unreadable for a
            // moment, or absent); the next poll reads it again.
            let at = edas_run::status::progress(&run).ok().flatten()?;
            (at.step > 0).then(|| (id.to_owned(), run))
        });
        if let Some(hit) = hit {
            break hit;
        }
        if t0.elapsed() > Duration::from_secs(300) {
            bail!("no search job was seen in the middle of an epoch within 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!("== SIGTERM to job {job} ({})", dir.display());
    cluster.output("scancel", &["--signal=TERM", &job])?;

    // Slurm holds a requeued job back (BeginTime, about 2 minutes); let
    // it go at once, then wait for the queue to drain.
    let t0 = Instant::now();
    let mut requeued = false;
    loop {
        let q = cluster.output("squeue", &["-h", "-o", "%i|%T|%r"])?;
        if q.trim().is_empty() {
            break;
        }
        for line in q.lines() {
            let f: Vec<&str> = line.split('|').collect();
            if let [id, "PENDING", "BeginTime"] = f[..] {
                requeued |= id == job;
                cluster.output(
                    "scontrol",
                    &["update", &format!("JobId={id}"), "StartTime=now"],
                )?;
            }
        }
        if t0.elapsed() > Duration::from_secs(900) {
            bail!("the matrix's jobs did not finish within 15 minutes:\n{q}");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    run(cluster
        .command(&xtask.display().to_string())
        .arg("matrix")
        .arg(&slurm)
        .arg("--status"))?;

    // The preempted run stopped mid-epoch, checkpointed and resumed.
    let log = std::fs::read_to_string(dir.join(LOG_FILE))?;
    if !requeued || !log.contains("stopped by a signal at step") || !log.contains("resuming") {
        bail!(
            "job {job} was not stopped by the signal and resumed (requeued: {requeued}); its log:\n{log}"
        );
    }
    // Submitting again: everything finished, nothing submitted.
    let again = cluster
        .command(&xtask.display().to_string())
        .arg("matrix")
        .arg(&slurm)
        .arg("--slurm")
        .output()?;
    let text = String::from_utf8_lossy(&again.stdout);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("-s"))
        .collect();
    if !again.status.success()
        || rows.len() != 4
        || !rows.iter().all(|r| r.ends_with("| finished | finished |"))
    {
        bail!("resubmitting the finished matrix did not skip every step:\n{text}");
    }
    let (local_md, local_csv) = comparable(&work.join("runs-local"))?;
    let (slurm_md, slurm_csv) = comparable(&work.join("runs-slurm"))?;
    println!("\nreport, local runner (times and memory left out):");
    println!("{}", local_md.join("\n"));
    println!("report, through Slurm with job {job} preempted and requeued:");
    println!("{}", slurm_md.join("\n"));
    if local_csv.len() != 2 || local_csv != slurm_csv {
        bail!("the reports differ:\n{local_csv:?}\n{slurm_csv:?}");
    }
    println!(
        "\nequal, genotypes included: 2 strategies x 2 seeds (search and training); job {job} \
         stopped by SIGTERM mid-epoch, requeued and resumed; resubmitting skipped every step"
    );
    drop(cluster);
    Ok(())
}
