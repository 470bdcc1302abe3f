//! The weight optimiser DARTS uses, set up the way PyTorch behaves: SGD with
//! momentum and no dampening, L2 weight decay, gradient clipping by the
//! *global* norm over all parameters, and a cosine learning-rate schedule
//! stepped per epoch.
//!
//! burn 0.22's defaults differ (measured; `docs/dependencies.md`): `MomentumConfig` dampens by
//! 0.1 and `GradientClippingConfig::Norm` clips each tensor by its own norm;
//! DARTS (`clip_grad_norm_`) scales all gradients by one factor.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// SGD settings (DARTS' search and CIFAR training defaults).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SgdSettings {
    /// Initial learning rate (DARTS: 0.025).
    pub lr: f64,
    /// Final learning rate of the cosine schedule (DARTS search: 0.001, training: 0).
    pub lr_min: f64,
    /// Momentum (0.9), without dampening.
    pub momentum: f64,
    /// L2 weight decay (3e-4).
    pub weight_decay: f64,
    /// Maximum global gradient norm (5); 0 disables clipping.
    pub grad_clip: f64,
    /// Nesterov momentum (NAS-Bench-201's recipe; DARTS: off). Written only
    /// when on, so configs without it read and write as before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nesterov: bool,
}

impl Default for SgdSettings {
    fn default() -> Self {
        SgdSettings {
            lr: 0.025,
            lr_min: 0.001,
            momentum: 0.9,
            weight_decay: 3e-4,
            grad_clip: 5.0,
            nesterov: false,
        }
    }
}

/// The SGD optimiser of `settings` (clipping is applied apart, by
/// [`clip_global_norm`]).
pub fn sgd(settings: &SgdSettings) -> ModuleOptimizer {
    SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new()
                .with_momentum(settings.momentum)
                .with_dampening(0.0)
                .with_nesterov(settings.nesterov),
        ))
        .with_weight_decay(
            (settings.weight_decay > 0.0)
                .then(|| WeightDecayConfig::new(settings.weight_decay as f32)),
        )
        .init()
}

/// The learning rate of `epoch` (0-based) of `epochs` under PyTorch's
/// `CosineAnnealingLR(T_max = epochs, eta_min = lr_min)` stepped once per
/// epoch: `lr_min + (lr - lr_min) * (1 + cos(pi * epoch / epochs)) / 2`.
pub fn cosine_lr(settings: &SgdSettings, epoch: usize, epochs: usize) -> f64 {
    let t = epoch as f64 / epochs.max(1) as f64;
    settings.lr_min
        + (settings.lr - settings.lr_min) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
}

struct SumSquares<'a> {
    grads: &'a GradientsParams,
    total: f64,
}

impl ModuleVisitor for SumSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            // Read as f64: the same value for f32 gradients, all of an f64 one.
            self.total += g.powi_scalar(2).sum().into_scalar::<f64>();
        }
    }
}

