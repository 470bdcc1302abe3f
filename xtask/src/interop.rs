//! `cargo xtask interop`: edas and PyTorch exchange DARTS networks, and
//! onnxruntime runs edas' ONNX export, with the same logits.
//!
//! For each case (a genotype, network kind and size):
//! - **export**: `edas train` trains the network for one epoch on synthetic
//!   images; `edas export` writes safetensors and ONNX; `edas eval --dump`
//!   writes the test images and edas' logits; `bench/interop.py check`
//!   loads the safetensors into DARTS' PyTorch network (strictly) and runs
//!   the ONNX model in onnxruntime on the same images;
//! - **import**: `bench/interop.py make` writes a PyTorch `model.pt`
//!   (random weights and BatchNorm statistics; a `DataParallel` checkpoint
//!   dict for the ImageNet case); `edas import` turns it into a run, whose
//!   ONNX export and `eval --dump` logits are compared with PyTorch's and
//!   onnxruntime's.
//!
//! A comparison passes when the largest logit difference is within 1e-4
//! of the logits' scale (`max(1, max |logit|)`) and every top-1 agrees.
//! Uses the PyTorch environment of `cargo xtask bench torch`
//! (`target/torch-venv`) with numpy, onnx, onnxruntime and safetensors
//! added; writes under `target/interop/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use edas_lab::binary::{edas_binary, run_edas};
use edas_run::files::{ONNX_FILE, SAFETENSORS_FILE};

use crate::{project_root, run_json};

/// One network to exchange.
struct Case {
    name: &'static str,
    kind: &'static str,
    genotype: &'static str,
    channels: usize,
    layers: usize,
    aux: bool,
}

/// Every op of the search space in one genotype (the import fixture's).
const ALL_OPS: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), \
('dil_conv_3x3', 0), ('skip_connect', 1), ('avg_pool_3x3', 2), ('dil_conv_5x5', 3), \
('max_pool_3x3', 0), ('sep_conv_3x3', 4)], normal_concat=[2, 3, 4, 5], \
reduce=[('skip_connect', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('sep_conv_5x5', 2), \
('dil_conv_3x3', 1), ('skip_connect', 2), ('sep_conv_3x3', 0), ('dil_conv_5x5', 3)], \
reduce_concat=[2, 3, 4, 5])";

const CASES: [Case; 3] = [
    Case {
        name: "cifar-darts_v2-c8-l8-aux",
        kind: "cifar",
        genotype: "DARTS_V2",
        channels: 8,
        layers: 8,
        aux: true,
    },
    Case {
        name: "cifar-all-ops-c6-l5",
        kind: "cifar",
        genotype: ALL_OPS,
        channels: 6,
        layers: 5,
        aux: false,
    },
    Case {
        name: "imagenet-pdarts-c8-l5-aux",
        kind: "imagenet",
        genotype: "PDARTS",
        channels: 8,
        layers: 5,
        aux: true,
    },
];

/// A synthetic training config for `case` (10 classes).
fn config(case: &Case) -> String {
    let size = if case.kind == "imagenet" { 224 } else { 32 };
    format!(
        r#"name = "{name}"
epochs = 1

[data]
dataset = "synthetic"

[data.synthetic]
channels = 3
height = {size}
width = {size}
classes = 10
train_len = 64
test_len = 32
noise = 40.0
seed = 1

[loader]
batch_size = 16
workers = 1
cutout = false

[network]
kind = "{kind}"
channels = {channels}
layers = {layers}
auxiliary = {aux}
drop_path = 0.0
"#,
        name = case.name,
        kind = case.kind,
        channels = case.channels,
        layers = case.layers,
        aux = case.aux,
    )
}

/// The torch environment with the packages the check needs.
fn python() -> Result<PathBuf> {
    let python = crate::torch_venv::python()?;
    let probe = Command::new(&python)
        .args(["-c", "import numpy, onnx, onnxruntime, safetensors"])
        .output()?;
    if !probe.status.success() {
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "-q"])
            .args(["numpy", "onnx", "onnxruntime", "safetensors"])
            .status()?;
        if !status.success() {
            bail!("pip install numpy onnx onnxruntime safetensors failed");
        }
    }
    Ok(python)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The network arguments of `bench/interop.py` for `case`.
fn net_args(case: &Case, genotype: &str) -> Vec<String> {
    let mut a = vec![
        "--kind".into(),
        case.kind.into(),
        "--genotype".into(),
        genotype.into(),
        "--channels".into(),
        case.channels.to_string(),
        "--layers".into(),
        case.layers.to_string(),
    ];
    if case.aux {
        a.push("--aux".into());
    }
    a
}

