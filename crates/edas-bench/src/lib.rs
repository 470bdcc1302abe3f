//! Step benchmarks on any device: one whole search step per strategy, a
//! training step of the derived network, and a training step of DARTS_V2's
//! CIFAR network, timed with the device synchronised after every step (GPU
//! backends queue work; without a sync a step's time is only its launch).
//!
//! Used by `cargo bench -p edas-bench --bench step` (the CPU backend) and by
//! `edas bench` (any `--device`, e.g. in `scripts/gpu-check.sh`).
//!
//! Cases (32x32 RGB inputs, 10 classes, random data, labels `i % 10`):
//! - `edas-l8`, `gdas-l8`, `darts-l8`, `darts2-l8`, `pc-darts-l8` (K = 4)
//!   and `-l20`: one [`Searcher::step`]
//!   (architecture step on a validation batch, then weight step on a training
//!   batch) on the C=16 supernet with 8 or 20 cells;
//! - `derived-l8`, `derived-l20`: a training step (forward, backward, SGD) of
//!   the cells EDAS clamps to at the same seed, with the supernet's weights,
//!   so that EDAS's step is exactly that network plus the relaxed edge;
//!   `derived-v2-l8`, `derived-v2-l20` use DARTS_V2's cells instead;
//! - `train-cC-lL` (e.g. `train-c36-l20`): a training step of DARTS_V2's
//!   CIFAR network with C channels and L cells, auxiliary head (weight 0.4)
//!   and drop-path 0.2, SGD with momentum 0.9 and weight decay 3e-4: what
//!   `edas train` does per batch, and what `bench/torch_darts.py --train`
//!   does in PyTorch. Its phases are timed too (forward with the loss,
//!   backward, SGD update; the device synchronised between them);
//! - `op-NAME` (e.g. `op-sep_conv_3x3`): forward and backward of one
//!   evaluation-network op alone on `[batch, 16, 32, 32]` (what
//!   `bench/torch_darts.py ops` times in PyTorch);
//! - `prim-KIND-cC-hH` (e.g. `prim-pw-c16-h32`): forward and backward of one
//!   primitive on `[batch, C, H, H]`, as the networks call it, with the
//!   input and the weights tracked (what `bench/torch_darts.py prims`
//!   times in PyTorch): `pw` a 1x1 convolution C to C, `dw3` a ReLU then a
//!   3x3 depthwise convolution (padding 1), `bn` an affine BatchNorm with
//!   the batch's statistics, `relu`, `max3` a 3x3 max pooling (stride 1,
//!   padding 1).

use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::*;
use edas_genotype::Primitive;
use edas_genotype::published::DARTS_V2;
use edas_nn::loss::{cross_entropy, with_auxiliary};
use edas_nn::ops::{Op, OpMode};
use edas_nn::{Network, NetworkConfig, SearchNetwork, SearchNetworkConfig};
use edas_run::optim::{SgdSettings, sgd};

use edas_search::{EdasSettings, Searcher, StepContext, Strategy};

mod error;

pub use error::BenchError;

/// What a benchmark run is asked to do.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// The case (module documentation).
    pub case: String,
    /// Images per batch.
    pub batch: usize,
    /// Timed steps, after `warmup` untimed ones.
    pub steps: usize,
    /// Untimed steps first (kernel compilation, autotuning, allocator warm-up).
    pub warmup: usize,
    /// The searcher's seed (its alpha initialisation, hence the clamped cells).
    pub seed: u64,
    /// EDAS recomputes its relaxed edges in backward.
    pub recompute: bool,
}

impl BenchSpec {
    /// `case` with `batch` images and `steps` timed steps after one warm-up
    /// step, seed 2, recomputation on.
    pub fn new(case: &str, batch: usize, steps: usize) -> Self {
        Self {
            case: case.to_owned(),
            batch,
            steps,
            warmup: 1,
            seed: 2,
            recompute: true,
        }
    }
}

