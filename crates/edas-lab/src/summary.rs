//! What a finished run says in a line or two, for the end of a lab task:
//! its result (a search's cell and pruning gap, a training's test error and
//! parameters), its run directory and what to run next.

use std::path::Path;

use anyhow::{Context, Result};
use edas_run::dir::read_json;
use edas_run::files::{GENOTYPE_TXT, RESULTS_FILE};
use serde_json::Value;

/// The summary of the finished run in `dir` (`command`: `search` or
/// `train`), read from its `results.json`.
pub fn summary(command: &str, dir: &Path) -> Result<String> {
    let path = dir.join(RESULTS_FILE);
    let results: Value = read_json(&path)
        .with_context(|| format!("cannot read the results of {}", dir.display()))?;
    let number = |key: &str| results.get(key).and_then(Value::as_f64);
    let time = |key: &str| {
        number(key).map_or_else(String::new, |s| {
            format!(" in {}", edas_run::progress::fmt_duration(s))
        })
    };
    Ok(if command == "search" {
        let percent =
            |key: &str| number(key).map_or("?".to_owned(), |a| format!("{:.2}%", 100.0 * a));
        format!(
            "search done{}: derived network {} on the held-out split (as searched {}, pruning gap {} points)\n  \
             cell: {}\n  run: {}\n  next: edas train --genotype {} --config CONFIG",
            time("search_time_s"),
            percent("derived_acc"),
            percent("searched_acc"),
            number("pruning_gap").map_or("?".to_owned(), |g| format!("{:.2}", 100.0 * g)),
            dir.join(GENOTYPE_TXT).display(),
            dir.display(),
            dir.display()
        )
    } else {
        let top1 = results.pointer("/test/top1").and_then(Value::as_f64);
        format!(
            "training done{}: test error {} with {} parameters\n  run: {}\n  next: edas eval --run {}  \
             (or edas export --run {} --format onnx)",
            time("train_time_s"),
            top1.map_or("?".to_owned(), |a| format!("{:.2}%", 100.0 * (1.0 - a))),
            number("params").map_or("?".to_owned(), |p| format!("{p:.0}")),
            dir.display(),
            dir.display(),
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn summaries_name_the_result_the_run_and_the_next_command() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(
            dir.join(RESULTS_FILE),
            r#"{"test": {"top1": 0.9712}, "params": 3349738, "train_time_s": 7260}"#,
        )
        .unwrap();
        let s = summary("train", dir).unwrap();
        assert!(
            s.starts_with("training done in 2h01m: test error 2.88% with 3349738 parameters"),
            "{s}"
        );
        assert!(
            s.contains(&format!("next: edas eval --run {}", dir.display())),
            "{s}"
        );
        std::fs::write(
            dir.join(RESULTS_FILE),
            r#"{"strategy": "edas", "derived_acc": 0.8, "searched_acc": 0.81, "pruning_gap": 0.01, "search_time_s": 65}"#,
        )
        .unwrap();
        let s = summary("search", dir).unwrap();
        assert!(
            s.starts_with(
                "search done in 1m05s: derived network 80.00% on the held-out split (as searched 81.00%, pruning gap 1.00 points)"
            ),
            "{s}"
        );
        assert!(s.contains("next: edas train --genotype"), "{s}");
        std::fs::write(dir.join(RESULTS_FILE), "{").unwrap();
        assert!(summary("search", dir).is_err());
    }
}
