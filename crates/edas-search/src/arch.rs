//! Architecture variables `alpha[t]` (14 x 8 per cell kind), the clamp
//! `C(alpha)`, and the per-step edge weightings of EDAS (this project's
//! design, `docs/edas.md`).

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Gradients;
use burn::tensor::activation::softmax;
use edas_genotype::{
    CellKind, DeriveOptions, EdgeWeights, Genotype, NUM_EDGES, NUM_OPS, OpSet, derive,
};
use edas_nn::{EdgeWeighting, NetworkWeights, to_host};
use edas_rng::Rng;

use crate::error::SearchError;

/// The architecture variables of both cell kinds, as one module so that one
/// backward pass yields their gradients.
#[derive(Module, Debug)]
pub struct ArchVars {
    /// `alpha[normal]`, `[14, 8]`.
    pub normal: Param<Tensor<2>>,
    /// `alpha[reduce]`, `[14, 8]`.
    pub reduce: Param<Tensor<2>>,
    /// The columns of the search space's ops; the others are masked out of
    /// every softmax ([`ArchVars::logits`]).
    #[module(skip)]
    pub ops: OpSet,
}

/// The logit an excluded op gets: `exp` of it underflows to exactly 0 in
/// `f32`, so a softmax over a masked row equals the softmax over the
/// allowed ops alone, and no infinity enters any sum or gradient.
pub const MASKED_LOGIT: f32 = -1e9;

impl ArchVars {
    /// `1e-3 * N(0, 1)` (DARTS' initialisation), from our own seeded generator
    /// so that a seed gives the same variables on every backend.
    pub fn init(seed: u64, device: &Device) -> ArchVars {
        let mut rng = Rng::for_item(seed, 0x414c_5048, 0);
        let mut draw = || -> Tensor<2> {
            let v: Vec<f32> = (0..NUM_EDGES * NUM_OPS)
                .map(|_| (1e-3 * rng.normal()) as f32)
                .collect();
            Tensor::from_data(TensorData::new(v, [NUM_EDGES, NUM_OPS]), device)
        };
        ArchVars {
            normal: Param::from_tensor(draw()),
            reduce: Param::from_tensor(draw()),
            ops: OpSet::DARTS,
        }
    }

    /// These variables over the op set `ops` (a restricted search space).
    #[must_use]
    pub fn with_ops(self, ops: OpSet) -> ArchVars {
        ArchVars { ops, ..self }
    }

    /// Variables from host values (checkpoints, tests).
    pub fn from_values(
        normal: &[f32],
        reduce: &[f32],
        device: &Device,
    ) -> Result<ArchVars, SearchError> {
        let t = |kind: CellKind, v: &[f32]| -> Result<Param<Tensor<2>>, SearchError> {
            if v.len() != NUM_EDGES * NUM_OPS {
                return Err(SearchError::AlphaSize {
                    kind,
                    values: v.len(),
                });
            }
            Ok(Param::from_tensor(Tensor::from_data(
                TensorData::new(v.to_vec(), [NUM_EDGES, NUM_OPS]),
                device,
            )))
        };
        Ok(ArchVars {
            normal: t(CellKind::Normal, normal)?,
            reduce: t(CellKind::Reduce, reduce)?,
            ops: OpSet::DARTS,
        })
    }

    /// Replaces the values of both kinds, keeping the parameter ids (so
    /// optimiser state and gradient lookups stay attached).
    pub fn set_values(&mut self, normal: &[f32], reduce: &[f32]) -> Result<(), SearchError> {
        let fresh = ArchVars::from_values(normal, reduce, &self.normal.val().device())?;
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
        if self.ops == OpSet::DARTS {
            return alpha;
        }
        let mask: Vec<f32> = (0..NUM_OPS)
            .map(|k| {
                if self.ops.contains(k) {
                    0.0
                } else {
                    MASKED_LOGIT
                }
            })
            .collect();
        let mask: Tensor<2> =
            Tensor::from_data(TensorData::new(mask, [1, NUM_OPS]), &alpha.device());
        alpha.add(mask)
    }

    /// [`ArchVars::logits`] on the host, row-major.
    pub fn logit_values(&self, kind: CellKind) -> Result<Vec<f32>, SearchError> {
        let mut v = self.values(kind)?;
        if self.ops != OpSet::DARTS {
            for row in v.chunks_mut(NUM_OPS) {
                for (k, x) in row.iter_mut().enumerate() {
                    if !self.ops.contains(k) {
                        *x += MASKED_LOGIT;
                    }
                }
            }
        }
        Ok(v)
    }

