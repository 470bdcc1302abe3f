//! Importing weights of a PyTorch DARTS network: a `model.pt` saved by
//! DARTS' `train.py` (`torch.save(model.state_dict())` of `NetworkCIFAR` or
//! `NetworkImageNet`), a checkpoint dict holding such a state dict (under
//! any key, with or without `DataParallel`'s `module.` prefix), or a
//! safetensors file with the same names (what [`crate::export`] writes).
//!
//! The names are DARTS' ([`crate::export::PYTORCH_NAMES`] read backwards,
//! for the network at hand, so that one table serves both directions);
//! burn's PyTorch reader (`burn-store`) reads the file and transposes the
//! linear weights. Every tensor of the network must be in the file with its
//! shape, and every tensor of the state dict must belong to the network
//! (BatchNorm's `num_batches_tracked` counters aside): anything else is an
//! [`ImportError`] listing the names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{
    FloatCastAdapter, KeyRemapper, ModuleAdapter, ModuleSnapshot, ModuleStore,
    PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};
use edas_nn::{NetKind, Network};

use crate::export::PYTORCH_NAMES;

/// Why weights cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read as PyTorch or safetensors weights.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The file holds no DARTS network (no `classifier.weight` and cells).
    #[error("{path}: no DARTS network in it ({message})")]
    NotDarts {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        message: String,
    },
    /// The state dict does not fit the network built for it.
    #[error("{path}: the weights do not fit the network{}", mismatch_text(.missing, .unknown, .errors))]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The network's tensors the file lacks (DARTS names).
        missing: Vec<String>,
        /// The file's tensors the network lacks (DARTS names).
        unknown: Vec<String>,
        /// Tensors of the wrong shape or type.
        errors: Vec<String>,
    },
    /// [`PYTORCH_NAMES`] holds an invalid pattern (a bug).
    #[error("the DARTS name table is invalid: {0}")]
    Names(String),
}

