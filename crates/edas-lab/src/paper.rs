//! The paper-scale experiments: `search-cifar10`,
//! `search-cifar100`, `train-cifar10`, `train-cifar100` and `imagenet` (search
//! on CIFAR-10, train the found cell on ImageNet). Each runs the config of its
//! experiment (configs/search, configs/train) with the data directory given,
//! on the device given, through the same skip/resume/start rule as `matrix`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use edas_run::files::GENOTYPE_JSON;
use edas_search::Strategy;

use crate::binary::{edas_binary, edas_binary_path, set_args};
use crate::local::run_step;
use crate::workspace::project_root;

/// The data sets the paper-scale tasks read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// CIFAR-10, binary version.
    Cifar10,
    /// CIFAR-100, binary version.
    Cifar100,
    /// ImageNet as `train/<class>/*` and `val/<class>/*`.
    Imagenet,
}

impl Data {
    /// The config name (`configs/search/<name>-*.toml`, `configs/train/<name>.toml`).
    fn name(self) -> &'static str {
        match self {
            Data::Cifar10 => "cifar10",
            Data::Cifar100 => "cifar100",
            Data::Imagenet => "imagenet",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Data::Cifar10 => "CIFAR-10",
            Data::Cifar100 => "CIFAR-100",
            Data::Imagenet => "ImageNet",
        }
    }
}

/// Checks that `dir` holds `data` in the layout edas reads, naming what is
/// missing and where to get it.
pub fn check_data(data: Data, dir: &Path) -> Result<()> {
    let (subdir, files, source): (&str, &[&str], &str) = match data {
        Data::Cifar10 => (
            "cifar-10-batches-bin",
            &[
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "data_batch_4.bin",
                "data_batch_5.bin",
                "test_batch.bin",
            ],
            "unpack cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html there, or add --download",
        ),
        Data::Cifar100 => (
            "cifar-100-binary",
            &["train.bin", "test.bin"],
            "unpack cifar-100-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html there, or add --download",
        ),
        Data::Imagenet => {
            for part in ["train", "val"] {
                let p = dir.join(part);
                let classes = std::fs::read_dir(&p)
                    .map(|rd| {
                        rd.filter_map(Result::ok)
                            .filter(|e| e.path().is_dir())
                            .count()
                    })
                    .unwrap_or(0);
                if classes == 0 {
                    bail!(
                        "ImageNet not found: {} has no class folders (expected {}/train/<class>/*.JPEG \
                         and {}/val/<class>/*.JPEG, ILSVRC2012 with the validation images sorted into \
                         class folders; it cannot be downloaded by edas)",
                        p.display(),
                        dir.display(),
                        dir.display()
                    );
                }
            }
            return Ok(());
        }
    };
    if !dir.is_dir() {
        bail!(
            "{} not found: {} is not a directory ({source})",
            data.title(),
            dir.display()
        );
    }
    let base = if dir.join(files[0]).is_file() {
        dir.to_path_buf()
    } else {
        dir.join(subdir)
    };
    let missing: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !base.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} not found: {} lacks {} (expected the binary version in {} or {}/{subdir}; {source})",
            data.title(),
            base.display(),
            missing.join(", "),
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Options of the paper-scale tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct Options {
    /// The data directory (CIFAR's binary version, or ImageNet as
    /// `train/<class>/*` and `val/<class>/*`).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// `imagenet`: the CIFAR-10 directory to search a cell on.
    #[arg(long, value_name = "DIR")]
    pub cifar_data: Option<PathBuf>,
    /// Fetch CIFAR into the data directory when it is absent.
    #[arg(long)]
    pub download: bool,
    /// The device: cpu, cuda[:N], vulkan[:N] or wgpu[:N].
    #[arg(long, value_name = "D", default_value = "cpu")]
    pub device: String,
    /// The search strategy (searches).
    #[arg(long, value_name = "S", default_value = "edas", value_parser = strategy)]
    pub strategy: String,
    /// The seed (default: the config's).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Training: a genotype name, file or search run directory.
    #[arg(long, value_name = "G")]
    pub genotype: Option<String>,
    /// The run directory (default under `runs/paper/`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A config override, passed on to edas (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// `imagenet`: a config override of the CIFAR-10 search (repeatable).
    #[arg(long = "search-set", value_name = "KEY=VALUE")]
    pub search_sets: Vec<String>,
    /// A prebuilt edas binary (default: build one).
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
}

/// The `--strategy` value: one of `edas_search::Strategy`'s names (each has
/// `configs/search/<data>-<strategy>.toml`; a test holds the list to the
/// shipped configs).
fn strategy(name: &str) -> Result<String, String> {
    let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
    if names.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(format!("expected one of {}", names.join(", ")))
    }
}

/// The cargo feature a device needs.
pub fn feature(device: &str) -> Result<Option<&'static str>> {
    let backend = device.split(':').next().unwrap_or(device);
    Ok(match backend {
        "cpu" | "flex" => None,
        "cuda" => Some("cuda"),
        "vulkan" => Some("vulkan"),
        "wgpu" => Some("wgpu"),
        "tch" | "tch-cuda" => Some("tch"),
        other => bail!(
            "--device {other}: expected cpu, cuda[:N], vulkan[:N], wgpu[:N], tch or tch-cuda[:N]"
        ),
    })
}

