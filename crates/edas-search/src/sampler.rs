//! Which edges are relaxed at a step.

use edas_genotype::NUM_EDGES;
use edas_rng::Rng;
use serde::{Deserialize, Serialize};

/// How the relaxed edges are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeDistribution {
    /// Uniformly from the 14 edges (the default).
    #[default]
    Uniform,
    /// Cycle through a fresh random permutation of the 14 edges, so that every
    /// edge is relaxed equally often over each 14 draws.
    Permutation,
}

/// Draws `count` distinct relaxed edges per step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeSampler {
    count: usize,
    distribution: EdgeDistribution,
    queue: Vec<usize>,
}

impl EdgeSampler {
    /// A sampler of `count` edges (1..=14) per draw.
    pub fn new(count: usize, distribution: EdgeDistribution) -> EdgeSampler {
        EdgeSampler {
            count: count.clamp(1, NUM_EDGES),
            distribution,
            queue: Vec::new(),
        }
    }

    /// The rest of the current permutation (checkpoints).
    pub fn queue(&self) -> &[usize] {
        &self.queue
    }

    /// Restores the pending permutation from a checkpoint.
    pub fn set_queue(&mut self, queue: Vec<usize>) {
        self.queue = queue.into_iter().filter(|&e| e < NUM_EDGES).collect();
    }

    /// The next set of distinct relaxed edges, ascending.
    pub fn draw(&mut self, rng: &mut Rng) -> Vec<usize> {
        let mut edges = match self.distribution {
            EdgeDistribution::Uniform => {
                let mut all: Vec<usize> = (0..NUM_EDGES).collect();
                rng.shuffle(&mut all);
                all.truncate(self.count);
                all
            }
            EdgeDistribution::Permutation => {
                let mut out = Vec::with_capacity(self.count);
                while out.len() < self.count {
                    if self.queue.is_empty() {
                        self.queue = (0..NUM_EDGES).collect();
                        rng.shuffle(&mut self.queue);
                    }
                    let e = self.queue.pop().unwrap_or(0);
                    if !out.contains(&e) {
                        out.push(e);
                    }
                }
                out
            }
        };
        edges.sort_unstable();
        edges
    }
}
