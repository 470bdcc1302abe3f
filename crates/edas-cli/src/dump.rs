//! `edas eval --dump DIR`: what the network saw and said on the evaluated
//! test images, as NumPy files (`images.npy` float32 `[N, C, H, W]` after
//! the evaluation pipeline, `logits.npy` float32 `[N, classes]`,
//! `labels.npy` int64 `[N]`), for comparing with another framework
//! (`cargo xtask interop`) or for analyses of one's own.

use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result};
use edas_train::Predictions;
use npyz::{AutoSerialize, WriterBuilder};

/// The files a dump writes into its directory.
pub const FILES: [&str; 3] = ["images.npy", "logits.npy", "labels.npy"];

/// Whether `--dump DIR` may write its files (before the evaluation): none
/// exists, or `force` (each is then a regular file or symlink, replaced).
pub fn check(dir: &Path, force: bool) -> Result<()> {
    for f in FILES {
        edas_fs::check_output(&dir.join(f), force)?;
    }
    Ok(())
}

/// The evaluated batches, gathered.
#[derive(Default)]
pub struct Dump {
    images: Vec<f32>,
    image_dims: Option<[usize; 3]>,
    logits: Vec<f32>,
    labels: Vec<i64>,
}

impl Dump {
    /// Adds one batch.
    pub fn add(&mut self, p: Predictions<'_>) {
        let [_, c, h, w] = p.batch.shape;
        self.image_dims = Some([c, h, w]);
        self.images.extend_from_slice(&p.batch.images);
        self.logits.extend_from_slice(p.logits);
        self.labels.extend(p.batch.labels.iter().map(|&l| l as i64));
    }

    /// Writes the three files into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let n = self.labels.len();
        let [c, h, w] = self.image_dims.unwrap_or([0; 3]);
        let classes = self.logits.len().checked_div(n).unwrap_or(0);
        let [images, logits, labels] = FILES;
        write_npy(&dir.join(images), &[n, c, h, w], &self.images)?;
        write_npy(&dir.join(logits), &[n, classes], &self.logits)?;
        write_npy(&dir.join(labels), &[n], &self.labels)
    }
}

/// One `.npy` file, written beside and renamed into place
/// ([`edas_fs::replace_with`]).
fn write_npy<T: AutoSerialize>(path: &Path, shape: &[usize], values: &[T]) -> Result<()> {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    edas_fs::replace_with(path, |tmp| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| e.to_string())?;
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(BufWriter::new(file))
            .begin_nd()
            .map_err(|e| e.to_string())?;
        for v in values {
            writer.push(v).map_err(|e| e.to_string())?;
        }
        writer.finish().map_err(|e| e.to_string())
    })?;
    Ok(())
}
