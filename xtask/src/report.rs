//! `cargo xtask report RUNS... [--csv FILE] [--cells DIR] [--baseline
//! GROUP] [--by KEY]... [--ops] [--ranks] [--plot FILE.svg]`: finished runs grouped by label (the seed is the
//! only difference within a group; with `--by`, by the values of config
//! keys, pooling the rest), mean +/- sample std per column, as a Markdown
//! table; with `--csv`, also as a CSV file; with `--cells`, each group's
//! best cell (lowest test error) drawn; with `--ops`, a second table of
//! the operations the found cells use (`report_ops`); with `--ranks`, the
//! rank correlations of the final accuracy with the search's own and with
//! the parameter count (`report_ranks`); with `--plot`, the
//! test errors as a strip chart (`report_plot`). Nothing is written unless asked
//! for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::experiments::RANDOM_CELL;

/// One run (a search, a training, or both) for the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unit {
    /// Group label: the directory name without its `-s<seed>` suffix.
    pub label: String,
    /// The search's `results.json`.
    pub search: Option<Value>,
    /// The training's `results.json`.
    pub train: Option<Value>,
    /// The `--device` the run was started with (its `command.txt`).
    pub device: String,
    /// The run's resolved `config.toml`s: the search's, then the
    /// training's (for `--by`).
    pub configs: Vec<toml::Table>,
}

/// A unit's runs grouped by label, in label order.
pub fn by_group(units: &[Unit]) -> BTreeMap<&str, Vec<&Unit>> {
    let mut groups: BTreeMap<&str, Vec<&Unit>> = BTreeMap::new();
    for u in units {
        groups.entry(&u.label).or_default().push(u);
    }
    groups
}

/// The number under `key` in a `results.json`, if there is one.
pub fn field(results: Option<&Value>, key: &str) -> Option<f64> {
    results?.get(key)?.as_f64()
}

/// The trained network's top-1 test accuracy (a fraction), if trained.
pub fn test_top1(u: &Unit) -> Option<f64> {
    u.train.as_ref()?.get("test")?.get("top1")?.as_f64()
}

/// The trained network's top-1 test error in percent, if trained.
pub fn test_error(u: &Unit) -> Option<f64> {
    test_top1(u).map(|a| 100.0 * (1.0 - a))
}

/// A unit's genotype as DARTS text: the search's, else the training's.
pub fn genotype_text(u: &Unit) -> Option<&str> {
    u.search
        .as_ref()
        .or(u.train.as_ref())
        .and_then(|v| v.get("genotype"))
        .and_then(Value::as_str)
}

/// A file's text; `None` when it does not exist, an error when it exists
/// but cannot be read (a report must not drop a run silently).
///
/// Only a regular file of at most [`RUN_FILE_LIMIT`] bytes is read: a FIFO
/// (which would block for ever), a device or a directory is an error.
fn read_optional(path: &Path) -> Result<Option<String>> {
    if edas_fs::kind_of(path, true)? == edas_fs::FileKind::Missing {
        return Ok(None);
    }
    Ok(Some(edas_fs::read_to_string_bounded(
        path,
        RUN_FILE_LIMIT,
        "run's results or config",
    )?))
}

/// The largest `results.json`, `config.toml` or `command.txt` a report
/// reads (edas writes a few kilobytes).
const RUN_FILE_LIMIT: u64 = 16 << 20;

/// The `--device` in a run directory's `command.txt` (`cpu` when absent).
fn device_of(dir: &Path) -> Result<String> {
    let text = read_optional(&dir.join("command.txt"))?.unwrap_or_default();
    let words: Vec<&str> = text.split_whitespace().collect();
    Ok(words
        .iter()
        .position(|w| *w == "--device")
        .and_then(|i| words.get(i + 1))
        .map_or_else(|| "cpu".to_owned(), |d| (*d).to_owned()))
}

/// A `results.json`: `None` when absent (the run has not finished), an
/// error when it is not JSON.
fn read_json(path: &Path) -> Result<Option<Value>> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    check_results(&v).with_context(|| format!("{} is not a run's results", path.display()))?;
    Ok(Some(v))
}

/// A `results.json` is a search's (a `strategy`, non-negative finite
/// times and memory) or a training's (a `test.top1` in [0, 1]); anything
/// else (`{}`, a negative search time) would be counted as a run or
/// averaged in.
fn check_results(v: &Value) -> Result<()> {
    let Some(map) = v.as_object() else {
        bail!("expected a JSON object");
    };
    for key in [
        "search_time_s",
        "peak_memory_mib",
        "train_time_s",
        "epoch_time_s",
    ] {
        if let Some(x) = map.get(key).filter(|x| !x.is_null()) {
            match x.as_f64() {
                Some(t) if t.is_finite() && t >= 0.0 => {}
                _ => bail!("{key} is {x}; expected a non-negative number"),
            }
        }
    }
    if map.get("strategy").is_some() {
        if !map["strategy"].is_string() {
            bail!("strategy is {}; expected a name", map["strategy"]);
        }
        return Ok(());
    }
    match v.get("test").and_then(|t| t.get("top1")) {
        Some(t) => match t.as_f64() {
            Some(a) if (0.0..=1.0).contains(&a) => Ok(()),
            _ => bail!("test.top1 is {t}; expected an accuracy in [0, 1]"),
        },
        None => bail!("neither a search's (no strategy) nor a training's (no test.top1)"),
    }
}

