//! The NAS-Bench-201 / NATS-Bench topology benchmark files, opened and
//! queried: a cell's test accuracy on each data set after the full
//! training (200 epochs), averaged over the benchmark's seeds.
//!
//! Layouts (from the public readers `nas-bench-201` 2.1 and `nats_bench`
//! 1.8 on PyPI; `bench/nb201_bench_files.py` writes small files in them):
//!
//! - `NAS-Bench-201-v1_0-e61699.pth`, `NAS-Bench-201-v1_1-096897.pth`: a
//!   dict saved by `torch.save` in PyTorch's legacy format (five pickles:
//!   magic number, protocol version, system info, the dict, storage keys)
//!   with `meta_archs` (the architecture strings by index), `arch2infos`
//!   (index -> `{'less': state, 'full': state}`, 12 and 200 epochs) and
//!   `evaluated_indexes`;
//! - NATS-Bench topology, full file `NATS-tss-v1_0-3ffb9.pickle.pbz2`: the
//!   same keys in a bz2-compressed pickle, `arch2infos[index]` mapping
//!   `'12'`/`'200'` to a state;
//! - NATS-Bench topology, simple directory `NATS-tss-v1_0-3ffb9-simple/`:
//!   `meta.pickle.pbz2` (`meta_archs`) and one `{index:06d}.pickle.pbz2` per
//!   cell (`{'12': state, '200': state}`).
//!
//! A state (an `ArchResults` state dict) holds `all_results`, keyed by
//! `(dataset, seed)`, each a `ResultsCount` state whose `eval_acc1es` maps
//! `'<set>@<epoch>'` to a percentage. The test accuracy is the readers'
//! `get_more_info(...)['test-accuracy']`: set `ori-test` on `cifar10`,
//! `x-test` on `cifar100` and `ImageNet16-120`, at the last epoch, the mean
//! over the seeds.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use edas_genotype::Nb201Cell;
use thiserror::Error;

use edas_pickle::{self as pickle, PickleError, Value};

/// A data set the benchmark trained every cell on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dataset {
    /// CIFAR-10 (trained on train + valid, tested on the test set).
    Cifar10,
    /// CIFAR-100.
    Cifar100,
    /// ImageNet16-120.
    ImageNet16,
}

impl Dataset {
    /// All three, in the benchmark's order.
    pub const ALL: [Dataset; 3] = [Dataset::Cifar10, Dataset::Cifar100, Dataset::ImageNet16];

    /// The benchmark's name of the data set.
    pub const fn name(self) -> &'static str {
        match self {
            Dataset::Cifar10 => "cifar10",
            Dataset::Cifar100 => "cifar100",
            Dataset::ImageNet16 => "ImageNet16-120",
        }
    }

    /// The evaluation set the readers report as test accuracy.
    const fn test_set(self) -> &'static str {
        match self {
            Dataset::Cifar10 => "ori-test",
            Dataset::Cifar100 | Dataset::ImageNet16 => "x-test",
        }
    }
}

/// Why a benchmark file cannot be used; every variant names the file.
#[derive(Debug, Error)]
pub enum BenchmarkError {
    /// The file cannot be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a pickle this reader understands.
    #[error("{} is not a readable benchmark pickle", path.display())]
    Pickle {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: PickleError,
    },
    /// The file reads, but not as a benchmark file.
    #[error("{}: {message}", path.display())]
    Layout {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        message: String,
    },
}

/// Where a cell's results are.
enum Source {
    /// All in memory (a `.pth` or a full NATS file): index -> its
    /// 200-epoch state.
    Loaded(HashMap<usize, Value>),
    /// One file per cell in this directory (NATS' simple layout).
    Directory(PathBuf),
}

/// An opened benchmark.
pub struct Benchmark {
    path: PathBuf,
    archs: Vec<Nb201Cell>,
    index: HashMap<Nb201Cell, usize>,
    source: Source,
}

impl Benchmark {
    /// Opens a benchmark file or NATS directory (detected from its form:
    /// a directory, a `.pbz2` file, or a PyTorch legacy `.pth`).
    pub fn open(path: &Path) -> Result<Benchmark, BenchmarkError> {
        let (archs_value, source) = if path.is_dir() {
            let meta = read_bz2_pickle(&path.join("meta.pickle.pbz2"))?;
            let archs = take_key(&meta, "meta_archs", &path.join("meta.pickle.pbz2"))?;
            (archs, Source::Directory(path.to_owned()))
        } else {
            let root = if path.to_string_lossy().ends_with(".pbz2") {
                read_bz2_pickle(path)?
            } else {
                read_legacy_pth(path)?
            };
            let archs = take_key(&root, "meta_archs", path)?;
            let infos = take_key(&root, "arch2infos", path)?;
            let mut loaded = HashMap::new();
            for (k, v) in infos.as_dict().unwrap_or_default() {
                let Some(i) = k.as_i64().and_then(|i| usize::try_from(i).ok()) else {
                    return Err(layout(path, "an `arch2infos` key that is not an index"));
                };
                let full = v
                    .get("full")
                    .or_else(|| v.get("200"))
                    .ok_or_else(|| layout(path, format!("cell {i} has no 200-epoch results")))?;
                loaded.insert(i, full.clone());
            }
            (archs, Source::Loaded(loaded))
        };
        let mut archs = Vec::new();
        for (i, v) in archs_value.as_seq().unwrap_or_default().iter().enumerate() {
            let text = v
                .as_str()
                .ok_or_else(|| layout(path, format!("`meta_archs[{i}]` is not a string")))?;
            let cell = Nb201Cell::parse(text)
                .map_err(|e| layout(path, format!("`meta_archs[{i}]`: {e}")))?;
            archs.push(cell);
        }
        if archs.is_empty() {
            return Err(layout(path, "`meta_archs` lists no architecture"));
        }
        let index = archs.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        Ok(Benchmark {
            path: path.to_owned(),
            archs,
            index,
            source,
        })
    }

