//! An architecture of any search space: a DARTS genotype or a NAS-Bench-201
//! cell, read from and written to files that say which space they belong to.
//!
//! Files of the two spaces tell themselves apart:
//!
//! - a DARTS genotype is written as before spaces existed (DARTS text, or
//!   JSON/TOML with `normal` and `reduce`): a file without a `space` key is
//!   a DARTS genotype, so every genotype file written so far still reads;
//! - a NAS-Bench-201 cell is its architecture string (a text file), or
//!   JSON/TOML with the space and the string:
//!
//! ```json
//! {"space": "nas-bench-201", "arch": "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"}
//! ```
//!
//! A JSON or TOML DARTS genotype may also carry `"space": "darts"`. A
//! consumer built for one space refuses an architecture of the other with
//! [`SpaceMismatch`], which names both.

use std::fmt;
use std::path::Path;

use crate::derive::{DeriveOptions, EdgeWeights};
pub use crate::error::SpaceMismatch;
use crate::error::{DeriveError, Error, GenotypeError, ParseError, ParseErrorKind};
use crate::format::Format;
use crate::genotype::Genotype;
use crate::nb201::Nb201Cell;
use crate::primitive::CellKind;
use crate::search_space::{OpSet, SearchSpace, SpaceName};

/// An architecture of one of the search spaces.
// A handful exist per run and they are passed by reference; a boxed
// genotype would only make matching on them clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// A DARTS genotype (normal and reduction cell).
    Darts(Genotype),
    /// A NAS-Bench-201 cell.
    Nb201(Nb201Cell),
}

impl From<Genotype> for Architecture {
    fn from(g: Genotype) -> Self {
        Architecture::Darts(g)
    }
}

impl From<Nb201Cell> for Architecture {
    fn from(c: Nb201Cell) -> Self {
        Architecture::Nb201(c)
    }
}

impl Architecture {
    /// The architecture of `space` derived from edge weights (row-major,
    /// edges x ops of the space, per cell kind): DARTS' rule with
    /// `options`, or NAS-Bench-201's (every edge, arg-max op over
    /// `options.ops`; `reduce` unused, the space has one cell kind).
    pub fn derive(
        space: SpaceName,
        normal: &[f32],
        reduce: &[f32],
        options: DeriveOptions,
    ) -> Result<Architecture, DeriveError> {
        match space {
            SpaceName::Darts => Ok(Architecture::Darts(crate::derive::derive(
                &EdgeWeights::from_flat(CellKind::Normal, normal)?,
                &EdgeWeights::from_flat(CellKind::Reduce, reduce)?,
                options,
            )?)),
            SpaceName::NasBench201 => {
                Ok(Architecture::Nb201(Nb201Cell::derive(normal, options.ops)?))
            }
        }
    }

    /// An architecture of `space` drawn uniformly over the op set `ops`
    /// (DARTS: [`crate::random_genotype_in`]; NAS-Bench-201:
    /// [`Nb201Cell::random_in`]).
    pub fn random(
        space: SpaceName,
        ops: OpSet,
        rng: &mut edas_rng::Rng,
    ) -> Result<Architecture, GenotypeError> {
        match space {
            SpaceName::Darts => Ok(Architecture::Darts(crate::random::random_genotype_in(
                ops, rng,
            )?)),
            SpaceName::NasBench201 => Ok(Architecture::Nb201(Nb201Cell::random_in(ops, rng))),
        }
    }

    /// [`Architecture::random`] over a search space, its node count
    /// included (a DARTS space of fewer nodes draws cells of that many,
    /// [`crate::random_genotype_of`]).
    pub fn random_in(
        space: SearchSpace,
        rng: &mut edas_rng::Rng,
    ) -> Result<Architecture, GenotypeError> {
        match space.name() {
            SpaceName::Darts => Ok(Architecture::Darts(crate::random::random_genotype_of(
                space.ops(),
                space.nodes(),
                rng,
            )?)),
            SpaceName::NasBench201 => Architecture::random(space.name(), space.ops(), rng),
        }
    }

    /// The space the architecture belongs to.
    pub fn space(&self) -> SpaceName {
        match self {
            Architecture::Darts(_) => SpaceName::Darts,
            Architecture::Nb201(_) => SpaceName::NasBench201,
        }
    }

    /// The DARTS genotype, or why `what` cannot take this architecture.
    pub fn darts(&self, what: &str) -> Result<&Genotype, SpaceMismatch> {
        match self {
            Architecture::Darts(g) => Ok(g),
            other => Err(other.mismatch(what, SpaceName::Darts)),
        }
    }

