//! Architecture variables `alpha[t]` (edges x ops of the search space per
//! cell kind: DARTS 14 x 8), the clamp `C(alpha)`, and the per-step edge
//! weightings of EDAS (this project's design, `docs/edas.md`).
//!
//! NAS-Bench-201 has one cell kind: its `alpha` is `normal` (6 x 5); the
//! `reduce` variables exist (so that states and checkpoints have one form)
//! but no edge reads them and no step moves them.

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Gradients;
use burn::tensor::activation::softmax;
use edas_genotype::{Architecture, CellKind, DeriveOptions, SearchSpace, SpaceName};
use edas_nn::{EdgeWeighting, NetworkWeights, to_host};
use edas_rng::Rng;

use crate::error::SearchError;

/// The architecture variables of both cell kinds, as one module so that one
/// backward pass yields their gradients.
#[derive(Module, Debug)]
pub struct ArchVars {
    /// `alpha[normal]`, `[edges, ops]` (DARTS: `[14, 8]`).
    pub normal: Param<Tensor<2>>,
    /// `alpha[reduce]`, same shape (unused in NAS-Bench-201).
    pub reduce: Param<Tensor<2>>,
    /// The search space: its shape, and the columns of its allowed ops
    /// (the others are masked out of every softmax, [`ArchVars::logits`]).
    #[module(skip)]
    pub space: SearchSpace,
}

/// The logit an excluded op gets: `exp` of it underflows to exactly 0 in
/// `f32`, so a softmax over a masked row equals the softmax over the
/// allowed ops alone, and no infinity enters any sum or gradient.
pub const MASKED_LOGIT: f32 = -1e9;

impl ArchVars {
    /// DARTS' variables: `1e-3 * N(0, 1)` (DARTS' initialisation), from our
    /// own seeded generator so that a seed gives the same variables on
    /// every backend.
    pub fn init(seed: u64, device: &Device) -> ArchVars {
        ArchVars::init_in(SearchSpace::DARTS, seed, device)
    }

    /// [`ArchVars::init`] for `space` (its shape and op set).
    pub fn init_in(space: SearchSpace, seed: u64, device: &Device) -> ArchVars {
        let [edges, ops] = shape_of(space);
        let mut rng = Rng::for_item(seed, 0x414c_5048, 0);
        let mut draw = || -> Tensor<2> {
            let v: Vec<f32> = (0..edges * ops)
                .map(|_| (1e-3 * rng.normal()) as f32)
                .collect();
            Tensor::from_data(TensorData::new(v, [edges, ops]), device)
        };
        ArchVars {
            normal: Param::from_tensor(draw()),
            reduce: Param::from_tensor(draw()),
            space,
        }
    }

    /// DARTS' variables from host values (checkpoints, tests).
    pub fn from_values(
        normal: &[f32],
        reduce: &[f32],
        device: &Device,
    ) -> Result<ArchVars, SearchError> {
        ArchVars::from_values_in(SearchSpace::DARTS, normal, reduce, device)
    }

    /// [`ArchVars::from_values`] for `space`.
    pub fn from_values_in(
        space: SearchSpace,
        normal: &[f32],
        reduce: &[f32],
        device: &Device,
    ) -> Result<ArchVars, SearchError> {
        let [edges, ops] = shape_of(space);
        let t = |kind: CellKind, v: &[f32]| -> Result<Param<Tensor<2>>, SearchError> {
            if v.len() != edges * ops {
                return Err(SearchError::AlphaSize {
                    kind,
                    values: v.len(),
                    expected: edges * ops,
                });
            }
            Ok(Param::from_tensor(Tensor::from_data(
                TensorData::new(v.to_vec(), [edges, ops]),
                device,
            )))
        };
        Ok(ArchVars {
            normal: t(CellKind::Normal, normal)?,
            reduce: t(CellKind::Reduce, reduce)?,
            space,
        })
    }

