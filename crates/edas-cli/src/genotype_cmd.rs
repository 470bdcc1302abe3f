//! `edas genotype show|convert|plot|diff|list|random`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use edas_genotype::nb201::{NB201_EDGES, Nb201Op};
use edas_genotype::{
    Architecture, CellKind, Format, Nb201Cell, Primitive, SearchSpace, SpaceName, darts_text, dot,
    graphviz, published,
};
use serde::Serialize;

use crate::source::{Loaded, resolve};

/// The genotype subcommands.
#[derive(Debug, Subcommand)]
pub enum GenotypeCommand {
    /// Print a genotype as a table of its cells.
    #[command(
        after_help = "Examples:\n  edas genotype show DARTS_V2\n  edas genotype show runs/cifar10-edas --json"
    )]
    Show(ShowArgs),
    /// Write a genotype in another format (to standard output or a file).
    #[command(after_help = "Examples:\n  edas genotype convert PDARTS --to json -o pdarts.json")]
    Convert(ConvertArgs),
    /// Draw both cells: DOT files, and SVG or PNG through Graphviz `dot`.
    #[command(after_help = "Examples:\n  edas genotype plot DARTS_V2 -o pictures/")]
    Plot(PlotArgs),
    /// List the edges in which two genotypes differ.
    #[command(after_help = "Examples:\n  edas genotype diff DARTS_V1 DARTS_V2 --exit-code")]
    Diff(DiffArgs),
    /// List the published genotypes that can be named on the command line.
    #[command(after_help = "Examples:\n  edas genotype list")]
    List,
    /// Sample a genotype uniformly: from the DARTS space (two distinct inputs
    /// per node, each with a uniformly drawn op other than `none`), or a
    /// NAS-Bench-201 cell (each edge's op uniform over its 5): the "random
    /// cell" baseline, trained without any search.
    #[command(
        after_help = "Examples:\n  edas genotype random --seed 3 -o random3.json\n  edas genotype random --space nas-bench-201 --seed 3"
    )]
    Random(RandomArgs),
}

/// Arguments of `edas genotype random`.
#[derive(Debug, Args)]
pub struct RandomArgs {
    /// Seed of the sample (the same seed gives the same genotype).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The search space: darts or nas-bench-201.
    #[arg(long, default_value = "darts", value_parser = parse_space)]
    space: SpaceName,
    /// Intermediate nodes of each cell (DARTS: 1 to 4, a space of fewer
    /// nodes, `[space] nodes` of a search config); default: the space's own.
    #[arg(long)]
    nodes: Option<usize>,
    /// Output format; defaults to the extension of --out, else DARTS text.
    #[arg(long, value_parser = parse_format)]
    to: Option<Format>,
    /// Write here instead of standard output.
    #[arg(short = 'o', long = "out", alias = "output")]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long, requires = "output")]
    force: bool,
}

/// A genotype argument.
#[derive(Debug, Args)]
pub struct GenotypeArg {
    /// A published name (DARTS_V2, PDARTS, ... see `edas genotype list`), a file
    /// (DARTS text, .json, .toml, .dot), a run directory, `-` for standard
    /// input, the DARTS text itself, or a NAS-Bench-201 architecture string
    /// (`|nor_conv_3x3~0|+|...|`).
    #[arg(value_name = "GENOTYPE")]
    genotype: String,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    source: GenotypeArg,
    /// Print JSON (name, genotype, op counts) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    source: GenotypeArg,
    /// Output format; defaults to the extension of --out, else DARTS text.
    #[arg(long, value_parser = parse_format)]
    to: Option<Format>,
    /// Write here instead of standard output.
    #[arg(short = 'o', long = "out", alias = "output")]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long, requires = "output")]
    force: bool,
}

