//! Matrix files (`configs/matrix/*.toml`: datasets x strategies x config
//! grids x seeds) and the units they expand to, each with the `edas`
//! arguments of its steps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use edas_genotype::SpaceName;
use edas_run::files::GENOTYPE_JSON;

use crate::binary::{set_args, start_args};
use crate::workspace::project_root;

/// The pseudo-strategy of a matrix that trains a uniformly sampled cell
/// (`edas genotype random --seed SEED`) without searching.
pub const RANDOM_CELL: &str = "random-cell";

/// A matrix file (`configs/matrix/*.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Where the runs go: `OUT/<unit>/{search,train}` (see [`Matrix::units`]).
    pub out: PathBuf,
    /// Search config path, with `{strategy}` (and `{dataset}`) in it.
    pub search_config: String,
    /// Training config for the found cells (none: search only), with
    /// `{dataset}` in it when several datasets are listed.
    pub train_config: Option<String>,
    /// Datasets substituted for `{dataset}` (empty: the configs' own).
    pub datasets: Vec<String>,
    /// Strategies.
    pub strategies: Vec<String>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Extra `--set` overrides for every search (`key=value`).
    pub search_set: Vec<String>,
    /// Extra `--set` overrides for every training.
    pub train_set: Vec<String>,
    /// Search config keys and the values to try (the cartesian product).
    pub grid: Vec<(String, Vec<String>)>,
    /// Search settings tried together (`[[points]]`: each a set of keys
    /// and values), crossed with the grid: for values that go in pairs,
    /// such as a relaxed-edge count and its learning rate.
    pub points: Vec<Vec<(String, String)>>,
    /// Training config keys and the values to try.
    pub train_grid: Vec<(String, Vec<String>)>,
    /// The search space of the `random-cell` units' samples (`darts`
    /// unless the file says `space = "nas-bench-201"`; the searches take
    /// theirs from their configs).
    pub space: SpaceName,
    /// The intermediate nodes of the `random-cell` units' samples (`nodes =
    /// 3` for a DARTS space of fewer nodes, as the searches' `space.nodes`;
    /// absent: the space's own).
    pub nodes: Option<usize>,
}

/// One run of a matrix: a search (or a sampled cell) and its training.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixUnit {
    /// `OUT/[<dataset>-]<strategy>[-<key>=<value>...]-s<seed>`.
    pub dir: PathBuf,
    /// Dataset, when the matrix lists datasets.
    pub dataset: Option<String>,
    /// Strategy.
    pub strategy: String,
    /// Seed.
    pub seed: u64,
    /// The search config path.
    pub search_config: String,
    /// The training config path.
    pub train_config: Option<String>,
    /// `--set` overrides of the search (the matrix's, then the grid point's).
    pub search_set: Vec<String>,
    /// `--set` overrides of the training.
    pub train_set: Vec<String>,
    /// The space a `random-cell` unit samples from.
    pub space: SpaceName,
    /// Its node count, when not the space's own.
    pub nodes: Option<usize>,
}

/// A matrix file as written (`configs/matrix/*.toml`); [`Matrix::parse`]
/// checks it and turns it into a [`Matrix`].
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixFile {
    out: PathBuf,
    search_config: String,
    train_config: Option<String>,
    #[serde(default)]
    datasets: Vec<String>,
    strategies: Vec<String>,
    seeds: Vec<u64>,
    #[serde(default)]
    search_set: toml::Table,
    #[serde(default)]
    train_set: toml::Table,
    #[serde(default)]
    grid: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    points: Vec<toml::Table>,
    #[serde(default)]
    train_grid: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    space: SpaceName,
    #[serde(default)]
    nodes: Option<usize>,
}