pub fn label_of(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    match name.rsplit_once("-s") {
        Some((head, seed)) if !seed.is_empty() && seed.chars().all(|c| c.is_ascii_digit()) => {
            head.to_owned()
        }
        _ => name,
    }
}

/// A run directory's `config.toml`, parsed; `None` when absent, an error
/// when it is not TOML.
fn read_config(dir: &Path) -> Result<Option<toml::Table>> {
    let path = dir.join("config.toml");
    read_optional(&path)?
        .map(|t| {
            t.parse()
                .with_context(|| format!("{} is not valid TOML", path.display()))
        })
        .transpose()
}

/// The finished runs under `path`: a run directory, a matrix unit
/// (`search/` + `train/`), or a directory of either. A `results.json` or
/// `config.toml` that cannot be read or parsed is an error, not a run
/// left out.
///
/// Symlinked directories are followed once: a directory reached again (a
/// symlink loop, or two links to one run) is not counted again. A run
/// directory without `results.json` (unfinished) is left out with a note
/// on standard error.
pub fn collect(path: &Path) -> Result<Vec<Unit>> {
    collect_from(path, &mut std::collections::BTreeSet::new())
}

fn collect_from(
    path: &Path,
    visited: &mut std::collections::BTreeSet<PathBuf>,
) -> Result<Vec<Unit>> {
    let canonical =
        std::fs::canonicalize(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !visited.insert(canonical) {
        return Ok(Vec::new());
    }
    if let Some(r) = read_json(&path.join("results.json"))? {
        let is_search = r.get("strategy").is_some();
        return Ok(vec![Unit {
            label: label_of(path),
            search: is_search.then(|| r.clone()),
            train: (!is_search).then_some(r),
            device: device_of(path)?,
            configs: read_config(path)?.into_iter().collect(),
        }]);
    }
    let (s, t) = (
        read_json(&path.join("search/results.json"))?,
        read_json(&path.join("train/results.json"))?,
    );
    if s.is_some() || t.is_some() {
        let device = device_of(&path.join(if s.is_some() { "search" } else { "train" }))?;
        let mut configs = Vec::new();
        for dir in [path.join("search"), path.join("train")] {
            configs.extend(read_config(&dir)?);
        }
        return Ok(vec![Unit {
            label: label_of(path),
            search: s,
            train: t,
            device,
            configs,
        }]);
    }
    if path.join("config.toml").is_file() {
        eprintln!(
            "note: {} has no results.json (the run has not finished); left out",
            path.display()
        );
        return Ok(Vec::new());
    }
    let mut dirs = Vec::new();
    let entries =
        std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?;
    for entry in entries {
        let p = entry
            .with_context(|| format!("cannot read {}", path.display()))?
            .path();
        if p.is_dir() {
            dirs.push(p);
        }
    }
    dirs.sort();
    let mut units = Vec::new();
    for d in &dirs {
        units.extend(collect_from(d, visited)?);
    }
    Ok(units)
}

/// The value of the dotted config key `key` (`edas.relaxed_edges`) in
/// the first of `configs` that has it, as TOML writes it (strings
/// unquoted).
fn config_value(configs: &[toml::Table], key: &str) -> Option<String> {
    configs.iter().find_map(|table| {
        let mut parts = key.split('.');
        let mut value = table.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        Some(match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    })
}

/// `--by KEY...`: regroups searched runs by the values of config keys,
/// pooling whatever else differs (the other axes of a grid):
/// `edas[edas.relaxed_edges=2]`, the strategy then each key's value. Runs
/// with none of the keys, and runs with no search (`random-cell`), keep
/// their label. A key no run's config has is an error (a misspelt key
/// would otherwise leave every label as it was).
pub fn regroup(units: &mut [Unit], keys: &[String]) -> Result<()> {
    for key in keys {
        if !units
            .iter()
            .any(|u| config_value(&u.configs, key).is_some())
        {
            bail!("--by {key}: no run's config.toml has this key");
        }
    }
    for u in units.iter_mut() {
        let Some(strategy) = u
            .search
            .as_ref()
            .and_then(|s| s.get("strategy"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let values: Vec<Option<String>> =
            keys.iter().map(|k| config_value(&u.configs, k)).collect();
        if values.iter().all(Option::is_none) {
            continue;
        }
        let pairs: Vec<String> = keys
            .iter()
            .zip(values)
            .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("-")))
            .collect();
        u.label = format!("{strategy}[{}]", pairs.join(","));
    }
    Ok(())
}

/// `(mean, sample std)`; std is `None` for one value.
pub fn mean_std(values: &[f64]) -> Option<(f64, Option<f64>)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.len() > 1)
        .then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    Some((mean, std))
}

