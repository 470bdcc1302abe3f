//! `matrix FILE --status`: each unit's search and training state from its
//! run directories (and Slurm's queue where `squeue` runs), and the work
//! left.

use anyhow::Result;

use crate::matrix::{MatrixUnit, RANDOM_CELL, load_matrix};
use crate::status::describe;

/// `cargo xtask matrix FILE --status`: each unit's search and training
/// state from its run directories.
pub fn matrix_status(file: &str) -> Result<()> {
    let m = load_matrix(file)?;
    let units = m.units();
    let (mut done, mut total) = (0, 0);
    // Slurm's view where squeue runs (a login node); none elsewhere.
    let queue = crate::slurm::queue(&m);
    let queued = |u: &MatrixUnit, step: &str| -> String {
        queue
            .as_ref()
            .and_then(|q| q.get(&crate::slurm::job_name(&m, u, step)))
            .map_or_else(String::new, |j| format!("; {j}"))
    };
    println!("| unit | search | training |");
    println!("|---|---|---|");
    for u in &units {
        let search = if u.strategy == RANDOM_CELL {
            if u.steps().sampled_cell.is_some_and(|c| c.is_file()) {
                "done (sampled)".to_owned()
            } else {
                "-".to_owned()
            }
        } else {
            describe(&u.dir.join("search")) + &queued(u, "search")
        };
        let train = if u.train_config.is_some() {
            describe(&u.dir.join("train")) + &queued(u, "train")
        } else {
            "(none)".to_owned()
        };
        total += 1;
        done += usize::from(
            train.starts_with("done") || (u.train_config.is_none() && search.starts_with("done")),
        );
        let name = u
            .dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        println!("| {name} | {search} | {train} |");
    }
    println!("\n{done} of {total} units finished ({})", m.out.display());
    if done < total {
        println!(
            "{}",
            crate::remaining::describe(&crate::remaining::remaining(&units)?)
        );
    }
    Ok(())
}
