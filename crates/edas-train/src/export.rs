//! Exporting a trained network to safetensors with PyTorch-style parameter
//! names, so that PyTorch code can load it: DARTS' `model.py` layout for
//! DARTS' networks, AutoDL-Projects' `TinyNetwork` layout (the network the
//! NAS-Bench-201 benchmark trained) for the NAS-Bench-201 network.

use std::path::Path;

use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use edas_nn::Model;

use edas_run::{Result, RunError};

/// `(burn path pattern, PyTorch replacement)`, applied in order. burn paths
/// name enum variants (`Cifar`, `SepConv`, `Conv`...); DARTS' modules are
/// `nn.Sequential`s indexed by position.
pub const PYTORCH_NAMES: &[(&str, &str)] = &[
    // Stems.
    (r"^stem\.Cifar\.conv\.", "stem.0."),
    (r"^stem\.Cifar\.bn\.", "stem.1."),
    (r"^stem\.ImageNet\.conv0a\.", "stem0.0."),
    (r"^stem\.ImageNet\.bn0a\.", "stem0.1."),
    (r"^stem\.ImageNet\.conv0b\.", "stem0.3."),
    (r"^stem\.ImageNet\.bn0b\.", "stem0.4."),
    (r"^stem\.ImageNet\.conv1\.", "stem1.1."),
    (r"^stem\.ImageNet\.bn1\.", "stem1.2."),
    // Cell preprocessing.
    (r"\.pre0\.Reduce\.conv1\.", ".preprocess0.conv_1."),
    (r"\.pre0\.Reduce\.conv2\.", ".preprocess0.conv_2."),
    (r"\.pre0\.Reduce\.bn\.", ".preprocess0.bn."),
    (r"\.pre0\.Conv\.conv\.", ".preprocess0.op.1."),
    (r"\.pre0\.Conv\.bn\.", ".preprocess0.op.2."),
    (r"\.pre1\.conv\.", ".preprocess1.op.1."),
    (r"\.pre1\.bn\.", ".preprocess1.op.2."),
    // Ops.
    (r"\.ops\.(\d+)\.Sep\.dw1\.", "._ops.$1.op.1."),
    (r"\.ops\.(\d+)\.Sep\.pw1\.", "._ops.$1.op.2."),
    (r"\.ops\.(\d+)\.Sep\.bn1\.", "._ops.$1.op.3."),
    (r"\.ops\.(\d+)\.Sep\.dw2\.", "._ops.$1.op.5."),
    (r"\.ops\.(\d+)\.Sep\.pw2\.", "._ops.$1.op.6."),
    (r"\.ops\.(\d+)\.Sep\.bn2\.", "._ops.$1.op.7."),
    (r"\.ops\.(\d+)\.Dil\.dw\.", "._ops.$1.op.1."),
    (r"\.ops\.(\d+)\.Dil\.pw\.", "._ops.$1.op.2."),
    (r"\.ops\.(\d+)\.Dil\.bn\.", "._ops.$1.op.3."),
    (r"\.ops\.(\d+)\.Reduce\.conv1\.", "._ops.$1.conv_1."),
    (r"\.ops\.(\d+)\.Reduce\.conv2\.", "._ops.$1.conv_2."),
    (r"\.ops\.(\d+)\.Reduce\.bn\.", "._ops.$1.bn."),
    // Auxiliary head.
    (r"^aux\.conv1\.", "auxiliary_head.features.2."),
    (r"^aux\.bn1\.", "auxiliary_head.features.3."),
    (r"^aux\.conv2\.", "auxiliary_head.features.5."),
    (r"^aux\.bn2\.", "auxiliary_head.features.6."),
    (r"^aux\.classifier\.", "auxiliary_head.classifier."),
    // BatchNorm parameters.
    (r"\.gamma$", ".weight"),
    (r"\.beta$", ".bias"),
];

