//! The optional backends that build offline: LibTorch (`tch`, from PyPI's
//! torch) and Vulkan, in one build; and the kit that measures a GPU machine
//! in one call.
//!
//! - `cargo xtask tch build`: a virtual environment with torch 2.11.0 under
//!   `target/torch-venv`, then `edas` with `--features tch,vulkan` into
//!   `target/gpu` (release, no debug info, stripped).
//! - `cargo xtask tch test [-- ARGS]`: `crates/edas-cli/tests/tch.rs` and
//!   `crates/edas-nn/tests/kernels.rs` on that build (`EDAS_TCH_DEVICE=cuda`
//!   runs them on GPU 0).
//! - `cargo xtask tch bench [BATCH] [STEPS]`: DARTS_V2's step by phase
//!   (forward, backward, SGD update), each op alone, and the EDAS/DARTS search
//!   steps on `--device cpu` (flex) and `--device tch`, and PyTorch's times,
//!   in one run, one table.
//! - `cargo xtask tch ops [BATCH] [STEPS] [ROUNDS]`: the ops whose kernels
//!   edas-nn owns, each alone, ours on LibTorch against PyTorch in paired,
//!   alternated rounds (the noise of a shared machine falls on both).
//! - `cargo xtask gpu-kit`: `target/gpu-kit/` with that `edas` (xz), the check
//!   script, the PyTorch reference and Debian's Vulkan loader, small enough to
//!   travel to a GPU machine (`scripts/gpu-check.sh` runs from it).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::torch_venv::{TORCH_VERSION, python, torch_lib};
use crate::{project_root, run_json};

/// The features of the optional-backend build.
const FEATURES: &str = "tch,vulkan";
/// The kit's size limit (what travels to the GPU machine with the tree).
const KIT_LIMIT_MIB: f64 = 48.0;

fn target() -> PathBuf {
    project_root().join("target")
}

/// `cargo SUBCOMMAND --target-dir target/gpu --release --locked -p edas-cli
/// --features tch,vulkan EXTRA...` with LibTorch from the environment
/// (torch-sys's `LIBTORCH_USE_PYTORCH`), release without debug info.
fn cargo_gpu(python: &Path, sub: &str, extra: &[&str]) -> Result<()> {
    let venv = python
        .parent()
        .and_then(Path::parent)
        .context("venv layout")?;
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let lib = torch_lib(python)?;
    let target_dir = target().join("gpu");
    let target_dir = target_dir.to_str().context("target path is not UTF-8")?;
    // The target directory goes before `extra`: anything after a `--` there
    // belongs to the test binary.
    let mut args = vec![
        sub,
        "--target-dir",
        target_dir,
        "--release",
        "--locked",
        "-p",
        "edas-cli",
        "--features",
        FEATURES,
    ];
    args.extend_from_slice(extra);
    eprintln!("LibTorch from {}", lib.display());
    crate::cargo_with(&args, |c| {
        c.env("VIRTUAL_ENV", venv)
            .env("PATH", path)
            .env("LIBTORCH_USE_PYTORCH", "1")
            // torch-sys 0.22 expects torch 2.9.0; 2.11.0 builds and runs.
            .env("LIBTORCH_BYPASS_VERSION_CHECK", "1")
            .env("LD_LIBRARY_PATH", &lib)
            .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
            .env("CARGO_PROFILE_RELEASE_STRIP", "symbols");
    })
}

/// Builds `target/gpu/release/edas` with `tch` and `vulkan`; returns it.
pub fn build() -> Result<PathBuf> {
    let python = python()?;
    cargo_gpu(&python, "build", &[])?;
    let bin = target().join("gpu").join("release").join("edas");
    eprintln!(
        "built {} (features {FEATURES}); run it with\n  LD_LIBRARY_PATH={} {} ... --device tch",
        bin.display(),
        torch_lib(&python)?.display(),
        bin.display()
    );
    Ok(bin)
}

/// `cargo xtask tch build|test|bench`.
pub fn tch(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("build") => build().map(|_| ()),
        Some("test") => {
            // Arguments after `test` go to the test binary (`-- --nocapture`).
            // edas-nn's kernel and op tests run on flex and LibTorch in this
            // build (and on wgpu with EDAS_TEST_WGPU=1).
            let mut extra = vec![
                "-p", "edas-nn", "--test", "tch", "--test", "kernels", "--test", "ops",
            ];
            extra.extend(args[1..].iter().map(String::as_str));
            cargo_gpu(&python()?, "test", &extra)
        }
        Some("bench") => bench(&args[1..]),
        Some("ops") => ops(&args[1..]),
        _ => bail!(
            "usage: cargo xtask tch build | test [-- ARGS] | bench [BATCH] [STEPS] | ops [BATCH] [STEPS] [ROUNDS]"
        ),
    }
}

