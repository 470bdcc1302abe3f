//! Second-order DARTS (Liu et al. 2019, eq. 7-8): the architecture gradient
//! of the validation loss after one virtual SGD step of the weights,
//!
//! `grad_alpha L_val(w', alpha) - xi * H`, with `w' = w - xi * (grad_w
//! L_train(w, alpha) + lambda * w)` and the Hessian-vector product `H =
//! grad^2_{alpha,w} L_train(w, alpha) * grad_{w'} L_val(w', alpha)` taken
//! by central differences: `(grad_alpha L_train(w+, alpha) - grad_alpha
//! L_train(w-, alpha)) / 2 eps`, `w+- = w +- eps * grad_{w'} L_val`, `eps =
//! 0.01 / ||grad_{w'} L_val||` (DARTS' `r = 0.01`).
//!
//! `xi` is the weight learning rate of the epoch and `lambda` the weight
//! decay, as in DARTS' code. DARTS' code also adds the SGD momentum buffer
//! to the virtual step; the paper's equation 7 does not, and neither do we
//! (burn's optimiser keeps its state private). The weightings are DARTS'
//! full mixtures in every step.

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use edas_genotype::Architecture;
use edas_nn::loss::{correct_count, cross_entropy};
use edas_nn::{NetworkWeights, Supernet, to_host, untracked};
use edas_run::optim::global_norm;

use super::darts::Darts;
use super::{ArchGradient, ArchStep, Draw, SearchStrategy, Unrolled};

use crate::arch::ArchVars;
use crate::error::SearchError;

/// DARTS' continuous relaxation with the unrolled (second-order)
/// architecture gradient.
#[derive(Clone, Copy, Debug)]
pub struct Darts2 {
    /// The Hessian-vector product's step `r` in `eps = r / ||grad_{w'}
    /// L_val||` (DARTS: 0.01).
    pub r: f64,
}

impl Default for Darts2 {
    fn default() -> Self {
        Darts2 { r: 0.01 }
    }
}

impl SearchStrategy for Darts2 {
    /// DARTS' weightings in every step (first order's).
    fn arch_step(&mut self, draw: &mut Draw<'_>) -> Result<Option<ArchStep>, SearchError> {
        Darts.arch_step(draw)
    }

    fn arch_gradient(
        &mut self,
        cx: &mut Unrolled<'_>,
    ) -> Result<Option<ArchGradient>, SearchError> {
        unrolled_gradient(cx, self.r).map(Some)
    }

    fn weight_step(
        &mut self,
        draw: &mut Draw<'_>,
        arch: Option<&ArchStep>,
        epsilon: f64,
    ) -> Result<NetworkWeights, SearchError> {
        Darts.weight_step(draw, arch, epsilon)
    }

    fn searched(
        &mut self,
        draw: &mut Draw<'_>,
        genotype: &Architecture,
    ) -> Result<NetworkWeights, SearchError> {
        Darts.searched(draw, genotype)
    }
}

/// A copy of `net` whose parameters are `scale * w + step * g` (`g`: the
/// gradient registered for the parameter's id in `grads`, none: zero), as
/// fresh leaves with the same ids; `track`: they require a gradient.
pub fn shifted(
    net: &Supernet,
    scale: f64,
    step: f64,
    grads: &GradientsParams,
    track: bool,
) -> Supernet {
    struct Shift<'a> {
        scale: f64,
        step: f64,
        grads: &'a GradientsParams,
        track: bool,
    }
    impl ModuleMapper for Shift<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, _) = param.consume();
            let base = tensor.inner().mul_scalar(self.scale);
            let value = match self.grads.get::<D>(id) {
                Some(g) => base.add(g.inner().mul_scalar(self.step)),
                None => base,
            };
            let value = Tensor::from_inner(value).set_require_grad(self.track);
            Param::initialized(id, value)
        }
    }
    net.clone().map(&mut Shift {
        scale,
        step,
        grads,
        track,
    })
}