fn fmt_ms(v: Option<(f64, Option<f64>)>, digits: usize) -> String {
    match v {
        None => "-".into(),
        Some((m, None)) => format!("{m:.digits$}"),
        Some((m, Some(s))) => format!("{m:.digits$} ± {s:.digits$}"),
    }
}

/// Welch's comparison of two groups' means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// `mean(a) - mean(b)`.
    pub difference: f64,
    /// The 95% confidence interval's ends.
    pub low: f64,
    pub high: f64,
    /// The two-sided p-value of "the means are equal".
    pub p: f64,
    /// The smallest true difference this comparison detects with power
    /// 0.8 in a two-sided test at level 0.05, given the two groups' sizes
    /// and spreads: `(t_0.975 + t_0.8) se` on Welch's degrees of freedom.
    pub detectable: f64,
}

/// Welch's t-test of `mean(a) - mean(b)`, with its 95% confidence
/// interval and the difference it can detect; `None` with fewer than two values on either side or no
/// spread at all.
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    let (Some((ma, Some(sa))), Some((mb, Some(sb)))) = (mean_std(a), mean_std(b)) else {
        return None;
    };
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (sa * sa / na, sb * sb / nb);
    let se = (va + vb).sqrt();
    if se == 0.0 {
        return None;
    }
    // Welch-Satterthwaite degrees of freedom.
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let t = dist.inverse_cdf(0.975);
    let d = ma - mb;
    Some(Welch {
        difference: d,
        low: d - t * se,
        high: d + t * se,
        p: 2.0 * dist.cdf(-(d / se).abs()),
        detectable: (t + dist.inverse_cdf(0.8)) * se,
    })
}

/// Holm's step-down adjustment of the p-values of `m` comparisons made
/// together: the i-th smallest becomes `max over j <= i of (m - j + 1)
/// p_(j)`, at most 1. Rejecting where the adjusted value is below 0.05
/// keeps the chance of any false "different" at 5% for the whole table.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)] // a handful of comparisons
        let factor = (m - rank) as f64;
        running = running.max((factor * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// The test errors (%) of the trained runs among `us`.
pub fn test_errors(us: &[&Unit]) -> Vec<f64> {
    us.iter().filter_map(|u| test_error(u)).collect()
}

/// The group a group's test errors are compared with: the `random-cell`
/// group with the longest common prefix (one per data set in a matrix over
/// data sets).
fn baseline_of<'a>(label: &str, labels: &[&'a str]) -> Option<&'a str> {
    let common = |b: &str| {
        label
            .chars()
            .zip(b.chars())
            .take_while(|(x, y)| x == y)
            .count()
    };
    labels
        .iter()
        .copied()
        .filter(|b| b.ends_with(RANDOM_CELL) && *b != label)
        .max_by_key(|b| common(b))
}

