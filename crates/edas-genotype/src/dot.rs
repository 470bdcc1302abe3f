//! Graphviz DOT pictures of cells, and a reader for the DOT this module writes.
//!
//! Node ids carry the cell kind (`"normal/c_{k-2}"`, `"normal/3"`,
//! `"normal/c_{k}"`) so one file can hold both cells as clusters; labels show
//! the short names. Intermediate nodes are labelled by their state index
//! (2..=5), the number genotype inputs refer to. Edges into intermediate nodes
//! are labelled with their op; edges into `c_{k}` are the concat list.
//!
//! The reader understands the DOT this module writes (any whitespace, comments
//! and attribute order); it is not a general Graphviz parser.

use crate::error::{ParseError, ParseErrorKind};
use crate::format::Format;
use crate::genotype::{Cell, Genotype, NodeInput};
use crate::primitive::{CellKind, Primitive};
use crate::space::{INPUTS_PER_NODE, NUM_INPUT_STATES, NUM_STATES};

const HEADER: &str = "  rankdir=LR;\n  node [style=filled, shape=rect, align=center, fontsize=20, height=0.5, width=0.5, penwidth=2, fontname=\"helvetica\"];\n  edge [fontsize=16, fontname=\"helvetica\", decorate=true, color=gray30];\n";

fn state_name(state: usize) -> String {
    match state {
        0 => "c_{k-2}".to_owned(),
        1 => "c_{k-1}".to_owned(),
        s => s.to_string(),
    }
}

fn cell_body(cell: &Cell, kind: CellKind, indent: &str) -> String {
    let mut out = String::new();
    let id = |name: &str| format!("\"{kind}/{name}\"");
    for state in 0..NUM_INPUT_STATES + cell.num_nodes() {
        let name = state_name(state);
        let color = if state < NUM_INPUT_STATES {
            "darkseagreen2"
        } else {
            "lightblue"
        };
        out += &format!(
            "{indent}{} [label=\"{name}\", fillcolor={color}];\n",
            id(&name)
        );
    }
    for (node, pair) in cell.nodes() {
        for edge in pair {
            out += &format!(
                "{indent}{} -> {} [label=\"{}\", fillcolor=gray];\n",
                id(&state_name(edge.input)),
                id(&node.to_string()),
                edge.op
            );
        }
    }
    out += &format!(
        "{indent}{} [label=\"c_{{k}}\", fillcolor=palegoldenrod];\n",
        id("c_{k}")
    );
    for state in cell.concat().states() {
        out += &format!(
            "{indent}{} -> {} [fillcolor=gray];\n",
            id(&state.to_string()),
            id("c_{k}")
        );
    }
    out
}

/// A DOT graph of one cell (what `dot -Tsvg` draws as one picture).
pub fn cell_to_dot(cell: &Cell, kind: CellKind) -> String {
    format!(
        "digraph {kind} {{\n  label=\"{kind} cell\";\n{HEADER}{}}}\n",
        cell_body(cell, kind, "  ")
    )
}

/// A DOT graph of a genotype: both cells as clusters, the normal cell drawn
/// above the reduction cell. Each op label is tied to its edge by a line
/// (`decorate`), so that none floats between two edges.
pub fn to_dot(genotype: &Genotype) -> String {
    let mut out = format!("digraph genotype {{\n{HEADER}");
    // With `rankdir=LR`, `dot` stacks clusters bottom-up in the order they
    // are written: the reduction cell first puts the normal cell on top.
    for kind in [CellKind::Reduce, CellKind::Normal] {
        out += &format!(
            "  subgraph cluster_{kind} {{\n    label=\"{kind} cell\";\n    labelloc=b;\n    fontsize=18;\n{}  }}\n",
            cell_body(genotype.cell(kind), kind, "    ")
        );
    }
    out += "}\n";
    out
}

/// Reads a genotype from DOT written by [`to_dot`] (both cells required).
pub fn parse_dot(text: &str) -> Result<Genotype, ParseError> {
    let mut cells = read_cells(text)?;
    let mut take = |kind: CellKind| {
        cells[kind as usize].take().ok_or_else(|| {
            ParseError::at(
                Format::Dot,
                text,
                0,
                ParseErrorKind::Field(format!("no edges of the {kind} cell")),
            )
        })
    };
    Ok(Genotype {
        normal: take(CellKind::Normal)?,
        reduce: take(CellKind::Reduce)?,
    })
}