/// `(burn path pattern, PyTorch replacement)` for the NAS-Bench-201
/// network, in the layout of the benchmark's `TinyNetwork`: `stem` (conv,
/// BN), `cells` (the searched cells and, at positions N and 2N+1, the
/// residual blocks), each cell's `layers` in edge order, `ReLUConvBN` as
/// `op.1` (conv) and `op.2` (BN), a block's shortcut as `downsample.1`
/// (after the pooling at `.0`), `lastact.0` (BN), `classifier`.
pub const NB201_PYTORCH_NAMES: &[(&str, &str)] = &[
    (r"^stem_conv\.", "stem.0."),
    (r"^stem_bn\.", "stem.1."),
    (
        r"^layers\.(\d+)\.Cell\.edges\.(\d+)\.Conv\.conv\.",
        "cells.$1.layers.$2.op.1.",
    ),
    (
        r"^layers\.(\d+)\.Cell\.edges\.(\d+)\.Conv\.bn\.",
        "cells.$1.layers.$2.op.2.",
    ),
    (
        r"^layers\.(\d+)\.Res\.conv_a\.conv\.",
        "cells.$1.conv_a.op.1.",
    ),
    (
        r"^layers\.(\d+)\.Res\.conv_a\.bn\.",
        "cells.$1.conv_a.op.2.",
    ),
    (
        r"^layers\.(\d+)\.Res\.conv_b\.conv\.",
        "cells.$1.conv_b.op.1.",
    ),
    (
        r"^layers\.(\d+)\.Res\.conv_b\.bn\.",
        "cells.$1.conv_b.op.2.",
    ),
    (r"^layers\.(\d+)\.Res\.shortcut\.", "cells.$1.downsample.1."),
    (r"^last_bn\.", "lastact.0."),
    (r"\.gamma$", ".weight"),
    (r"\.beta$", ".bias"),
];

/// Writes `net`'s parameters and BatchNorm statistics to `path` as
/// safetensors with PyTorch names and layouts (linear weights transposed to
/// `[out, in]`), replacing the file if it exists (the caller decides whether
/// that is allowed) by the file rules of [`edas_fs::replace_with`]: never
/// over a device, FIFO or directory, a symlink replaced rather than
/// followed, a new file with the umask's mode.
pub fn export_safetensors(net: &Model, path: &Path) -> Result<()> {
    match net {
        Model::Darts(n) => write_safetensors(n, PYTORCH_NAMES, path),
        Model::Nb201(n) => write_safetensors(n, NB201_PYTORCH_NAMES, path),
    }
}

/// [`export_safetensors`] of one network with its name mapping.
fn write_safetensors<M: Module + ModuleSnapshot>(
    net: &M,
    names: &[(&str, &str)],
    path: &Path,
) -> Result<()> {
    edas_fs::replace_with(path, |tmp| {
        // burn writes through its own scratch file and gives it the mode of
        // the file it replaces: `tmp`, created with the umask's mode.
        let mut store = SafetensorsStore::from_file(tmp)
            .overwrite(true)
            .with_to_adapter(BurnToPyTorchAdapter)
            .metadata("format", "pt")
            .metadata("producer", "edas");
        for (from, to) in names {
            store = store.with_key_remapping(*from, *to);
        }
        net.save_into(&mut store)
            .map_err(|e| format!("safetensors: {e}"))
    })
    .map_err(RunError::from)
}