/// Lists of at most 12 names each, for [`ImportError::Mismatch`].
fn mismatch_text(missing: &[String], unknown: &[String], errors: &[String]) -> String {
    let mut out = String::new();
    for (what, names) in [
        ("missing from the file", missing),
        ("in the file but not in the network", unknown),
        ("of the wrong shape", errors),
    ] {
        if names.is_empty() {
            continue;
        }
        let shown: Vec<&str> = names.iter().take(12).map(String::as_str).collect();
        let more = names.len().saturating_sub(shown.len());
        out.push_str(&format!(
            "; {} {what}: {}{}",
            names.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    out
}

/// What a DARTS state dict says about the network it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DartsShape {
    /// `NetworkCIFAR` (`stem.*`) or `NetworkImageNet` (`stem0.*`, `stem1.*`).
    pub kind: NetKind,
    /// Input image channels.
    pub in_channels: usize,
    /// Initial channels C.
    pub channels: usize,
    /// Cells.
    pub layers: usize,
    /// Classes of the classifier.
    pub classes: usize,
    /// Whether the auxiliary head's weights are there.
    pub auxiliary: bool,
}

/// The tensors of a weights file that belong to its DARTS network, under
/// DARTS' names (the container prefix stripped).
pub struct DartsWeights {
    path: PathBuf,
    /// The prefix the state dict sits under (`state_dict.module.`), or "".
    prefix: String,
    /// Tensors outside that prefix (an optimizer's state), left alone.
    outside: usize,
    tensors: BTreeMap<String, PackTensor>,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportReport {
    /// Tensors loaded into the network.
    pub loaded: usize,
    /// BatchNorm `num_batches_tracked` counters skipped.
    pub counters: usize,
    /// The container prefix the state dict sat under ("" for a bare one).
    pub prefix: String,
    /// Tensors of the file outside the state dict, left alone.
    pub outside: usize,
}

/// PyTorch's BatchNorm step counter, which burn's BatchNorm does not keep.
const COUNTER: &str = "num_batches_tracked";

impl DartsWeights {
    /// Reads `path`: safetensors when it ends in `.safetensors`, otherwise a
    /// PyTorch file (`torch.save`, zip or legacy format).
    pub fn read(path: &Path) -> Result<DartsWeights, ImportError> {
        let read_err = |message: String| ImportError::Read {
            path: path.to_owned(),
            message,
        };
        edas_fs::require_file(path).map_err(|e| read_err(e.reason()))?;
        let all: BTreeMap<String, PackTensor> =
            if path.extension().is_some_and(|e| e == "safetensors") {
                let mut store = SafetensorsStore::from_file(path);
                store
                    .get_all_tensors()
                    .map_err(|e| read_err(e.to_string()))?
                    .clone()
            } else {
                // DARTS' Sequential indices have gaps (ReLUs hold no
                // tensors); they are matched as they are.
                let mut store = PytorchStore::from_file(path).map_indices_contiguous(false);
                store
                    .get_all_tensors()
                    .map_err(|e| read_err(e.to_string()))?
                    .clone()
            };
        let prefix = state_dict_prefix(&all).ok_or_else(|| {
            let names: Vec<&str> = all.keys().take(8).map(String::as_str).collect();
            ImportError::NotDarts {
                path: path.to_owned(),
                message: if names.is_empty() {
                    "it holds no tensors".into()
                } else {
                    format!(
                        "no `classifier.weight` beside `cells.*`; its first names: {}",
                        names.join(", ")
                    )
                },
            }
        })?;
        let total = all.len();
        let tensors: BTreeMap<String, PackTensor> = all
            .into_iter()
            .filter_map(|(k, mut t)| {
                let name = k.strip_prefix(&prefix)?.to_owned();
                t.name = name.clone();
                Some((name, t))
            })
            .collect();
        Ok(DartsWeights {
            path: path.to_owned(),
            prefix,
            outside: total - tensors.len(),
            tensors,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the state dict (without its container prefix).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    fn dims(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// The network the weights belong to, read off the tensor shapes:
    /// the stem gives the kind, the input and initial channels, the
    /// classifier the classes, the highest cell index the cells.
    pub fn shape(&self) -> Result<DartsShape, ImportError> {
        let not_darts = |message: String| ImportError::NotDarts {
            path: self.path.clone(),
            message,
        };
        let dims4 = |name: &str| -> Result<[usize; 4], ImportError> {
            match self.dims(name) {
                Some(&[a, b, c, d]) => Ok([a, b, c, d]),
                Some(d) => Err(not_darts(format!("`{name}` has shape {d:?}, not 4-D"))),
                None => Err(not_darts(format!("no `{name}`"))),
            }
        };
        let (kind, in_channels, channels) = if self.tensors.contains_key("stem.0.weight") {
            let [c3, cin, ..] = dims4("stem.0.weight")?;
            (NetKind::Cifar, cin, c3 / 3)
        } else if self.tensors.contains_key("stem0.0.weight") {
            let [_, cin, ..] = dims4("stem0.0.weight")?;
            let [c, ..] = dims4("stem0.3.weight")?;
            (NetKind::Imagenet, cin, c)
        } else {
            return Err(not_darts(
                "neither `stem.0.weight` (NetworkCIFAR) nor `stem0.0.weight` (NetworkImageNet)"
                    .into(),
            ));
        };
        let classes = match self.dims("classifier.weight") {
            Some(&[classes, _]) => classes,
            other => {
                return Err(not_darts(format!(
                    "`classifier.weight` has shape {other:?}, not [classes, features]"
                )));
            }
        };
        let layers = self
            .names()
            .filter_map(|n| {
                n.strip_prefix("cells.")?
                    .split('.')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .map_or(0, |i| i + 1);
        Ok(DartsShape {
            kind,
            in_channels,
            channels,
            layers,
            classes,
            auxiliary: self.names().any(|n| n.starts_with("auxiliary_head.")),
        })
    }

    /// Loads the weights into `net`, which must have exactly the file's
    /// tensors (DARTS names) with the same shapes.
    pub fn load_into(&self, net: &mut Network) -> Result<ImportReport, ImportError> {
        let mismatch = |missing, unknown, errors| ImportError::Mismatch {
            path: self.path.clone(),
            missing,
            unknown,
            errors,
        };
        // DARTS name -> burn path, for this network.
        let burn_of: BTreeMap<String, String> = pytorch_names(net)?
            .into_iter()
            .map(|(burn, pytorch)| (pytorch, burn))
            .collect();
        let counters = self.names().filter(|n| n.ends_with(COUNTER)).count();
        let unknown: Vec<String> = self
            .names()
            .filter(|n| !n.ends_with(COUNTER) && !burn_of.contains_key(*n))
            .map(str::to_owned)
            .collect();
        let missing: Vec<String> = burn_of
            .keys()
            .filter(|n| !self.tensors.contains_key(*n))
            .cloned()
            .collect();
        if !missing.is_empty() || !unknown.is_empty() {
            return Err(mismatch(missing, unknown, Vec::new()));
        }
        let tensors: Vec<PackTensor> = burn_of
            .iter()
            .filter_map(|(pytorch, burn)| {
                let mut t = self.tensors.get(pytorch)?.clone();
                t.name = burn.clone();
                Some(t)
            })
            .collect();
        // Weights saved in another float type (half, double) take the network's.
        let dtype = net.classifier.weight.val().dtype();
        let adapter = PyTorchToBurnAdapter.chain(FloatCastAdapter::to(dtype));
        let result = net.apply(tensors, None, Some(Box::new(adapter)), false);
        let pytorch_of: BTreeMap<&str, &str> = burn_of
            .iter()
            .map(|(p, b)| (b.as_str(), p.as_str()))
            .collect();
        let rename = |burn: &str| pytorch_of.get(burn).map_or(burn, |p| *p).to_owned();
        if !result.errors.is_empty() || !result.missing.is_empty() {
            let errors = result
                .errors
                .iter()
                .map(|e| {
                    // The applier names burn paths; say DARTS' names.
                    let mut text = e.to_string();
                    for (burn, pytorch) in &pytorch_of {
                        if text.contains(&format!("'{burn}'")) {
                            text = text.replace(&format!("'{burn}'"), &format!("'{pytorch}'"));
                            break;
                        }
                    }
                    text
                })
                .collect();
            let missing = result.missing.iter().map(|(p, _)| rename(p)).collect();
            return Err(mismatch(missing, Vec::new(), errors));
        }
        Ok(ImportReport {
            loaded: result.applied.len(),
            counters,
            prefix: self.prefix.clone(),
            outside: self.outside,
        })
    }
}

/// Each tensor of `net` as `(burn path, DARTS name)`, through
/// [`PYTORCH_NAMES`].
pub fn pytorch_names(net: &Network) -> Result<Vec<(String, String)>, ImportError> {
    let remapper = KeyRemapper::from_patterns(PYTORCH_NAMES.to_vec())
        .map_err(|e| ImportError::Names(e.to_string()))?;
    let (_, names) = remapper.remap(net.collect(None, None, false));
    Ok(names
        .into_iter()
        .map(|(pytorch, burn)| (burn, pytorch))
        .collect())
}

/// The prefix under which a DARTS state dict sits among `tensors`: ""
/// for a bare state dict, `state_dict.` or `module.` or both for a
/// checkpoint dict or a `DataParallel` model; the candidate that holds the
/// most names wins.
fn state_dict_prefix(tensors: &BTreeMap<String, PackTensor>) -> Option<String> {
    const ANCHOR: &str = "classifier.weight";
    let candidates: BTreeSet<&str> = tensors
        .keys()
        .filter_map(|k| k.strip_suffix(ANCHOR))
        .filter(|p| p.is_empty() || p.ends_with('.'))
        .filter(|p| !p.ends_with("auxiliary_head."))
        .collect();
    candidates
        .into_iter()
        .map(|p| {
            let cells = format!("{p}cells.");
            let n = tensors.keys().filter(|k| k.starts_with(&cells)).count();
            (n, p)
        })
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, p)| (*n, std::cmp::Reverse(p.len())))
        .map(|(_, p)| p.to_owned())
}