    /// The NAS-Bench-201 cell, or why `what` cannot take this architecture.
    pub fn nb201(&self, what: &str) -> Result<&Nb201Cell, SpaceMismatch> {
        match self {
            Architecture::Nb201(c) => Ok(c),
            other => Err(other.mismatch(what, SpaceName::NasBench201)),
        }
    }

    /// The error of `what`, built for `expected`, refusing this
    /// architecture.
    pub fn mismatch(&self, what: &str, expected: SpaceName) -> SpaceMismatch {
        SpaceMismatch {
            what: what.to_owned(),
            expected: expected.name(),
            found: self.space().name(),
            text: self.to_string(),
        }
    }

    /// Writes the architecture in `format`: DARTS' formats unchanged for a
    /// genotype; for a NAS-Bench-201 cell its architecture string
    /// (`Format::Darts`, the space's own text form), JSON or TOML with the
    /// space and the string, or a DOT drawing of the cell.
    pub fn write(&self, format: Format) -> String {
        match self {
            Architecture::Darts(g) => format.write(g),
            Architecture::Nb201(c) => match format {
                Format::Darts => c.arch_str(),
                Format::Json => format!(
                    "{{\n  \"space\": \"{}\",\n  \"arch\": \"{c}\"\n}}\n",
                    SpaceName::NasBench201
                ),
                Format::Toml => format!("space = \"{}\"\narch = \"{c}\"\n", SpaceName::NasBench201),
                Format::Dot => nb201_dot(c),
            },
        }
    }

    /// Reads an architecture of either space in `format`.
    pub fn parse(format: Format, text: &str) -> Result<(Option<String>, Architecture), ParseError> {
        let error = |kind: ParseErrorKind| ParseError {
            format: Some(format),
            location: None,
            kind,
        };
        match format {
            Format::Darts if is_arch_string(text) => Nb201Cell::parse(text.trim())
                .map(|c| (None, Architecture::Nb201(c)))
                .map_err(|e| error(ParseErrorKind::ArchString(e))),
            Format::Json => {
                let value: serde_json::Value = match serde_json::from_str(text) {
                    Ok(v) => v,
                    // serde's message and place, as for a genotype.
                    Err(_) => return format.parse_named(text).map(|(n, g)| (n, g.into())),
                };
                match value.get("space") {
                    None => format.parse_named(text).map(|(n, g)| (n, g.into())),
                    Some(space) => {
                        let space: SpaceName = serde_json::from_value(space.clone())
                            .map_err(|e| error(ParseErrorKind::Serde(e.to_string())))?;
                        let mut rest = value;
                        if let Some(map) = rest.as_object_mut() {
                            map.remove("space");
                        }
                        tagged(space, rest, format, &error)
                    }
                }
            }
            Format::Toml => {
                let value: toml::Table = match toml::from_str(text) {
                    Ok(v) => v,
                    Err(_) => return format.parse_named(text).map(|(n, g)| (n, g.into())),
                };
                match value.get("space") {
                    None => format.parse_named(text).map(|(n, g)| (n, g.into())),
                    Some(space) => {
                        let space: SpaceName =
                            space.clone().try_into().map_err(|e: toml::de::Error| {
                                error(ParseErrorKind::Serde(e.to_string()))
                            })?;
                        let mut rest = value;
                        rest.remove("space");
                        let rest = serde_json::to_value(rest)
                            .map_err(|e| error(ParseErrorKind::Serde(e.to_string())))?;
                        tagged(space, rest, format, &error)
                    }
                }
            }
            _ => format.parse_named(text).map(|(n, g)| (n, g.into())),
        }
    }

    /// Reads an architecture in whichever format and space `text` is in.
    pub fn parse_any(text: &str) -> Result<(Option<String>, Architecture), ParseError> {
        if is_arch_string(text) {
            return Architecture::parse(Format::Darts, text);
        }
        match Format::sniff(text).or_else(|| sniff_tagged_toml(text)) {
            Some(format) => Architecture::parse(format, text),
            None => crate::codec::parse_any(text).map(|(n, g)| (n, g.into())),
        }
    }

