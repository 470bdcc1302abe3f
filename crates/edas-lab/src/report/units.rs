//! The runs a report reads: each finished run directory's results, config
//! and device, grouped by label (or by config values with `--by`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use edas_run::files::{COMMAND_FILE, CONFIG_FILE, RESULTS_FILE};
use serde_json::Value;

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
    /// The finished search's run directory, when the unit has one (a
    /// search run, or a matrix unit's `search/`): what `rank-cells` scores
    /// on.
    pub search_dir: Option<PathBuf>,
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

/// The test errors (%) of the trained runs among `us`.
pub fn test_errors(us: &[&Unit]) -> Vec<f64> {
    us.iter().filter_map(|u| test_error(u)).collect()
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
pub(crate) fn device_of(dir: &Path) -> Result<String> {
    let text = read_optional(&dir.join(COMMAND_FILE))?.unwrap_or_default();
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

/// A run's group label: its directory name without the `-s<seed>` suffix.
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
    let path = dir.join(CONFIG_FILE);
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
    if let Some(r) = read_json(&path.join(RESULTS_FILE))? {
        let is_search = r.get("strategy").is_some();
        return Ok(vec![Unit {
            label: label_of(path),
            search: is_search.then(|| r.clone()),
            train: (!is_search).then_some(r),
            device: device_of(path)?,
            configs: read_config(path)?.into_iter().collect(),
            search_dir: is_search.then(|| path.to_owned()),
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
            search_dir: s.is_some().then(|| path.join("search")),
            search: s,
            train: t,
            device,
            configs,
        }]);
    }
    if path.join(CONFIG_FILE).is_file() {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::report::table::{Table, table};

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
        // The search a unit ran, for `rank-cells`: a matrix unit's
        // `search/`, labelled by the unit; none for a sampled cell.
        assert_eq!(units[0].search_dir, Some(tmp.join("edas-s1/search")));
        assert_eq!(units[1].search_dir, None);
        let lone = tmp.join("lone");
        write("lone/nb201-edas/results.json", r#"{"strategy": "edas"}"#);
        let u = collect(&lone).unwrap();
        assert_eq!(u[0].label, "nb201-edas");
        assert_eq!(u[0].search_dir, Some(lone.join("nb201-edas")));
        std::fs::remove_dir_all(&lone).unwrap();
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
}