/// What `plot` renders besides the DOT files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlotFormat {
    /// DOT files only.
    Dot,
    /// DOT files and SVG pictures.
    Svg,
    /// DOT files and PNG pictures.
    Png,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    #[command(flatten)]
    source: GenotypeArg,
    /// Directory to write into (created if missing).
    #[arg(short = 'o', long = "out", alias = "output", default_value = ".")]
    output: PathBuf,
    /// Picture format. Default: svg when Graphviz `dot` is installed, else dot.
    #[arg(long, value_enum)]
    format: Option<PlotFormat>,
    /// File name prefix; defaults to the genotype's name. A plain name: no
    /// `/`, not `.` or `..`.
    #[arg(long)]
    prefix: Option<String>,
    /// Replace files of these names if they exist.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first genotype (same forms as for `show`).
    a: String,
    /// The second genotype.
    b: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Exit with status 1 when the genotypes differ (like `git diff --exit-code`).
    #[arg(long)]
    exit_code: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn parse_space(s: &str) -> Result<SpaceName, String> {
    SpaceName::ALL
        .into_iter()
        .find(|n| n.name() == s)
        .ok_or_else(|| format!("unknown space `{s}` (expected darts or nas-bench-201)"))
}

/// Runs a genotype subcommand.
pub fn run(cmd: GenotypeCommand) -> Result<ExitCode> {
    match cmd {
        GenotypeCommand::Show(args) => show(args),
        GenotypeCommand::Convert(args) => convert(args),
        GenotypeCommand::Plot(args) => plot(args),
        GenotypeCommand::Diff(args) => diff(args),
        GenotypeCommand::Random(args) => {
            let mut rng = edas_rng::Rng::new(args.seed);
            let arch = match (args.space, args.nodes) {
                (SpaceName::Darts, None) => {
                    Architecture::Darts(edas_genotype::random_genotype(&mut rng)?)
                }
                (SpaceName::NasBench201, None) => Architecture::Nb201(Nb201Cell::random(&mut rng)),
                (space, Some(nodes)) => {
                    let space = SearchSpace::full(space)
                        .with_nodes(nodes)
                        .context("--nodes")?;
                    Architecture::random_in(space, &mut rng)?
                }
            };
            let name = format!("RANDOM_S{}", args.seed);
            write_genotype(&arch, Some(&name), args.to, args.output, args.force)
        }
        GenotypeCommand::List => {
            for p in &published::ALL {
                println!("{:<16} {}", p.name, p.source);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Serialize)]
struct ShowJson<'a> {
    name: Option<&'a str>,
    origin: &'a str,
    genotype: &'a edas_genotype::Genotype,
    darts: String,
    op_counts: serde_json::Map<String, serde_json::Value>,
}

fn show(args: ShowArgs) -> Result<ExitCode> {
    let Loaded {
        arch,
        name,
        label,
        origin,
    } = resolve(&args.source.genotype)?;
    let genotype = match &arch {
        Architecture::Darts(g) => g,
        Architecture::Nb201(cell) => {
            return show_nb201(cell, name.as_deref(), &label, &origin, args.json);
        }
    };
    if args.json {
        let mut op_counts = serde_json::Map::new();
        for kind in CellKind::ALL {
            let counts: serde_json::Map<String, serde_json::Value> = Primitive::ALL
                .into_iter()
                .zip(genotype.cell(kind).op_counts())
                .filter(|&(_, n)| n > 0)
                .map(|(op, n)| (op.name().to_owned(), n.into()))
                .collect();
            op_counts.insert(kind.name().to_owned(), counts.into());
        }
        let out = ShowJson {
            name: name.as_deref(),
            origin: &origin,
            genotype,
            darts: darts_text::to_darts(genotype),
            op_counts,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{label} ({origin})");
    println!();
    print!("{genotype}");
    println!();
    println!("{}", darts_text::to_darts(genotype));
    Ok(ExitCode::SUCCESS)
}

/// `show` of a NAS-Bench-201 cell: a table of its 6 edges, or JSON.
fn show_nb201(
    cell: &Nb201Cell,
    name: Option<&str>,
    label: &str,
    origin: &str,
    json: bool,
) -> Result<ExitCode> {
    let op_counts: serde_json::Map<String, serde_json::Value> = Nb201Op::ALL
        .into_iter()
        .zip(cell.op_counts())
        .filter(|&(_, n)| n > 0)
        .map(|(op, n)| (op.name().to_owned(), n.into()))
        .collect();
    if json {
        let out = serde_json::json!({
            "name": name,
            "origin": origin,
            "space": SpaceName::NasBench201,
            "arch": cell.arch_str(),
            "connected": cell.is_connected(),
            "op_counts": op_counts,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{label} ({origin}): NAS-Bench-201 cell");
    println!();
    for (&(input, node), op) in NB201_EDGES.iter().zip(cell.0) {
        println!("  {input} -> {node}  {op}");
    }
    if !cell.is_connected() {
        println!();
        println!("  (no path from the input to the output avoids `none`: the cell outputs zeros)");
    }
    println!();
    println!("{cell}");
    Ok(ExitCode::SUCCESS)
}

fn convert(args: ConvertArgs) -> Result<ExitCode> {
    let loaded = resolve(&args.source.genotype)?;
    write_genotype(
        &loaded.arch,
        loaded.name.as_deref(),
        args.to,
        args.output,
        args.force,
    )
}

/// Writes `genotype` in format `to` (default: from the output's extension,
/// else DARTS text, named `name` when that is an identifier) to `output` or
/// standard output.
fn write_genotype(
    arch: &Architecture,
    name: Option<&str>,
    to: Option<Format>,
    output: Option<PathBuf>,
    force: bool,
) -> Result<ExitCode> {
    let format = match (to, &output) {
        (Some(f), _) => f,
        (None, Some(path)) => Format::from_path(path).with_context(|| {
            format!(
                "cannot tell the format from {}; pass --to darts|json|toml|dot",
                path.display()
            )
        })?,
        (None, None) => Format::Darts,
    };
    let mut text = match (arch, format, name) {
        (Architecture::Darts(genotype), Format::Darts, Some(name)) if is_identifier(name) => {
            darts_text::to_darts_named(genotype, name)
        }
        _ => arch.write(format),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match output {
        Some(path) => {
            edas_fs::check_output(&path, force)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            edas_fs::write_atomic(&path, text.as_bytes())?;
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Whether Graphviz `dot` runs.
fn render(dot_file: &Path, format: PlotFormat) -> Result<PathBuf> {
    Ok(match format {
        PlotFormat::Svg => graphviz::render(dot_file, "svg")?,
        PlotFormat::Png => graphviz::render(dot_file, "png")?,
        PlotFormat::Dot => dot_file.to_owned(),
    })
}

/// `prefix` when it is a plain file name (so that the plots stay in their
/// directory), else the error naming it.
fn plain_prefix(prefix: &str) -> Result<&str> {
    let plain = !prefix.is_empty()
        && prefix != "."
        && prefix != ".."
        && !prefix.contains(['/', '\\'])
        && !prefix.chars().any(char::is_control);
    if plain {
        Ok(prefix)
    } else {
        bail!(
            "prefix {prefix:?} is not a plain file name (no `/`, not `.` or `..`): the plots are \
             written into --out; pass --prefix NAME"
        )
    }
}

fn plot(args: PlotArgs) -> Result<ExitCode> {
    let loaded = resolve(&args.source.genotype)?;
    let prefix = args.prefix.as_deref().unwrap_or(&loaded.label);
    let prefix = plain_prefix(prefix)?;
    let have_dot = graphviz::dot_available();
    let format = args.format.unwrap_or(if have_dot {
        PlotFormat::Svg
    } else {
        PlotFormat::Dot
    });
    let files: Vec<(PathBuf, String)> = match &loaded.arch {
        Architecture::Darts(genotype) => CellKind::ALL
            .into_iter()
            .map(|kind| {
                (
                    args.output.join(format!("{prefix}-{kind}.dot")),
                    dot::cell_to_dot(genotype.cell(kind), kind),
                )
            })
            .chain([(
                args.output.join(format!("{prefix}.dot")),
                dot::to_dot(genotype),
            )])
            .collect(),
        // One cell: one drawing.
        Architecture::Nb201(_) => vec![(
            args.output.join(format!("{prefix}.dot")),
            loaded.arch.write(Format::Dot),
        )],
    };
    // Every file this call may write is checked before the first is.
    let picture = match format {
        PlotFormat::Dot => None,
        PlotFormat::Svg => Some("svg"),
        PlotFormat::Png => Some("png"),
    };
    if let Some(ext) = picture
        && !have_dot
    {
        bail!(
            "--format {ext} needs Graphviz `dot`, which is not installed (Debian: apt-get install \
             graphviz); nothing was written (--format dot writes the DOT files alone)"
        );
    }
    for (path, _) in &files {
        edas_fs::check_output(path, args.force)?;
        if let Some(ext) = picture {
            edas_fs::check_output(&path.with_extension(ext), args.force)?;
        }
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let mut written = Vec::new();
    for (path, text) in files {
        edas_fs::write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    for path in &written {
        println!("wrote {}", path.display());
    }
    if format == PlotFormat::Dot {
        if !have_dot {
            eprintln!(
                "note: Graphviz `dot` is not installed, so only DOT files were written; \
                 install it (Debian: apt-get install graphviz) to get SVG or PNG"
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    for path in &written {
        println!("wrote {}", render(path, format)?.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn diff(args: DiffArgs) -> Result<ExitCode> {
    let a = resolve(&args.a).with_context(|| format!("first genotype `{}`", short(&args.a)))?;
    let b = resolve(&args.b).with_context(|| format!("second genotype `{}`", short(&args.b)))?;
    let (a, b) = match (&a.arch, &b.arch) {
        (Architecture::Darts(a), Architecture::Darts(b)) => (a, b),
        (Architecture::Nb201(a), Architecture::Nb201(b)) => {
            return diff_nb201(a, b, args.json, args.exit_code);
        }
        (a, b) => bail!(
            "cannot compare a {} architecture with a {} one",
            a.space(),
            b.space()
        ),
    };
    let d = a.diff(b);
    if args.json {
        let out = serde_json::json!({
            "identical": d.is_empty(),
            "edges_changed": d.edges_changed(),
            "nodes_changed": d.nodes_changed(),
            "changes": d.changes,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if d.is_empty() {
        println!("identical");
    } else {
        println!("{d}");
        println!(
            "{} edge(s) differ in {} node(s)",
            d.edges_changed(),
            d.nodes_changed()
        );
    }
    Ok(if args.exit_code && !d.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `diff` of two NAS-Bench-201 cells: the edges whose op differs.
fn diff_nb201(a: &Nb201Cell, b: &Nb201Cell, json: bool, exit_code: bool) -> Result<ExitCode> {
    let changes: Vec<((usize, usize), Nb201Op, Nb201Op)> = NB201_EDGES
        .iter()
        .zip(a.0.iter().zip(b.0))
        .filter(|(_, (x, y))| **x != *y)
        .map(|(&edge, (&x, y))| (edge, x, y))
        .collect();
    if json {
        let out = serde_json::json!({
            "identical": changes.is_empty(),
            "edges_changed": changes.len(),
            "changes": changes
                .iter()
                .map(|((input, node), x, y)| serde_json::json!({
                    "input": input, "node": node, "from": x.name(), "to": y.name()
                }))
                .collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if changes.is_empty() {
        println!("identical");
    } else {
        for ((input, node), x, y) in &changes {
            println!("  {input} -> {node}: {x} -> {y}");
        }
        println!("{} edge(s) differ", changes.len());
    }
    Ok(if exit_code && !changes.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// An argument shortened for messages (inline genotype texts are long).
fn short(arg: &str) -> String {
    if arg.chars().count() > 40 {
        format!("{}...", arg.chars().take(37).collect::<String>())
    } else {
        arg.to_owned()
    }
}
