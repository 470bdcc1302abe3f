//! Every unit's configs checked by the `edas` binary itself before
//! anything runs or any script is written.

use std::path::Path;

use anyhow::{Context, Result, bail};

use std::process::Command;

use crate::binary::set_args;
use crate::matrix::{MatrixUnit, RANDOM_CELL};
use crate::workspace::project_root;

/// Checks every unit's search and training config with its overrides
/// (`edas search|train --check`, the binary's own schema and ranges) before
/// any unit runs or any script is written, so that an unknown key in the
/// matrix's `[search_set]` or `[grid]` is named at once rather than by the
/// first run that reaches it. Each distinct config and override list is
/// checked once (seeds and directories do not enter).
pub fn check_configs(bin: &Path, units: &[MatrixUnit]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for u in units {
        let mut checks = Vec::new();
        if u.strategy != RANDOM_CELL {
            checks.push(("search", None, &u.search_config, &u.search_set));
        }
        if let Some(config) = &u.train_config {
            // Not read by --check: the search has not written it yet.
            let genotype = u
                .steps()
                .sampled_cell
                .unwrap_or_else(|| u.dir.join("search"));
            checks.push(("train", Some(genotype), config, &u.train_set));
        }
        for (command, genotype, config, sets) in checks {
            if !seen.insert((command, config.clone(), sets.clone())) {
                continue;
            }
            let mut args = vec![command.to_owned(), "--check".into()];
            if let Some(g) = genotype {
                args.extend(["--genotype".into(), g.display().to_string()]);
            }
            args.extend(["--config".into(), config.clone()]);
            args.extend(set_args(sets));
            let out = Command::new(bin)
                .args(&args)
                .current_dir(project_root())
                .output()
                .with_context(|| format!("cannot run {}", bin.display()))?;
            if !out.status.success() {
                let unit = u
                    .dir
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                let err = String::from_utf8_lossy(&out.stderr);
                bail!(
                    "unit {unit}: its {command} config is refused ({}), before anything ran:\n{}",
                    out.status,
                    err.trim_end()
                );
            }
        }
    }
    eprintln!("configs checked: {} distinct", seen.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::matrix::Matrix;
    use std::path::PathBuf;

    /// A stand-in `edas` that logs each call's arguments to `calls` and
    /// refuses any containing `bogus` as edas would.
    fn fake_edas(dir: &Path) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let bin = dir.join("edas");
        let calls = dir.join("calls");
        std::fs::write(
            &bin,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$*\" in *bogus*) echo \"error: key \\`edas.bogus\\`: unknown field\" >&2; exit 1;; esac\necho 'config ok'\n",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        (bin, calls)
    }

    #[test]
    fn configs_are_checked_once_each_before_anything_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let (bin, calls) = fake_edas(tmp.path());
        let m = Matrix::parse(
            "out='x'\nsearch_config='s-{strategy}.toml'\ntrain_config='t.toml'\nstrategies=['edas', 'random-cell']\n\
             seeds=[1, 2]\n[grid]\nepochs=[1, 2]\n[train_set]\nepochs=1\n",
            "m.toml",
        )
        .unwrap();
        check_configs(&bin, &m.units()).unwrap();
        let calls = std::fs::read_to_string(&calls).unwrap();
        let calls: Vec<&str> = calls.lines().collect();
        // Two search grid points (seeds do not count; random-cell has no
        // search), one training.
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert_eq!(
            calls[0],
            "search --check --config s-edas.toml --set epochs=1"
        );
        assert_eq!(
            calls[1],
            "train --check --genotype x/edas-epochs=1-s1/search --config t.toml --set epochs=1"
        );
        assert_eq!(
            calls[2],
            "search --check --config s-edas.toml --set epochs=2"
        );
        // An unknown key is refused naming the unit and edas' message.
        let m = Matrix::parse(
            "out='x'\nsearch_config='s.toml'\nstrategies=['edas']\nseeds=[1]\n[search_set]\n\"edas.bogus\"=1\n",
            "m.toml",
        )
        .unwrap();
        let e = format!("{:#}", check_configs(&bin, &m.units()).unwrap_err());
        assert!(
            e.contains("unit edas-s1: its search config is refused"),
            "{e}"
        );
        assert!(e.contains("key `edas.bogus`: unknown field"), "{e}");
    }
}
