//! How much work a matrix has left (`matrix FILE --status`):
//! each unfinished step (search or training) is expected to take the mean
//! time its group's finished units recorded for it (`search_time_s` and
//! `train_time_s` in `results.json`; a group is the unit's name without its
//! `-s<seed>`), less the share of epochs its checkpoint has already done.
//! Only a guide: it assumes the remaining seeds take as long as the
//! finished ones on the same machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use edas_run::Result;
use edas_run::dir::read_json;
use edas_run::files::RESULTS_FILE;
use edas_run::status::progress;

use crate::matrix::MatrixUnit;

/// The estimate over a matrix's unfinished steps.
#[derive(Debug, Default, PartialEq)]
pub struct Remaining {
    /// Expected seconds of the unfinished steps that have an estimate, one
    /// after another.
    pub seconds: f64,
    /// Unfinished steps with no finished step of their group to go by.
    pub unknown: usize,
}

/// The unit's group: its directory name without `-s<seed>`.
fn group(unit: &MatrixUnit) -> String {
    let name = unit
        .dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let suffix = format!("-s{}", unit.seed);
    name.strip_suffix(&suffix).unwrap_or(&name).to_owned()
}

/// The time the finished step in `dir` recorded under `key` (none in
/// results written before it was recorded); an unreadable `results.json` is
/// an error naming it.
fn recorded(dir: &Path, key: &str) -> Result<Option<f64>> {
    let results: serde_json::Value = read_json(&dir.join(RESULTS_FILE))?;
    Ok(results[key].as_f64())
}

/// The share of `dir`'s epochs still to do (1 when it has no checkpoint).
fn share_left(dir: &Path) -> Result<f64> {
    Ok(match progress(dir)? {
        Some(p) => match p.epochs {
            // Precision loss is irrelevant at epoch counts.
            #[allow(clippy::cast_precision_loss)]
            Some(total) if total > 0 => 1.0 - (p.epochs_done.min(total) as f64 / total as f64),
            _ => 1.0,
        },
        None => 1.0,
    })
}

/// A unit's steps ([`MatrixUnit::steps`]: a search unless it samples its
/// cell, a training when the matrix trains): name, run directory and the
/// time its results record.
fn unit_steps(u: &MatrixUnit) -> Vec<(&'static str, PathBuf, &'static str)> {
    let steps = u.steps();
    [
        ("search", steps.search, "search_time_s"),
        ("train", steps.train, "train_time_s"),
    ]
    .into_iter()
    .filter_map(|(step, run, key)| run.map(|(dir, _)| (step, dir, key)))
    .collect()
}

/// The work left in `units`. A run record that cannot be read is an error
/// naming it, not a step taken for unfinished or unknown.
pub fn remaining(units: &[MatrixUnit]) -> Result<Remaining> {
    // Mean recorded time per (group, step), and the unfinished steps.
    let mut times: BTreeMap<(String, &str), (f64, usize)> = BTreeMap::new();
    let mut unfinished = Vec::new();
    for u in units {
        for (step, dir, key) in unit_steps(u) {
            let group_step = (group(u), step);
            if !dir.join(RESULTS_FILE).is_file() {
                unfinished.push((group_step, dir));
            } else if let Some(t) = recorded(&dir, key)? {
                let e = times.entry(group_step).or_default();
                e.0 += t;
                e.1 += 1;
            }
        }
    }
    let mut left = Remaining::default();
    for (group_step, dir) in unfinished {
        match times.get(&group_step) {
            // Precision loss is irrelevant at run counts.
            #[allow(clippy::cast_precision_loss)]
            Some(&(sum, n)) => left.seconds += sum / n as f64 * share_left(&dir)?,
            None => left.unknown += 1,
        }
    }
    Ok(left)
}

/// One line for `--status`.
pub fn describe(left: &Remaining) -> String {
    let unknown = format!(
        "{} unfinished step(s) have no finished run of their group to go by",
        left.unknown
    );
    if left.seconds == 0.0 && left.unknown > 0 {
        return format!("work left: no estimate yet, {unknown}");
    }
    let hours = left.seconds / 3600.0;
    let mut line = format!(
        "work left: about {hours:.1} h one unit at a time (each step at its group's mean recorded time); \
         with --jobs N about 1/N of that"
    );
    if left.unknown > 0 {
        line.push_str(&format!(", and {unknown}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(root: &Path, strategy: &str, seed: u64) -> MatrixUnit {
        MatrixUnit {
            dir: root.join(format!("{strategy}-s{seed}")),
            dataset: None,
            strategy: strategy.into(),
            seed,
            search_config: String::new(),
            train_config: Some(String::new()),
            search_set: Vec::new(),
            train_set: Vec::new(),
            space: edas_genotype::SpaceName::Darts,
            nodes: None,
        }
    }

    fn write(path: PathBuf, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn unfinished_steps_take_their_groups_mean_time() {
        let tmp = std::env::temp_dir().join(format!("xtask-remaining-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let units: Vec<MatrixUnit> = (1..=3)
            .flat_map(|s| [unit(&tmp, "edas", s), unit(&tmp, "random-cell", s)])
            .collect();
        // Nothing finished: every step is unknown (random-cell has no search).
        let left = remaining(&units).unwrap();
        assert_eq!(
            left,
            Remaining {
                seconds: 0.0,
                unknown: 9
            }
        );
        assert_eq!(
            describe(&left),
            "work left: no estimate yet, 9 unfinished step(s) have no finished run of their group to go by"
        );
        // edas-s1 and edas-s2 finished: searches of 60 s and 100 s,
        // trainings of 400 s and 600 s.
        for (s, search, train) in [(1, 60.0, 400.0), (2, 100.0, 600.0)] {
            write(
                tmp.join(format!("edas-s{s}/search/results.json")),
                &format!(r#"{{"search_time_s": {search}}}"#),
            );
            write(
                tmp.join(format!("edas-s{s}/train/results.json")),
                &format!(r#"{{"train_time_s": {train}}}"#),
            );
        }
        // edas-s3's search is done; its training is 2 of 6 epochs in.
        write(
            tmp.join("edas-s3/search/results.json"),
            r#"{"search_time_s": 80.0}"#,
        );
        write(tmp.join("edas-s3/train/config.toml"), "epochs = 6\n");
        write(
            tmp.join("edas-s3/train/checkpoint/state.json"),
            r#"{"epochs_done": 2, "step": 0}"#,
        );
        // One random-cell training finished in 300 s.
        write(
            tmp.join("random-cell-s1/train/results.json"),
            r#"{"train_time_s": 300.0}"#,
        );
        let left = remaining(&units).unwrap();
        // edas-s3 training: 500 s * 4/6; random-cell s2, s3: 300 s each.
        assert!((left.seconds - (500.0 * 4.0 / 6.0 + 600.0)).abs() < 1e-9);
        assert_eq!(left.unknown, 0);
        assert!(describe(&left).starts_with("work left: about 0.3 h"));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    /// A damaged `results.json` is named, not counted as a step with no
    /// time (or as unfinished).
    #[test]
    fn an_unreadable_record_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let units = vec![unit(tmp.path(), "edas", 1)];
        write(tmp.path().join("edas-s1/search/results.json"), "{oops");
        let e = remaining(&units).unwrap_err().to_string();
        assert!(e.contains("results.json"), "{e}");
    }
}
