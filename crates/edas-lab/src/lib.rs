//! `edas-lab`: the experiment lab. A researcher's studies of the `edas`
//! binary: matrices of searches and trainings (datasets x strategies x
//! config grids x seeds), run here (`--jobs N`) or as Slurm batch jobs, their
//! status and the work left, reports with confidence intervals, the
//! run-to-run variance of a recipe, and the paper-scale runs.
//!
//! Data flows one way, and so do the imports (no module imports one that
//! imports it back):
//!
//! ```text
//! workspace, stats                      the source tree; the statistics
//! binary                                the edas binary: build, run, exit status
//! matrix                                matrix file -> units (and their edas arguments)
//! status, check                         a run directory's state; configs checked by edas
//! local | slurm                         the runners
//! remaining, matrix_status              the work left; `--status`
//! report::{units -> table, ops, ranks, plot, cells}   run directories -> tables
//! variance, paper, fashion              studies built from the above
//! cli                                   the command line (clap)
//! ```
//!
//! A new study type is a module beside `variance` and a [`cli::Command`]
//! variant; a new runner a module beside `local` and `slurm` that takes
//! [`matrix::MatrixUnit`]s; a new report table a module under `report`.

pub mod binary;
pub mod check;
pub mod cli;
pub mod fashion;
pub mod local;
pub mod matrix;
pub mod matrix_status;
pub mod paper;
pub mod rank_cells;
pub mod remaining;
pub mod report;
pub mod slurm;
pub mod stats;
pub mod status;
pub mod summary;
pub mod variance;
pub mod workspace;