/// Reads one cell from DOT written by [`cell_to_dot`]; fails if the text holds
/// edges of both kinds or of none.
pub fn parse_dot_cell(text: &str) -> Result<(CellKind, Cell), ParseError> {
    let cells = read_cells(text)?;
    match cells {
        [Some(cell), None] => Ok((CellKind::Normal, cell)),
        [None, Some(cell)] => Ok((CellKind::Reduce, cell)),
        _ => Err(ParseError::at(
            Format::Dot,
            text,
            0,
            ParseErrorKind::Field("expected the edges of exactly one cell".to_owned()),
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok<'a> {
    /// An identifier, number or quoted string (quotes removed, still escaped).
    Id(&'a str),
    Arrow,
    Punct(u8),
}

fn lex(text: &str) -> Result<Vec<(Tok<'_>, usize)>, ParseError> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |at: usize, expected: &str, found: &str| {
        ParseError::at(
            Format::Dot,
            text,
            at,
            ParseErrorKind::Syntax {
                expected: expected.to_owned(),
                found: found.to_owned(),
            },
        )
    };
    while i < b.len() {
        let start = i;
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .ok_or_else(|| err(i, "`*/`", "end of input"))?;
                i += 2 + end + 2;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if i >= b.len() {
                    return Err(err(start, "closing `\"`", "end of input"));
                }
                out.push((Tok::Id(&text[start + 1..i]), start));
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'>') => {
                out.push((Tok::Arrow, start));
                i += 2;
            }
            c if c == b'_' || c == b'.' || c == b'-' || c.is_ascii_alphanumeric() => {
                while i < b.len() && (b[i] == b'_' || b[i] == b'.' || b[i].is_ascii_alphanumeric())
                {
                    i += 1;
                }
                i = i.max(start + 1);
                out.push((Tok::Id(&text[start..i]), start));
            }
            c @ (b'{' | b'}' | b'[' | b']' | b'=' | b';' | b',' | b':') => {
                out.push((Tok::Punct(c), start));
                i += 1;
            }
            _ => {
                let ch = text[start..].chars().next().unwrap_or('\u{fffd}');
                return Err(err(start, "DOT", &format!("character {ch:?}")));
            }
        }
    }
    Ok(out)
}

/// A DOT node id written by this module: cell kind and state (None = `c_{k}`).
fn parse_node(id: &str) -> Option<(CellKind, Option<usize>)> {
    let (kind, name) = id.split_once('/')?;
    let kind = CellKind::ALL.into_iter().find(|k| k.name() == kind)?;
    let state = match name {
        "c_{k-2}" => Some(0),
        "c_{k-1}" => Some(1),
        "c_{k}" => None,
        n => Some(
            n.parse::<usize>()
                .ok()
                .filter(|s| (NUM_INPUT_STATES..NUM_STATES).contains(s))?,
        ),
    };
    Some((kind, state))
}

fn read_cells(text: &str) -> Result<[Option<Cell>; 2], ParseError> {
    let tokens = lex(text)?;
    let at = |offset: usize, kind: ParseErrorKind| ParseError::at(Format::Dot, text, offset, kind);
    // Per kind: incoming edges of nodes 2..=5 (with offsets), concat list.
    let mut edges: [Vec<Vec<(NodeInput, usize)>>; 2] = [vec![Vec::new(); 4], vec![Vec::new(); 4]];
    let mut concat: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
    let mut seen = [None::<usize>; 2];
    let mut i = 0;
    while i + 2 < tokens.len() {
        let (Tok::Id(from), offset) = tokens[i] else {
            i += 1;
            continue;
        };
        let (Tok::Arrow, Tok::Id(to)) = (tokens[i + 1].0, tokens[i + 2].0) else {
            i += 1;
            continue;
        };
        let bad_node = |id: &str, offset| {
            at(
                offset,
                ParseErrorKind::Syntax {
                    expected: "a node id such as \"normal/3\" or \"reduce/c_{k-1}\"".to_owned(),
                    found: format!("\"{id}\""),
                },
            )
        };
        let (kind, input) = parse_node(from).ok_or_else(|| bad_node(from, offset))?;
        let (to_kind, target) = parse_node(to).ok_or_else(|| bad_node(to, tokens[i + 2].1))?;
        let input = input.ok_or_else(|| bad_node(from, offset))?;
        if to_kind != kind {
            return Err(at(
                offset,
                ParseErrorKind::Field(format!("edge from the {kind} cell into the {to_kind} cell")),
            ));
        }
        i += 3;
        // The attribute list, if any: find `label = "..."`.
        let mut label = None;
        if matches!(tokens.get(i), Some((Tok::Punct(b'['), _))) {
            while let Some(&(tok, _)) = tokens.get(i) {
                i += 1;
                match tok {
                    Tok::Punct(b']') => break,
                    Tok::Id("label") => {
                        if let (Some((Tok::Punct(b'='), _)), Some(&(Tok::Id(v), o))) =
                            (tokens.get(i), tokens.get(i + 1))
                        {
                            label = Some((v, o));
                            i += 2;
                        }
                    }
                    _ => {}
                }
            }
        }
        seen[kind as usize].get_or_insert(offset);
        match target {
            None => concat[kind as usize].push(input),
            Some(node) => {
                let (name, label_at) = label.ok_or_else(|| {
                    at(
                        offset,
                        ParseErrorKind::Field("edge into a node has no op label".to_owned()),
                    )
                })?;
                let op = Primitive::from_name(name).map_err(|e| at(label_at, e.into()))?;
                if input >= node {
                    return Err(at(
                        offset,
                        ParseErrorKind::Field(format!(
                            "{kind} cell: edge from state {input} into node {node} goes backwards"
                        )),
                    ));
                }
                edges[kind as usize][node - NUM_INPUT_STATES]
                    .push((NodeInput::new(op, input), offset));
            }
        }
    }
    let mut cells = [None, None];
    for kind in CellKind::ALL {
        let k = kind as usize;
        let Some(first) = seen[k] else { continue };
        let mut list = Vec::new();
        let mut offsets = Vec::new();
        // A cell of fewer nodes (a restricted space) has no edges into the
        // last ones; every node before the last fed one needs two.
        let used = edges[k]
            .iter()
            .rposition(|incoming| !incoming.is_empty())
            .map_or(1, |last| last + 1);
        for (n, incoming) in edges[k][..used].iter().enumerate() {
            if incoming.len() != INPUTS_PER_NODE {
                return Err(at(
                    incoming.first().map_or(first, |e| e.1),
                    ParseErrorKind::Field(format!(
                        "{kind} cell: node {} has {} incoming edges, expected {INPUTS_PER_NODE}",
                        n + NUM_INPUT_STATES,
                        incoming.len()
                    )),
                ));
            }
            list.extend(incoming.iter().map(|e| e.0));
            offsets.extend(incoming.iter().map(|e| e.1));
        }
        concat[k].sort_unstable();
        let cell = Cell::new(&list, &concat[k]).map_err(|error| {
            let offset = error.entry().map_or(first, |e| offsets[e]);
            at(
                offset,
                ParseErrorKind::Invalid(crate::error::GenotypeError { kind, error }),
            )
        })?;
        cells[k] = Some(cell);
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::published::{DARTS_V2, PDARTS};

    #[test]
    fn cell_dot_draws_every_edge() {
        let dot = cell_to_dot(&DARTS_V2.normal, CellKind::Normal);
        assert!(dot.starts_with("digraph normal {"));
        assert_eq!(dot.matches("->").count(), 8 + 4);
        assert!(dot.contains("\"normal/c_{k-2}\" -> \"normal/2\" [label=\"sep_conv_3x3\""));
        assert!(dot.contains("\"normal/2\" -> \"normal/5\" [label=\"dil_conv_3x3\""));
        assert!(dot.contains("\"normal/5\" -> \"normal/c_{k}\""));
        assert_eq!(
            parse_dot_cell(&dot).unwrap(),
            (CellKind::Normal, DARTS_V2.normal)
        );
    }

    #[test]
    fn genotype_dot_round_trips_in_order() {
        let dot = to_dot(&PDARTS);
        assert!(dot.contains("subgraph cluster_normal") && dot.contains("subgraph cluster_reduce"));
        let back = parse_dot(&dot).unwrap();
        assert_eq!(format!("{back:?}"), format!("{:?}", PDARTS));
    }

    #[test]
    fn dot_errors_name_the_place() {
        let dot = to_dot(&DARTS_V2);
        let bad = dot.replacen("label=\"sep_conv_3x3\"", "label=\"conv_9\"", 1);
        let e = parse_dot(&bad).unwrap_err();
        assert!(matches!(e.kind, ParseErrorKind::UnknownOp(_)));
        assert_eq!(e.location.unwrap().offset, bad.find("\"conv_9\"").unwrap());
        let line =
            "    \"reduce/c_{k-2}\" -> \"reduce/2\" [label=\"max_pool_3x3\", fillcolor=gray];\n";
        assert!(bad.contains(line));
        let missing = dot.replacen(line, "", 1);
        assert!(
            parse_dot(&missing)
                .unwrap_err()
                .to_string()
                .contains("reduce cell: node 2 has 1 incoming edges")
        );
        assert!(parse_dot("digraph x {}").is_err());
        assert!(parse_dot_cell(&dot).is_err());
    }
}