/// The `--set`/`--device` arguments a run gets from `o` for data in `dir`.
fn run_args(o: &Options, dir: &Path, download: bool) -> Vec<String> {
    let mut a = vec![
        "--set".to_owned(),
        format!("data.root={}", toml_string(dir)),
    ];
    if download {
        a.extend(["--set".to_owned(), "data.download=true".to_owned()]);
    }
    a.extend(["--device".to_owned(), o.device.clone()]);
    a.extend(set_args(&o.sets));
    a
}

/// A path as a TOML string value (so that `--set` never reads it as a number).
fn toml_string(p: &Path) -> String {
    toml::Value::String(p.display().to_string()).to_string()
}

fn data_dir(o: &Options, data: Data) -> Result<PathBuf> {
    let dir = o.data.clone().with_context(|| {
        format!(
            "no data directory: pass --data DIR (the {} directory){}",
            data.title(),
            if data == Data::Imagenet {
                ""
            } else {
                "; with --download it is fetched there"
            }
        )
    })?;
    Ok(absolute(&dir))
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p))
    }
}

fn binary(o: &Options) -> Result<PathBuf> {
    match &o.bin {
        Some(b) if b.is_file() => Ok(absolute(b)),
        Some(b) => bail!("--bin {}: no such file", b.display()),
        // LibTorch is not a cargo dependency: `cargo xtask tch build` puts
        // it beside the binary it builds, and that binary is used here.
        None if feature(&o.device)? == Some("tch") => {
            let bin = edas_binary_path(Some("tch"));
            if !bin.is_file() {
                bail!(
                    "--device {}: build edas with LibTorch first (`cargo xtask tch build`: torch from \
                     PyPI, then {}), or pass --bin PATH",
                    o.device,
                    bin.display()
                );
            }
            Ok(bin)
        }
        None => edas_binary(feature(&o.device)?),
    }
}

/// A search of CIFAR-10/100 `data` in `dir`: `(run dir, start arguments)`.
pub fn search_plan(o: &Options, data: Data, dir: &Path) -> (PathBuf, Vec<String>) {
    let name = data.name();
    let out = o.out.clone().map_or_else(
        || {
            project_root().join(format!(
                "runs/paper/search-{name}-{}{}",
                o.strategy,
                o.seed.map(|s| format!("-s{s}")).unwrap_or_default()
            ))
        },
        |p| absolute(&p),
    );
    let mut start = vec![
        "--config".to_owned(),
        format!("configs/search/{name}-{}.toml", o.strategy),
    ];
    start.extend(run_args(o, dir, o.download));
    (out, start)
}

/// `search-cifar10` / `search-cifar100`.
pub fn search(data: Data, o: &Options) -> Result<()> {
    let dir = data_dir(o, data)?;
    if !o.download {
        check_data(data, &dir)?;
    }
    let bin = binary(o)?;
    let (out, start) = search_plan(o, data, &dir);
    run_step(&bin, "search", &out, o.seed, start)?;
    Ok(())
}

/// The genotype a training uses: `--genotype`, else the EDAS search run of
/// the same data set made by `search-<name>`.
fn genotype(o: &Options, name: &str) -> Result<String> {
    if let Some(g) = &o.genotype {
        return Ok(g.clone());
    }
    let run = project_root().join(format!("runs/paper/search-{name}-edas"));
    if run.join(GENOTYPE_JSON).is_file() {
        return Ok(run.display().to_string());
    }
    bail!(
        "no genotype: pass --genotype NAME|FILE|RUN_DIR (e.g. DARTS_V2), or run \
         `cargo xtask search-{name} --data DIR` first (its run {} has no genotype.json yet)",
        run.display()
    )
}

/// `train-cifar10` / `train-cifar100`.
pub fn train(data: Data, o: &Options) -> Result<()> {
    let name = data.name();
    let dir = data_dir(o, data)?;
    if !o.download {
        check_data(data, &dir)?;
    }
    let g = genotype(o, name)?;
    let bin = binary(o)?;
    let out = o.out.clone().map_or_else(
        || {
            project_root().join(format!(
                "runs/paper/train-{name}{}",
                o.seed.map(|s| format!("-s{s}")).unwrap_or_default()
            ))
        },
        |p| absolute(&p),
    );
    let mut start = vec![
        "--genotype".to_owned(),
        g,
        "--config".to_owned(),
        format!("configs/train/{name}.toml"),
    ];
    start.extend(run_args(o, &dir, o.download));
    run_step(&bin, "train", &out, o.seed, start)
}

