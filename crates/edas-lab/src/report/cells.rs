//! Each group's best cell (lowest test error), drawn with `edas genotype
//! plot`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};
use serde_json::Value;

use super::units::{Unit, test_error};
use crate::binary::{edas_binary, pinned_binary, run_edas};

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
pub fn draw_best_cells(units: &[Unit], dir: &Path, bin: Option<&Path>) -> Result<()> {
    let best = best_cells(units);
    if best.is_empty() {
        bail!("--cells: no trained run, so no best cell to draw");
    }
    let bin = match bin {
        Some(b) => pinned_binary(b)?,
        None => edas_binary(None)?,
    };
    for (label, error, genotype) in best {
        let out = dir.join(&label);
        run_edas(
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
}