    /// `alpha[kind]` on the host, row-major (112 values).
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
        Ok(softmax_rows(&self.logit_values(kind)?))
    }

    /// The clamp `C(alpha)`: the genotype derived by the DARTS rule from
    /// `softmax(alpha)`.
    pub fn derive(&self, options: DeriveOptions) -> Result<Genotype, SearchError> {
        let w = |kind| -> Result<EdgeWeights, SearchError> {
            Ok(EdgeWeights::from_flat(kind, &self.softmax_values(kind)?)?)
        };
        Ok(derive(
            &w(CellKind::Normal)?,
            &w(CellKind::Reduce)?,
            options,
        )?)
    }

    /// EDAS' edge weightings for one step: every edge clamped to `genotype`
    /// except the edges in `relaxed` (per cell kind), which get
    /// `softmax((alpha[r] + g) / tau)` with gradient to `alpha[r]`; `g` is
    /// Gumbel noise when `gumbel` is given.
    pub fn edas_weights(
        &self,
        genotype: &Genotype,
        relaxed: &[Vec<usize>; 2],
        tau: f64,
        mut gumbel: Option<&mut Rng>,
    ) -> NetworkWeights {
        let mut weights = NetworkWeights::clamped(genotype);
        for (k, kind) in CellKind::ALL.into_iter().enumerate() {
            let alpha = self.logits(kind);
            for &r in &relaxed[k] {
                let row = alpha
                    .clone()
                    .slice([r..r + 1, 0..NUM_OPS])
                    .reshape([NUM_OPS]);
                let row = match gumbel.as_deref_mut() {
                    Some(rng) => row.add(gumbel_noise(rng, &alpha.device())),
                    None => row,
                };
                weights.cell_mut(kind)[r] = EdgeWeighting::Relaxed(softmax(row.div_scalar(tau), 0));
            }
        }
        weights
    }

    /// DARTS' weightings: every edge `softmax(alpha / tau)`.
    pub fn darts_weights(&self, tau: f64) -> NetworkWeights {
        let cell = |kind| {
            let w = softmax(self.logits(kind).div_scalar(tau), 1);
            (0..NUM_EDGES)
                .map(|e| {
                    EdgeWeighting::Relaxed(
                        w.clone().slice([e..e + 1, 0..NUM_OPS]).reshape([NUM_OPS]),
                    )
                })
                .collect()
        };
        NetworkWeights {
            normal: cell(CellKind::Normal),
            reduce: cell(CellKind::Reduce),
        }
    }
}

/// Gumbel(0, 1) noise for the 8 ops of an edge.
pub fn gumbel_noise(rng: &mut Rng, device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(gumbel_values(rng), [NUM_OPS]), device)
}

/// `NUM_OPS` standard Gumbel samples `-ln(-ln u)` on the host (the values
/// of [`gumbel_noise`]).
pub fn gumbel_values(rng: &mut Rng) -> Vec<f32> {
    (0..NUM_OPS)
        .map(|_| {
            let u = rng.uniform().clamp(1e-12, 1.0 - 1e-12);
            (-(-u.ln()).ln()) as f32
        })
        .collect()
}

/// Row-wise softmax of 14 x 8 host values.
pub fn softmax_rows(values: &[f32]) -> Vec<f32> {
    values.chunks(NUM_OPS).flat_map(host_softmax).collect()
}

/// `softmax` of `values` (host, `f32`).
pub fn host_softmax(values: &[f32]) -> Vec<f32> {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = values.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Mean entropy (nats) of `softmax(alpha)` over the 14 edges: `ln 8 = 2.079`
/// at initialisation, towards 0 as edges commit.
pub fn mean_entropy(alpha: &[f32]) -> f64 {
    let p = softmax_rows(alpha);
    let rows = p.len() / NUM_OPS;
    p.chunks(NUM_OPS)
        .map(|row| {
            row.iter()
                .filter(|&&x| x > 0.0)
                .map(|&x| -f64::from(x) * f64::from(x).ln())
                .sum::<f64>()
        })
        .sum::<f64>()
        / rows as f64
}