/// `edas bench CASE --batch BATCH --steps STEPS --warmup 1 --device DEVICE`
/// with LibTorch at `lib`, burn's generic ops (`EDAS_KERNELS=burn`) or ours:
/// its JSON report.
fn edas_bench(
    bin: &Path,
    lib: &Path,
    [case, batch, steps, device]: [&str; 4],
    burn: bool,
) -> Result<serde_json::Value> {
    let mut c = Command::new(bin);
    c.args([
        "bench", case, "--batch", batch, "--steps", steps, "--warmup", "1", "--device", device,
    ])
    .env("LD_LIBRARY_PATH", lib);
    if burn {
        c.env("EDAS_KERNELS", "burn");
    } else {
        c.env_remove("EDAS_KERNELS");
    }
    run_json(&mut c)
}

fn median(v: &serde_json::Value) -> f64 {
    v["median_step_s"].as_f64().unwrap_or(f64::NAN)
}

/// `cargo xtask tch bench [BATCH] [STEPS]`: flex, tch and PyTorch on this
/// machine's CPU, same threads, one table.
fn bench(args: &[String]) -> Result<()> {
    let batch = args.first().map_or("32", String::as_str);
    let steps = args.get(1).map_or("3", String::as_str);
    let bin = build()?;
    let python = python()?;
    let lib = torch_lib(&python)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let script = project_root().join("bench").join("torch_darts.py");
    println!(
        "{threads} threads, batch {batch}, median of {steps} steps after one warm-up; torch {TORCH_VERSION}\n"
    );
    println!(
        "`burn`: burn's generic ops (`EDAS_KERNELS=burn`); `ours`: edas-nn's kernels (the default).\n"
    );
    println!(
        "| case | flex burn (s) | flex ours (s) | tch burn (s) | tch ours (s) | PyTorch (s) | flex / PyTorch | tch / PyTorch | peak MiB flex burn / ours | peak MiB tch burn / ours |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let edas = |case: &str, device: &str, burn: bool| {
        edas_bench(&bin, &lib, [case, batch, steps, device], burn)
    };
    // PyTorch's per-op times (`torch_darts.py ops`), one JSON line per op.
    let torch_ops = Command::new(&python)
        .arg(&script)
        .args(["ops", batch, "5"])
        .output()
        .context("cannot run torch_darts.py ops")?;
    let torch_op = |name: &str| -> f64 {
        String::from_utf8_lossy(&torch_ops.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["case"] == format!("op-{name}"))
            .map_or(f64::NAN, |v| median(&v))
    };
    let mut cases: Vec<(String, Option<Vec<String>>)> = vec![];
    for c in ["16", "36"] {
        cases.push((
            format!("train-c{c}-l20"),
            Some(vec![c.into(), "--phase".into(), "train".into()]),
        ));
    }
    for op in [
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    ] {
        cases.push((format!("op-{op}"), None));
    }
    for case in ["derived-l8", "edas-l8", "darts-l8", "pc-darts-l8"] {
        cases.push((case.into(), None));
    }
    let cell = |x: f64, digits: usize| {
        if x.is_nan() {
            "-".to_owned()
        } else {
            format!("{x:.digits$}")
        }
    };
    // [flex burn, flex ours, tch burn, tch ours].
    let print_row = |name: &str, t: [f64; 4], torch: f64, mib: Option<[f64; 4]>| {
        let mib = mib.map_or_else(
            || " | |".to_owned(),
            |m| {
                format!(
                    " {} / {} | {} / {} |",
                    cell(m[0], 0),
                    cell(m[1], 0),
                    cell(m[2], 0),
                    cell(m[3], 0)
                )
            },
        );
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} |{mib}",
            cell(t[0], 4),
            cell(t[1], 4),
            cell(t[2], 4),
            cell(t[3], 4),
            cell(torch, 4),
            cell(t[1] / torch, 2),
            cell(t[3] / torch, 2)
        );
    };
    let phase = |v: &serde_json::Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
    for (case, torch_args) in &cases {
        let runs = [
            edas(case, "cpu", true)?,
            edas(case, "cpu", false)?,
            edas(case, "tch", true)?,
            edas(case, "tch", false)?,
        ];
        let torch = match torch_args {
            Some(a) => {
                let (channels, rest) = a.split_first().context("channels")?;
                Some(run_json(
                    Command::new(&python)
                        .arg(&script)
                        .args([channels.as_str(), batch, steps, "--warmup", "1"])
                        .args(rest),
                )?)
            }
            None => None,
        };
        let torch_step = match (&torch, case.strip_prefix("op-")) {
            (Some(v), _) => median(v),
            (None, Some(op)) => torch_op(op),
            (None, None) => f64::NAN,
        };
        let mib = runs.each_ref().map(|v| phase(v, "peak_rss_mib"));
        print_row(case, runs.each_ref().map(median), torch_step, Some(mib));
        // The training step's phases (forward with the loss, backward, update).
        if let Some(torch) = &torch {
            for key in ["forward_s", "backward_s", "update_s"] {
                print_row(
                    &format!("&nbsp;&nbsp;{}", key.trim_end_matches("_s")),
                    runs.each_ref().map(|v| phase(v, key)),
                    phase(torch, key),
                    None,
                );
            }
        }
    }
    Ok(())
}

