//! `cargo xtask bench nn|data|torch`: benchmarks, each case in its own process.

use std::process::Command;

use anyhow::Result;

use crate::{cargo, project_root, run_json};

/// The network cases of `crates/edas-nn/benches/nn.rs`.
pub const NN_CASES: [&str; 9] = [
    "discrete-c16-l8",
    "discrete-c16-l20",
    "discrete-c36-l20",
    "derived-l8",
    "edas-l8",
    "darts-l8",
    "derived-l20",
    "edas-l20",
    "darts-l20",
];

fn row(v: &serde_json::Value) -> String {
    format!(
        "| {} | {} | {:.3} | {:.1} | {:.0} |",
        v["case"].as_str().unwrap_or("?"),
        v["batch"],
        v["median_step_s"].as_f64().unwrap_or(f64::NAN),
        v["images_per_s"].as_f64().unwrap_or(f64::NAN),
        v["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
    )
}

/// Runs `cargo bench -p PACKAGE --bench BENCH -- CASE BATCH STEPS` once per
/// case (each in its own process, so peak memory is the case's own) and
/// prints a Markdown table. `args`: `[BATCH] [STEPS] [CASE...]`.
fn run_cases(package: &str, bench: &str, default_cases: &[&str], args: &[String]) -> Result<()> {
    let batch = args.first().cloned().unwrap_or_else(|| "32".to_owned());
    let steps = args.get(1).cloned().unwrap_or_else(|| "3".to_owned());
    let cases: Vec<String> = if args.len() > 2 {
        args[2..].to_vec()
    } else {
        default_cases.iter().map(|s| (*s).to_owned()).collect()
    };
    cargo(&["bench", "-p", package, "--bench", bench, "--no-run"])?;
    println!("| case | batch | median step (s) | images/s | peak RSS (MiB) |");
    println!("|---|---|---|---|---|");
    for case in &cases {
        let v = run_json(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
                .args([
                    "bench", "-q", "-p", package, "--bench", bench, "--", case, &batch, &steps,
                ])
                .current_dir(project_root()),
        )?;
        println!("{}", row(&v));
    }
    Ok(())
}

/// `cargo xtask bench nn [BATCH] [STEPS] [CASE...]`.
pub fn nn(args: &[String]) -> Result<()> {
    run_cases("edas-nn", "nn", &NN_CASES, args)
}

/// The whole-search-step cases of `crates/edas-bench/benches/step.rs`.
pub const SEARCH_CASES: [&str; 14] = [
    "derived-l8",
    "derived-v2-l8",
    "edas-l8",
    "gdas-l8",
    "pc-darts-l8",
    "darts-l8",
    "darts2-l8",
    "derived-l20",
    "derived-v2-l20",
    "edas-l20",
    "gdas-l20",
    "pc-darts-l20",
    "darts-l20",
    "darts2-l20",
];

/// `cargo xtask bench search [BATCH] [STEPS] [CASE...]`: one whole search
/// step per strategy against a training step of the derived network.
pub fn search(args: &[String]) -> Result<()> {
    run_cases("edas-bench", "step", &SEARCH_CASES, args)
}

/// `cargo xtask bench torch [BATCH] [STEPS]`: the PyTorch reference of the
/// discrete network (`bench/torch_darts.py`), in the virtual environment
/// under `target/torch-venv` with torch from PyPI (`torch_venv::python`).
pub fn torch(args: &[String]) -> Result<()> {
    let root = project_root();
    let python = crate::torch_venv::python()?;
    let batch = args.first().cloned().unwrap_or_else(|| "32".to_owned());
    let steps = args.get(1).cloned().unwrap_or_else(|| "3".to_owned());
    let script = root.join("bench").join("torch_darts.py");
    println!("| case | batch | median step (s) | images/s | peak RSS (MiB) |");
    println!("|---|---|---|---|---|");
    for channels in ["16", "36"] {
        let v = run_json(
            Command::new(&python)
                .arg(&script)
                .args([channels, &batch, &steps]),
        )?;
        println!("{}", row(&v));
    }
    Ok(())
}

/// `cargo xtask bench data`.
pub fn data() -> Result<()> {
    cargo(&["bench", "-p", "edas-data", "--bench", "pipeline"])
}
