//! The run directory's file names: the one list of what a search or a
//! training writes, which `--force`, resume, `edas export`, the lab's
//! status and reports all read from here. A new run file is a constant
//! here and an entry in [`RUN_OUTPUTS`].
//!
//! ```text
//! RUN_DIR/
//!   .lock            the running process's lock (LOCK_FILE)
//!   config.toml      the resolved config, after --set overrides (CONFIG_FILE)
//!   command.txt      the command line (COMMAND_FILE)
//!   git.txt          the builds that ran it (GIT_FILE)
//!   log.txt          what the run printed (LOG_FILE)
//!   status.json      running, stopped, failed (with the error) or finished (STATUS_FILE)
//!   metrics.jsonl    one JSON object per epoch (METRICS_FILE)
//!   checkpoint/      the newest checkpoint: state.json and the task's .bpk files
//!   checkpoint.old/  the one before, while the next is swapped in
//!   results.json     written last: its presence marks a finished run (RESULTS_FILE)
//!   genotype.json, genotype.txt, normal.dot, reduce.dot, normal.svg, reduce.svg,
//!   cell.dot, cell.svg (a NAS-Bench-201 search),
//!   curves.svg, alpha.svg, model.bpk; model.safetensors, model.onnx (edas export)
//! ```

/// The run's lock: an advisory lock (`flock`) on this file is held by the
/// process that runs in the directory for as long as it runs (the system
/// releases it when the process ends, `kill -9` included); it holds that
/// process's id. `--force` leaves it in place.
pub const LOCK_FILE: &str = ".lock";
/// The resolved config (after `--set` overrides).
pub const CONFIG_FILE: &str = "config.toml";
/// The command line that started the run.
pub const COMMAND_FILE: &str = "command.txt";
/// Which build of the program started (and resumed) the run.
pub const GIT_FILE: &str = "git.txt";
/// What the run printed.
pub const LOG_FILE: &str = "log.txt";
/// The run's state as its last process left it ([`crate::status`]).
pub const STATUS_FILE: &str = "status.json";
/// The per-epoch metrics.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The file whose presence marks a finished run.
pub const RESULTS_FILE: &str = "results.json";
/// The checkpoint directory.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// A checkpoint being written.
pub const CHECKPOINT_TMP: &str = "checkpoint.tmp";
/// The previous checkpoint, while the next one is swapped in.
pub const CHECKPOINT_OLD: &str = "checkpoint.old";
/// In a checkpoint: the driver's counters and the task's state.
pub const STATE_FILE: &str = "state.json";
/// In a checkpoint: the weight optimiser's state.
pub const SGD_FILE: &str = "sgd.bpk";
/// In a search checkpoint: the supernet's weights.
pub const SUPERNET_FILE: &str = "supernet.bpk";
/// A training's network: in its checkpoints, and the final weights in the
/// run directory.
pub const MODEL_FILE: &str = "model.bpk";
/// The genotype, JSON (a search's result, a training's cell).
pub const GENOTYPE_JSON: &str = "genotype.json";
/// The genotype, DARTS text.
pub const GENOTYPE_TXT: &str = "genotype.txt";
/// A search's cells as DOT, normal then reduce (the SVGs beside them).
pub const CELL_DOTS: [&str; 2] = ["normal.dot", "reduce.dot"];
/// A NAS-Bench-201 search's cell as DOT (the SVG beside it).
pub const NB201_CELL_DOT: &str = "cell.dot";
/// A run's loss and accuracy curves.
pub const CURVES_SVG: &str = "curves.svg";
/// A search's architecture weights over the epochs.
pub const ALPHA_SVG: &str = "alpha.svg";
/// `edas export`'s default safetensors file.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// `edas export --format onnx`'s default file.
pub const ONNX_FILE: &str = "model.onnx";

/// Every file and folder a search or a training writes into its run
/// directory (and `edas export`'s default outputs). `--force` removes these
/// and nothing else.
pub const RUN_OUTPUTS: &[&str] = &[
    LOCK_FILE,
    CONFIG_FILE,
    COMMAND_FILE,
    GIT_FILE,
    LOG_FILE,
    STATUS_FILE,
    METRICS_FILE,
    RESULTS_FILE,
    CHECKPOINT_DIR,
    CHECKPOINT_TMP,
    CHECKPOINT_OLD,
    GENOTYPE_JSON,
    GENOTYPE_TXT,
    CELL_DOTS[0],
    CELL_DOTS[1],
    "normal.svg",
    "reduce.svg",
    NB201_CELL_DOT,
    "cell.svg",
    CURVES_SVG,
    ALPHA_SVG,
    MODEL_FILE,
    SAFETENSORS_FILE,
    ONNX_FILE,
];
