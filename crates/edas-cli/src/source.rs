//! Turning a command-line argument into an architecture (a DARTS genotype or
//! a NAS-Bench-201 cell): a published name, a file, a run directory, `-` for
//! standard input, or the text itself (DARTS text, JSON, or a NAS-Bench-201
//! architecture string).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use edas_genotype::{Architecture, published};
use edas_run::files::GENOTYPE_JSON;

/// An architecture and where it came from.
pub struct Loaded {
    /// The architecture.
    pub arch: Architecture,
    /// Its name: the published name or the DARTS `NAME =` prefix.
    pub name: Option<String>,
    /// A short label for file names and headers: the name, else the file
    /// stem (the directory name for a run directory), else `genotype`.
    pub label: String,
    /// Where it came from, for messages.
    pub origin: String,
}

/// Resolves `arg`: a published genotype name (case-insensitive), `-` (read
/// standard input), a genotype text given inline, a file, or a run directory
/// holding `genotype.json`.
pub fn resolve(arg: &str) -> Result<Loaded> {
    if let Some(p) = published::by_name(arg) {
        return Ok(Loaded {
            arch: Architecture::Darts(p.genotype),
            name: Some(p.name.to_owned()),
            label: p.name.to_owned(),
            origin: format!("published: {}", p.source),
        });
    }
    if arg == "-" {
        let text = edas_genotype::read::read_text_from(std::io::stdin())
            .context("cannot read standard input")?;
        let (name, arch) =
            Architecture::parse_any(&text).context("invalid genotype on standard input")?;
        return Ok(Loaded {
            label: name.clone().unwrap_or_else(|| "genotype".to_owned()),
            arch,
            name,
            origin: "standard input".to_owned(),
        });
    }
    let looks_inline = arg.contains("Genotype(")
        || arg.trim_start().starts_with('{')
        || arg.trim_start().starts_with('|');
    if looks_inline {
        let (name, arch) =
            Architecture::parse_any(arg).context("invalid genotype text in the argument")?;
        return Ok(Loaded {
            label: name.clone().unwrap_or_else(|| "genotype".to_owned()),
            arch,
            name,
            origin: "command line".to_owned(),
        });
    }
    let path = Path::new(arg);
    if path.is_dir() {
        let file: PathBuf = path.join(GENOTYPE_JSON);
        if !file.is_file() {
            bail!(
                "{} is a directory without {GENOTYPE_JSON}; expected a search or training run directory",
                path.display()
            );
        }
        return from_file(&file, path);
    }
    if !path.exists() {
        bail!(
            "`{arg}` is neither a published genotype ({}) nor an existing file",
            published::names().collect::<Vec<_>>().join(", ")
        );
    }
    from_file(path, path)
}

/// Loads `file`; `labelled` (the file or its run directory) gives the label.
fn from_file(file: &Path, labelled: &Path) -> Result<Loaded> {
    let (name, arch) = Architecture::load(file)?;
    let stem = labelled
        .canonicalize()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    Ok(Loaded {
        label: name
            .clone()
            .or(stem)
            .unwrap_or_else(|| "genotype".to_owned()),
        arch,
        name,
        origin: file.display().to_string(),
    })
}
