//! Error types. Every error names the place at fault: the cell kind, the entry
//! of the edge list and its node, or the byte offset, line and column in a text.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::format::Format;
pub use crate::primitive::UnknownOp;
use crate::primitive::{CellKind, Primitive};

/// Why a text is not a NAS-Bench-201 architecture string
/// (`|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, [`crate::nb201`]).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("not a NAS-Bench-201 architecture string at byte {offset} of `{text}`: {message}")]
pub struct ArchStringError {
    /// The text read.
    pub text: String,
    /// Byte offset of the fault.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Why a cell (its edge list and concat list) is not a valid DARTS cell.
///
/// `entry` is the position in the flat edge list as DARTS writes it (0..8);
/// `node` is the receiving node as a state index (2..=5).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CellError {
    /// The edge list does not have 2 entries per intermediate node.
    #[error(
        "expected {expected} edges (2 per node for 4 nodes; 2, 4 or 6 for a cell of fewer nodes), found {found}"
    )]
    EdgeCount {
        /// 8 in the DARTS space (a cell of fewer nodes has fewer).
        expected: usize,
        /// The number of entries given.
        found: usize,
    },
    /// An input index refers to a state that is not before the node.
    #[error("entry {entry} (node {node}): input {input} out of range, node {node} takes inputs 0..={}", node - 1)]
    InputOutOfRange {
        /// Position in the edge list.
        entry: usize,
        /// Receiving node (state index).
        node: usize,
        /// The offending input index.
        input: usize,
    },
    /// Both edges of a node come from the same state; the search space has one
    /// edge (one op) per (node, input) pair.
    #[error(
        "entry {entry} (node {node}): input {input} is already the node's other input; each node needs 2 distinct inputs"
    )]
    DuplicateInput {
        /// Position in the edge list of the second occurrence.
        entry: usize,
        /// Receiving node (state index).
        node: usize,
        /// The repeated input.
        input: usize,
    },
    /// `none` cannot be a kept edge: the derivation rule never keeps it.
    #[error("entry {entry} (node {node}): op `none` cannot be a kept edge")]
    NoneOp {
        /// Position in the edge list.
        entry: usize,
        /// Receiving node (state index).
        node: usize,
    },
    /// The concat list is empty.
    #[error("concat list is empty; it must name at least one of the nodes 2..=5")]
    ConcatEmpty,
    /// The concat list names a state that is not an intermediate node.
    #[error(
        "concat list names state {state}, but only the intermediate nodes 2..=5 can be concatenated"
    )]
    ConcatOutOfRange {
        /// The offending state.
        state: usize,
    },
    /// The concat list repeats a node or is not in ascending order.
    #[error("concat list must be strictly ascending, found {state} after {previous}")]
    ConcatOrder {
        /// The earlier entry.
        previous: usize,
        /// The entry that is not larger than `previous`.
        state: usize,
    },
}

impl CellError {
    /// The edge-list entry this error is about, if it is about one.
    pub fn entry(&self) -> Option<usize> {
        match *self {
            CellError::InputOutOfRange { entry, .. }
            | CellError::DuplicateInput { entry, .. }
            | CellError::NoneOp { entry, .. } => Some(entry),
            _ => None,
        }
    }

    /// Whether this error is about the concat list.
    pub fn is_concat(&self) -> bool {
        matches!(
            self,
            CellError::ConcatEmpty
                | CellError::ConcatOutOfRange { .. }
                | CellError::ConcatOrder { .. }
        )
    }
}

/// A [`CellError`] in the normal or reduction cell of a genotype.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{kind} cell: {error}")]
pub struct GenotypeError {
    /// Which cell.
    pub kind: CellKind,
    /// What is wrong with it (part of the message, so not a `source`).
    pub error: CellError,
}

/// A place in a text: byte offset (0-based) and line and column (1-based,
/// columns in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// Byte offset from the start of the text.
    pub offset: usize,
    /// Line number, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text` (clamped to the text's end and
    /// to a character boundary).
    pub fn in_text(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        Location {
            offset,
            line,
            column,
        }
    }

    /// A location from a 1-based line and column (as serde_json reports them).
    pub fn from_line_column(text: &str, line: usize, column: usize) -> Location {
        let line_start: usize = text
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum();
        let offset = text[line_start.min(text.len())..]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(text.len(), |(i, _)| line_start + i);
        Location {
            offset,
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "byte {} (line {}, column {})",
            self.offset, self.line, self.column
        )
    }
}

