//! Importing PyTorch DARTS weights: the fixture (`tests/fixtures/`, written
//! by `bench/darts_fixture.py` with PyTorch) imports into edas' network and
//! gives the logits PyTorch recorded; a checkpoint dict of a `DataParallel`
//! model imports the same; weights that do not fit are refused with the
//! names; edas' own safetensors export imports back exactly (auxiliary head
//! included).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::ModuleSnapshot;
use edas_genotype::darts_text::parse_darts;
use edas_nn::{NetKind, Network, NetworkConfig};
use edas_train::{DartsShape, DartsWeights, ImportError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

struct Recorded {
    genotype: String,
    config: NetworkConfig,
    batch: usize,
    logits: Vec<Vec<f64>>,
}

fn recorded() -> Recorded {
    let text = std::fs::read_to_string(fixture("darts_cifar.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap() as usize;
    Recorded {
        genotype: v["genotype"].as_str().unwrap().to_owned(),
        config: NetworkConfig {
            in_channels: 3,
            image_size: n("image_size"),
            classes: n("classes"),
            channels: n("channels"),
            layers: n("layers"),
            auxiliary: v["auxiliary"].as_bool().unwrap(),
        },
        batch: n("batch"),
        logits: serde_json::from_value(v["logits"].clone()).unwrap(),
    }
}

/// `2 sin(0.37 i)` at flat index i (the fixture script's input).
fn fixed_input(batch: usize, size: usize, device: &Device) -> Tensor<4> {
    let n = batch * 3 * size * size;
    let data: Vec<f32> = (0..n)
        .map(|i| (2.0 * (0.37 * i as f64).sin()) as f32)
        .collect();
    Tensor::<1>::from_floats(data.as_slice(), device).reshape([batch, 3, size, size])
}

fn logits(net: &Network, x: Tensor<4>) -> Vec<f32> {
    net.valid()
        .forward(x, 0.0, false)
        .logits
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn imported(file: &str, r: &Recorded, device: &Device) -> Network {
    let weights = DartsWeights::read(&fixture(file)).unwrap();
    let genotype = parse_darts(&r.genotype).unwrap();
    let mut net = Network::cifar(&genotype, &r.config, device).unwrap();
    let report = weights.load_into(&mut net).unwrap();
    // Every tensor of the network; PyTorch's BatchNorm counters skipped.
    assert_eq!(report.loaded, net.collect(None, None, false).len());
    assert!(report.counters > 0);
    net
}

#[test]
fn the_pytorch_fixture_gives_the_recorded_logits() {
    let device = Device::flex();
    let r = recorded();
    let want: Vec<f64> = r.logits.iter().flatten().copied().collect();
    for file in ["darts_cifar.pt", "darts_cifar_checkpoint.pt"] {
        let net = imported(file, &r, &device);
        let got = logits(&net, fixed_input(r.batch, r.config.image_size, &device));
        assert_eq!(got.len(), want.len());
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (f64::from(*g) - w).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "{file}: logits differ by up to {worst}");
        // Not a trivially equal output: the logits differ between classes.
        assert!(want.iter().any(|w| (w - want[0]).abs() > 1e-3));
    }
}

#[test]
fn the_state_dict_says_which_network_it_belongs_to() {
    for file in ["darts_cifar.pt", "darts_cifar_checkpoint.pt"] {
        let w = DartsWeights::read(&fixture(file)).unwrap();
        assert_eq!(
            w.shape().unwrap(),
            DartsShape {
                kind: NetKind::Cifar,
                in_channels: 3,
                channels: 4,
                layers: 5,
                classes: 10,
                auxiliary: false,
            },
            "{file}"
        );
    }
    // The checkpoint's state dict sits under `state_dict.module.`; the
    // epoch and accuracy beside it are not tensors of the network.
    let device = Device::flex();
    let r = recorded();
    let w = DartsWeights::read(&fixture("darts_cifar_checkpoint.pt")).unwrap();
    let mut net = Network::cifar(&parse_darts(&r.genotype).unwrap(), &r.config, &device).unwrap();
    assert_eq!(w.load_into(&mut net).unwrap().prefix, "state_dict.module.");
}

fn mismatch(
    genotype: &str,
    config: NetworkConfig,
) -> (Vec<String>, Vec<String>, Vec<String>, String) {
    let device = Device::flex();
    let w = DartsWeights::read(&fixture("darts_cifar.pt")).unwrap();
    let mut net = Network::cifar(&parse_darts(genotype).unwrap(), &config, &device).unwrap();
    match w.load_into(&mut net) {
        Err(e @ ImportError::Mismatch { .. }) => {
            let text = e.to_string();
            let ImportError::Mismatch {
                missing,
                unknown,
                errors,
                ..
            } = e
            else {
                unreachable!()
            };
            (missing, unknown, errors, text)
        }
        other => panic!("expected a mismatch, got {:?}", other.map(|r| r.loaded)),
    }
}

#[test]
fn weights_that_do_not_fit_are_refused_with_their_names() {
    let r = recorded();
    // An auxiliary head the file lacks: its tensors are missing.
    let (missing, unknown, _, text) = mismatch(
        &r.genotype,
        NetworkConfig {
            auxiliary: true,
            ..r.config.clone()
        },
    );
    assert!(unknown.is_empty());
    assert!(missing.contains(&"auxiliary_head.features.2.weight".to_owned()));
    assert!(missing.contains(&"auxiliary_head.classifier.bias".to_owned()));
    assert!(text.contains("missing from the file"), "{text}");
    // Fewer cells: the file's fifth cell is unknown.
    let (missing, unknown, _, text) = mismatch(
        &r.genotype,
        NetworkConfig {
            layers: 4,
            ..r.config.clone()
        },
    );
    assert!(unknown.contains(&"cells.4.preprocess1.op.1.weight".to_owned()));
    assert!(!unknown.iter().any(|n| n.ends_with("num_batches_tracked")));
    assert!(
        text.contains("in the file but not in the network"),
        "{text}"
    );
    // Cell 2 reduces at L=4 but not at L=5 (reductions at L/3 and 2L/3):
    // its names differ too.
    assert!(missing.iter().any(|n| n.starts_with("cells.2.")));
    // Another genotype: DARTS_V2's ops are not the file's.
    let v2 = edas_genotype::darts_text::to_darts(&edas_genotype::published::DARTS_V2);
    let (missing, unknown, _, _) = mismatch(&v2, r.config.clone());
    assert!(!missing.is_empty() && !unknown.is_empty());
    // Other channels: same names, every shape wrong, named the DARTS way.
    let (missing, unknown, errors, text) = mismatch(
        &r.genotype,
        NetworkConfig {
            channels: 6,
            ..r.config.clone()
        },
    );
    assert!(missing.is_empty() && unknown.is_empty());
    assert!(errors.len() > 50, "{}", errors.len());
    assert!(
        errors.iter().any(|e| e.contains("'stem.0.weight'")),
        "{errors:?}"
    );
    assert!(text.contains("of the wrong shape"), "{text}");
}

#[test]
fn files_that_hold_no_darts_network_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = DartsWeights::read(&tmp.path().join("nope.pt"));
    assert!(matches!(missing, Err(ImportError::Read { .. })));
    let junk = tmp.path().join("junk.pt");
    std::fs::write(&junk, b"not a pickle").unwrap();
    let e = DartsWeights::read(&junk).err().unwrap().to_string();
    assert!(e.contains("junk.pt"), "{e}");
}

#[test]
fn an_export_imports_back_exactly_with_its_auxiliary_head() {
    let device = Device::flex();
    let config = NetworkConfig {
        auxiliary: true,
        ..recorded().config
    };
    let genotype = edas_genotype::published::PDARTS;
    let net = Network::cifar(&genotype, &config, &device).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.safetensors");
    edas_train::export::export_safetensors(&edas_nn::Model::Darts(net.clone()), &path).unwrap();
    let w = DartsWeights::read(&path).unwrap();
    assert!(w.shape().unwrap().auxiliary);
    let mut back = Network::cifar(&genotype, &config, &device).unwrap();
    w.load_into(&mut back).unwrap();
    let x = fixed_input(2, 32, &device);
    let out = |n: &Network| {
        let o = n.valid().forward(x.clone(), 0.0, true);
        let v = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        (v(o.logits), o.aux.map(v))
    };
    let (a, b) = (out(&net), out(&back));
    assert_eq!(a, b);
    assert!(a.1.is_some());
}
