//! The names of the search strategies, as configs, results and the lab
//! write them: the one list every other list is made from.

use serde::{Deserialize, Serialize};

/// How the architecture is searched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Clamped variables with one relaxed edge per cell kind (this project).
    #[default]
    Edas,
    /// Every edge a softmax mixture, first order (Liu et al. 2019).
    Darts,
    /// DARTS with the unrolled, second-order architecture gradient (Liu et
    /// al. 2019, eq. 7-8).
    Darts2,
    /// DARTS on a partial-channel supernet with edge normalisation (Xu et
    /// al. 2020).
    PcDarts,
    /// Every edge a hard Gumbel one-hot with straight-through gradients
    /// (Dong & Yang 2019), tau annealed.
    Gdas,
    /// Weight sharing with uniformly sampled genotypes; the best of sampled
    /// candidates on validation data is kept (Li & Talwalkar 2019).
    Random,
}

impl Strategy {
    /// All strategies.
    pub const ALL: [Strategy; 6] = [
        Strategy::Edas,
        Strategy::Darts,
        Strategy::Darts2,
        Strategy::PcDarts,
        Strategy::Gdas,
        Strategy::Random,
    ];

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Edas => "edas",
            Strategy::Darts => "darts",
            Strategy::Darts2 => "darts2",
            Strategy::PcDarts => "pc-darts",
            Strategy::Gdas => "gdas",
            Strategy::Random => "random",
        }
    }

    /// Whether the strategy has an architecture step.
    pub fn has_arch_step(self) -> bool {
        !matches!(self, Strategy::Random)
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