/// What went wrong while reading a genotype text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ParseErrorKind {
    /// The text does not follow the format's grammar.
    #[error("expected {expected}, found {found}")]
    Syntax {
        /// What the parser was looking for.
        expected: String,
        /// What it found instead.
        found: String,
    },
    /// An op name that is not a DARTS primitive.
    #[error(transparent)]
    UnknownOp(#[from] UnknownOp),
    /// A field name the format does not have, or a field given twice or missing.
    #[error("{0}")]
    Field(String),
    /// A well-formed text that describes an invalid genotype.
    #[error(transparent)]
    Invalid(#[from] GenotypeError),
    /// A message from the JSON or TOML parser (serde).
    #[error("{0}")]
    Serde(String),
    /// The format could not be recognised from the file name or contents.
    #[error("cannot tell the genotype format: {0}")]
    UnknownFormat(String),
    /// A NAS-Bench-201 cell whose architecture string is malformed.
    #[error(transparent)]
    ArchString(#[from] ArchStringError),
}

/// A genotype text that could not be read, with the place at fault.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub struct ParseError {
    /// The format being read.
    pub format: Option<Format>,
    /// Where in the text, when known.
    pub location: Option<Location>,
    /// What went wrong (part of the message, so not a `source`).
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(format) = self.format {
            write!(f, "{format}")?;
            if self.location.is_some() {
                f.write_str(" ")?;
            }
        }
        if let Some(location) = self.location {
            write!(f, "{location}")?;
        }
        if self.format.is_some() || self.location.is_some() {
            f.write_str(": ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl ParseError {
    /// An error at byte `offset` of `text`.
    pub fn at(format: Format, text: &str, offset: usize, kind: ParseErrorKind) -> ParseError {
        ParseError {
            format: Some(format),
            location: Some(Location::in_text(text, offset)),
            kind,
        }
    }
}

/// Why edge weights could not be turned into a genotype.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum DeriveError {
    /// The weights do not have one row of 8 per edge.
    #[error("{kind} weights: expected {expected} values (14 edges x 8 ops), found {found}")]
    Shape {
        /// Which cell's weights.
        kind: CellKind,
        /// 112.
        expected: usize,
        /// The number given.
        found: usize,
    },
    /// A weight is NaN or infinite.
    #[error("{kind} weights: edge {edge}, op {op}: weight {value} is not finite")]
    NonFinite {
        /// Which cell's weights.
        kind: CellKind,
        /// Edge row (0..14).
        edge: usize,
        /// Op column.
        op: Primitive,
        /// The value.
        value: f32,
    },
    /// NAS-Bench-201 edge weights that are not 6 rows of 5 finite values.
    #[error("NAS-Bench-201 weights: {0}")]
    Nb201(String),
    /// The rule found no valid cell (a node with fewer than two inputs that
    /// have an op other than `none` left).
    #[error("{kind} weights: no cell can be derived: {message}")]
    NoCell {
        /// Which cell's weights.
        kind: CellKind,
        /// Why.
        message: String,
    },
}

/// An architecture given to something built for another space.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{what} takes {expected} architectures, but `{text}` is a {found} one")]
pub struct SpaceMismatch {
    /// What refused it (`the darts network`, `edas genotype plot`).
    pub what: String,
    /// The space it takes (`SpaceName::name`).
    pub expected: &'static str,
    /// The architecture's space.
    pub found: &'static str,
    /// The architecture as one line of text.
    pub text: String,
}

/// Any error of this crate, including reading genotype files.
#[derive(Debug, Error)]
pub enum Error {
    /// A text that could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A genotype that breaks the search space's rules.
    #[error(transparent)]
    Genotype(#[from] GenotypeError),
    /// Weights that could not be derived into a genotype.
    #[error(transparent)]
    Derive(#[from] DeriveError),
    /// A file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file that cannot be written (or read) under edas' file rules.
    #[error(transparent)]
    Fs(#[from] edas_fs::FsError),
    /// An architecture of one space given to something built for another.
    #[error(transparent)]
    Space(#[from] SpaceMismatch),
    /// A file was read but its contents are not a valid genotype.
    #[error("invalid genotype file {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        #[source]
        source: ParseError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let text = "ab\ncdé\nf";
        assert_eq!(
            Location::in_text(text, 0),
            Location {
                offset: 0,
                line: 1,
                column: 1
            }
        );
        assert_eq!(Location::in_text(text, 4).line, 2);
        assert_eq!(Location::in_text(text, 4).column, 2);
        // 'é' is two bytes (5 and 6); byte 7 is the newline after it (column 4).
        assert_eq!(Location::in_text(text, 7).column, 4);
        assert_eq!(
            (
                Location::in_text(text, 8).line,
                Location::in_text(text, 8).column
            ),
            (3, 1)
        );
        // A byte inside 'é' moves back to its boundary.
        assert_eq!(Location::in_text(text, 6).offset, 5);
        assert_eq!(Location::in_text(text, 100).offset, text.len());
        let l = Location::from_line_column(text, 2, 3);
        assert_eq!(l.offset, 5);
        assert_eq!(Location::in_text(text, l.offset), l);
    }
}