    /// `[edges, ops]` of each kind's variables.
    pub fn shape(&self) -> [usize; 2] {
        shape_of(self.space)
    }

    /// The cell kinds the space has (DARTS: normal and reduce;
    /// NAS-Bench-201: normal).
    pub fn kinds(&self) -> &'static [CellKind] {
        kinds_of(self.space.name())
    }

    /// Replaces the values of both kinds, keeping the parameter ids (so
    /// optimiser state and gradient lookups stay attached).
    pub fn set_values(&mut self, normal: &[f32], reduce: &[f32]) -> Result<(), SearchError> {
        let fresh =
            ArchVars::from_values_in(self.space, normal, reduce, &self.normal.val().device())?;
        self.normal = Param::initialized(self.normal.id, fresh.normal.val().require_grad());
        self.reduce = Param::initialized(self.reduce.id, fresh.reduce.val().require_grad());
        Ok(())
    }

    /// The variables of `kind`.
    pub fn alpha(&self, kind: CellKind) -> Tensor<2> {
        match kind {
            CellKind::Normal => self.normal.val(),
            CellKind::Reduce => self.reduce.val(),
        }
    }

    /// `alpha[kind]` with the columns outside the op set at
    /// [`MASKED_LOGIT`]: what every softmax, sample and arg-max reads. With
    /// every op it is `alpha[kind]` itself.
    pub fn logits(&self, kind: CellKind) -> Tensor<2> {
        let alpha = self.alpha(kind);
        if self.space.is_full() {
            return alpha;
        }
        let [_, n] = self.shape();
        let ops = self.space.ops();
        let mask: Vec<f32> = (0..n)
            .map(|k| if ops.contains(k) { 0.0 } else { MASKED_LOGIT })
            .collect();
        let mask: Tensor<2> = Tensor::from_data(TensorData::new(mask, [1, n]), &alpha.device());
        alpha.add(mask)
    }

    /// [`ArchVars::logits`] on the host, row-major.
    pub fn logit_values(&self, kind: CellKind) -> Result<Vec<f32>, SearchError> {
        let mut v = self.values(kind)?;
        if !self.space.is_full() {
            let [_, n] = self.shape();
            let ops = self.space.ops();
            for row in v.chunks_mut(n) {
                for (k, x) in row.iter_mut().enumerate() {
                    if !ops.contains(k) {
                        *x += MASKED_LOGIT;
                    }
                }
            }
        }
        Ok(v)
    }

    /// `alpha[kind]` on the host, row-major (DARTS: 112 values).
    pub fn values(&self, kind: CellKind) -> Result<Vec<f32>, SearchError> {
        Ok(to_host(self.alpha(kind))?)
    }

    /// The gradients of `alpha` (normal, reduce) in `grads`, taken out of
    /// them; zeros where `alpha` got none.
    pub fn take_grads(&self, grads: &mut Gradients) -> [Tensor<2>; 2] {
        let of = GradientsParams::from_module(grads, self);
        let get = |param: &Param<Tensor<2>>| {
            of.get::<2>(param.id)
                .unwrap_or_else(|| param.val().inner().zeros_like())
        };
        [get(&self.normal), get(&self.reduce)]
    }

    /// `softmax(alpha[kind])` per edge on the host (what DARTS derives
    /// from), over the op set: excluded ops get exactly 0.
    pub fn softmax_values(&self, kind: CellKind) -> Result<Vec<f32>, SearchError> {
        Ok(softmax_rows(&self.logit_values(kind)?, self.shape()[1]))
    }

    /// The clamp `C(alpha)`: the architecture derived by the space's rule
    /// (DARTS': top-2 inputs per node; NAS-Bench-201: every edge) from
    /// `softmax(alpha)`.
    pub fn derive(&self, options: DeriveOptions) -> Result<Architecture, SearchError> {
        Ok(Architecture::derive(
            self.space.name(),
            &self.softmax_values(CellKind::Normal)?,
            &self.softmax_values(CellKind::Reduce)?,
            options,
        )?)
    }

    /// EDAS' edge weightings for one step: every edge clamped to `genotype`
    /// except the edges in `relaxed` (per cell kind), which get
    /// `softmax((alpha[r] + g) / tau)` with gradient to `alpha[r]`; `g` is
    /// Gumbel noise when `gumbel` is given.
    pub fn edas_weights(
        &self,
        genotype: &Architecture,
        relaxed: &[Vec<usize>; 2],
        tau: f64,
        mut gumbel: Option<&mut Rng>,
    ) -> NetworkWeights {
        let mut weights = NetworkWeights::clamped_arch(genotype);
        let [_, n] = self.shape();
        for (k, &kind) in self.kinds().iter().enumerate() {
            let alpha = self.logits(kind);
            for &r in &relaxed[k] {
                let row = alpha.clone().slice([r..r + 1, 0..n]).reshape([n]);
                let row = match gumbel.as_deref_mut() {
                    Some(rng) => row.add(gumbel_noise(rng, n, &alpha.device())),
                    None => row,
                };
                weights.cell_mut(kind)[r] = EdgeWeighting::Relaxed(softmax(row.div_scalar(tau), 0));
            }
        }
        weights
    }

    /// DARTS' weightings: every edge `softmax(alpha / tau)`.
    pub fn darts_weights(&self, tau: f64) -> NetworkWeights {
        let [edges, n] = self.shape();
        let cell = |kind| {
            let w = softmax(self.logits(kind).div_scalar(tau), 1);
            (0..edges)
                .map(|e| EdgeWeighting::Relaxed(w.clone().slice([e..e + 1, 0..n]).reshape([n])))
                .collect()
        };
        NetworkWeights {
            normal: cell(CellKind::Normal),
            reduce: if self.kinds().contains(&CellKind::Reduce) {
                cell(CellKind::Reduce)
            } else {
                Vec::new()
            },
        }
    }
}