/// The report's header and rows, Markdown and CSV. Each group's test
/// errors are compared with `baseline`'s where given (a group's label),
/// else with the matching `random-cell` group (`baseline_of`).
pub fn table(units: &[Unit], baseline: Option<&str>) -> Result<Table> {
    let groups = by_group(units);
    if let Some(b) = baseline
        && !groups.contains_key(b)
    {
        bail!(
            "--baseline {b}: no such group; the groups are: {}",
            groups.keys().copied().collect::<Vec<_>>().join(", ")
        );
    }
    let header = vec![
        "group".to_owned(),
        "runs".into(),
        "device".into(),
        "search time (min)".into(),
        "peak memory (MiB)".into(),
        "pruning gap (points)".into(),
        "params".into(),
        "test error (%)".into(),
        format!("vs {} (points, 95% CI)", baseline.unwrap_or(RANDOM_CELL)),
        "p (Holm)".into(),
        "detects (points)".into(),
        "genotypes".into(),
    ];
    let labels: Vec<&str> = groups.keys().copied().collect();
    let compared_with = |label: &str| -> Option<String> {
        match baseline {
            Some(b) => (b != label).then(|| b.to_owned()),
            None => baseline_of(label, &labels).map(str::to_owned),
        }
    };
    let group_errors: BTreeMap<&str, Vec<f64>> = groups
        .iter()
        .map(|(&label, us)| (label, test_errors(us)))
        .collect();
    // Every comparison first, so that Holm's adjustment sees them all.
    let comparisons: BTreeMap<&str, (String, Welch)> = group_errors
        .iter()
        .filter_map(|(&label, err)| {
            let against = compared_with(label)?;
            let w = welch(err, group_errors.get(against.as_str())?)?;
            Some((label, (against, w)))
        })
        .collect();
    let adjusted: BTreeMap<&str, f64> = {
        let p: Vec<f64> = comparisons.values().map(|(_, w)| w.p).collect();
        comparisons.keys().copied().zip(holm(&p)).collect()
    };
    let (mut md, mut csv) = (Vec::new(), Vec::new());
    for (label, us) in &groups {
        let (label, us) = ((*label).to_owned(), us.clone());
        let f = |sel: &dyn Fn(&Unit) -> Option<f64>| -> Vec<f64> {
            us.iter().filter_map(|u| sel(u)).collect()
        };
        let time = f(&|u| field(u.search.as_ref(), "search_time_s").map(|s| s / 60.0));
        let mem = f(&|u| field(u.search.as_ref(), "peak_memory_mib"));
        let gap = f(&|u| field(u.search.as_ref(), "pruning_gap").map(|g| 100.0 * g));
        let params = f(&|u| field(u.train.as_ref(), "params"));
        let err = &group_errors[label.as_str()];
        let vs = comparisons.get(label.as_str());
        let holm_p = adjusted.get(label.as_str()).copied();
        let genotypes: Vec<String> = us
            .iter()
            .filter_map(|u| genotype_text(u).map(str::to_owned))
            .collect();
        let distinct: std::collections::BTreeSet<&String> = genotypes.iter().collect();
        let devices: std::collections::BTreeSet<&str> =
            us.iter().map(|u| u.device.as_str()).collect();
        let device = devices.into_iter().collect::<Vec<_>>().join("+");
        // A matrix under way: some units searched but not yet trained.
        let runs = if !err.is_empty() && err.len() < us.len() {
            format!("{} ({} trained)", us.len(), err.len())
        } else {
            us.len().to_string()
        };
        let cells = vec![
            label.clone(),
            runs,
            device.clone(),
            fmt_ms(mean_std(&time), 1),
            fmt_ms(mean_std(&mem), 0),
            fmt_ms(mean_std(&gap), 1),
            fmt_ms(mean_std(&params), 0),
            fmt_ms(mean_std(err), 2),
            vs.map_or_else(
                || "-".into(),
                |(_, w)| format!("{:+.2} [{:+.2}, {:+.2}]", w.difference, w.low, w.high),
            ),
            holm_p.map_or_else(|| "-".into(), |p| format!("{p:.3}")),
            vs.map_or_else(|| "-".into(), |(_, w)| format!("{:.2}", w.detectable)),
            format!("{} distinct of {}", distinct.len(), genotypes.len()),
        ];
        md.push(cells.clone());
        let raw = |v: &[f64]| {
            mean_std(v).map_or((String::new(), String::new()), |(m, s)| {
                (m.to_string(), s.map_or(String::new(), |s| s.to_string()))
            })
        };
        let mut row = vec![label, us.len().to_string(), device];
        for v in [&time, &mem, &gap, &params, err] {
            let (m, s) = raw(v);
            row.push(m);
            row.push(s);
        }
        row.push(vs.map_or_else(String::new, |(against, _)| against.clone()));
        let w = vs.map(|(_, w)| w);
        for x in [
            w.map(|w| w.difference),
            w.map(|w| w.low),
            w.map(|w| w.high),
            w.map(|w| w.p),
            holm_p,
            w.map(|w| w.detectable),
        ] {
            row.push(x.map_or(String::new(), |x| x.to_string()));
        }
        row.push(genotypes.join(" | "));
        csv.push(row);
    }
    Ok(Table { header, md, csv })
}

/// `cargo xtask report`'s table: the Markdown header and rows, and the
/// CSV rows (raw numbers).
pub struct Table {
    pub header: Vec<String>,
    pub md: Vec<Vec<String>>,
    pub csv: Vec<Vec<String>>,
}

/// Each group's trained cell with the lowest test error: `(group, test
/// error in %, genotype as DARTS text)`, in group order.
pub fn best_cells(units: &[Unit]) -> Vec<(String, f64, String)> {
    let mut best: BTreeMap<&str, (f64, String)> = BTreeMap::new();
    for u in units {
        let Some(t) = &u.train else { continue };
        let error = test_error(u);
        let genotype = t.get("genotype").and_then(Value::as_str);
        if let (Some(e), Some(g)) = (error, genotype) {
            let entry = best
                .entry(&u.label)
                .or_insert((f64::INFINITY, String::new()));
            if e < entry.0 {
                *entry = (e, g.to_owned());
            }
        }
    }
    best.into_iter()
        .map(|(label, (e, g))| (label.to_owned(), e, g))
        .collect()
}

/// Draws each group's best cell into `dir/<group>/` (`edas genotype plot`:
/// DOT, and SVG where Graphviz is installed), with `bin` where given, else
/// with the release build (built now).
fn draw_best_cells(units: &[Unit], dir: &Path, bin: Option<&Path>) -> Result<()> {
    let best = best_cells(units);
    if best.is_empty() {
        bail!("--cells: no trained run, so no best cell to draw");
    }
    let bin = match bin {
        Some(b) => crate::experiments::pinned_binary(b)?,
        None => crate::experiments::edas_binary(None)?,
    };
    for (label, error, genotype) in best {
        let out = dir.join(&label);
        crate::experiments::run_edas(
            &bin,
            &[
                "genotype".into(),
                "plot".into(),
                genotype,
                "-o".into(),
                out.display().to_string(),
            ],
        )?;
        println!(
            "best cell of {label} ({error:.2}% test error): {}",
            out.display()
        );
    }
    Ok(())
}