/// The measured times of one case.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// The first warm-up step's time (compilation and autotuning included), s.
    pub first_step_s: f64,
    /// Median of the timed steps, s.
    pub median_step_s: f64,
    /// Fastest timed step, s.
    pub min_step_s: f64,
    /// Values stored in the network's parameters.
    pub params: usize,
    /// `train-*` cases: the median seconds of the forward pass with the
    /// loss, the backward pass and the SGD update.
    pub phases_s: Option<[f64; 3]>,
}

/// What one step returns: its phases' seconds, where it times them.
type StepFn = Box<dyn FnMut() -> Result<Option<[f64; 3]>, BenchError>>;

/// `(channels, layers)` of a `train-cC-lL` case.
fn train_size(case: &str) -> Option<(usize, usize)> {
    let rest = case.strip_prefix("train-c")?;
    let (c, l) = rest.split_once("-l")?;
    Some((c.parse().ok()?, l.parse().ok()?))
}

/// The op of an `op-NAME` case (not `none`).
fn op_case(case: &str) -> Option<Primitive> {
    let p: Primitive = case.strip_prefix("op-")?.parse().ok()?;
    (p != Primitive::None).then_some(p)
}

/// The primitives of the `prim-` cases.
const PRIMITIVES: [&str; 5] = ["pw", "dw3", "bn", "relu", "max3"];

/// `(kind, channels, size)` of a `prim-KIND-cC-hH` case.
fn prim_case(case: &str) -> Option<(&str, usize, usize)> {
    let rest = case.strip_prefix("prim-")?;
    let (kind, rest) = rest.split_once("-c")?;
    let (c, h) = rest.split_once("-h")?;
    let (c, h): (usize, usize) = (c.parse().ok()?, h.parse().ok()?);
    (PRIMITIVES.contains(&kind) && c > 0 && h > 0).then_some((kind, c, h))
}

/// One `prim-` case's forward and backward, its weights tracked.
fn prim_step(kind: &str, channels: usize, size: usize, batch: usize, device: &Device) -> StepFn {
    use burn::tensor::Distribution::Normal;
    let x: Tensor<4> = Tensor::random([batch, channels, size, size], Normal(0.0, 1.0), device);
    let weight = |dims: [usize; 4]| Tensor::<4>::random(dims, Normal(0.0, 0.1), device);
    let run: Box<dyn Fn(Tensor<4>) -> Tensor<4>> = match kind {
        "pw" => {
            let w = weight([channels, channels, 1, 1]).require_grad();
            Box::new(move |x| edas_nn::kernels::pointwise_conv2d(x, w.clone()))
        }
        "dw3" => {
            let w = weight([channels, 1, 3, 3]).require_grad();
            let options = burn::tensor::ops::ConvOptions::new([1, 1], [1, 1], [1, 1], channels);
            Box::new(move |x| {
                edas_nn::kernels::relu_depthwise_conv2d(x, w.clone(), options.clone())
            })
        }
        "bn" => {
            let bn = edas_nn::ops::Bn::new(channels, true, device);
            Box::new(move |x| bn.forward(x))
        }
        "relu" => Box::new(edas_nn::kernels::relu),
        _ => Box::new(|x| edas_nn::kernels::max_pool(x, [3, 3], [1, 1], [1, 1])),
    };
    Box::new(move || {
        let y = run(x.clone().require_grad());
        std::hint::black_box(y.sum().backward());
        Ok(None)
    })
}

/// Whether `case` is one this module runs.
pub fn is_case(case: &str) -> bool {
    train_size(case).is_some_and(|(c, l)| c > 0 && l >= 3)
        || op_case(case).is_some()
        || prim_case(case).is_some()
        || [
            "derived-l8",
            "derived-l20",
            "derived-v2-l8",
            "derived-v2-l20",
            "edas-l8",
            "edas-l20",
            "gdas-l8",
            "gdas-l20",
            "darts-l8",
            "darts-l20",
            "darts2-l8",
            "darts2-l20",
            "pc-darts-l8",
            "pc-darts-l20",
        ]
        .contains(&case)
}

fn sync(device: &Device) -> Result<(), BenchError> {
    device
        .sync()
        .map_err(|e| BenchError::Device(format!("{e:?}")))
}

