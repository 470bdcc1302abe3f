//! Drawing DOT files with Graphviz's `dot` program: the one place that runs
//! it, for `edas genotype plot` and the cells a search leaves.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

/// Why a DOT file was not drawn.
#[derive(Debug, Error)]
pub enum RenderError {
    /// There is no `dot` program to run.
    #[error("Graphviz `dot` is not installed (Debian: apt-get install graphviz)")]
    NotFound,
    /// `dot` ran and failed, or its picture could not be put in place (the
    /// message holds `dot`'s own).
    #[error(transparent)]
    Failed(#[from] edas_fs::FsError),
}

/// Whether a `dot` program runs here (`dot -V` succeeds).
pub fn dot_available() -> bool {
    Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Draws `dot_file` as `format` (`svg`, `png`: any `dot -T` format) into
/// the file beside it with that extension, and returns its path. `dot`
/// writes a temporary file that is renamed into place (the rules of
/// [`edas_fs::replace_with`]): a failure leaves no half-drawn picture.
pub fn render(dot_file: &Path, format: &str) -> Result<PathBuf, RenderError> {
    let out = dot_file.with_extension(format);
    let mut missing = false;
    let drawn = edas_fs::replace_with(&out, |tmp| {
        let result = Command::new("dot")
            .arg(format!("-T{format}"))
            .arg(dot_file)
            .arg("-o")
            .arg(tmp)
            .output()
            .map_err(|e| {
                missing = e.kind() == ErrorKind::NotFound;
                format!("cannot run Graphviz `dot` on {}: {e}", dot_file.display())
            })?;
        if result.status.success() {
            Ok(())
        } else {
            Err(format!(
                "Graphviz `dot` failed on {}: {}",
                dot_file.display(),
                String::from_utf8_lossy(&result.stderr).trim()
            ))
        }
    });
    match drawn {
        Ok(()) => Ok(out),
        Err(_) if missing => Err(RenderError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_bad_dot_file_is_a_failure_that_names_it() {
        if !dot_available() {
            return;
        }
        let tmp = std::env::temp_dir().join(format!("edas-graphviz-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let good = tmp.join("good.dot");
        std::fs::write(&good, "digraph { a -> b }\n").unwrap();
        let svg = render(&good, "svg").unwrap();
        assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
        let bad = tmp.join("bad.dot");
        std::fs::write(&bad, "digraph { a -> \n").unwrap();
        let e = render(&bad, "svg").unwrap_err();
        assert!(matches!(e, RenderError::Failed(_)), "{e}");
        // The message says what failed, with `dot`'s own words.
        let text = e.to_string();
        assert!(
            text.contains("cannot write") && text.contains("Graphviz `dot` failed on"),
            "{text}"
        );
        assert!(!tmp.join("bad.svg").exists());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