/// The DARTS ops that run edas-nn's kernels on LibTorch: max pooling, and
/// the separable and dilated convolutions (ReLU, depthwise, 1x1, BatchNorm).
const OWNED_OPS: [&str; 5] = [
    "max_pool_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
];

/// The median of `v` (NaN when empty).
fn median_of(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `cargo xtask tch ops [BATCH] [STEPS] [ROUNDS]`: each op of [`OWNED_OPS`]
/// alone, ours on LibTorch against PyTorch, paired: in every round each op
/// runs once in each (a fresh process, the median of STEPS steps after one
/// warm-up), ours first in even rounds and PyTorch first in odd ones, so
/// that a slow spell of a shared machine falls on both. The table gives
/// each op's median time over the rounds and its per-round ratios.
fn ops(args: &[String]) -> Result<()> {
    let batch = args.first().map_or("32", String::as_str);
    let steps = args.get(1).map_or("50", String::as_str);
    let rounds: usize = match args.get(2) {
        Some(r) => r
            .parse()
            .ok()
            .filter(|&r| r > 0)
            .with_context(|| format!("ROUNDS must be a positive integer, not `{r}`"))?,
        None => 5,
    };
    let bin = build()?;
    let python = python()?;
    let lib = torch_lib(&python)?;
    let script = project_root().join("bench").join("torch_darts.py");
    let ours = |op: &str| -> Result<f64> {
        let case = format!("op-{op}");
        Ok(median(&edas_bench(
            &bin,
            &lib,
            [&case, batch, steps, "tch"],
            false,
        )?))
    };
    let theirs = |op: &str| -> Result<f64> {
        let v = run_json(
            Command::new(&python)
                .arg(&script)
                .args(["ops", batch, steps, "--only", op]),
        )?;
        Ok(median(&v))
    };
    // Per op: (ours, PyTorch) seconds, one pair per round.
    let mut pairs: Vec<Vec<(f64, f64)>> = vec![Vec::new(); OWNED_OPS.len()];
    for round in 0..rounds {
        for (op, pairs) in OWNED_OPS.iter().zip(&mut pairs) {
            let (a, b) = if round % 2 == 0 {
                let a = ours(op)?;
                (a, theirs(op)?)
            } else {
                let b = theirs(op)?;
                (ours(op)?, b)
            };
            eprintln!(
                "round {}/{rounds} {op}: ours {:.2} ms, PyTorch {:.2} ms ({:.2})",
                round + 1,
                a * 1e3,
                b * 1e3,
                a / b
            );
            pairs.push((a, b));
        }
    }
    println!(
        "batch {batch}, [{batch}, 16, 32, 32], median of {steps} steps per process, {rounds} paired rounds; torch {TORCH_VERSION}\n"
    );
    println!(
        "| op | tch ours (ms) | PyTorch (ms) | ratio of medians | per-round ratio: median (min-max) | rounds within 1.2x |"
    );
    println!("|---|---|---|---|---|---|");
    for (op, pairs) in OWNED_OPS.iter().zip(pairs) {
        let ratios: Vec<f64> = pairs.iter().map(|(a, b)| a / b).collect();
        let within = ratios.iter().filter(|&&r| r <= 1.2).count();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                (lo.min(r), hi.max(r))
            });
        let ours = median_of(pairs.iter().map(|p| p.0).collect());
        let theirs = median_of(pairs.iter().map(|p| p.1).collect());
        println!(
            "| {op} | {:.2} | {:.2} | {:.2} | {:.2} ({lo:.2}-{hi:.2}) | {within} of {} |",
            ours * 1e3,
            theirs * 1e3,
            ours / theirs,
            median_of(ratios.clone()),
            ratios.len()
        );
    }
    Ok(())
}