    /// The file or directory it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.archs.len()
    }

    /// Whether it lists no cell (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.archs.is_empty()
    }

    /// The benchmark's index of `cell`.
    pub fn index_of(&self, cell: &Nb201Cell) -> Option<usize> {
        self.index.get(cell).copied()
    }

    /// The cell at `index`.
    pub fn cell(&self, index: usize) -> Option<&Nb201Cell> {
        self.archs.get(index)
    }

    /// `cell`'s test accuracy (percent) on `dataset` after 200 epochs, the
    /// mean over the benchmark's seeds; `None` when the benchmark does not
    /// hold the cell or that data set's results.
    pub fn test_accuracy(
        &self,
        cell: &Nb201Cell,
        dataset: Dataset,
    ) -> Result<Option<f64>, BenchmarkError> {
        let Some(i) = self.index_of(cell) else {
            return Ok(None);
        };
        let (state, file) = match &self.source {
            Source::Loaded(map) => match map.get(&i) {
                Some(s) => (s.clone(), self.path.clone()),
                None => return Ok(None),
            },
            Source::Directory(dir) => {
                let file = dir.join(format!("{i:06}.pickle.pbz2"));
                if !file.is_file() {
                    return Ok(None);
                }
                let all = read_bz2_pickle(&file)?;
                let state = all
                    .get("200")
                    .cloned()
                    .ok_or_else(|| layout(&file, "no 200-epoch results"))?;
                (state, file)
            }
        };
        mean_test_accuracy(&state, dataset).map_err(|m| layout(&file, format!("cell {i}: {m}")))
    }
}

fn layout(path: &Path, message: impl Into<String>) -> BenchmarkError {
    BenchmarkError::Layout {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn take_key(root: &Value, key: &str, path: &Path) -> Result<Value, BenchmarkError> {
    root.get(key).cloned().ok_or_else(|| {
        layout(
            path,
            format!("no `{key}` (not a NAS-Bench-201 or NATS-Bench file)"),
        )
    })
}

/// The mean over seeds of `dataset`'s test accuracy at the last epoch in
/// an `ArchResults` state.
fn mean_test_accuracy(state: &Value, dataset: Dataset) -> Result<Option<f64>, String> {
    let results = state
        .get("all_results")
        .and_then(Value::as_dict)
        .ok_or("no `all_results`")?;
    let mut accs = Vec::new();
    for (key, result) in results {
        let Some([name, _seed]) = key.as_seq().and_then(|k| <&[Value; 2]>::try_from(k).ok()) else {
            return Err("an `all_results` key that is not (dataset, seed)".into());
        };
        if name.as_str() != Some(dataset.name()) {
            continue;
        }
        let epochs = result
            .get("epochs")
            .and_then(Value::as_i64)
            .ok_or("a result without `epochs`")?;
        let key = format!("{}@{}", dataset.test_set(), epochs - 1);
        let acc = result
            .get("eval_acc1es")
            .and_then(|e| e.get(&key))
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("a {} result without `{key}`", dataset.name()))?;
        accs.push(acc);
    }
    #[allow(clippy::cast_precision_loss)] // a few seeds
    Ok((!accs.is_empty()).then(|| accs.iter().sum::<f64>() / accs.len() as f64))
}

/// The largest benchmark file read (the official `.pth` is about 2.2 GB).
const FILE_LIMIT: u64 = 8 << 30;

fn read_file(path: &Path) -> Result<Vec<u8>, BenchmarkError> {
    let io = |source| BenchmarkError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(FILE_LIMIT).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

fn read_bz2_pickle(path: &Path) -> Result<Value, BenchmarkError> {
    let compressed = read_file(path)?;
    let mut bytes = Vec::new();
    bzip2::read::BzDecoder::new(compressed.as_slice())
        .read_to_end(&mut bytes)
        .map_err(|source| BenchmarkError::Io {
            path: path.to_owned(),
            source,
        })?;
    let (value, _) = pickle::read(&bytes).map_err(|source| BenchmarkError::Pickle {
        path: path.to_owned(),
        source,
    })?;
    Ok(value)
}

/// The magic number opening PyTorch's legacy files, as `LONG1` bytes.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

fn read_legacy_pth(path: &Path) -> Result<Value, BenchmarkError> {
    let bytes = read_file(path)?;
    if bytes.starts_with(b"PK") {
        return Err(layout(
            path,
            "a zip-format .pth (PyTorch 1.6 and later); the official NAS-Bench-201 files are \
             in the legacy format, which this reader takes",
        ));
    }
    if !bytes
        .get(..32)
        .is_some_and(|h| h.windows(LEGACY_MAGIC.len()).any(|w| w == LEGACY_MAGIC))
    {
        return Err(layout(path, "not a PyTorch legacy file (no magic number)"));
    }
    let pickle_error = |source| BenchmarkError::Pickle {
        path: path.to_owned(),
        source,
    };
    let mut at = 0;
    // The magic number, the protocol version, the system info.
    for _ in 0..3 {
        let (_, n) = pickle::read(&bytes[at..]).map_err(pickle_error)?;
        at += n;
    }
    let (value, _) = pickle::read(&bytes[at..]).map_err(pickle_error)?;
    Ok(value)
}
