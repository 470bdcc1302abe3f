//! Reading and writing genotypes in every [`Format`]: one text, one file.

use std::path::Path;

use crate::error::{Error, Location, ParseError, ParseErrorKind};
use crate::format::Format;
use crate::genotype::Genotype;
use crate::primitive::CellKind;
use crate::{darts_text, dot};

impl Format {
    /// Parses `text` in this format.
    pub fn parse(self, text: &str) -> Result<Genotype, ParseError> {
        self.parse_named(text).map(|(_, g)| g)
    }

    /// Parses `text` in this format and returns the name it gives the
    /// genotype, if the format has one (DARTS text's `NAME =` prefix).
    pub fn parse_named(self, text: &str) -> Result<(Option<String>, Genotype), ParseError> {
        match self {
            Format::Darts => darts_text::parse_darts_named(text),
            Format::Json => serde_json::from_str(text)
                .map(|g| (None, g))
                .map_err(|e| json_error(text, &e)),
            Format::Toml => toml::from_str(text)
                .map(|g| (None, g))
                .map_err(|e| toml_error(text, &e)),
            Format::Dot => dot::parse_dot(text).map(|g| (None, g)),
        }
    }

    /// Writes `genotype` in this format: one line for DARTS text; for the
    /// others a file body ending in a newline, one edge per line.
    pub fn write(self, genotype: &Genotype) -> String {
        match self {
            Format::Darts => darts_text::to_darts(genotype),
            Format::Json => write_json(genotype),
            Format::Toml => write_toml(genotype),
            Format::Dot => dot::to_dot(genotype),
        }
    }
}

/// JSON with one edge per line; parses back through serde like any JSON.
fn write_json(genotype: &Genotype) -> String {
    let mut out = String::from("{\n");
    for (i, kind) in CellKind::ALL.into_iter().enumerate() {
        let cell = genotype.cell(kind);
        let edges: Vec<String> = cell
            .edges()
            .map(|e| format!("      {{\"op\": \"{}\", \"input\": {}}}", e.op, e.input))
            .collect();
        out += &format!(
            "  \"{kind}\": {{\n    \"edges\": [\n{}\n    ],\n    \"concat\": {}\n  }}{}\n",
            edges.join(",\n"),
            cell.concat(),
            if i == 0 { "," } else { "" }
        );
    }
    out + "}\n"
}

/// TOML with a table per cell and one inline table per edge.
fn write_toml(genotype: &Genotype) -> String {
    let mut out = String::new();
    for kind in CellKind::ALL {
        let cell = genotype.cell(kind);
        if !out.is_empty() {
            out.push('\n');
        }
        out += &format!("[{kind}]\nedges = [\n");
        for e in cell.edges() {
            out += &format!("    {{ op = \"{}\", input = {} }},\n", e.op, e.input);
        }
        out += &format!("]\nconcat = {}\n", cell.concat());
    }
    out
}

fn json_error(text: &str, e: &serde_json::Error) -> ParseError {
    let message = e.to_string();
    // serde_json appends " at line L column C"; the location is reported apart.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    ParseError {
        format: Some(Format::Json),
        location: (e.line() > 0).then(|| Location::from_line_column(text, e.line(), e.column())),
        kind: ParseErrorKind::Serde(message),
    }
}

fn toml_error(text: &str, e: &toml::de::Error) -> ParseError {
    ParseError {
        format: Some(Format::Toml),
        location: e.span().map(|span| Location::in_text(text, span.start)),
        kind: ParseErrorKind::Serde(e.message().trim_end().to_owned()),
    }
}

/// Parses a genotype in whichever format `text` is in (see [`Format::sniff`]).
pub fn parse_any(text: &str) -> Result<(Option<String>, Genotype), ParseError> {
    let format = Format::sniff(text).ok_or_else(|| ParseError {
        format: None,
        location: None,
        kind: ParseErrorKind::UnknownFormat(
            "expected DARTS text `Genotype(...)`, JSON, TOML or DOT".to_owned(),
        ),
    })?;
    format.parse_named(text)
}