    /// Reads an architecture file: the format from the extension, or from
    /// the contents when the extension says nothing.
    pub fn load(path: &Path) -> Result<(Option<String>, Architecture), Error> {
        let text = crate::read::read_text(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let parsed = match Format::from_path(path) {
            Some(format) => Architecture::parse(format, &text),
            None => Architecture::parse_any(&text),
        };
        parsed.map_err(|source| Error::File {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes the architecture to `path` in `format` (the rules of
    /// [`crate::save`]; a DARTS genotype's file is what `save` writes).
    pub fn save(&self, path: &Path, format: Format) -> Result<(), Error> {
        match self {
            Architecture::Darts(g) => crate::codec::save(g, path, format),
            Architecture::Nb201(_) => {
                let mut text = self.write(format);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                edas_fs::write_atomic(path, text.as_bytes()).map_err(Error::from)
            }
        }
    }
}

impl serde::Serialize for Architecture {
    /// A DARTS genotype as its own serde form (as before spaces existed); a
    /// NAS-Bench-201 cell as `{"space": "nas-bench-201", "arch": "|...|"}`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Architecture::Darts(g) => g.serialize(serializer),
            Architecture::Nb201(c) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("space", &SpaceName::NasBench201)?;
                map.serialize_entry("arch", &c.arch_str())?;
                map.end()
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Architecture {
    /// [`Architecture`]'s serde form: a map with `space` is that space's,
    /// any other a DARTS genotype.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = value.to_string();
        Architecture::parse(Format::Json, &text)
            .map(|(_, a)| a)
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Architecture {
    /// One line: DARTS text, or the architecture string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Architecture::Darts(g) => f.write_str(&crate::darts_text::to_darts(g)),
            Architecture::Nb201(c) => write!(f, "{c}"),
        }
    }
}

/// Whether `text` is meant as an architecture string (starts with `|`).
fn is_arch_string(text: &str) -> bool {
    text.trim_start().starts_with('|')
}

/// TOML whose first key is `space` (DARTS' TOML is sniffed by its tables).
fn sniff_tagged_toml(text: &str) -> Option<Format> {
    text.lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| l.starts_with("space"))
        .map(|_| Format::Toml)
}

/// The body of a file tagged with `space` (the tag removed).
fn tagged(
    space: SpaceName,
    rest: serde_json::Value,
    format: Format,
    error: &dyn Fn(ParseErrorKind) -> ParseError,
) -> Result<(Option<String>, Architecture), ParseError> {
    match space {
        SpaceName::Darts => serde_json::from_value::<Genotype>(rest)
            .map(|g| (None, Architecture::Darts(g)))
            .map_err(|e| error(ParseErrorKind::Serde(e.to_string()))),
        SpaceName::NasBench201 => {
            let map = rest.as_object().cloned().unwrap_or_default();
            if let Some(key) = map.keys().find(|k| *k != "arch") {
                return Err(error(ParseErrorKind::Field(format!(
                    "unknown field `{key}` in a {format} NAS-Bench-201 cell (expected `space` and `arch`)"
                ))));
            }
            let arch = map.get("arch").and_then(|v| v.as_str()).ok_or_else(|| {
                error(ParseErrorKind::Field(
                    "a NAS-Bench-201 cell needs `arch`, its architecture string".to_owned(),
                ))
            })?;
            Nb201Cell::parse(arch)
                .map(|c| (None, Architecture::Nb201(c)))
                .map_err(|e| error(ParseErrorKind::ArchString(e)))
        }
    }
}

/// A DOT drawing of a NAS-Bench-201 cell: states 0..=3, one labelled edge
/// per op other than `none`.
fn nb201_dot(cell: &Nb201Cell) -> String {
    let mut out = String::from(
        "digraph nb201 {\n  rankdir=LR;\n  label=\"NAS-Bench-201 cell\";\n  node [shape=box];\n",
    );
    out += "  s0 [label=\"input\"];\n  s1 [label=\"1\"];\n  s2 [label=\"2\"];\n  s3 [label=\"output\"];\n";
    for (&(input, node), op) in crate::nb201::NB201_EDGES.iter().zip(cell.0) {
        if op != crate::nb201::Nb201Op::None {
            out += &format!("  s{input} -> s{node} [label=\"{op}\"];\n");
        }
    }
    out + "}\n"
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::published::DARTS_V2;

    const CELL: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";

    #[test]
    fn both_spaces_round_trip_through_every_text_format() {
        let cell = Architecture::Nb201(Nb201Cell::parse(CELL).unwrap());
        let darts = Architecture::Darts(DARTS_V2);
        for arch in [&cell, &darts] {
            for format in [Format::Darts, Format::Json, Format::Toml] {
                let text = arch.write(format);
                assert_eq!(
                    &Architecture::parse(format, &text).unwrap().1,
                    arch,
                    "{text}"
                );
                assert_eq!(&Architecture::parse_any(&text).unwrap().1, arch, "{text}");
            }
        }
        // A DARTS genotype's files are what they were before spaces.
        assert_eq!(darts.write(Format::Json), Format::Json.write(&DARTS_V2));
        assert_eq!(cell.write(Format::Darts), CELL);
        let json: serde_json::Value = serde_json::from_str(&cell.write(Format::Json)).unwrap();
        assert_eq!(json["space"], "nas-bench-201");
        assert_eq!(json["arch"], CELL);
        // A tagged DARTS genotype reads too.
        let mut tagged: serde_json::Value = serde_json::to_value(DARTS_V2).unwrap();
        tagged["space"] = "darts".into();
        assert_eq!(
            Architecture::parse_any(&tagged.to_string()).unwrap().1,
            darts
        );
        assert!(
            cell.write(Format::Dot)
                .contains("s0 -> s1 [label=\"nor_conv_3x3\"]")
        );
        assert_eq!(cell.space(), SpaceName::NasBench201);
        assert_eq!(darts.space(), SpaceName::Darts);
    }

    #[test]
    fn serde_keeps_a_genotypes_form_and_tags_a_cell() {
        let darts = Architecture::Darts(DARTS_V2);
        assert_eq!(
            serde_json::to_value(&darts).unwrap(),
            serde_json::to_value(DARTS_V2).unwrap()
        );
        let cell = Architecture::Nb201(Nb201Cell::parse(CELL).unwrap());
        let v = serde_json::to_value(&cell).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"space": "nas-bench-201", "arch": CELL})
        );
        for a in [darts, cell] {
            let back: Architecture =
                serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
            assert_eq!(back, a);
        }
    }

    #[test]
    fn a_consumer_of_one_space_refuses_the_other_by_name() {
        let cell = Architecture::Nb201(Nb201Cell::parse(CELL).unwrap());
        let e = cell.darts("the DARTS network").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the DARTS network takes darts architectures, but `{CELL}` is a nas-bench-201 one"
            )
        );
        let e = Architecture::Darts(DARTS_V2)
            .nb201("the NAS-Bench-201 network")
            .unwrap_err();
        assert!(e.to_string().starts_with(
            "the NAS-Bench-201 network takes nas-bench-201 architectures, but `Genotype(normal="
        ));
        assert!(cell.nb201("x").is_ok());
    }

    #[test]
    fn damaged_cell_files_are_refused_with_the_reason() {
        let cases = [
            (r#"{"space": "nas-bench-201"}"#, "needs `arch`"),
            (
                r#"{"space": "nas-bench-201", "arch": "|none~0|", "seed": 1}"#,
                "unknown field `seed`",
            ),
            (
                r#"{"space": "nas-bench-201", "arch": "|none~0|"}"#,
                "expected 3 node groups",
            ),
            (
                r#"{"space": "nasbench", "arch": "x"}"#,
                "unknown variant `nasbench`",
            ),
            ("space = \"nas-bench-201\"\narch = 3\n", "needs `arch`"),
            (
                "|none~0|+|none~0|none~2|+|none~0|none~1|none~2|",
                "must come from state 1",
            ),
        ];
        for (text, expect) in cases {
            let e = Architecture::parse_any(text).unwrap_err();
            assert!(e.to_string().contains(expect), "{text}: {e}");
        }
    }

    #[test]
    fn files_say_their_space() {
        let dir = std::env::temp_dir().join(format!("edas-arch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cell = Architecture::Nb201(Nb201Cell::parse(CELL).unwrap());
        for (name, format) in [
            ("c.json", Format::Json),
            ("c.toml", Format::Toml),
            ("c.txt", Format::Darts),
            ("c", Format::Json),
        ] {
            let path = dir.join(name);
            cell.save(&path, format).unwrap();
            assert_eq!(Architecture::load(&path).unwrap().1, cell, "{name}");
        }
        let path = dir.join("g.json");
        Architecture::Darts(DARTS_V2)
            .save(&path, Format::Json)
            .unwrap();
        assert_eq!(crate::load(&path).unwrap().1, DARTS_V2);
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"space": "nas-bench-201", "arch": "|x~0|"}"#).unwrap();
        let e = Architecture::load(&bad).unwrap_err();
        assert!(e.to_string().contains("bad.json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