/// `imagenet`: search on CIFAR-10 (unless `--genotype`), then train on
/// ImageNet.
pub fn imagenet(o: &Options) -> Result<()> {
    let dir = data_dir(o, Data::Imagenet)?;
    check_data(Data::Imagenet, &dir)?;
    let root = o.out.clone().map_or_else(
        || project_root().join("runs/paper/imagenet"),
        |p| absolute(&p),
    );
    let bin = binary(o)?;
    let genotype = match &o.genotype {
        Some(g) => g.clone(),
        None => {
            let cifar = absolute(o.cifar_data.as_ref().context(
                "imagenet needs a cell: pass --genotype NAME|FILE|RUN_DIR, or --cifar-data DIR \
                 (CIFAR-10) to search one first",
            )?);
            if !o.download {
                check_data(Data::Cifar10, &cifar)?;
            }
            let search = Options {
                out: Some(root.join("search")),
                sets: o.search_sets.clone(),
                ..o.clone()
            };
            let (out, start) = search_plan(&search, Data::Cifar10, &cifar);
            run_step(&bin, "search", &out, o.seed, start)?;
            out.display().to_string()
        }
    };
    let mut start = vec![
        "--genotype".to_owned(),
        genotype,
        "--config".to_owned(),
        "configs/train/imagenet.toml".to_owned(),
    ];
    start.extend(run_args(o, &dir, false));
    run_step(&bin, "train", &root.join("train"), o.seed, start)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn strategies_are_the_shipped_configs() {
        // Every data set's search configs name the same strategies as
        // `Strategy::ALL`: a new strategy fails here until it has configs.
        for data in ["cifar10", "cifar100", "imagenet"] {
            let mut found: Vec<String> = std::fs::read_dir(project_root().join("configs/search"))
                .unwrap()
                .filter_map(|e| {
                    let name = e.unwrap().file_name().into_string().unwrap();
                    name.strip_prefix(&format!("{data}-"))?
                        .strip_suffix(".toml")
                        .map(str::to_owned)
                })
                .collect();
            found.sort();
            let mut listed: Vec<String> =
                Strategy::ALL.iter().map(|s| s.name().to_owned()).collect();
            listed.sort();
            assert_eq!(found, listed, "{data}");
        }
    }

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn parse(s: &str) -> Result<Options, clap::Error> {
        crate::cli::parse_as::<Options>(&s.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn missing_or_partial_data_is_named() {
        let tmp = std::env::temp_dir().join(format!("edas-xtask-data-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let e = check_data(Data::Cifar10, &tmp).unwrap_err().to_string();
        assert!(
            e.contains("CIFAR-10 not found") && e.contains("not a directory"),
            "{e}"
        );
        let bin = tmp.join("cifar-10-batches-bin");
        std::fs::create_dir_all(&bin).unwrap();
        for f in ["data_batch_1.bin", "data_batch_2.bin", "test_batch.bin"] {
            std::fs::write(bin.join(f), b"x").unwrap();
        }
        let e = check_data(Data::Cifar10, &tmp).unwrap_err().to_string();
        assert!(
            e.contains("data_batch_3.bin, data_batch_4.bin, data_batch_5.bin")
                && !e.contains("test_batch"),
            "{e}"
        );
        for f in ["data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"] {
            std::fs::write(bin.join(f), b"x").unwrap();
        }
        check_data(Data::Cifar10, &tmp).unwrap();
        // The batches directory itself is accepted too.
        check_data(Data::Cifar10, &bin).unwrap();
        let e = check_data(Data::Cifar100, &tmp).unwrap_err().to_string();
        assert!(e.contains("train.bin, test.bin"), "{e}");
        let e = check_data(Data::Imagenet, &tmp).unwrap_err().to_string();
        assert!(e.contains("train has no class folders"), "{e}");
        std::fs::create_dir_all(tmp.join("train/n01440764")).unwrap();
        std::fs::create_dir_all(tmp.join("val/n01440764")).unwrap();
        check_data(Data::Imagenet, &tmp).unwrap();
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn options_and_command_lines() {
        let o = parse("--data /d --device cuda:1 --strategy gdas --seed 3 --set epochs=2").unwrap();
        assert_eq!(feature(&o.device).unwrap(), Some("cuda"));
        assert_eq!(feature("cpu").unwrap(), None);
        assert!(feature("tpu").is_err());
        assert_eq!(feature("tch-cuda:1").unwrap(), Some("tch"));
        let (out, start) = search_plan(&o, Data::Cifar100, Path::new("/d"));
        assert!(
            out.ends_with("runs/paper/search-cifar100-gdas-s3"),
            "{}",
            out.display()
        );
        assert_eq!(
            start,
            args(
                "--config configs/search/cifar100-gdas.toml --set data.root=\"/d\" \
                 --device cuda:1 --set epochs=2"
            )
        );
        assert_eq!(parse("--strategy pc-darts").unwrap().strategy, "pc-darts");
        let e = parse("--strategy pdarts").unwrap_err().to_string();
        assert!(
            e.contains("expected one of edas, darts, darts2, pc-darts"),
            "{e}"
        );
        assert!(parse("--seed x").is_err());
        assert!(parse("--data").is_err());
        assert!(parse("--frobnicate").is_err());
        let e = data_dir(&parse("").unwrap(), Data::Cifar10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--data DIR"), "{e}");
        let e = imagenet(&parse("--data /nonexistent-imagenet").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("ImageNet not found"), "{e}");
    }
}