/// Reads a genotype file. The format comes from the extension, or from the
/// contents when the extension says nothing.
pub fn load(path: &Path) -> Result<(Option<String>, Genotype), Error> {
    let text = crate::read::read_text(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let parsed = match Format::from_path(path) {
        Some(format) => format.parse_named(&text),
        None => parse_any(&text),
    };
    parsed.map_err(|source| Error::File {
        path: path.to_owned(),
        source,
    })
}

/// Writes `genotype` to `path` in `format` (replacing a regular file there:
/// the rules of [`edas_fs::write_atomic`]).
pub fn save(genotype: &Genotype, path: &Path, format: Format) -> Result<(), Error> {
    let mut text = format.write(genotype);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    edas_fs::write_atomic(path, text.as_bytes()).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::published::PC_DARTS_CIFAR;

    #[test]
    fn every_format_round_trips_and_is_recognised() {
        for format in Format::ALL {
            let text = format.write(&PC_DARTS_CIFAR);
            assert_eq!(Format::sniff(&text), Some(format), "{text}");
            assert_eq!(format.parse(&text).unwrap(), PC_DARTS_CIFAR, "{format}");
            assert_eq!(parse_any(&text).unwrap().1, PC_DARTS_CIFAR);
            assert_eq!(format.name().parse::<Format>(), Ok(format));
        }
    }

    #[test]
    fn json_shape_and_errors() {
        let json = Format::Json.write(&PC_DARTS_CIFAR);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["normal"]["edges"][0]["op"], "sep_conv_3x3");
        assert_eq!(value["normal"]["edges"][0]["input"], 1);
        assert_eq!(value["reduce"]["concat"], serde_json::json!([2, 3, 4, 5]));

        let bad = json.replacen("\"skip_connect\"", "\"skip\"", 1);
        let e = Format::Json.parse(&bad).unwrap_err();
        assert!(e.to_string().contains("unknown op `skip`"), "{e}");
        let loc = e.location.unwrap();
        assert_eq!(
            loc.line,
            bad[..bad.find("\"skip\"").unwrap()].lines().count()
        );

        let bad = json.replacen("\"input\": 1", "\"input\": 6", 1);
        let e = Format::Json.parse(&bad).unwrap_err();
        assert!(
            e.to_string()
                .contains("normal cell: entry 0 (node 2): input 6 out of range"),
            "{e}"
        );
        // An edge with a field we do not know (a typo, another tool's
        // extension) is refused, not ignored.
        let bad = json.replacen("\"input\": 1", "\"input\": 1, \"weight\": 0.5", 1);
        assert_ne!(bad, json);
        let e = Format::Json.parse(&bad).unwrap_err();
        assert!(e.to_string().contains("unknown field `weight`"), "{e}");
    }

    #[test]
    fn toml_errors_have_a_place() {
        let toml = Format::Toml.write(&PC_DARTS_CIFAR);
        let bad = toml.replacen("concat = [2, 3, 4, 5]", "concat = [2, 3, 4, 5, 6]", 1);
        assert_ne!(bad, toml, "{toml}");
        let e = Format::Toml.parse(&bad).unwrap_err();
        // A rule broken inside well-formed TOML is named by cell and list.
        assert!(
            e.to_string()
                .contains("normal cell: concat list names state 6"),
            "{e}"
        );
        // Malformed TOML gets the line and column.
        let e = Format::Toml.parse("[normal]\nedges = 3\n").unwrap_err();
        assert_eq!(e.location.unwrap().line, 2);
        let e = Format::Toml.parse("[normal\n").unwrap_err();
        assert_eq!(e.location.unwrap().line, 1, "{e}");
    }

    #[test]
    fn hand_written_json_and_toml_match_serde() {
        let g = PC_DARTS_CIFAR;
        let via_serde: serde_json::Value = serde_json::to_value(g).unwrap();
        let ours: serde_json::Value = serde_json::from_str(&Format::Json.write(&g)).unwrap();
        assert_eq!(ours, via_serde);
        let via_serde: toml::Value = toml::Value::try_from(g).unwrap();
        let ours: toml::Value = toml::from_str(&Format::Toml.write(&g)).unwrap();
        assert_eq!(ours, via_serde);
    }
}