/// `[edges, ops]` of the architecture variables of `space` (a DARTS space
/// of fewer nodes: the rows of the edges into them).
pub fn shape_of(space: SearchSpace) -> [usize; 2] {
    [space.edges(), space.name().num_ops()]
}

/// The cell kinds of `space`.
pub fn kinds_of(space: SpaceName) -> &'static [CellKind] {
    match space {
        SpaceName::Darts => &CellKind::ALL,
        SpaceName::NasBench201 => &[CellKind::Normal],
    }
}

/// Gumbel(0, 1) noise for the `n` ops of an edge.
pub fn gumbel_noise(rng: &mut Rng, n: usize, device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(gumbel_values(rng, n), [n]), device)
}

/// `n` standard Gumbel samples `-ln(-ln u)` on the host (the values of
/// [`gumbel_noise`]).
pub fn gumbel_values(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u = rng.uniform().clamp(1e-12, 1.0 - 1e-12);
            (-(-u.ln()).ln()) as f32
        })
        .collect()
}

/// Row-wise softmax of host values in rows of `n` (DARTS: 14 x 8).
pub fn softmax_rows(values: &[f32], n: usize) -> Vec<f32> {
    values.chunks(n).flat_map(host_softmax).collect()
}

/// `softmax` of `values` (host, `f32`).
pub fn host_softmax(values: &[f32]) -> Vec<f32> {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = values.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Mean entropy (nats) of `softmax(alpha)` over the edges, rows of `n`
/// ops: `ln n` at initialisation (DARTS: `ln 8 = 2.079`), towards 0 as
/// edges commit.
pub fn mean_entropy(alpha: &[f32], n: usize) -> f64 {
    let p = softmax_rows(alpha, n);
    let rows = p.len() / n;
    p.chunks(n)
        .map(|row| {
            row.iter()
                .filter(|&&x| x > 0.0)
                .map(|&x| -f64::from(x) * f64::from(x).ln())
                .sum::<f64>()
        })
        .sum::<f64>()
        / rows as f64
}
