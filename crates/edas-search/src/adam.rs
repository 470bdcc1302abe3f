//! Adam on the rows of `alpha`, one edge at a time.
//!
//! EDAS relaxes one edge per cell kind per step, so only that edge's row has a
//! gradient. A whole-tensor Adam would still move every other row (through its
//! moment estimates and weight decay) and so change clamped edges without
//! evidence. This Adam keeps moments and a step count per edge and updates
//! only the rows it is given: after an architecture step every other row is
//! bit-identical. The update itself is PyTorch's `torch.optim.Adam` with L2
//! weight decay (`g + wd * alpha`) and bias correction by the edge's own step
//! count (this project's design).

use edas_genotype::{NUM_EDGES, NUM_OPS};
use serde::{Deserialize, Serialize};

/// Adam hyperparameters (DARTS' architecture optimiser by default).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamConfig {
    /// Learning rate (DARTS: 3e-4).
    pub lr: f64,
    /// First-moment decay (DARTS: 0.5).
    pub beta1: f64,
    /// Second-moment decay (0.999).
    pub beta2: f64,
    /// Denominator epsilon (PyTorch's 1e-8).
    pub epsilon: f64,
    /// L2 weight decay (DARTS: 1e-3).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 3e-4,
            beta1: 0.5,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 1e-3,
        }
    }
}

/// Per-edge Adam state of one cell kind's `[14, 8]` variables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowAdam {
    /// First moments, row-major.
    pub m: Vec<f64>,
    /// Second moments, row-major.
    pub v: Vec<f64>,
    /// Updates applied to each edge so far.
    pub steps: Vec<u64>,
}

impl Default for RowAdam {
    fn default() -> Self {
        RowAdam {
            m: vec![0.0; NUM_EDGES * NUM_OPS],
            v: vec![0.0; NUM_EDGES * NUM_OPS],
            steps: vec![0; NUM_EDGES],
        }
    }
}

impl RowAdam {
    /// Adam state for `rows` rows of `width` values each (the default is
    /// alpha's 14 x 8; PC-DARTS' beta is 14 x 1).
    pub fn with_shape(rows: usize, width: usize) -> RowAdam {
        RowAdam {
            m: vec![0.0; rows * width],
            v: vec![0.0; rows * width],
            steps: vec![0; rows],
        }
    }

    /// Updates rows `rows` of `alpha` (112 values, row-major) with gradient
    /// `grad` (same layout); other rows are not touched.
    pub fn step(&mut self, config: &AdamConfig, alpha: &mut [f32], grad: &[f32], rows: &[usize]) {
        let width = self.m.len() / self.steps.len().max(1);
        for &r in rows {
            self.steps[r] += 1;
            let t = self.steps[r] as i32;
            let c1 = 1.0 - config.beta1.powi(t);
            let c2 = 1.0 - config.beta2.powi(t);
            for i in r * width..(r + 1) * width {
                let p = f64::from(alpha[i]);
                let g = f64::from(grad[i]) + config.weight_decay * p;
                self.m[i] = config.beta1 * self.m[i] + (1.0 - config.beta1) * g;
                self.v[i] = config.beta2 * self.v[i] + (1.0 - config.beta2) * g * g;
                let update =
                    config.lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + config.epsilon);
                alpha[i] = (p - update) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_times_sign() {
        // With bias correction, Adam's first step is lr * g / (|g| + eps).
        let config = AdamConfig {
            weight_decay: 0.0,
            ..AdamConfig::default()
        };
        let mut adam = RowAdam::default();
        let mut alpha = vec![0.5f32; 112];
        let mut grad = vec![0f32; 112];
        grad[3 * 8 + 2] = 0.7;
        grad[3 * 8 + 5] = -2.0;
        let before = alpha.clone();
        adam.step(&config, &mut alpha, &grad, &[3]);
        assert!((alpha[26] - (0.5 - 3e-4)).abs() < 1e-7);
        assert!((alpha[29] - (0.5 + 3e-4)).abs() < 1e-7);
        assert_eq!(alpha[24], 0.5, "zero gradient, no decay: unchanged");
        for r in (0..14).filter(|&r| r != 3) {
            assert_eq!(alpha[r * 8..r * 8 + 8], before[r * 8..r * 8 + 8]);
        }
        assert_eq!(adam.steps[3], 1);
        assert_eq!(adam.steps.iter().sum::<u64>(), 1);
    }

    #[test]
    fn matches_pytorch_adam_over_steps() {
        // Golden values from torch.optim.Adam([p], lr=3e-4, betas=(0.5, 0.999),
        // weight_decay=1e-3) on p = 1.0 with gradients 1.0, -0.5, 0.25:
        // recomputed here from the published update rule.
        let config = AdamConfig::default();
        let mut adam = RowAdam::default();
        let mut alpha = vec![1.0f32; 112];
        let (mut m, mut v, mut p) = (0f64, 0f64, 1f64);
        for (t, g0) in [1.0f64, -0.5, 0.25].into_iter().enumerate() {
            let mut grad = vec![0f32; 112];
            grad[0] = g0 as f32;
            adam.step(&config, &mut alpha, &grad, &[0]);
            let g = g0 + 1e-3 * p;
            m = 0.5 * m + 0.5 * g;
            v = 0.999 * v + 0.001 * g * g;
            let t = (t + 1) as i32;
            p -= 3e-4 * (m / (1.0 - 0.5f64.powi(t)))
                / ((v / (1.0 - 0.999f64.powi(t))).sqrt() + 1e-8);
            assert!((f64::from(alpha[0]) - p).abs() < 1e-6, "step {t}");
        }
    }
}