/// `grad_alpha` of `loss` as tensors (normal, reduce; zeros where
/// `alpha` got none) and the rest of the gradients.
fn alpha_grads(loss: Tensor<1>, arch: &ArchVars) -> ([Tensor<2>; 2], burn::tensor::Gradients) {
    let mut grads = loss.backward();
    (arch.take_grads(&mut grads), grads)
}

/// `grad_alpha L_train(w, alpha)` with `w` fixed (`net` untracked).
fn train_alpha_grads(
    net: &Supernet,
    arch: &ArchVars,
    train: &(Tensor<4>, Tensor<1, Int>),
) -> [Tensor<2>; 2] {
    let logits = net.forward(train.0.clone(), &arch.darts_weights(1.0));
    alpha_grads(cross_entropy(logits, train.1.clone()), arch).0
}

/// The unrolled model `w' = (1 - xi * lambda) w - xi * grad_w L_train(w,
/// alpha)` (alpha fixed), tracked.
pub fn unrolled_model(cx: &Unrolled<'_>) -> Supernet {
    let frozen = untracked(cx.arch);
    let logits = cx
        .net
        .forward(cx.train.0.clone(), &frozen.darts_weights(1.0));
    let loss = cross_entropy(logits, cx.train.1.clone());
    let g = GradientsParams::from_grads(loss.backward(), cx.net);
    shifted(cx.net, 1.0 - cx.lr * cx.weight_decay, -cx.lr, &g, true)
}

/// Second-order DARTS' architecture gradient (this module's formula), the
/// Hessian-vector product by central differences of step `r /
/// ||grad_{w'} L_val||` in the weights (DARTS: `r = 0.01`).
pub fn unrolled_gradient(cx: &Unrolled<'_>, r: f64) -> Result<ArchGradient, SearchError> {
    let unrolled = unrolled_model(cx);
    let logits = unrolled.forward(cx.valid.0.clone(), &cx.arch.darts_weights(1.0));
    let val_correct = correct_count(logits.clone(), cx.valid.1.clone());
    let loss = cross_entropy(logits, cx.valid.1.clone());
    let val_loss = loss.clone().into_scalar::<f64>();
    let ([d_normal, d_reduce], grads) = alpha_grads(loss, cx.arch);
    let dw = GradientsParams::from_grads(grads, &unrolled);
    let norm = global_norm(&unrolled, &dw);
    if !(norm.is_finite() && val_loss.is_finite()) {
        return Err(SearchError::NonFinite(format!(
            "unrolled validation gradient norm became {norm} (the validation loss was {val_loss})"
        )));
    }
    let (normal, reduce) = if norm > 0.0 {
        // Central differences on the device, in its float type.
        let eps = r / norm;
        let plus = shifted(cx.net, 1.0, eps, &dw, false);
        let minus = shifted(cx.net, 1.0, -eps, &dw, false);
        let [pn, pr] = train_alpha_grads(&plus, cx.arch, cx.train);
        let [mn, mr] = train_alpha_grads(&minus, cx.arch, cx.train);
        let scale = cx.lr / (2.0 * eps);
        (
            d_normal.sub(pn.sub(mn).mul_scalar(scale)),
            d_reduce.sub(pr.sub(mr).mul_scalar(scale)),
        )
    } else {
        (d_normal, d_reduce)
    };
    Ok(ArchGradient {
        val_loss,
        val_correct,
        normal: to_host(normal)?,
        reduce: to_host(reduce)?,
    })
}

/// The unrolled objective `L_val(w', alpha)` itself (no gradient), for
/// checking [`unrolled_gradient`] by finite differences.
pub fn unrolled_objective(cx: &Unrolled<'_>) -> f64 {
    let unrolled = untracked(&unrolled_model(cx));
    let logits = unrolled.forward(cx.valid.0.clone(), &untracked(cx.arch).darts_weights(1.0));
    cross_entropy(logits, cx.valid.1.clone()).into_scalar::<f64>()
}