/// One comparison's line of the table; whether it passed.
fn row(case: &str, direction: &str, v: &serde_json::Value) -> (String, bool) {
    let scale = v["logit_scale"].as_f64().unwrap_or(f64::NAN).max(1.0);
    let mut pass = true;
    let mut cell = |k: &str| {
        let d = v[k]["max_abs"].as_f64();
        let agree = v[k]["argmax_agree"].as_f64();
        match (d, agree) {
            (Some(d), Some(a)) => {
                pass &= d <= 1e-4 * scale && a == 1.0;
                format!("{d:.1e} ({:.0}% top-1 agree)", 100.0 * a)
            }
            _ => "-".into(),
        }
    };
    let pytorch = cell("pytorch");
    let onnx = cell("onnx");
    (
        format!(
            "| {case} | {direction} | {} | {} | {:.2} | {pytorch} | {onnx} | {} |",
            v["examples"],
            v["tensors"],
            v["logit_scale"].as_f64().unwrap_or(f64::NAN),
            if pass { "pass" } else { "FAIL" }
        ),
        pass,
    )
}

/// `cargo xtask interop`.
pub fn interop(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("cargo xtask interop takes no arguments (got `{a}`)");
    }
    let root = project_root();
    let python = python()?;
    let bin = edas_binary(None)?;
    let script = root.join("bench").join("interop.py");
    let work = root.join("target").join("interop");
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("cannot clear {}", work.display()))?;
    }
    let edas = |args: &[String]| run_edas(&bin, args);
    let mut rows = Vec::new();
    let mut all = true;
    for case in &CASES {
        let dir = work.join(case.name);
        std::fs::create_dir_all(&dir)?;
        let cfg = dir.join("train.toml");
        std::fs::write(&cfg, config(case))?;
        let genotype_out = Command::new(&bin)
            .args(["genotype", "convert", case.genotype])
            .output()?;
        if !genotype_out.status.success() {
            bail!("edas genotype convert {} failed", case.genotype);
        }
        let genotype = String::from_utf8_lossy(&genotype_out.stdout)
            .trim()
            .to_owned();
        let genotype = genotype
            .split_once('=')
            .filter(|(name, _)| !name.contains('('))
            .map_or(genotype.clone(), |(_, g)| g.trim().to_owned());

        // edas -> PyTorch, onnxruntime.
        let trained = dir.join("trained");
        edas(&[
            "train".into(),
            "--genotype".into(),
            genotype.clone(),
            "--config".into(),
            s(&cfg),
            "--out".into(),
            s(&trained),
            "--quiet".into(),
        ])?;
        let exported = |run: &Path| -> Result<PathBuf> {
            edas(&["export".into(), "--run".into(), s(run)])?;
            edas(&[
                "export".into(),
                "--run".into(),
                s(run),
                "--format".into(),
                "onnx".into(),
            ])?;
            let dump = run.join("dump");
            edas(&[
                "eval".into(),
                "--run".into(),
                s(run),
                "--dump".into(),
                s(&dump),
            ])?;
            Ok(dump)
        };
        let dump = exported(&trained)?;
        let check = |weights: &Path, dump: &Path, onnx: &Path| -> Result<serde_json::Value> {
            run_json(
                Command::new(&python)
                    .arg(&script)
                    .arg("check")
                    .args(net_args(case, &genotype))
                    .args([
                        "--weights",
                        &s(weights),
                        "--dump",
                        &s(dump),
                        "--onnx",
                        &s(onnx),
                    ]),
            )
        };
        let v = check(
            &trained.join(SAFETENSORS_FILE),
            &dump,
            &trained.join(ONNX_FILE),
        )?;
        let (line, pass) = row(case.name, "edas-trained -> PyTorch, ONNX", &v);
        rows.push(line);
        all &= pass;

        // PyTorch -> edas (-> ONNX).
        let made = dir.join("pytorch");
        let mut make = Command::new(&python);
        make.arg(&script)
            .arg("make")
            .args(net_args(case, &genotype))
            .args(["--out", &s(&made)]);
        if case.kind == "imagenet" {
            make.arg("--checkpoint");
        }
        let status = make.status()?;
        if !status.success() {
            bail!("bench/interop.py make failed for {}", case.name);
        }
        let imported = dir.join("imported");
        edas(&[
            "import".into(),
            "--weights".into(),
            s(&made.join("model.pt")),
            "--genotype".into(),
            genotype.clone(),
            "--config".into(),
            s(&cfg),
            "--out".into(),
            s(&imported),
            "--quiet".into(),
        ])?;
        let dump = exported(&imported)?;
        let v = check(&made.join("model.pt"), &dump, &imported.join(ONNX_FILE))?;
        let (line, pass) = row(case.name, "PyTorch model.pt -> edas, ONNX", &v);
        rows.push(line);
        all &= pass;
    }
    println!(
        "| case | direction | images | tensors in the file | max abs logit | max abs logit diff: PyTorch vs edas | ONNX (onnxruntime) vs edas | |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!("{r}");
    }
    if !all {
        bail!("some logits differ by more than 1e-4 of their scale (table above)");
    }
    Ok(())
}
