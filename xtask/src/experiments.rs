//! `cargo xtask matrix FILE` (datasets x strategies x config grids x seeds,
//! run in order, `--jobs N` at a time, finished runs skipped, interrupted
//! ones resumed) and
//! `cargo xtask report RUNS...` (mean +/- std tables in Markdown, CSV on request).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

use crate::{cargo, project_root};

/// A matrix file (`configs/matrix/*.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Where the runs go: `OUT/<unit>/{search,train}` (see [`Matrix::units`]).
    pub out: PathBuf,
    /// Search config path, with `{strategy}` (and `{dataset}`) in it.
    pub search_config: String,
    /// Training config for the found cells (none: search only), with
    /// `{dataset}` in it when several datasets are listed.
    pub train_config: Option<String>,
    /// Datasets substituted for `{dataset}` (empty: the configs' own).
    pub datasets: Vec<String>,
    /// Strategies.
    pub strategies: Vec<String>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Extra `--set` overrides for every search (`key=value`).
    pub search_set: Vec<String>,
    /// Extra `--set` overrides for every training.
    pub train_set: Vec<String>,
    /// Search config keys and the values to try (the cartesian product).
    pub grid: Vec<(String, Vec<String>)>,
    /// Search settings tried together (`[[points]]`: each a set of keys
    /// and values), crossed with the grid: for values that go in pairs,
    /// such as a relaxed-edge count and its learning rate.
    pub points: Vec<Vec<(String, String)>>,
    /// Training config keys and the values to try.
    pub train_grid: Vec<(String, Vec<String>)>,
}

/// One run of a matrix: a search (or a sampled cell) and its training.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixUnit {
    /// `OUT/[<dataset>-]<strategy>[-<key>=<value>...]-s<seed>`.
    pub dir: PathBuf,
    /// Dataset, when the matrix lists datasets.
    pub dataset: Option<String>,
    /// Strategy.
    pub strategy: String,
    /// Seed.
    pub seed: u64,
    /// The search config path.
    pub search_config: String,
    /// The training config path.
    pub train_config: Option<String>,
    /// `--set` overrides of the search (the matrix's, then the grid point's).
    pub search_set: Vec<String>,
    /// `--set` overrides of the training.
    pub train_set: Vec<String>,
}

/// A matrix file as written (`configs/matrix/*.toml`); [`Matrix::parse`]
/// checks it and turns it into a [`Matrix`].
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixFile {
    out: PathBuf,
    search_config: String,
    train_config: Option<String>,
    #[serde(default)]
    datasets: Vec<String>,
    strategies: Vec<String>,
    seeds: Vec<u64>,
    #[serde(default)]
    search_set: toml::Table,
    #[serde(default)]
    train_set: toml::Table,
    #[serde(default)]
    grid: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    points: Vec<toml::Table>,
    #[serde(default)]
    train_grid: BTreeMap<String, Vec<toml::Value>>,
}