/// Debian's Vulkan loader (amd64), for GPU machines without one.
fn download_vulkan_loader(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let lists = target().join("apt-amd64");
    std::fs::create_dir_all(lists.join("partial"))?;
    let opts = [
        "-oAPT::Architecture=amd64".to_owned(),
        "-oAPT::Architectures=amd64".to_owned(),
        format!("-oDir::State::Lists={}", lists.display()),
    ];
    let update = Command::new("apt-get")
        .args(&opts)
        .arg("update")
        .arg("-qq")
        .status()
        .context("cannot run apt-get (the kit's Vulkan loader comes from Debian)")?;
    if !update.success() {
        bail!("apt-get update failed");
    }
    let status = Command::new("apt-get")
        .args(&opts)
        .args(["download", "-qq", "libvulkan1"])
        .current_dir(dir)
        .status()?;
    if !status.success() {
        bail!("apt-get download libvulkan1 failed");
    }
    Ok(())
}

fn size_of(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        let mut total = 0;
        for entry in std::fs::read_dir(path)? {
            total += size_of(&entry?.path())?;
        }
        Ok(total)
    } else {
        Ok(meta.len())
    }
}

/// `cargo xtask gpu-kit`: builds and assembles `target/gpu-kit`.
pub fn kit() -> Result<()> {
    let bin = build()?;
    let root = project_root();
    let kit = target().join("gpu-kit");
    // Only what this task writes is replaced.
    for name in [
        "edas.xz",
        "gpu-check.sh",
        "torch_darts.py",
        "darts_model.py",
        "README.txt",
    ] {
        let p = kit.join(name);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot replace {}", p.display()))?;
        }
    }
    std::fs::create_dir_all(&kit)?;
    let copy = |from: &Path, name: &str| -> Result<()> {
        std::fs::copy(from, kit.join(name))
            .with_context(|| format!("cannot copy {} into the kit", from.display()))?;
        Ok(())
    };
    // xz: the stripped binary is ~85 MB (wgpu, cubecl, naga), ~13 MB packed.
    let packed = std::fs::File::create(kit.join("edas.xz"))?;
    let status = Command::new("xz")
        .args(["-9", "-T0", "-c"])
        .arg(&bin)
        .stdout(packed)
        .status()
        .context("cannot run xz (install xz-utils)")?;
    if !status.success() {
        bail!("xz failed on {}", bin.display());
    }
    copy(&root.join("scripts").join("gpu-check.sh"), "gpu-check.sh")?;
    copy(&root.join("bench").join("torch_darts.py"), "torch_darts.py")?;
    copy(&root.join("bench").join("darts_model.py"), "darts_model.py")?;
    let gl = kit.join("gl");
    if !gl.join(".complete").exists() {
        download_vulkan_loader(&gl)?;
        std::fs::write(gl.join(".complete"), "")?;
    }
    std::fs::write(
        kit.join("README.txt"),
        format!(
            "edas GPU kit (cargo xtask gpu-kit): `edas.xz`, edas with the tch (LibTorch {TORCH_VERSION}) and \
             vulkan backends, scripts/gpu-check.sh, bench/torch_darts.py with bench/darts_model.py and Debian's Vulkan loader (gl/).\n\
             On the GPU machine: ./gpu-check.sh [--out DIR] (docs/gpu.md). The binary loads LibTorch \
             from the torch that --python names (default /opt/torch/.venv/bin/python).\n"
        ),
    )?;
    let mib = size_of(&kit)? as f64 / (1024.0 * 1024.0);
    println!("{}: {mib:.1} MiB", kit.display());
    if mib > KIT_LIMIT_MIB {
        bail!(
            "the kit is {mib:.1} MiB, over its {KIT_LIMIT_MIB} MiB budget (64 MiB travel with a call, \
             the working tree included)"
        );
    }
    println!(
        "on the GPU machine, from the repository root: target/gpu-kit/gpu-check.sh --out \"$OUT\" \
         (carry target/gpu-kit)"
    );
    Ok(())
}
