//! Which edges are relaxed at a step.

use edas_rng::Rng;
use serde::{Deserialize, Serialize};

/// How the relaxed edges are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeDistribution {
    /// Uniformly from the cell's edges (the default).
    #[default]
    Uniform,
    /// Cycle through a fresh random permutation of the edges, so that every
    /// edge is relaxed equally often over each round of draws.
    Permutation,
}

/// Draws `count` distinct relaxed edges per step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeSampler {
    count: usize,
    edges: usize,
    distribution: EdgeDistribution,
    queue: Vec<usize>,
}

impl EdgeSampler {
    /// A sampler of `count` of a cell's `edges` edges (DARTS: 14) per draw.
    pub fn new(count: usize, distribution: EdgeDistribution, edges: usize) -> EdgeSampler {
        EdgeSampler {
            count: count.clamp(1, edges.max(1)),
            edges,
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
        self.queue = queue.into_iter().filter(|&e| e < self.edges).collect();
    }

    /// The next set of distinct relaxed edges, ascending.
    pub fn draw(&mut self, rng: &mut Rng) -> Vec<usize> {
        let mut edges = match self.distribution {
            EdgeDistribution::Uniform => {
                let mut all: Vec<usize> = (0..self.edges).collect();
                rng.shuffle(&mut all);
                all.truncate(self.count);
                all
            }
            EdgeDistribution::Permutation => {
                let mut out = Vec::with_capacity(self.count);
                while out.len() < self.count {
                    if self.queue.is_empty() {
                        self.queue = (0..self.edges).collect();
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