/// A TOML value as a `--set` value and in a directory name.
fn value_text(v: toml::Value) -> String {
    match v {
        toml::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// `key=value` overrides of an override table.
fn sets(table: &toml::Table) -> Vec<String> {
    table.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// A grid table: each key with a non-empty list of values.
fn grid(
    table: BTreeMap<String, Vec<toml::Value>>,
    name: &str,
    origin: &str,
) -> Result<Vec<(String, Vec<String>)>> {
    table
        .into_iter()
        .map(|(k, values)| {
            if values.is_empty() {
                bail!("{origin}: `{name}.{k}` must be a non-empty list");
            }
            let values = values.into_iter().map(value_text).collect();
            Ok((k, values))
        })
        .collect()
}

/// The cartesian product of a grid: one list of `(key, value)` per point.
fn grid_points(grid: &[(String, Vec<String>)]) -> Vec<Vec<(String, String)>> {
    let mut points = vec![Vec::new()];
    for (key, values) in grid {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((key.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    points
}

/// A grid value as it appears in a directory name.
fn dir_safe(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Matrix {
    /// Parses a matrix file.
    pub fn parse(text: &str, origin: &str) -> Result<Matrix> {
        // The parser's own message and place, not its echo of the line
        // (which may be the whole file).
        let f: MatrixFile = toml::from_str(text).map_err(|e| {
            let place = e.span().and_then(|s| text.get(..s.start)).map(|before| {
                let n = before.matches('\n').count() + 1;
                let line = text.lines().nth(n - 1).unwrap_or_default();
                let shown: String = line.chars().take(60).collect();
                let more = if shown.len() < line.len() { "..." } else { "" };
                format!(" (line {n}: {:?}{more})", shown)
            });
            let message: String = e.message().trim_end().chars().take(300).collect();
            anyhow::anyhow!(
                "{origin}: not a matrix file{}: {message}",
                place.unwrap_or_default()
            )
        })?;
        if f.strategies.is_empty() || f.seeds.is_empty() {
            bail!("{origin}: `strategies` and `seeds` must not be empty");
        }
        let known_strategies: Vec<&str> = edas_search::Strategy::ALL
            .iter()
            .map(|s| s.name())
            .chain([RANDOM_CELL])
            .collect();
        if let Some(s) = f
            .strategies
            .iter()
            .find(|s| !known_strategies.contains(&s.as_str()))
        {
            bail!(
                "{origin}: unknown strategy `{s}` (expected {})",
                known_strategies.join(", ")
            );
        }
        if let Some(nodes) = f.nodes {
            edas_genotype::SearchSpace::full(f.space)
                .with_nodes(nodes)
                .map_err(|e| anyhow::anyhow!("{origin}: `nodes`: {e}"))?;
        }
        if f.strategies.iter().any(|s| s == RANDOM_CELL) && f.train_config.is_none() {
            bail!("{origin}: `{RANDOM_CELL}` only trains, so it needs a `train_config`");
        }
        if !f.search_config.contains("{strategy}") && f.strategies.len() > 1 {
            bail!(
                "{origin}: key `search_config` must contain {{strategy}} when several strategies are listed"
            );
        }
        if f.datasets.len() > 1 {
            let templated = f.search_config.contains("{dataset}")
                && f.train_config
                    .as_ref()
                    .is_none_or(|c| c.contains("{dataset}"));
            if !templated {
                bail!(
                    "{origin}: `search_config` and `train_config` must contain {{dataset}} when several datasets are listed"
                );
            }
        }
        let mut points = Vec::new();
        for (i, p) in f.points.into_iter().enumerate() {
            if p.is_empty() {
                bail!("{origin}: `points` entry {} is empty", i + 1);
            }
            points.push(p.into_iter().map(|(k, v)| (k, value_text(v))).collect());
        }
        Ok(Matrix {
            points,
            search_set: sets(&f.search_set),
            train_set: sets(&f.train_set),
            grid: grid(f.grid, "grid", origin)?,
            train_grid: grid(f.train_grid, "train_grid", origin)?,
            out: f.out,
            search_config: f.search_config,
            train_config: f.train_config,
            datasets: f.datasets,
            strategies: f.strategies,
            seeds: f.seeds,
            space: f.space,
            nodes: f.nodes,
        })
    }

    /// The runs in order: seeds outermost (so that a partial matrix has whole
    /// seeds), then datasets, strategies, search grid points and training
    /// grid points.
    pub fn units(&self) -> Vec<MatrixUnit> {
        let datasets: Vec<Option<&String>> = if self.datasets.is_empty() {
            vec![None]
        } else {
            self.datasets.iter().map(Some).collect()
        };
        let search_points: Vec<Vec<(String, String)>> = if self.points.is_empty() {
            grid_points(&self.grid)
        } else {
            grid_points(&self.grid)
                .into_iter()
                .flat_map(|g| {
                    self.points.iter().map(move |p| {
                        let mut q = g.clone();
                        q.extend(p.iter().cloned());
                        q
                    })
                })
                .collect()
        };
        let train_points = grid_points(&self.train_grid);
        let mut out = Vec::new();
        for seed in &self.seeds {
            for dataset in &datasets {
                let fill = |s: &str, strategy: &str| {
                    let s = s.replace("{strategy}", strategy);
                    match dataset {
                        Some(d) => s.replace("{dataset}", d),
                        None => s,
                    }
                };
                for strategy in &self.strategies {
                    for sp in &search_points {
                        for tp in &train_points {
                            let mut name = String::new();
                            // One folder name: keys, values and data set
                            // names cannot add a `/` to it.
                            if let Some(d) = dataset {
                                name.push_str(&dir_safe(d));
                                name.push('-');
                            }
                            name.push_str(strategy);
                            for (k, v) in sp.iter().chain(tp) {
                                name.push_str(&format!("-{}={}", dir_safe(k), dir_safe(v)));
                            }
                            let with = |base: &[String], point: &[(String, String)]| {
                                let mut v = base.to_vec();
                                v.extend(point.iter().map(|(k, val)| format!("{k}={val}")));
                                v
                            };
                            out.push(MatrixUnit {
                                dir: self.out.join(format!("{name}-s{seed}")),
                                dataset: dataset.cloned(),
                                strategy: strategy.clone(),
                                seed: *seed,
                                search_config: fill(&self.search_config, strategy),
                                train_config: self
                                    .train_config
                                    .as_deref()
                                    .map(|c| fill(c, strategy)),
                                search_set: with(&self.search_set, sp),
                                train_set: with(&self.train_set, tp),
                                space: self.space,
                                nodes: self.nodes,
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

/// What one unit of a matrix runs: a search (or a sampled cell), then
/// optionally the training of what it found.
pub struct UnitSteps {
    /// The search's run directory and the arguments that start it (none
    /// for `random-cell`).
    pub search: Option<(PathBuf, Vec<String>)>,
    /// `random-cell`: the genotype file to sample with the unit's seed.
    pub sampled_cell: Option<PathBuf>,
    /// The training's run directory and the arguments that start it.
    pub train: Option<(PathBuf, Vec<String>)>,
}

impl MatrixUnit {
    /// The unit's steps, with the arguments that start each (the local
    /// runner and the Slurm scripts use the same ones).
    pub fn steps(&self) -> UnitSteps {
        let (search, genotype, sampled_cell) = if self.strategy == RANDOM_CELL {
            // No search: a uniformly sampled cell, the seed's.
            let file = self.dir.join("cell").join(GENOTYPE_JSON);
            (None, file.clone(), Some(file))
        } else {
            let dir = self.dir.join("search");
            let mut start = vec!["--config".to_owned(), self.search_config.clone()];
            start.extend(set_args(&self.search_set));
            let args = start_args("search", &dir, Some(self.seed), start);
            (Some((dir.clone(), args)), dir, None)
        };
        let train = self.train_config.as_ref().map(|config| {
            let dir = self.dir.join("train");
            let mut start = vec![
                "--genotype".to_owned(),
                genotype.display().to_string(),
                "--config".to_owned(),
                config.clone(),
            ];
            start.extend(set_args(&self.train_set));
            let args = start_args("train", &dir, Some(self.seed), start);
            (dir, args)
        });
        UnitSteps {
            search,
            sampled_cell,
            train,
        }
    }

    /// The arguments of `edas genotype random` for a `random-cell` unit.
    pub fn sample_args(&self, file: &Path) -> Vec<String> {
        let mut args = vec![
            "genotype".into(),
            "random".into(),
            "--seed".into(),
            self.seed.to_string(),
        ];
        if self.space != SpaceName::Darts {
            args.extend(["--space".into(), self.space.name().into()]);
        }
        if let Some(nodes) = self.nodes {
            args.extend(["--nodes".into(), nodes.to_string()]);
        }
        args.extend(["-o".into(), file.display().to_string()]);
        args
    }
}

/// The largest matrix file read (ours are a few hundred bytes).
const MATRIX_LIMIT: u64 = 1 << 20;

/// Reads and checks the matrix in `file`: a path (relative to the working
/// directory, else to the project root), or a shipped matrix's name
/// (`fashion` for `configs/matrix/fashion.toml`); its `out` is made the
/// project root's.
pub fn load_matrix(file: &str) -> Result<Matrix> {
    let shipped = project_root()
        .join("configs/matrix")
        .join(format!("{file}.toml"));
    let path = if Path::new(file).exists() {
        PathBuf::from(file)
    } else if project_root().join(file).exists() {
        project_root().join(file)
    } else if !file.contains(['/', '.']) && shipped.is_file() {
        shipped
    } else {
        project_root().join(file)
    };
    let text = edas_fs::read_to_string_bounded(&path, MATRIX_LIMIT, "matrix file")
        .with_context(|| format!("cannot read {file}"))?;
    let mut m = Matrix::parse(&text, file)?;
    // Relative paths are the project root's, where edas runs.
    m.out = project_root().join(&m.out);
    Ok(m)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn datasets_and_grids_expand_into_named_units() {
        let m = Matrix::parse(
            r#"
out = "runs/g"
search_config = "configs/search/{dataset}-{strategy}.toml"
train_config = "configs/train/{dataset}.toml"
datasets = ["cifar10", "cifar100"]
strategies = ["edas"]
seeds = [1, 2]
[search_set]
epochs = 5
[grid]
"edas.relaxed_edges" = [1, 2, 3]
"edas.edge_distribution" = ["uniform"]
[train_grid]
"optim.lr" = [0.025, 0.05]
"#,
            "g.toml",
        )
        .unwrap();
        let units = m.units();
        // Grid keys in sorted order. 2 seeds x 2 datasets x 1 strategy x 3 x 1 search points x 2 training points.
        assert_eq!(units.len(), 24);
        let u = &units[0];
        assert_eq!(
            u.dir,
            PathBuf::from(
                "runs/g/cifar10-edas-edas.edge_distribution=uniform-edas.relaxed_edges=1-optim.lr=0.025-s1"
            )
        );
        assert_eq!(u.search_config, "configs/search/cifar10-edas.toml");
        assert_eq!(
            u.train_config.as_deref(),
            Some("configs/train/cifar10.toml")
        );
        assert_eq!(
            u.search_set,
            vec![
                "epochs=5".to_owned(),
                "edas.edge_distribution=uniform".to_owned(),
                "edas.relaxed_edges=1".to_owned()
            ]
        );
        assert_eq!(u.train_set, vec!["optim.lr=0.025".to_owned()]);
        assert_eq!(units[1].train_set, vec!["optim.lr=0.05".to_owned()]);
        assert_eq!(units[6].dataset.as_deref(), Some("cifar100"));
        assert_eq!(units[12].seed, 2);
        // Directory names are unique, and the seed is the only difference
        // within a report group.
        let dirs: std::collections::BTreeSet<&PathBuf> = units.iter().map(|u| &u.dir).collect();
        assert_eq!(dirs.len(), 24);
        let labels: std::collections::BTreeSet<String> = units
            .iter()
            .map(|u| crate::report::units::label_of(&u.dir))
            .collect();
        assert_eq!(labels.len(), 12);
    }

    #[test]
    fn points_cross_the_grid_and_empty_entries_are_refused() {
        let e = Matrix::parse(
            "out='x'\nsearch_config='{strategy}'\ndatasets=['a','b']\nstrategies=['edas']\nseeds=[1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("{dataset}"), "{e}");
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[1]\n[grid]\nepochs=[]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("grid.epochs"), "{e}");
        // Points go together and cross the grid.
        let m = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[1]\n[grid]\n\"regularizers.epsilon\"=[0, 0.2]\n\
             [[points]]\n\"edas.relaxed_edges\"=1\n\"arch.lr\"=4.2e-3\n\
             [[points]]\n\"edas.relaxed_edges\"=2\n\"arch.lr\"=2.1e-3\n",
            "m.toml",
        )
        .unwrap();
        let units = m.units();
        assert_eq!(units.len(), 4);
        assert_eq!(
            units[1].search_set,
            [
                "regularizers.epsilon=0",
                "arch.lr=0.0021",
                "edas.relaxed_edges=2"
            ]
        );
        assert!(
            units[3]
                .dir
                .ends_with("edas-regularizers.epsilon=0.2-arch.lr=0.0021-edas.relaxed_edges=2-s1"),
            "{:?}",
            units[3].dir
        );
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[1]\n[[points]]\n",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`points` entry 1 is empty"), "{e}");
        assert_eq!(dir_safe("a/b c"), "a_b_c");
    }

    #[test]
    fn matrix_expands_and_rejects_mistakes() {
        let m = Matrix::parse(
            r#"
out = "runs/m"
search_config = "configs/search/fashion-mnist-{strategy}.toml"
train_config = "configs/train/fashion-mnist-cpu.toml"
strategies = ["edas", "darts", "random-cell"]
seeds = [1, 2, 3]
[search_set]
"loader.train_examples" = 1000
"#,
            "m.toml",
        )
        .unwrap();
        let units = m.units();
        assert_eq!(units.len(), 9);
        assert_eq!(units[0].dir, PathBuf::from("runs/m/edas-s1"));
        assert_eq!(units[7].dir, PathBuf::from("runs/m/darts-s3"));
        assert_eq!((units[7].strategy.as_str(), units[7].seed), ("darts", 3));
        assert_eq!(
            units[7].search_config,
            "configs/search/fashion-mnist-darts.toml"
        );
        assert_eq!(units[8].strategy, RANDOM_CELL);
        assert_eq!(m.search_set, vec!["loader.train_examples=1000".to_owned()]);
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[1]\nsede=2",
            "m.toml",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("unknown field `sede`"), "{e:#}");
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas','darts']\nseeds=[1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("{strategy}"));
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['edas']\nseeds=[-1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("seeds"), "{e:#}");
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['pcdarts']\nseeds=[1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown strategy `pcdarts`"));
        let e = Matrix::parse(
            "out='x'\nsearch_config='a'\nstrategies=['random-cell']\nseeds=[1]",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs a `train_config`"));
    }

    #[test]
    fn random_cells_sample_the_matrix_space_and_node_count() {
        let m = Matrix::parse(
            r#"
out = "runs/m"
search_config = "configs/search/fashion-mnist-{strategy}.toml"
train_config = "t.toml"
strategies = ["edas", "random-cell"]
seeds = [4]
nodes = 3
[search_set]
"space.nodes" = 3
"#,
            "m.toml",
        )
        .unwrap();
        let units = m.units();
        assert_eq!(
            units[1].sample_args(Path::new("c.json")),
            [
                "genotype", "random", "--seed", "4", "--nodes", "3", "-o", "c.json"
            ]
        );
        assert_eq!(units[0].search_set, ["space.nodes=3"]);
        let m = Matrix::parse(
            "out = \"o\"\nsearch_config = \"s\"\ntrain_config = \"t\"\nstrategies = [\"random-cell\"]\nseeds = [1]\nspace = \"nas-bench-201\"\n",
            "m.toml",
        )
        .unwrap();
        assert_eq!(
            m.units()[0].sample_args(Path::new("c")),
            [
                "genotype",
                "random",
                "--seed",
                "1",
                "--space",
                "nas-bench-201",
                "-o",
                "c"
            ]
        );
        let e = Matrix::parse(
            "out = \"o\"\nsearch_config = \"s\"\ntrain_config = \"t\"\nstrategies = [\"random-cell\"]\nseeds = [1]\nspace = \"nas-bench-201\"\nnodes = 2\n",
            "m.toml",
        )
        .unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "m.toml: `nodes`: the nas-bench-201 space's cells take 3..=3 intermediate nodes, not 2"
        );
    }

    #[test]
    fn shipped_matrices_parse() {
        let dir = crate::workspace::project_root().join("configs/matrix");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            let m = Matrix::parse(&text, &p.display().to_string()).unwrap();
            assert!(!m.units().is_empty(), "{}", p.display());
            n += 1;
        }
        assert!(n >= 3);
    }

    /// `matrix /dev/zero` is refused at once (not read for ever), a long
    /// file is refused by size, and a parse error names the line without
    /// echoing it.
    #[test]
    fn matrix_files_are_read_with_bounds() {
        // A shipped matrix by name, as the usage line says.
        let by_name = load_matrix("fashion").unwrap();
        assert_eq!(by_name, load_matrix("configs/matrix/fashion.toml").unwrap());
        let e = format!("{:#}", load_matrix("/dev/zero").unwrap_err());
        assert!(
            e.contains("is a character device, not a regular file"),
            "{e}"
        );
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("big.toml");
        std::fs::write(&big, vec![0u8; (MATRIX_LIMIT + 1) as usize]).unwrap();
        let e = format!("{:#}", load_matrix(big.to_str().unwrap()).unwrap_err());
        assert!(e.contains("more than a matrix file can be"), "{e}");
        let nul = format!("out = \"x\"\n{}", "\0".repeat(10_000));
        let e = format!("{:#}", Matrix::parse(&nul, "m.toml").unwrap_err());
        assert!(
            e.starts_with("m.toml: not a matrix file (line 2: \"\\0\\0"),
            "{e}"
        );
        assert!(e.len() < 400, "{} bytes: {e}", e.len());
        // A grid key or data set name with `/` stays inside one unit folder.
        let m = Matrix::parse(
            "out = 'runs/m'\nsearch_config = 'c/{dataset}-{strategy}.toml'\nstrategies = ['edas']\n\
             seeds = [1]\ndatasets = ['../../etc', 'x']\n[grid]\n\"a/../../b\" = [1]\n",
            "m.toml",
        )
        .unwrap();
        for u in m.units() {
            assert_eq!(u.dir.parent(), Some(Path::new("runs/m")), "{:?}", u.dir);
        }
    }

    proptest::proptest! {
        // 300 cases, or `PROPTEST_CASES` (which `with_cases` alone would ignore).
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300)
        ))]

        /// Mutated shipped matrix files: `Matrix::parse` and the expansion
        /// of whatever parses never panic, and every unit has a directory
        /// under the matrix's out.
        #[test]
        fn mutated_matrix_files_never_panic(
            file in 0usize..16,
            ops in proptest::collection::vec((0u8..3, proptest::prelude::any::<usize>(), 0usize..ALPHABET.len()), 1..6),
        ) {
            let dir = crate::workspace::project_root().join("configs/matrix");
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            let text = std::fs::read_to_string(&files[file % files.len()]).unwrap();
            let mut chars: Vec<char> = text.chars().collect();
            for (kind, at, c) in ops {
                let i = at % (chars.len() + 1);
                let c = ALPHABET[c];
                match kind {
                    0 if i < chars.len() => chars[i] = c,
                    1 if i < chars.len() => {
                        chars.remove(i);
                    }
                    _ => chars.insert(i, c),
                }
            }
            let text: String = chars.into_iter().collect();
            if let Ok(m) = Matrix::parse(&text, "m.toml") {
                for u in m.units() {
                    let rel = u.dir.strip_prefix(&m.out).unwrap();
                    let parts: Vec<_> = rel.components().collect();
                    proptest::prop_assert!(
                        matches!(parts[..], [std::path::Component::Normal(_)]),
                        "{:?} is not one folder under {:?}", u.dir, m.out
                    );
                }
            }
        }
    }

    /// What the matrix mutations insert: TOML's punctuation, quotes, digits,
    /// a newline and a NUL.
    const ALPHABET: [char; 16] = [
        '[', ']', '=', '"', '\'', ',', '{', '}', '.', '\n', '0', '9', '-', '/', '\0', 'x',
    ];
}