/// A TOML value as a `--set` value and in a directory name.
fn value_text(v: toml::Value) -> String {
    match v {
        toml::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// `key=value` overrides of an override table.
fn sets(table: &toml::Table) -> Vec<String> {
    table.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// A grid table: each key with a non-empty list of values.
fn grid(
    table: BTreeMap<String, Vec<toml::Value>>,
    name: &str,
    origin: &str,
) -> Result<Vec<(String, Vec<String>)>> {
    table
        .into_iter()
        .map(|(k, values)| {
            if values.is_empty() {
                bail!("{origin}: `{name}.{k}` must be a non-empty list");
            }
            let values = values.into_iter().map(value_text).collect();
            Ok((k, values))
        })
        .collect()
}

/// The cartesian product of a grid: one list of `(key, value)` per point.
fn grid_points(grid: &[(String, Vec<String>)]) -> Vec<Vec<(String, String)>> {
    let mut points = vec![Vec::new()];
    for (key, values) in grid {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((key.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    points
}

/// A grid value as it appears in a directory name.
fn dir_safe(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Matrix {
    /// Parses a matrix file.
    pub fn parse(text: &str, origin: &str) -> Result<Matrix> {
        // The parser's own message and place, not its echo of the line
        // (which may be the whole file).
        let f: MatrixFile = toml::from_str(text).map_err(|e| {
            let place = e.span().and_then(|s| text.get(..s.start)).map(|before| {
                let n = before.matches('\n').count() + 1;
                let line = text.lines().nth(n - 1).unwrap_or_default();
                let shown: String = line.chars().take(60).collect();
                let more = if shown.len() < line.len() { "..." } else { "" };
                format!(" (line {n}: {:?}{more})", shown)
            });
            let message: String = e.message().trim_end().chars().take(300).collect();
            anyhow::anyhow!(
                "{origin}: not a matrix file{}: {message}",
                place.unwrap_or_default()
            )
        })?;
        if f.strategies.is_empty() || f.seeds.is_empty() {
            bail!("{origin}: `strategies` and `seeds` must not be empty");
        }
        let known_strategies = [
            "edas",
            "darts",
            "darts2",
            "pc-darts",
            "gdas",
            "random",
            RANDOM_CELL,
        ];
        if let Some(s) = f
            .strategies
            .iter()
            .find(|s| !known_strategies.contains(&s.as_str()))
        {
            bail!(
                "{origin}: unknown strategy `{s}` (expected {})",
                known_strategies.join(", ")
            );
        }
        if f.strategies.iter().any(|s| s == RANDOM_CELL) && f.train_config.is_none() {
            bail!("{origin}: `{RANDOM_CELL}` only trains, so it needs a `train_config`");
        }
        if !f.search_config.contains("{strategy}") && f.strategies.len() > 1 {
            bail!(
                "{origin}: key `search_config` must contain {{strategy}} when several strategies are listed"
            );
        }
        if f.datasets.len() > 1 {
            let templated = f.search_config.contains("{dataset}")
                && f.train_config
                    .as_ref()
                    .is_none_or(|c| c.contains("{dataset}"));
            if !templated {
                bail!(
                    "{origin}: `search_config` and `train_config` must contain {{dataset}} when several datasets are listed"
                );
            }
        }
        let mut points = Vec::new();
        for (i, p) in f.points.into_iter().enumerate() {
            if p.is_empty() {
                bail!("{origin}: `points` entry {} is empty", i + 1);
            }
            points.push(p.into_iter().map(|(k, v)| (k, value_text(v))).collect());
        }
        Ok(Matrix {
            points,
            search_set: sets(&f.search_set),
            train_set: sets(&f.train_set),
            grid: grid(f.grid, "grid", origin)?,
            train_grid: grid(f.train_grid, "train_grid", origin)?,
            out: f.out,
            search_config: f.search_config,
            train_config: f.train_config,
            datasets: f.datasets,
            strategies: f.strategies,
            seeds: f.seeds,
        })
    }

    /// The runs in order: seeds outermost (so that a partial matrix has whole
    /// seeds), then datasets, strategies, search grid points and training
    /// grid points.
    pub fn units(&self) -> Vec<MatrixUnit> {
        let datasets: Vec<Option<&String>> = if self.datasets.is_empty() {
            vec![None]
        } else {
            self.datasets.iter().map(Some).collect()
        };
        let search_points: Vec<Vec<(String, String)>> = if self.points.is_empty() {
            grid_points(&self.grid)
        } else {
            grid_points(&self.grid)
                .into_iter()
                .flat_map(|g| {
                    self.points.iter().map(move |p| {
                        let mut q = g.clone();
                        q.extend(p.iter().cloned());
                        q
                    })
                })
                .collect()
        };
        let train_points = grid_points(&self.train_grid);
        let mut out = Vec::new();
        for seed in &self.seeds {
            for dataset in &datasets {
                let fill = |s: &str, strategy: &str| {
                    let s = s.replace("{strategy}", strategy);
                    match dataset {
                        Some(d) => s.replace("{dataset}", d),
                        None => s,
                    }
                };
                for strategy in &self.strategies {
                    for sp in &search_points {
                        for tp in &train_points {
                            let mut name = String::new();
                            // One folder name: keys, values and data set
                            // names cannot add a `/` to it.
                            if let Some(d) = dataset {
                                name.push_str(&dir_safe(d));
                                name.push('-');
                            }
                            name.push_str(strategy);
                            for (k, v) in sp.iter().chain(tp) {
                                name.push_str(&format!("-{}={}", dir_safe(k), dir_safe(v)));
                            }
                            let with = |base: &[String], point: &[(String, String)]| {
                                let mut v = base.to_vec();
                                v.extend(point.iter().map(|(k, val)| format!("{k}={val}")));
                                v
                            };
                            out.push(MatrixUnit {
                                dir: self.out.join(format!("{name}-s{seed}")),
                                dataset: dataset.cloned(),
                                strategy: strategy.clone(),
                                seed: *seed,
                                search_config: fill(&self.search_config, strategy),
                                train_config: self
                                    .train_config
                                    .as_deref()
                                    .map(|c| fill(c, strategy)),
                                search_set: with(&self.search_set, sp),
                                train_set: with(&self.train_set, tp),
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

/// What to do with a run directory: skip it (finished), resume it, or start it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `results.json` exists.
    Skip,
    /// A checkpoint exists.
    Resume,
    /// Nothing (or an unusable leftover): start over.
    Start,
}

/// The action for run directory `dir`.
pub fn action(dir: &Path) -> Action {
    if dir.join("results.json").is_file() {
        Action::Skip
    } else if dir.join("checkpoint/state.json").is_file()
        || dir.join("checkpoint.old/state.json").is_file()
    {
        Action::Resume
    } else {
        Action::Start
    }
}

/// Builds the release `edas` and returns its path. With the cargo `feature`
/// a GPU device needs, into `target/gpu` (the features change every burn
/// crate, so the CPU build in `target/release` is kept apart).
pub fn edas_binary(feature: Option<&str>) -> Result<PathBuf> {
    let mut args = vec!["build", "--release", "--locked", "-p", "edas-cli"];
    if let Some(f) = feature {
        args.extend(["--features", f, "--target-dir", "target/gpu"]);
    }
    cargo(&args)?;
    Ok(edas_binary_path(feature))
}

/// Where [`edas_binary`] puts the binary (for scripts written without
/// building it: `--slurm --dry-run`).
pub fn edas_binary_path(feature: Option<&str>) -> PathBuf {
    project_root().join(match feature {
        Some(_) => "target/gpu/release/edas",
        None => "target/release/edas",
    })
}

pub(crate) fn run_edas(bin: &Path, args: &[String]) -> Result<()> {
    run_edas_threads(bin, args, None)
}

/// [`run_edas`] with the CPU backend's thread count (`RAYON_NUM_THREADS`)
/// set to `threads`, unless the caller's environment already sets it.
fn run_edas_threads(bin: &Path, args: &[String], threads: Option<usize>) -> Result<()> {
    eprintln!("+ edas {}", args.join(" "));
    let mut command = Command::new(bin);
    if let Some(n) = threads
        && std::env::var_os("RAYON_NUM_THREADS").is_none()
    {
        command.env("RAYON_NUM_THREADS", n.to_string());
    }
    let status = command
        .args(args)
        .current_dir(project_root())
        .status()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if status.code() == Some(STOPPED_STATUS) {
        return Err(Stopped {
            command: format!("edas {}", args.join(" ")),
        }
        .into());
    }
    if !status.success() {
        bail!("edas {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// `edas`'s exit status after a signal stopped it at a checkpoint
/// (`edas_run::INTERRUPTED`): the local runner reports a stop, the Slurm
/// scripts requeue.
pub const STOPPED_STATUS: i32 = 75;

/// An `edas` run stopped by a signal after checkpointing: not a failure,
/// the same matrix command resumes it.
#[derive(Debug)]
struct Stopped {
    command: String,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} was stopped by a signal after its checkpoint (exit status {STOPPED_STATUS})",
            self.command
        )
    }
}

impl std::error::Error for Stopped {}

/// `KEY=VALUE` overrides as edas arguments: `--set KEY=VALUE` each.
pub fn set_args(sets: &[String]) -> Vec<String> {
    sets.iter()
        .flat_map(|s| ["--set".to_owned(), s.clone()])
        .collect()
}

/// The arguments that start `edas COMMAND` in run directory `dir` afresh:
/// `start` (the config and overrides) after the seed (none: the config's).
pub fn start_args(command: &str, dir: &Path, seed: Option<u64>, start: Vec<String>) -> Vec<String> {
    let mut a = vec![
        command.to_owned(),
        "--out".into(),
        dir.display().to_string(),
        "--force".into(),
    ];
    // The seed first, so that overrides in `start` may replace it.
    if let Some(seed) = seed {
        a.extend(["--set".into(), format!("seed={seed}")]);
    }
    a.extend(start);
    a
}

/// The arguments that resume `edas COMMAND` in run directory `dir`.
pub fn resume_args(command: &str, dir: &Path) -> Vec<String> {
    vec![
        command.to_owned(),
        "--resume".into(),
        dir.display().to_string(),
    ]
}

/// `edas COMMAND` for run directory `dir` as [`action`] says: skip a
/// finished run, `--resume` an interrupted one, else start it with `start`
/// (the config and overrides) and the seed (none: the config's).
pub fn run_step(
    bin: &Path,
    command: &str,
    dir: &Path,
    seed: Option<u64>,
    start: Vec<String>,
) -> Result<()> {
    run_unit_step(bin, None, dir, &start_args(command, dir, seed, start))
}

/// The pseudo-strategy of a matrix that trains a uniformly sampled cell
/// (`edas genotype random --seed SEED`) without searching.
pub const RANDOM_CELL: &str = "random-cell";

/// Where Debian's `dataset-fashion-mnist` puts its files.
const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// Whether `dir` holds the four Fashion-MNIST IDX files (gzipped or not).
fn has_fashion_mnist(dir: &Path) -> bool {
    [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    .iter()
    .all(|f| dir.join(f).is_file() || dir.join(format!("{f}.gz")).is_file())
}

/// Finds Fashion-MNIST for `cargo xtask fashion`: Debian's package if
/// installed; else installs it with apt-get where there is one; else returns
/// the overrides that make edas download it (checksum-verified) into its
/// cache directory.
fn locate_fashion_mnist() -> Vec<String> {
    let debian = Path::new(DEBIAN_FASHION_MNIST);
    if has_fashion_mnist(debian) {
        eprintln!("Fashion-MNIST: {DEBIAN_FASHION_MNIST} (Debian's dataset-fashion-mnist)");
        return Vec::new();
    }
    if Path::new("/usr/bin/apt-get").is_file() {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        eprintln!(
            "Fashion-MNIST: not in {DEBIAN_FASHION_MNIST}; installing dataset-fashion-mnist with apt-get"
        );
        let ok = cmd
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "dataset-fashion-mnist",
            ])
            .status()
            .is_ok_and(|s| s.success());
        if ok && has_fashion_mnist(debian) {
            return Vec::new();
        }
        eprintln!("Fashion-MNIST: apt-get did not install it");
    }
    eprintln!("Fashion-MNIST: edas will download it (data.download=true, checksums verified)");
    vec!["data.download=true".to_owned()]
}

/// `cargo xtask fashion [--jobs N] [--bin PATH]`: the CPU-sized end-to-end
/// experiment, with the data located (or installed, or downloaded) first.
pub fn fashion(args: &[String]) -> Result<()> {
    let local = LocalOptions::parse(args)?;
    let m = load_matrix("configs/matrix/fashion.toml")?;
    let extra = locate_fashion_mnist();
    run_matrix(m, &extra, &local.binary()?, local.jobs)
}

const MATRIX_USAGE: &str = "usage: cargo xtask matrix configs/matrix/FILE.toml [--jobs N] [--bin PATH] | --status | \
     --slurm [--partition P] [--gpus N] [--time T] [--device D] [--checkpoint-every STEPS] \
     [--signal-secs S] [--dry-run]";

/// `cargo xtask matrix FILE [--jobs N] [--bin PATH] | --status | --slurm OPTIONS...`.
pub fn matrix(args: &[String]) -> Result<()> {
    let file = args.first().context(MATRIX_USAGE)?;
    if matches!(file.as_str(), "-h" | "--help") {
        println!("{MATRIX_USAGE}");
        return Ok(());
    }
    match args.get(1).map(String::as_str) {
        Some("--status") if args.len() == 2 => matrix_status(file),
        Some("--slurm") => {
            let o = crate::slurm::SlurmOptions::parse(&args[2..])?;
            let m = load_matrix(file)?;
            let feature = crate::paper::feature(&o.device)?;
            // A dry run writes the scripts only: no build. It checks the
            // configs with the binary already built, when there is one.
            let bin = if o.dry_run {
                edas_binary_path(feature)
            } else {
                edas_binary(feature)?
            };
            if bin.is_file() {
                check_configs(&bin, &m.units())?;
            } else {
                eprintln!(
                    "note: the units' configs and --set keys are not checked: no edas binary at {} \
                     (the real --slurm builds it and checks them before writing a script)",
                    bin.display()
                );
            }
            crate::slurm::submit(&m, &bin, &o)
        }
        _ => {
            let local = LocalOptions::parse(&args[1..])?;
            // The file is read and checked before the binary is built.
            let m = load_matrix(file)?;
            run_matrix(m, &[], &local.binary()?, local.jobs)
        }
    }
}

/// `cargo xtask matrix FILE [--jobs N] [--bin PATH]`.
#[derive(Debug, PartialEq)]
struct LocalOptions {
    jobs: usize,
    bin: Option<PathBuf>,
}

impl LocalOptions {
    fn parse(args: &[String]) -> Result<LocalOptions> {
        let mut o = LocalOptions { jobs: 1, bin: None };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--jobs" => {
                    o.jobs = parse_jobs(it.next().context("--jobs takes one number: --jobs N")?)?;
                }
                "--bin" => {
                    o.bin = Some(PathBuf::from(
                        it.next()
                            .context("--bin takes the path of an edas binary")?,
                    ));
                }
                other => bail!("unknown argument `{other}` (expected --jobs N or --bin PATH)"),
            }
        }
        Ok(o)
    }

    /// The `--bin` binary, else the release build (built now).
    fn binary(&self) -> Result<PathBuf> {
        match &self.bin {
            Some(b) => pinned_binary(b),
            None => edas_binary(None),
        }
    }
}

/// An `edas` binary given with `--bin`, used as it is (no build): a long
/// matrix keeps one build from its first unit to its last while the code
/// changes. Checked by running `edas --version`.
pub(crate) fn pinned_binary(bin: &Path) -> Result<PathBuf> {
    let bin = if bin.is_absolute() {
        bin.to_path_buf()
    } else {
        std::env::current_dir()
            .context("cannot read the working directory")?
            .join(bin)
    };
    let out = Command::new(&bin)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run --bin {}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let version = stdout.lines().next().unwrap_or("");
    if !out.status.success() || !version.starts_with("edas ") {
        bail!(
            "--bin {} is not an edas binary (`--version` printed {version:?})",
            bin.display()
        );
    }
    eprintln!("using {} ({version})", bin.display());
    Ok(bin)
}

/// The matrix in `file`, its paths made the project root's.
/// The largest matrix file read (ours are a few hundred bytes).
const MATRIX_LIMIT: u64 = 1 << 20;

fn load_matrix(file: &str) -> Result<Matrix> {
    // Relative to the working directory, else to the project root.
    let path = if Path::new(file).exists() {
        PathBuf::from(file)
    } else {
        project_root().join(file)
    };
    let text = edas_fs::read_to_string_bounded(&path, MATRIX_LIMIT, "matrix file")
        .with_context(|| format!("cannot read {file}"))?;
    let mut m = Matrix::parse(&text, file)?;
    // Relative paths are the project root's, where edas runs.
    m.out = project_root().join(&m.out);
    Ok(m)
}

/// How far an interrupted run got: its checkpoint's epochs and step, and
/// the epochs its `config.toml` asks for.
pub struct Progress {
    /// Whole epochs done.
    pub epochs_done: u64,
    /// Steps done within the next epoch, when checkpointed within one.
    pub step: Option<u64>,
    /// The run's epochs, when its config says.
    pub epochs: Option<u64>,
}

/// The progress of run directory `dir` from its newest checkpoint (`None`
/// without a readable one).
pub fn checkpoint_progress(dir: &Path) -> Option<Progress> {
    let state = ["checkpoint", "checkpoint.old"]
        .iter()
        .map(|c| dir.join(c).join("state.json"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())?;
    let epochs = std::fs::read_to_string(dir.join("config.toml"))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("epochs").and_then(toml::Value::as_integer))
        .and_then(|e| u64::try_from(e).ok());
    Some(Progress {
        epochs_done: state["epochs_done"].as_u64().unwrap_or(0),
        step: state["step"].as_u64(),
        epochs,
    })
}

/// One run directory's state, in a few words: `done`, `epoch 3/50`
/// (`epoch 3/50, step 120` in the middle of one), `failed: <last error>`,
/// or `-` (not started).
pub fn run_state(dir: &Path) -> String {
    if dir.join("results.json").is_file() {
        return "done".into();
    }
    let error = std::fs::read_to_string(dir.join("log.txt"))
        .ok()
        .and_then(|log| {
            log.lines()
                .rev()
                .take_while(|l| !l.starts_with("resuming "))
                .find(|l| l.starts_with("error: "))
                .map(str::to_owned)
        });
    let progress = checkpoint_progress(dir).map(|p| {
        let total = p.epochs.map_or_else(|| "?".to_owned(), |e| e.to_string());
        let done = p.epochs_done;
        match p.step {
            Some(step) if step > 0 => format!("epoch {done}/{total}, step {step}"),
            _ => format!("epoch {done}/{total}"),
        }
    });
    match (progress, error) {
        (_, Some(e)) => format!("failed: {}", e.trim_start_matches("error: ")),
        (Some(p), None) => p,
        (None, None) if dir.join("log.txt").is_file() => "started".into(),
        (None, None) => "-".into(),
    }
}

/// `cargo xtask matrix FILE --status`: each unit's search and training
/// state from its run directories.
fn matrix_status(file: &str) -> Result<()> {
    let m = load_matrix(file)?;
    let units = m.units();
    let (mut done, mut total) = (0, 0);
    // Slurm's view where squeue runs (a login node); none elsewhere.
    let queue = crate::slurm::queue(&m);
    let queued = |u: &MatrixUnit, step: &str| -> String {
        queue
            .as_ref()
            .and_then(|q| q.get(&crate::slurm::job_name(&m, u, step)))
            .map_or_else(String::new, |j| format!("; {j}"))
    };
    println!("| unit | search | training |");
    println!("|---|---|---|");
    for u in &units {
        let search = if u.strategy == RANDOM_CELL {
            if u.dir.join("cell/genotype.json").is_file() {
                "done (sampled)".to_owned()
            } else {
                "-".to_owned()
            }
        } else {
            run_state(&u.dir.join("search")) + &queued(u, "search")
        };
        let train = if u.train_config.is_some() {
            run_state(&u.dir.join("train")) + &queued(u, "train")
        } else {
            "(none)".to_owned()
        };
        total += 1;
        done += usize::from(
            train.starts_with("done") || (u.train_config.is_none() && search.starts_with("done")),
        );
        let name = u
            .dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        println!("| {name} | {search} | {train} |");
    }
    println!("\n{done} of {total} units finished ({})", m.out.display());
    if done < total {
        println!(
            "{}",
            crate::remaining::describe(&crate::remaining::remaining(&units))
        );
    }
    Ok(())
}

/// What one unit of a matrix runs: a search (or a sampled cell), then
/// optionally the training of what it found.
pub struct UnitSteps {
    /// The search's run directory and the arguments that start it (none
    /// for `random-cell`).
    pub search: Option<(PathBuf, Vec<String>)>,
    /// `random-cell`: the genotype file to sample with the unit's seed.
    pub sampled_cell: Option<PathBuf>,
    /// The training's run directory and the arguments that start it.
    pub train: Option<(PathBuf, Vec<String>)>,
}

impl MatrixUnit {
    /// The unit's steps, with the arguments that start each (the local
    /// runner and the Slurm scripts use the same ones).
    pub fn steps(&self) -> UnitSteps {
        let (search, genotype, sampled_cell) = if self.strategy == RANDOM_CELL {
            // No search: a uniformly sampled cell, the seed's.
            let file = self.dir.join("cell/genotype.json");
            (None, file.clone(), Some(file))
        } else {
            let dir = self.dir.join("search");
            let mut start = vec!["--config".to_owned(), self.search_config.clone()];
            start.extend(set_args(&self.search_set));
            let args = start_args("search", &dir, Some(self.seed), start);
            (Some((dir.clone(), args)), dir, None)
        };
        let train = self.train_config.as_ref().map(|config| {
            let dir = self.dir.join("train");
            let mut start = vec![
                "--genotype".to_owned(),
                genotype.display().to_string(),
                "--config".to_owned(),
                config.clone(),
            ];
            start.extend(set_args(&self.train_set));
            let args = start_args("train", &dir, Some(self.seed), start);
            (dir, args)
        });
        UnitSteps {
            search,
            sampled_cell,
            train,
        }
    }

    /// The arguments of `edas genotype random` for a `random-cell` unit.
    pub fn sample_args(&self, file: &Path) -> Vec<String> {
        vec![
            "genotype".into(),
            "random".into(),
            "--seed".into(),
            self.seed.to_string(),
            "-o".into(),
            file.display().to_string(),
        ]
    }
}

/// `edas` with `start` (from [`MatrixUnit::steps`]) for run directory
/// `dir`, as [`action`] says: skipped when finished, resumed when
/// interrupted, started otherwise.
fn run_unit_step(bin: &Path, threads: Option<usize>, dir: &Path, start: &[String]) -> Result<()> {
    let command = start.first().map_or("edas", String::as_str);
    let mut a = match action(dir) {
        Action::Skip => {
            eprintln!("{command} finished; skipped ({})", dir.display());
            return Ok(());
        }
        Action::Resume => resume_args(command, dir),
        Action::Start => start.to_vec(),
    };
    a.push("--quiet".into());
    run_edas_threads(bin, &a, threads)
}

/// The `--jobs` value: a whole number of at least 1.
fn parse_jobs(text: &str) -> Result<usize> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => bail!("--jobs must be a whole number of at least 1, not `{text}`"),
    }
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

/// Checks every unit's search and training config with its overrides
/// (`edas search|train --check`, the binary's own schema and ranges) before
/// any unit runs or any script is written, so that an unknown key in the
/// matrix's `[search_set]` or `[grid]` is named at once rather than by the
/// first run that reaches it. Each distinct config and override list is
/// checked once (seeds and directories do not enter).
pub fn check_configs(bin: &Path, units: &[MatrixUnit]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for u in units {
        let mut checks = Vec::new();
        if u.strategy != RANDOM_CELL {
            checks.push(("search", None, &u.search_config, &u.search_set));
        }
        if let Some(config) = &u.train_config {
            // Not read by --check: the search has not written it yet.
            let genotype = u
                .steps()
                .sampled_cell
                .unwrap_or_else(|| u.dir.join("search"));
            checks.push(("train", Some(genotype), config, &u.train_set));
        }
        for (command, genotype, config, sets) in checks {
            if !seen.insert((command, config.clone(), sets.clone())) {
                continue;
            }
            let mut args = vec![command.to_owned(), "--check".into()];
            if let Some(g) = genotype {
                args.extend(["--genotype".into(), g.display().to_string()]);
            }
            args.extend(["--config".into(), config.clone()]);
            args.extend(set_args(sets));
            let out = Command::new(bin)
                .args(&args)
                .current_dir(project_root())
                .output()
                .with_context(|| format!("cannot run {}", bin.display()))?;
            if !out.status.success() {
                let unit = u
                    .dir
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                let err = String::from_utf8_lossy(&out.stderr);
                bail!(
                    "unit {unit}: its {command} config is refused ({}), before anything ran:\n{}",
                    out.status,
                    err.trim_end()
                );
            }
        }
    }
    eprintln!("configs checked: {} distinct", seen.len());
    Ok(())
}

/// Runs matrix `m` on `jobs` workers, with `extra` overrides for every
/// search and training.
fn run_matrix(mut m: Matrix, extra: &[String], bin: &Path, jobs: usize) -> Result<()> {
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
    crate::report::report(&[m.out.display().to_string()])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn datasets_and_grids_expand_into_named_units() {
        let m = Matrix::parse(
            r#"
out = "runs/g"
search_config = "configs/search/{dataset}-{strategy}.toml"
train_config = "configs/train/{dataset}.toml"
datasets = ["cifar10", "cifar100"]
strategies = ["edas"]
seeds = [1, 2]
[search_set]
epochs = 5
[grid]
"edas.relaxed_edges" = [1, 2, 3]
"edas.edge_distribution" = ["uniform"]
[train_grid]
"optim.lr" = [0.025, 0.05]
"#,
            "g.toml",
        )
        .unwrap();
        let units = m.units();
        // Grid keys in sorted order. 2 seeds x 2 datasets x 1 strategy x 3 x 1 search points x 2 training points.
        assert_eq!(units.len(), 24);
        let u = &units[0];
        assert_eq!(
            u.dir,
            PathBuf::from(
                "runs/g/cifar10-edas-edas.edge_distribution=uniform-edas.relaxed_edges=1-optim.lr=0.025-s1"
            )
        );
        assert_eq!(u.search_config, "configs/search/cifar10-edas.toml");
        assert_eq!(
            u.train_config.as_deref(),
            Some("configs/train/cifar10.toml")
        );
        assert_eq!(
            u.search_set,
            vec![
                "epochs=5".to_owned(),
                "edas.edge_distribution=uniform".to_owned(),
                "edas.relaxed_edges=1".to_owned()
            ]
        );
        assert_eq!(u.train_set, vec!["optim.lr=0.025".to_owned()]);
        assert_eq!(units[1].train_set, vec!["optim.lr=0.05".to_owned()]);
        assert_eq!(units[6].dataset.as_deref(), Some("cifar100"));
        assert_eq!(units[12].seed, 2);
        // Directory names are unique, and the seed is the only difference
        // within a report group.
        let dirs: std::collections::BTreeSet<&PathBuf> = units.iter().map(|u| &u.dir).collect();
        assert_eq!(dirs.len(), 24);
        let labels: std::collections::BTreeSet<String> = units
            .iter()
            .map(|u| crate::report::label_of(&u.dir))
            .collect();
        assert_eq!(labels.len(), 12);
        let e = Matrix::parse(
            "out='x'\nsearch_config='{strategy}'\ndatasets=['a','b']\nstrategies=['edas']\nseeds=[1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("{dataset}"), "{e}");
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[1]\n[grid]\nepochs=[]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("grid.epochs"), "{e}");
        // Points go together and cross the grid.
        let m = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[1]\n[grid]\n\"regularizers.epsilon\"=[0, 0.2]\n\
             [[points]]\n\"edas.relaxed_edges\"=1\n\"arch.lr\"=4.2e-3\n\
             [[points]]\n\"edas.relaxed_edges\"=2\n\"arch.lr\"=2.1e-3\n",
            "m.toml",
        )
        .unwrap();
        let units = m.units();
        assert_eq!(units.len(), 4);
        assert_eq!(
            units[1].search_set,
            [
                "regularizers.epsilon=0",
                "arch.lr=0.0021",
                "edas.relaxed_edges=2"
            ]
        );
        assert!(
            units[3]
                .dir
                .ends_with("edas-regularizers.epsilon=0.2-arch.lr=0.0021-edas.relaxed_edges=2-s1"),
            "{:?}",
            units[3].dir
        );
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[1]\n[[points]]\n",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`points` entry 1 is empty"), "{e}");
        assert_eq!(dir_safe("a/b c"), "a_b_c");
    }

    #[test]
    fn fashion_mnist_files_are_recognised() {
        let tmp = std::env::temp_dir().join(format!("edas-xtask-fm-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        assert!(!has_fashion_mnist(&tmp));
        for f in [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte",
        ] {
            std::fs::write(tmp.join(f), b"x").unwrap();
        }
        assert!(!has_fashion_mnist(&tmp));
        std::fs::write(tmp.join("t10k-labels-idx1-ubyte.gz"), b"x").unwrap();
        assert!(has_fashion_mnist(&tmp));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

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
    fn matrix_expands_and_rejects_mistakes() {
        let m = Matrix::parse(
            r#"
out = "runs/m"
search_config = "configs/search/fashion-mnist-{strategy}.toml"
train_config = "configs/train/fashion-mnist-cpu.toml"
strategies = ["edas", "darts", "random-cell"]
seeds = [1, 2, 3]
[search_set]
"loader.train_examples" = 1000
"#,
            "m.toml",
        )
        .unwrap();
        let units = m.units();
        assert_eq!(units.len(), 9);
        assert_eq!(units[0].dir, PathBuf::from("runs/m/edas-s1"));
        assert_eq!(units[7].dir, PathBuf::from("runs/m/darts-s3"));
        assert_eq!((units[7].strategy.as_str(), units[7].seed), ("darts", 3));
        assert_eq!(
            units[7].search_config,
            "configs/search/fashion-mnist-darts.toml"
        );
        assert_eq!(units[8].strategy, RANDOM_CELL);
        assert_eq!(m.search_set, vec!["loader.train_examples=1000".to_owned()]);
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[1]\nsede=2",
            "m.toml",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("unknown field `sede`"), "{e:#}");
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas','darts']\nseeds=[1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("{strategy}"));
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[-1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("seeds"), "{e:#}");
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['pcdarts']\nseeds=[1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown strategy `pcdarts`"));
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['random-cell']\nseeds=[1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs a `train_config`"));
    }

    #[test]
    fn shipped_matrices_parse() {
        let dir = crate::project_root().join("configs/matrix");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            let m = Matrix::parse(&text, &p.display().to_string()).unwrap();
            assert!(!m.units().is_empty(), "{}", p.display());
            n += 1;
        }
        assert!(n >= 3);
    }

    /// A stand-in `edas` that logs each call's arguments to `calls` and
    /// refuses any containing `bogus` as edas would.
    fn fake_edas(dir: &Path) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let bin = dir.join("edas");
        let calls = dir.join("calls");
        std::fs::write(
            &bin,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$*\" in *bogus*) echo \"error: key \\`edas.bogus\\`: unknown field\" >&2; exit 1;; esac\necho 'config ok'\n",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        (bin, calls)
    }

    #[test]
    fn configs_are_checked_once_each_before_anything_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let (bin, calls) = fake_edas(tmp.path());
        let m = Matrix::parse(
            "out='x'\nsearch_config='s-{strategy}.toml'\ntrain_config='t.toml'\nstrategies=['edas', 'random-cell']\n\
             seeds=[1, 2]\n[grid]\nepochs=[1, 2]\n[train_set]\nepochs=1\n",
            "m.toml",
        )
        .unwrap();
        check_configs(&bin, &m.units()).unwrap();
        let calls = std::fs::read_to_string(&calls).unwrap();
        let calls: Vec<&str> = calls.lines().collect();
        // Two search grid points (seeds do not count; random-cell has no
        // search), one training.
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert_eq!(
            calls[0],
            "search --check --config s-edas.toml --set epochs=1"
        );
        assert_eq!(
            calls[1],
            "train --check --genotype x/edas-epochs=1-s1/search --config t.toml --set epochs=1"
        );
        assert_eq!(
            calls[2],
            "search --check --config s-edas.toml --set epochs=2"
        );
        // An unknown key is refused naming the unit and edas' message.
        let m = Matrix::parse(
            "out='x'\nsearch_config='s.toml'\nstrategies=['edas']\nseeds=[1]\n[search_set]\n\"edas.bogus\"=1\n",
            "m.toml",
        )
        .unwrap();
        let e = format!("{:#}", check_configs(&bin, &m.units()).unwrap_err());
        assert!(
            e.contains("unit edas-s1: its search config is refused"),
            "{e}"
        );
        assert!(e.contains("key `edas.bogus`: unknown field"), "{e}");
    }

    #[test]
    fn local_options_take_jobs_and_a_pinned_binary() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            LocalOptions::parse(&[]).unwrap(),
            LocalOptions { jobs: 1, bin: None }
        );
        assert_eq!(
            LocalOptions::parse(&args(&["--bin", "b/edas", "--jobs", "2"])).unwrap(),
            LocalOptions {
                jobs: 2,
                bin: Some(PathBuf::from("b/edas"))
            }
        );
        for (bad, says) in [
            (&["--jobs"][..], "--jobs takes one number"),
            (&["--bin"][..], "--bin takes the path"),
            (&["--jobs", "0"][..], "at least 1"),
            (
                &["--fast"][..],
                "unknown argument `--fast` (expected --jobs N or --bin PATH)",
            ),
        ] {
            let e = format!("{:#}", LocalOptions::parse(&args(bad)).unwrap_err());
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

    #[test]
    fn run_states_read_the_run_directory() {
        let tmp = std::env::temp_dir().join(format!("xtask-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("checkpoint")).unwrap();
        assert_eq!(run_state(&tmp.join("nothing")), "-");
        std::fs::write(tmp.join("config.toml"), "epochs = 50\n").unwrap();
        std::fs::write(tmp.join("log.txt"), "search ...\n").unwrap();
        assert_eq!(run_state(&tmp), "started");
        std::fs::write(
            tmp.join("checkpoint/state.json"),
            r#"{"epochs_done": 3, "step": 120}"#,
        )
        .unwrap();
        assert_eq!(run_state(&tmp), "epoch 3/50, step 120");
        std::fs::write(
            tmp.join("log.txt"),
            "search ...\nerror: the training loss became NaN at epoch 4, step 2\n",
        )
        .unwrap();
        assert_eq!(
            run_state(&tmp),
            "failed: the training loss became NaN at epoch 4, step 2"
        );
        // A later resume hides the old error.
        std::fs::write(
            tmp.join("log.txt"),
            "error: old\nresuming x after epoch 3/50\n",
        )
        .unwrap();
        assert_eq!(run_state(&tmp), "epoch 3/50, step 120");
        std::fs::write(tmp.join("results.json"), "{}").unwrap();
        assert_eq!(run_state(&tmp), "done");
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn actions_follow_the_run_directory() {
        let tmp = std::env::temp_dir().join(format!("xtask-action-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        assert_eq!(action(&tmp), Action::Start);
        std::fs::create_dir_all(tmp.join("checkpoint")).unwrap();
        std::fs::write(tmp.join("checkpoint/state.json"), "{}").unwrap();
        assert_eq!(action(&tmp), Action::Resume);
        std::fs::write(tmp.join("results.json"), "{}").unwrap();
        assert_eq!(action(&tmp), Action::Skip);
        let _ = std::fs::remove_dir_all(&tmp);
    }

    /// `matrix /dev/zero` is refused at once (not read for ever), a long
    /// file is refused by size, and a parse error names the line without
    /// echoing it.
    #[test]
    fn matrix_files_are_read_with_bounds() {
        let e = format!("{:#}", load_matrix("/dev/zero").unwrap_err());
        assert!(
            e.contains("is a character device, not a regular file"),
            "{e}"
        );
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("big.toml");
        std::fs::write(&big, vec![0u8; (MATRIX_LIMIT + 1) as usize]).unwrap();
        let e = format!("{:#}", load_matrix(big.to_str().unwrap()).unwrap_err());
        assert!(e.contains("more than a matrix file can be"), "{e}");
        let nul = format!("out = \"x\"\n{}", "\0".repeat(10_000));
        let e = format!("{:#}", Matrix::parse(&nul, "m.toml").unwrap_err());
        assert!(
            e.starts_with("m.toml: not a matrix file (line 2: \"\\0\\0"),
            "{e}"
        );
        assert!(e.len() < 400, "{} bytes: {e}", e.len());
        // A grid key or data set name with `/` stays inside one unit folder.
        let m = Matrix::parse(
            "out = 'runs/m'\nsearch_config = 'c/{dataset}-{strategy}.toml'\nstrategies = ['edas']\n\
             seeds = [1]\ndatasets = ['../../etc', 'x']\n[grid]\n\"a/../../b\" = [1]\n",
            "m.toml",
        )
        .unwrap();
        for u in m.units() {
            assert_eq!(u.dir.parent(), Some(Path::new("runs/m")), "{:?}", u.dir);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Mutated shipped matrix files: `Matrix::parse` and the expansion
        /// of whatever parses never panic, and every unit has a directory
        /// under the matrix's out.
        #[test]
        fn mutated_matrix_files_never_panic(
            file in 0usize..16,
            ops in proptest::collection::vec((0u8..3, proptest::prelude::any::<usize>(), 0usize..ALPHABET.len()), 1..6),
        ) {
            let dir = crate::project_root().join("configs/matrix");
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            let text = std::fs::read_to_string(&files[file % files.len()]).unwrap();
            let mut chars: Vec<char> = text.chars().collect();
            for (kind, at, c) in ops {
                let i = at % (chars.len() + 1);
                let c = ALPHABET[c];
                match kind {
                    0 if i < chars.len() => chars[i] = c,
                    1 if i < chars.len() => {
                        chars.remove(i);
                    }
                    _ => chars.insert(i, c),
                }
            }
            let text: String = chars.into_iter().collect();
            if let Ok(m) = Matrix::parse(&text, "m.toml") {
                for u in m.units() {
                    let rel = u.dir.strip_prefix(&m.out).unwrap();
                    let parts: Vec<_> = rel.components().collect();
                    proptest::prop_assert!(
                        matches!(parts[..], [std::path::Component::Normal(_)]),
                        "{:?} is not one folder under {:?}", u.dir, m.out
                    );
                }
            }
        }
    }

    /// What the matrix mutations insert: TOML's punctuation, quotes, digits,
    /// a newline and a NUL.
    const ALPHABET: [char; 16] = [
        '[', ']', '=', '"', '\'', ',', '{', '}', '.', '\n', '0', '9', '-', '/', '\0', 'x',
    ];
}
