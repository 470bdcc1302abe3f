//! Saving and loading module weights and optimiser state inside a
//! checkpoint directory (burn's burnpack format, which keeps each
//! parameter's id so that the optimiser state, keyed by id, reattaches).

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::{BurnpackStore, ModuleSnapshot};

use crate::error::{Result, RunError};

fn ck_error(path: &Path, message: impl std::fmt::Display) -> RunError {
    RunError::Checkpoint {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// Writes `module`'s parameters and buffers to `path` (burnpack).
///
/// BatchNorm's running statistics are brought up to date first: burn keeps
/// a training forward's update pending until the next forward (or an
/// evaluation) reads it, and records the value before it, so a checkpoint
/// taken right after a training step would lose that step's update.
pub fn save_module<M: Module + ModuleSnapshot>(module: &M, path: &Path) -> Result<()> {
    // `valid` merges every running state's pending update in place (the
    // states are shared with `module`); the copy itself is not needed.
    drop(module.valid());
    let mut store = BurnpackStore::from_file(path)
        .auto_extension(false)
        .overwrite(true);
    module.save_into(&mut store).map_err(|e| ck_error(path, e))
}

/// Loads `path` into `module` (built with the same structure); every tensor
/// must match.
pub fn load_module<M: Module + ModuleSnapshot>(module: &mut M, path: &Path) -> Result<()> {
    edas_fs::require_file(path).map_err(|e| ck_error(path, e.reason()))?;
    let mut store = BurnpackStore::from_file(path).auto_extension(false);
    let result = module
        .load_from(&mut store)
        .map_err(|e| ck_error(path, e))?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(ck_error(
            path,
            format!(
                "does not fit the network: {} missing tensors (first: {:?}), {} errors (first: {:?})",
                result.missing.len(),
                result.missing.first().map(|m| &m.0),
                result.errors.len(),
                result.errors.first()
            ),
        ));
    }
    Ok(())
}

/// Writes an optimiser's state to `path`.
pub fn save_optimizer(optim: &ModuleOptimizer, path: &Path) -> Result<()> {
    optim
        .save(path)
        .map_err(|e| ck_error(path, format!("{e:?}")))
}

/// Loads an optimiser's state from `path` into `optim`.
pub fn load_optimizer(optim: ModuleOptimizer, path: &Path) -> Result<ModuleOptimizer> {
    edas_fs::require_file(path).map_err(|e| ck_error(path, e.reason()))?;
    optim
        .load(path)
        .map_err(|e| ck_error(path, format!("{e:?}")))
}