/// Runs `spec` on `device` (an autodiff device) and times it.
pub fn run(spec: &BenchSpec, device: &Device) -> Result<BenchReport, BenchError> {
    if !is_case(&spec.case) {
        return Err(BenchError::Invalid(format!(
            "unknown benchmark case `{}` (expected edas|gdas|darts|darts2|pc-darts|derived|derived-v2 \
             with -l8 or -l20; train-cC-lL such as train-c36-l20; op-NAME \
             such as op-sep_conv_3x3; or prim-KIND-cC-hH such as prim-pw-c16-h32, \
             KIND one of {})",
            spec.case,
            PRIMITIVES.join("|")
        )));
    }
    if spec.batch == 0 || spec.steps == 0 {
        return Err(BenchError::Invalid(
            "batch and steps must be at least 1".to_owned(),
        ));
    }
    let batch = spec.batch;
    let data = |mean: f64| {
        let x: Tensor<4> = Tensor::random(
            [batch, 3, 32, 32],
            burn::tensor::Distribution::Normal(mean, 1.0),
            device,
        );
        let labels: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), device);
        (x, y)
    };
    let (train, valid) = (data(0.0), data(0.1));
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let lr = SgdSettings::default().lr;
    let layers = if spec.case.ends_with("l20") { 20 } else { 8 };
    let search_config = SearchNetworkConfig {
        layers,
        ..SearchNetworkConfig::darts_cifar(10)
    };
    let (mut step, params): (StepFn, usize) = if let Some((kind, c, h)) = prim_case(&spec.case) {
        (prim_step(kind, c, h, batch, device), 0)
    } else if let Some(primitive) = op_case(&spec.case) {
        let op = Op::new(primitive, 16, 1, OpMode::Eval, device);
        let x: Tensor<4> = Tensor::random(
            [batch, 16, 32, 32],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            device,
        );
        let params = op.num_params();
        (
            Box::new(move || {
                let y = op.forward(x.clone().require_grad());
                std::hint::black_box(y.sum().backward());
                Ok(None)
            }),
            params,
        )
    } else if let Some((channels, layers)) = train_size(&spec.case) {
        let config = NetworkConfig {
            channels,
            layers,
            ..NetworkConfig::darts_cifar(10)
        };
        let mut net = Network::cifar(&DARTS_V2, &config, device)?;
        let params = net.num_params();
        let mut optim = sgd(&SgdSettings::default());
        let device = device.clone();
        (
            Box::new(move || {
                let t = Instant::now();
                let out = net.forward(train.0.clone(), 0.2, true);
                let (_, loss) = with_auxiliary(&loss_fn, out, train.1.clone(), 0.4);
                sync(&device)?;
                let forward = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let grads = GradientsParams::from_grads(loss.backward(), &net);
                sync(&device)?;
                let backward = t.elapsed().as_secs_f64();
                let t = Instant::now();
                net = optim.step(lr, net.clone(), grads);
                sync(&device)?;
                Ok(Some([forward, backward, t.elapsed().as_secs_f64()]))
            }),
            params,
        )
    } else if spec.case.starts_with("derived") {
        let genotype = if spec.case.starts_with("derived-v2") {
            DARTS_V2
        } else {
            let arch = Searcher::new(&search_config, EdasSettings::default(), spec.seed, device)?
                .genotype()?;
            *arch
                .darts("the derived-network benchmark")
                .map_err(edas_nn::NnError::from)?
        };
        let search = SearchNetwork::new(&search_config, device);
        let mut net = Network::from_search(&search, &genotype)?;
        drop(search);
        let params = net.num_params();
        let mut optim = sgd(&SgdSettings::default());
        (
            Box::new(move || {
                let loss = cross_entropy(
                    net.forward(train.0.clone(), 0.0, false).logits,
                    train.1.clone(),
                );
                let grads = GradientsParams::from_grads(loss.backward(), &net);
                net = optim.step(lr, net.clone(), grads);
                Ok(None)
            }),
            params,
        )
    } else {
        let name = spec.case.rsplit_once('-').map_or("edas", |(s, _)| s);
        let strategy = Strategy::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or(Strategy::Edas);
        // PC-DARTS' CIFAR setting: 1/4 of the channels through the ops.
        let search_config = SearchNetworkConfig {
            partial_channels: if strategy == Strategy::PcDarts { 4 } else { 1 },
            ops: edas_genotype::OpSet::DARTS,
            ..search_config.clone()
        };
        let mut settings = EdasSettings::for_strategy(strategy);
        settings.edas.recompute = spec.recompute;
        let mut searcher = Searcher::new(&search_config, settings, spec.seed, device)?;
        let params = searcher.network().num_params();
        let ctx = StepContext {
            tau: 1.0,
            ..StepContext::plain(lr)
        };
        (
            Box::new(move || {
                searcher.step(train.clone(), valid.clone(), &ctx)?;
                Ok(None)
            }),
            params,
        )
    };
    sync(device)?;
    let mut first_step_s = f64::NAN;
    for i in 0..spec.warmup {
        let t = Instant::now();
        step()?;
        sync(device)?;
        if i == 0 {
            first_step_s = t.elapsed().as_secs_f64();
        }
    }
    let mut times = Vec::with_capacity(spec.steps);
    let mut phases: [Vec<f64>; 3] = Default::default();
    for _ in 0..spec.steps {
        let t = Instant::now();
        let p = step()?;
        sync(device)?;
        times.push(t.elapsed().as_secs_f64());
        for (all, v) in phases.iter_mut().zip(p.into_iter().flatten()) {
            all.push(v);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let phases_s = (!phases[0].is_empty()).then(|| phases.each_mut().map(median));
    times.sort_by(f64::total_cmp);
    Ok(BenchReport {
        first_step_s,
        median_step_s: times[times.len() / 2],
        min_step_s: times[0],
        params,
        phases_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names() {
        assert_eq!(train_size("train-c36-l20"), Some((36, 20)));
        assert_eq!(train_size("train-c36"), None);
        assert_eq!(op_case("op-sep_conv_3x3"), Some(Primitive::SepConv3x3));
        assert!(is_case("edas-l20") && is_case("derived-v2-l8") && is_case("train-c8-l5"));
        assert!(!is_case("edas-l9") && !is_case("train-c0-l5") && !is_case("train-cx-l5"));
        assert!(!is_case("op-none") && !is_case("op-conv_7x1"));
        assert_eq!(prim_case("prim-dw3-c36-h16"), Some(("dw3", 36, 16)));
        assert!(is_case("prim-max3-c1-h1"));
        assert!(!is_case("prim-conv-c16-h32") && !is_case("prim-pw-c0-h32"));
        assert!(!is_case("prim-pw-c16") && !is_case("prim-pw-c16-hx"));
    }

    #[test]
    fn unknown_case_and_zero_steps_are_errors() {
        let device = Device::flex().autodiff();
        let e = run(&BenchSpec::new("nas-l8", 2, 1), &device)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("unknown benchmark case `nas-l8`"), "{e}");
        assert!(run(&BenchSpec::new("edas-l8", 2, 0), &device).is_err());
    }

    #[test]
    fn every_primitive_case_runs() {
        let device = Device::flex().autodiff();
        for kind in PRIMITIVES {
            let r = run(
                &BenchSpec::new(&format!("prim-{kind}-c3-h5"), 2, 1),
                &device,
            )
            .expect("a primitive case runs");
            assert!(r.median_step_s > 0.0 && r.phases_s.is_none(), "{kind}");
        }
    }

    #[test]
    fn a_small_training_step_runs() {
        let device = Device::flex().autodiff();
        let spec = BenchSpec {
            warmup: 1,
            ..BenchSpec::new("train-c4-l3", 2, 1)
        };
        let r = run(&spec, &device).expect("bench runs");
        assert!(r.median_step_s > 0.0 && r.first_step_s > 0.0);
        assert_eq!(r.min_step_s, r.median_step_s);
        assert!(r.params > 1000, "{}", r.params);
        let [f, b, u] = r.phases_s.expect("a training step times its phases");
        assert!(f > 0.0 && b > 0.0 && u > 0.0);
        assert!(
            f + b + u <= r.median_step_s * 1.01 + 1e-3,
            "{f} {b} {u} {}",
            r.median_step_s
        );
    }
}