/// The global L2 norm of `module`'s gradients in `grads` (over every
/// parameter that has one).
pub fn global_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    let mut sum = SumSquares { grads, total: 0.0 };
    module.visit(&mut sum);
    sum.total.sqrt()
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads
                .register::<D>(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// Scales all of `module`'s gradients by one factor so that their global L2
/// norm is at most `max_norm` (PyTorch's `clip_grad_norm_`, with its `1e-6`
/// in the denominator). Returns the norm before clipping.
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let norm = global_norm(module, grads);
    if max_norm > 0.0 && norm > max_norm {
        let mut scale = Scale {
            grads,
            factor: max_norm / (norm + 1e-6),
        };
        module.visit(&mut scale);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    #[test]
    fn cosine_schedule_matches_pytorch() {
        let s = SgdSettings::default();
        assert_eq!(cosine_lr(&s, 0, 50), 0.025);
        assert!((cosine_lr(&s, 25, 50) - 0.013).abs() < 1e-12);
        assert!((cosine_lr(&s, 50, 50) - 0.001).abs() < 1e-12);
        // Epoch 1 of 50: 0.001 + 0.024 * (1 + cos(pi/50)) / 2.
        let expect = 0.001 + 0.024 * (1.0 + (std::f64::consts::PI / 50.0).cos()) / 2.0;
        assert!((cosine_lr(&s, 1, 50) - expect).abs() < 1e-15);
    }

    /// A 1x1 weight's initial value and its values after two steps of
    /// `settings`' SGD at lr 0.1 under a constant gradient g = 2.
    fn two_steps(settings: &SgdSettings) -> (f32, Vec<f32>) {
        let device = Device::flex().autodiff();
        let mut optim = sgd(settings);
        let mut model: Linear = LinearConfig::new(1, 1).with_bias(false).init(&device);
        let w0: f32 = model.weight.val().into_scalar();
        let x: Tensor<2> = Tensor::from_data(TensorData::new(vec![2.0f32], [1, 1]), &device);
        let mut ws = Vec::new();
        for _ in 0..2 {
            let loss = model.forward(x.clone()).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(0.1, model, grads);
            ws.push(model.weight.val().into_scalar::<f32>());
        }
        (w0, ws)
    }

    #[test]
    fn sgd_momentum_has_no_dampening() {
        // Constant gradient g = 2 on a 1x1 weight, lr 0.1, no decay:
        // PyTorch: step 1 moves by lr * g, step 2 by lr * (0.9 g + g).
        let (w0, ws) = two_steps(&SgdSettings {
            weight_decay: 0.0,
            ..SgdSettings::default()
        });
        assert!((ws[0] - (w0 - 0.2)).abs() < 1e-6, "{ws:?}");
        assert!(
            (ws[1] - (w0 - 0.2 - 0.1 * (0.9 * 2.0 + 2.0))).abs() < 1e-6,
            "{ws:?}"
        );
    }

    #[test]
    fn nesterov_momentum_steps_as_pytorch() {
        // PyTorch's SGD(nesterov=True), constant gradient g = 2, lr 0.1:
        // step 1 moves by lr * (g + 0.9 g); step 2 keeps buf = 0.9 g + g
        // and moves by lr * (g + 0.9 buf).
        let (w0, ws) = two_steps(&SgdSettings {
            weight_decay: 0.0,
            nesterov: true,
            ..SgdSettings::default()
        });
        let step1 = 0.1 * (2.0 + 0.9 * 2.0);
        let step2 = 0.1 * (2.0 + 0.9 * (0.9 * 2.0 + 2.0));
        assert!((ws[0] - (w0 - step1)).abs() < 1e-6, "{ws:?}");
        assert!((ws[1] - (w0 - step1 - step2)).abs() < 1e-6, "{ws:?}");
        // Off, it is not written: configs read and write as before.
        let toml = toml::to_string(&SgdSettings::default()).unwrap();
        assert!(!toml.contains("nesterov"), "{toml}");
    }

    #[test]
    fn global_norm_clipping_scales_every_gradient_by_one_factor() {
        let device = Device::flex().autodiff();
        let model: Linear = LinearConfig::new(3, 2).init(&device);
        let x: Tensor<2> =
            Tensor::from_data(TensorData::new(vec![10.0f32, -20.0, 30.0], [1, 3]), &device);
        let loss = model.forward(x).sum().mul_scalar(10.0);
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        let get = |g: &GradientsParams| -> (Vec<f32>, Vec<f32>) {
            (
                g.get::<2>(model.weight.id)
                    .unwrap()
                    .into_data()
                    .try_to_vec()
                    .unwrap(),
                g.get::<1>(model.bias.as_ref().unwrap().id)
                    .unwrap()
                    .into_data()
                    .try_to_vec()
                    .unwrap(),
            )
        };
        let (w0, b0) = get(&grads);
        // d/dW of 10 * sum(xW + b): 10 * x per output column, 10 per bias.
        assert_eq!(w0, vec![100.0, 100.0, -200.0, -200.0, 300.0, 300.0]);
        assert_eq!(b0, vec![10.0, 10.0]);
        let norm = clip_global_norm(&model, &mut grads, 5.0);
        let expected_norm =
            (2.0f64 * (100.0f64.powi(2) + 200.0f64.powi(2) + 300.0f64.powi(2)) + 200.0).sqrt();
        assert!((norm - expected_norm).abs() < 1e-3, "{norm}");
        let (w1, b1) = get(&grads);
        let after: f64 = w1
            .iter()
            .chain(&b1)
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((after - 5.0).abs() < 1e-4, "{after}");
        // One factor for all: ratios are kept, across tensors too.
        assert!((w1[4] / b1[0] - 30.0).abs() < 1e-4);
        // Under the limit nothing changes.
        let before = get(&grads);
        clip_global_norm(&model, &mut grads, 100.0);
        assert_eq!(get(&grads), before);
    }
}