/// `cargo xtask report RUNS... [--csv FILE] [--cells DIR] [--baseline
/// GROUP] [--by KEY]... [--ops] [--ranks] [--plot FILE.svg]`: prints Markdown; writes CSV and draws the best
/// cells where asked to.
pub fn report(args: &[String]) -> Result<()> {
    let mut paths = Vec::new();
    let mut csv_path = None;
    let mut cells = None;
    let mut baseline = None;
    let mut by = Vec::new();
    let mut ops = false;
    let mut ranks = false;
    let mut plot = None;
    let mut bin = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--csv" {
            csv_path = Some(PathBuf::from(it.next().context("--csv needs a file")?));
        } else if a == "--cells" {
            cells = Some(PathBuf::from(
                it.next().context("--cells needs a directory")?,
            ));
        } else if a == "--baseline" {
            baseline = Some(it.next().context("--baseline needs a group")?.clone());
        } else if a == "--by" {
            by.push(it.next().context("--by needs a config key")?.clone());
        } else if a == "--plot" {
            plot = Some(PathBuf::from(
                it.next().context("--plot needs an SVG file")?,
            ));
        } else if a == "--bin" {
            bin = Some(PathBuf::from(
                it.next()
                    .context("--bin takes the path of an edas binary")?,
            ));
        } else if a == "--ranks" {
            ranks = true;
        } else if a == "--ops" {
            ops = true;
        } else if a.starts_with("--") {
            bail!("unknown option {a}; {REPORT_USAGE}");
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    if paths.is_empty() {
        bail!("{REPORT_USAGE}");
    }
    if bin.is_some() && cells.is_none() {
        bail!("--bin names the binary that draws --cells; without --cells it does nothing");
    }
    let mut units = Vec::new();
    for p in &paths {
        units.extend(collect(p)?);
    }
    if units.is_empty() {
        bail!(
            "no finished runs (results.json) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !by.is_empty() {
        regroup(&mut units, &by)?;
    }
    let Table { header, md, csv } = table(&units, baseline.as_deref())?;
    print_markdown(&header, &md);
    if ops {
        println!("\nMean number of each cell's 8 edges that use each operation:\n");
        print_markdown(
            &crate::report_ops::header(),
            &crate::report_ops::table(&units)?,
        );
    }
    if ranks {
        println!("\nKendall's rank correlation with the trained cell's test accuracy:\n");
        print_markdown(
            &crate::report_ranks::header(),
            &crate::report_ranks::table(&units),
        );
    }
    if let Some(csv_path) = csv_path {
        let mut text = String::from(
            "group,runs,device,search_min_mean,search_min_std,peak_mib_mean,peak_mib_std,gap_points_mean,gap_points_std,params_mean,params_std,test_error_mean,test_error_std,baseline,vs_baseline,vs_baseline_low,vs_baseline_high,p,p_holm,detectable,genotypes\n",
        );
        for row in csv {
            let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
            text.push_str(&fields.join(","));
            text.push('\n');
        }
        std::fs::write(&csv_path, text)
            .with_context(|| format!("cannot write {}", csv_path.display()))?;
        eprintln!("CSV written to {}", csv_path.display());
    }
    if let Some(path) = plot {
        let columns: Vec<crate::report_plot::Column> = by_group(&units)
            .into_iter()
            .map(|(label, us)| crate::report_plot::Column {
                label: label.to_owned(),
                errors: test_errors(&us),
            })
            .collect();
        crate::report_plot::draw(
            &columns,
            Some(baseline.as_deref().unwrap_or(RANDOM_CELL)),
            &path,
        )?;
        eprintln!("chart written to {}", path.display());
    }
    if let Some(dir) = cells {
        draw_best_cells(&units, &dir, bin.as_deref())?;
    }
    Ok(())
}

/// Prints a Markdown table.
fn print_markdown(header: &[String], rows: &[Vec<String>]) {
    println!("| {} |", header.join(" | "));
    println!("|{}", "---|".repeat(header.len()));
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

const REPORT_USAGE: &str = "usage: cargo xtask report RUN_OR_DIR... [--csv FILE] [--cells DIR [--bin EDAS]] [--baseline GROUP] [--by KEY]... [--ops] [--ranks] [--plot FILE.svg]";

/// `field` as one CSV field (RFC 4180): quoted, with inner quotes doubled,
/// when it holds a comma, a quote or a line break.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn report_groups_seeds_with_mean_and_sample_std() {
        let unit = |label: &str, gap: f64, time: f64, top1: f64| Unit {
            label: label.into(),
            search: Some(
                serde_json::json!({"strategy": "edas", "pruning_gap": gap, "search_time_s": time, "peak_memory_mib": 100.0, "genotype": format!("G{gap}")}),
            ),
            train: Some(serde_json::json!({"params": 1000, "test": {"top1": top1}})),
            device: if label == "darts" { "cuda:1" } else { "cpu" }.into(),
            configs: Vec::new(),
        };
        let mut units = vec![
            unit("edas", 0.01, 60.0, 0.9),
            unit("edas", 0.03, 180.0, 0.8),
            unit("darts", 0.5, 600.0, 0.85),
            unit("random-cell", 0.0, 0.0, 0.7),
            unit("random-cell", 0.0, 0.0, 0.75),
        ];
        // A darts seed searched, its training not finished yet.
        units.push(Unit {
            train: None,
            ..unit("darts", 0.6, 660.0, 0.0)
        });
        let Table { header, md, csv } = table(&units, None).unwrap();
        assert_eq!(header[8], "vs random-cell (points, 95% CI)");
        assert_eq!(md.len(), 3);
        assert_eq!(
            md.iter().find(|r| r[0] == "darts").unwrap()[1],
            "2 (1 trained)"
        );
        let edas = md.iter().find(|r| r[0] == "edas").unwrap();
        assert_eq!(edas[1], "2");
        assert_eq!(edas[2], "cpu");
        assert_eq!(edas[3], "2.0 ± 1.4"); // minutes: 1 and 3
        assert_eq!(edas[5], "2.0 ± 1.4"); // gap points: 1 and 3
        assert_eq!(edas[7], "15.00 ± 7.07"); // error: 10% and 20%
        // Against random-cell (25% and 30%): -12.5, Welch df 1.8, wide.
        assert!(edas[8].starts_with("-12.50 ["), "{}", edas[8]);
        // One comparison: Holm's p is the test's own.
        let p: f64 = edas[9].parse().unwrap();
        assert!(p > 0.05 && p < 0.5, "{p}");
        // Detectable: (t_0.975 + t_0.8) on Welch's df 1.5 times se 5.59:
        // far wider than the difference itself.
        let detects: f64 = edas[10].parse().unwrap();
        assert!(detects > 12.5 && detects < 60.0, "{detects}");
        assert_eq!(edas[11], "2 distinct of 2");
        assert_eq!(md.iter().find(|r| r[0] == "darts").unwrap()[8], "-");
        let darts = md.iter().find(|r| r[0] == "darts").unwrap();
        assert_eq!(darts[2], "cuda:1");
        assert_eq!(darts[5], "55.0 ± 7.1"); // both searches' gaps
        assert_eq!(darts[7], "15.00"); // the one trained cell
        let tmp = std::env::temp_dir().join(format!("edas-xtask-dev-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        assert_eq!(device_of(&tmp).unwrap(), "cpu");
        std::fs::write(
            tmp.join("command.txt"),
            "edas search --device vulkan:0 --quiet",
        )
        .unwrap();
        assert_eq!(device_of(&tmp).unwrap(), "vulkan:0");
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!(csv.len(), 3);
        // CSV: group, runs, device, 5 mean/std pairs, then the baseline
        // compared with and the interval.
        let edas_csv = csv.iter().find(|r| r[0] == "edas").unwrap();
        assert_eq!(edas_csv[13], "random-cell");
        assert!((edas_csv[14].parse::<f64>().unwrap() + 12.5).abs() < 1e-9);
        assert_eq!(edas_csv[17], edas_csv[18]);
        assert!((edas_csv[17].parse::<f64>().unwrap() - p).abs() < 1e-3);
        assert!((edas_csv[19].parse::<f64>().unwrap() - detects).abs() < 1e-2);
        assert_eq!(edas_csv[20], "G0.01 | G0.03"); // genotypes last
        assert_eq!(edas_csv.len(), 21);
        assert_eq!(csv.iter().find(|r| r[0] == "darts").unwrap()[13], "");
        // --baseline: every other group against the named one.
        let Table { header, md, csv } = table(&units, Some("darts")).unwrap();
        assert_eq!(header[8], "vs darts (points, 95% CI)");
        assert_eq!(md.iter().find(|r| r[0] == "darts").unwrap()[8], "-");
        // darts has one trained run: no interval.
        assert_eq!(md.iter().find(|r| r[0] == "edas").unwrap()[8], "-");
        let Table { md, .. } = table(&units, Some("edas")).unwrap();
        // random-cell (25, 30) against edas (10, 20): +12.5.
        let rc = md.iter().find(|r| r[0] == "random-cell").unwrap();
        assert!(rc[8].starts_with("+12.50 ["), "{}", rc[8]);
        assert_eq!(csv.iter().find(|r| r[0] == "edas").unwrap()[13], "");
        let missing = table(&units, Some("gdas")).err().unwrap().to_string();
        assert!(
            missing.contains("no such group") && missing.contains("darts, edas, random-cell"),
            "{missing}"
        );
        assert_eq!(label_of(Path::new("runs/m/edas-s12")), "edas");
        assert_eq!(
            label_of(Path::new("runs/fashion-mnist-edas")),
            "fashion-mnist-edas"
        );
    }

    #[test]
    fn welch_intervals_match_a_hand_computation() {
        // a: mean 2, s^2 = 1 (n 3); b: mean 0, s^2 = 1 (n 3): se = sqrt(2/3),
        // df = 4, t(0.975, 4) = 2.776: 2 +- 2.267.
        let w = welch(&[1.0, 2.0, 3.0], &[-1.0, 0.0, 1.0]).unwrap();
        let (d, lo, hi) = (w.difference, w.low, w.high);
        // t = 2 / sqrt(2/3) = 2.449 on 4 df: two-sided p 0.0705 (numeric
        // integral of Student's density).
        assert!((w.p - 0.070_484).abs() < 1e-5, "{}", w.p);
        assert!((d - 2.0).abs() < 1e-12);
        assert!(
            (hi - 2.0 - 2.776_445 * (2.0f64 / 3.0).sqrt()).abs() < 1e-5,
            "{hi}"
        );
        assert!((2.0 - lo - (hi - 2.0)).abs() < 1e-12);
        // Power 0.8 at two-sided 0.05 on 4 df: (t(0.975) + t(0.8)) se =
        // (2.776445 + 0.940965) sqrt(2/3) = 3.0353 (t table values).
        assert!(
            (w.detectable - (2.776_445 + 0.940_965) * (2.0f64 / 3.0).sqrt()).abs() < 1e-5,
            "{}",
            w.detectable
        );
        assert!(welch(&[1.0], &[1.0, 2.0]).is_none());
        // Holm: sorted 0.01, 0.02, 0.04 of 3 -> 0.03, 0.04, 0.04 (the
        // running maximum keeps the order), and never above 1.
        let adjusted = holm(&[0.04, 0.01, 0.02]);
        let want = [0.04, 0.03, 0.04];
        for (a, w) in adjusted.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(holm(&[0.5, 0.9]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
        assert_eq!(
            baseline_of(
                "c10-edas",
                &["c10-edas", "c10-random-cell", "c100-random-cell"]
            ),
            Some("c10-random-cell")
        );
        assert_eq!(baseline_of("random-cell", &["random-cell"]), None);
    }

    #[test]
    fn the_best_cell_of_each_group_has_its_lowest_test_error() {
        let unit = |label: &str, top1: f64, g: &str| Unit {
            label: label.into(),
            train: Some(serde_json::json!({"test": {"top1": top1}, "genotype": g})),
            ..Unit::default()
        };
        let units = [
            unit("edas", 0.80, "A"),
            unit("edas", 0.85, "B"),
            unit("darts", 0.70, "C"),
            Unit {
                label: "gdas".into(),
                ..Unit::default()
            },
        ];
        let best = best_cells(&units);
        assert_eq!(best.len(), 2);
        assert_eq!((best[0].0.as_str(), best[0].2.as_str()), ("darts", "C"));
        assert_eq!((best[1].0.as_str(), best[1].2.as_str()), ("edas", "B"));
        assert!((best[1].1 - 15.0).abs() < 1e-9);
    }

    /// A 2x2 grid (k, warm-up) regrouped by k pools the warm-up axis;
    /// runs without a search keep their label.
    #[test]
    fn by_regroups_a_grid_by_config_values() {
        let unit = |k: i64, warmup: i64, top1: f64| {
            Unit {
            label: format!("edas-warmup={warmup}-k={k}"),
            search: Some(serde_json::json!({"strategy": "edas"})),
            train: Some(serde_json::json!({"test": {"top1": top1}})),
            configs: vec![
                format!("seed = 1\n[edas]\nrelaxed_edges = {k}\n[regularizers]\nwarmup_epochs = {warmup}\n[data]\ndataset = \"fashion-mnist\"")
                    .parse()
                    .unwrap(),
                "epochs = 6".parse().unwrap(),
            ],
            ..Unit::default()
        }
        };
        let mut units = vec![
            unit(1, 0, 0.80),
            unit(1, 1, 0.82),
            unit(2, 0, 0.84),
            unit(2, 1, 0.86),
            Unit {
                label: "random-cell".into(),
                train: Some(serde_json::json!({"test": {"top1": 0.8}})),
                ..Unit::default()
            },
        ];
        assert_eq!(
            config_value(&units[0].configs, "edas.relaxed_edges").as_deref(),
            Some("1")
        );
        // Strings unquoted; the training's config is read after the search's.
        assert_eq!(
            config_value(&units[0].configs, "data.dataset").as_deref(),
            Some("fashion-mnist")
        );
        assert_eq!(
            config_value(&units[0].configs, "epochs").as_deref(),
            Some("6")
        );
        assert_eq!(config_value(&units[0].configs, "edas.nope"), None);
        assert_eq!(config_value(&units[0].configs, "seed.x"), None);
        regroup(&mut units, &["edas.relaxed_edges".to_owned()]).unwrap();
        let labels: Vec<&str> = units.iter().map(|u| u.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "edas[edas.relaxed_edges=1]",
                "edas[edas.relaxed_edges=1]",
                "edas[edas.relaxed_edges=2]",
                "edas[edas.relaxed_edges=2]",
                "random-cell"
            ]
        );
        let Table { md, .. } = table(&units, Some("edas[edas.relaxed_edges=1]")).unwrap();
        let k2 = md
            .iter()
            .find(|r| r[0] == "edas[edas.relaxed_edges=2]")
            .unwrap();
        assert_eq!(k2[1], "2");
        assert_eq!(k2[7], "15.00 ± 1.41"); // 16% and 14%
        // Against k=1 (20%, 18%): -4 points.
        assert!(k2[8].starts_with("-4.00 ["), "{}", k2[8]);
        // A key some runs lack reads `-`; a key none has is refused.
        units[0].configs[1] = "[gdas]\ntau = 0.5".parse().unwrap();
        let keys = [
            "regularizers.warmup_epochs".to_owned(),
            "gdas.tau".to_owned(),
        ];
        regroup(&mut units, &keys).unwrap();
        assert_eq!(
            units[0].label,
            "edas[regularizers.warmup_epochs=0,gdas.tau=0.5]"
        );
        assert_eq!(
            units[1].label,
            "edas[regularizers.warmup_epochs=1,gdas.tau=-]"
        );
        let err = regroup(&mut units, &["edas.relaxed_edge".to_owned()])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no run's config.toml has this key"), "{err}");
    }

    /// A matrix tree is read unit by unit, unfinished units are skipped,
    /// and a damaged `results.json` or `config.toml` stops the report
    /// instead of leaving a run out of its group.
    #[test]
    fn collect_reads_units_and_refuses_damaged_files() {
        let tmp = std::env::temp_dir().join(format!("edas-xtask-collect-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let write = |rel: &str, text: &str| {
            let p = tmp.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("edas-s1/search/results.json", r#"{"strategy": "edas"}"#);
        write("edas-s1/search/config.toml", "[edas]\nrelaxed_edges = 2");
        write("edas-s1/train/results.json", r#"{"test": {"top1": 0.8}}"#);
        write("edas-s2/search/config.toml", "seed = 2"); // not finished
        write(
            "random-cell-s1/train/results.json",
            r#"{"test": {"top1": 0.7}}"#,
        );
        let units = collect(&tmp).unwrap();
        let labels: Vec<&str> = units.iter().map(|u| u.label.as_str()).collect();
        assert_eq!(labels, ["edas", "random-cell"]);
        assert_eq!(units[0].configs.len(), 1);
        assert!(units[0].train.is_some() && units[1].search.is_none());
        write("edas-s2/search/results.json", r#"{"strategy": "ed"#);
        let err = format!("{:#}", collect(&tmp).unwrap_err());
        assert!(
            err.contains("edas-s2/search/results.json is not valid JSON"),
            "{err}"
        );
        write("edas-s2/search/results.json", r#"{"strategy": "edas"}"#);
        write("edas-s2/search/config.toml", "seed = ");
        let err = format!("{:#}", collect(&tmp).unwrap_err());
        assert!(
            err.contains("edas-s2/search/config.toml is not valid TOML"),
            "{err}"
        );
        write("edas-s2/search/config.toml", "seed = 2");
        assert_eq!(collect(&tmp).unwrap().len(), 3);
        assert!(collect(&tmp.join("absent")).is_err());
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    /// A symlink loop is not walked for ever nor counted again; `{}` and a
    /// negative time are not runs; a FIFO `results.json` is an error, not a
    /// hang.
    #[test]
    fn collect_refuses_loops_empty_results_negative_times_and_fifos() {
        let tmp = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let p = tmp.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("a-s1/train/results.json", r#"{"test": {"top1": 0.8}}"#);
        write("b-s1/train/results.json", r#"{"test": {"top1": 0.7}}"#);
        std::os::unix::fs::symlink(tmp.path(), tmp.path().join("a-s1/loop")).unwrap();
        assert_eq!(collect(tmp.path()).unwrap().len(), 2);
        write("c-s1/search/results.json", "{}");
        let err = format!("{:#}", collect(tmp.path()).unwrap_err());
        assert!(
            err.contains("c-s1/search/results.json is not a run's results: neither a search's"),
            "{err}"
        );
        write(
            "c-s1/search/results.json",
            r#"{"strategy": "edas", "search_time_s": -5}"#,
        );
        let err = format!("{:#}", collect(tmp.path()).unwrap_err());
        assert!(
            err.contains("search_time_s is -5; expected a non-negative number"),
            "{err}"
        );
        std::fs::remove_file(tmp.path().join("c-s1/search/results.json")).unwrap();
        let fifo = tmp.path().join("c-s1/search/results.json");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = format!("{:#}", collect(tmp.path()).unwrap_err());
        assert!(err.contains("is a FIFO, not a regular file"), "{err}");
    }

    #[test]
    fn csv_fields_with_commas_are_quoted() {
        assert_eq!(csv_field("edas"), "edas");
        assert_eq!(
            csv_field("Genotype(normal=[('skip_connect', 0)])"),
            "\"Genotype(normal=[('skip_connect', 0)])\""
        );
        assert_eq!(csv_field("a \"b\""), "\"a \"\"b\"\"\"");
    }
}