/// The burn path of every tensor of `net` (what [`PYTORCH_NAMES`] or
/// [`NB201_PYTORCH_NAMES`] maps).
pub fn burn_paths(net: &Model) -> Vec<String> {
    let snapshots = match net {
        Model::Darts(n) => n.collect(None, None, false),
        Model::Nb201(n) => n.collect(None, None, false),
    };
    snapshots.into_iter().map(|s| s.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::*;
    use edas_genotype::Nb201Cell;
    use edas_genotype::published::PDARTS;
    use edas_nn::{Nb201Config, Nb201Network, Network, NetworkConfig};

    /// The names, dtypes and shapes in a safetensors header.
    fn header(path: &Path) -> serde_json::Map<String, serde_json::Value> {
        let bytes = std::fs::read(path).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let v: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        v.as_object().unwrap().clone()
    }

    #[test]
    fn exports_pytorch_names_and_layouts() {
        let device = Device::flex();
        let config = NetworkConfig {
            channels: 8,
            layers: 5,
            classes: 7,
            ..NetworkConfig::darts_cifar(10)
        };
        let net = Model::Darts(Network::cifar(&PDARTS, &config, &device).unwrap());
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.safetensors");
        export_safetensors(&net, &path).unwrap();
        let h = header(&path);
        let names: Vec<&String> = h.keys().filter(|k| *k != "__metadata__").collect();
        assert_eq!(names.len(), burn_paths(&net).len());
        let pytorch = regex_lite(&names);
        assert!(pytorch.is_empty(), "names left in burn form: {pytorch:?}");
        for want in [
            "stem.0.weight",
            "stem.1.weight",
            "stem.1.running_var",
            "cells.0.preprocess0.op.1.weight",
            "cells.0.preprocess1.op.2.bias",
            "cells.0._ops.1.op.1.weight",
            "cells.0._ops.3.op.7.running_mean",
            "cells.2.preprocess0.conv_1.weight",
            "auxiliary_head.features.2.weight",
            "auxiliary_head.features.6.weight",
            "auxiliary_head.classifier.weight",
            "classifier.weight",
            "classifier.bias",
        ] {
            assert!(h.contains_key(want), "missing {want}; have {names:?}");
        }
        // Linear weights are [out, in] as in PyTorch.
        let in_features = net.darts().unwrap().classifier.weight.val().dims()[0];
        assert_eq!(
            h["classifier.weight"]["shape"],
            serde_json::json!([7, in_features])
        );
        // Depthwise conv weights keep PyTorch's [out, in/groups, k, k].
        assert_eq!(h["cells.0._ops.1.op.1.weight"]["shape"][1], 1);
    }

    #[test]
    fn exports_the_nas_bench_201_network_in_tinynetwork_names() {
        let cell = Nb201Cell::parse(
            "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
        )
        .unwrap();
        let config = Nb201Config {
            channels: 4,
            cells_per_stage: 2,
            ..Nb201Config::benchmark(10, 32)
        };
        let net = Model::Nb201(Nb201Network::new(&cell, &config, &Device::flex()).unwrap());
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nb.safetensors");
        export_safetensors(&net, &path).unwrap();
        let h = header(&path);
        let names: Vec<&String> = h.keys().filter(|k| *k != "__metadata__").collect();
        assert_eq!(names.len(), burn_paths(&net).len());
        assert!(regex_lite(&names).is_empty(), "{names:?}");
        // Cells 0, 1, block 2, cells 3, 4, block 5, cells 6, 7.
        for want in [
            "stem.0.weight",
            "stem.1.running_mean",
            "cells.0.layers.0.op.1.weight",
            "cells.0.layers.1.op.2.weight",
            "cells.7.layers.4.op.2.bias",
            "cells.2.conv_a.op.1.weight",
            "cells.5.conv_b.op.2.running_var",
            "cells.5.downsample.1.weight",
            "lastact.0.weight",
            "classifier.weight",
        ] {
            assert!(h.contains_key(want), "missing {want}; have {names:?}");
        }
        // Edges without weights have no tensors; 3x3 and 1x1 shapes.
        assert!(!h.contains_key("cells.0.layers.2.op.1.weight"));
        assert_eq!(
            h["cells.0.layers.0.op.1.weight"]["shape"],
            serde_json::json!([4, 4, 3, 3])
        );
        assert_eq!(
            h["cells.5.downsample.1.weight"]["shape"],
            serde_json::json!([16, 8, 1, 1])
        );
        assert_eq!(h["classifier.weight"]["shape"], serde_json::json!([10, 16]));
    }

    /// Names that still carry burn-only segments.
    fn regex_lite<'a>(names: &[&'a String]) -> Vec<&'a String> {
        names
            .iter()
            .copied()
            .filter(|n| {
                n.split('.').any(|seg| {
                    [
                        "Cifar",
                        "ImageNet",
                        "Sep",
                        "Dil",
                        "Reduce",
                        "Conv",
                        "gamma",
                        "beta",
                        "pre0",
                        "pre1",
                        "aux",
                        "ops",
                        "Cell",
                        "Res",
                        "edges",
                        "stem_conv",
                        "stem_bn",
                        "last_bn",
                        "shortcut",
                    ]
                    .contains(&seg)
                })
            })
            .collect()
    }
}
