//! The genotype text formats, and telling them apart by file name or
//! contents. Reading and writing them is [`crate::codec`]'s.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A genotype text format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// DARTS' Python text, `Genotype(normal=[...], ...)`.
    Darts,
    /// This project's JSON form (serde).
    Json,
    /// This project's TOML form (serde).
    Toml,
    /// Graphviz DOT of both cells (written by [`crate::dot::to_dot`]).
    Dot,
}

impl Format {
    /// All formats.
    pub const ALL: [Format; 4] = [Format::Darts, Format::Json, Format::Toml, Format::Dot];

    /// The name used on the command line (`darts`, `json`, `toml`, `dot`).
    pub const fn name(self) -> &'static str {
        match self {
            Format::Darts => "darts",
            Format::Json => "json",
            Format::Toml => "toml",
            Format::Dot => "dot",
        }
    }

    /// The usual file extension.
    pub const fn extension(self) -> &'static str {
        match self {
            Format::Darts => "txt",
            Format::Json => "json",
            Format::Toml => "toml",
            Format::Dot => "dot",
        }
    }

    /// The format a file name's extension stands for: `.json`, `.toml`,
    /// `.dot`/`.gv`, and `.txt`/`.py`/`.genotype` for DARTS text.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "toml" => Some(Format::Toml),
            "dot" | "gv" => Some(Format::Dot),
            "txt" | "py" | "genotype" => Some(Format::Darts),
            _ => None,
        }
    }

    /// Guesses the format from a text's contents.
    pub fn sniff(text: &str) -> Option<Format> {
        let body = text
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        if body.starts_with('{') {
            Some(Format::Json)
        } else if body.starts_with("digraph") || body.starts_with("strict digraph") {
            Some(Format::Dot)
        } else if body.contains("Genotype") && body.contains('(') {
            Some(Format::Darts)
        } else if body.starts_with('[') || body.contains("edges") {
            Some(Format::Toml)
        } else {
            None
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Darts => "DARTS text",
            Format::Json => "JSON",
            Format::Toml => "TOML",
            Format::Dot => "DOT",
        })
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown format `{s}` (expected darts, json, toml or dot)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(Format::from_path(Path::new("a/b.JSON")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("g.py")), Some(Format::Darts));
        assert_eq!(Format::from_path(Path::new("g.gv")), Some(Format::Dot));
        assert_eq!(Format::from_path(Path::new("g")), None);
    }
}
