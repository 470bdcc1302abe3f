//! DARTS' Python text format for genotypes, read and written.
//!
//! Every DARTS-family repository prints and publishes genotypes as the repr of
//! a Python namedtuple:
//!
//! ```text
//! DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...],
//!                     normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=range(2, 6))
//! ```
//!
//! The reader accepts: an optional `NAME =` prefix; `Genotype` or a dotted
//! path ending in it (`genotypes.Genotype`); keyword arguments in any order or
//! positional arguments in field order; single or double quotes; tuples or
//! two-element lists as edges; concat lists as `[2, 3, 4, 5]`, `range(2, 6)`,
//! `range(6)` or `list(...)` of either; trailing commas; any whitespace and
//! newlines; `#` comments. It never panics: every failure is a [`ParseError`]
//! with the byte offset, line and column.

use crate::error::{GenotypeError, ParseError, ParseErrorKind};
use crate::format::Format;
use crate::genotype::{Cell, Genotype, NodeInput};
use crate::primitive::{CellKind, Primitive};
use crate::space::NUM_STATES;

/// The four fields of DARTS' `Genotype` namedtuple, in positional order.
const FIELDS: [&str; 4] = ["normal", "normal_concat", "reduce", "reduce_concat"];

/// Writes `genotype` as DARTS does: `Genotype(normal=[('op', i), ...],
/// normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])`.
pub fn to_darts(genotype: &Genotype) -> String {
    let edges = |cell: &Cell| {
        let items: Vec<String> = cell
            .edges()
            .map(|e| format!("('{}', {})", e.op.name(), e.input))
            .collect();
        format!("[{}]", items.join(", "))
    };
    format!(
        "Genotype(normal={}, normal_concat={}, reduce={}, reduce_concat={})",
        edges(&genotype.normal),
        genotype.normal.concat(),
        edges(&genotype.reduce),
        genotype.reduce.concat()
    )
}

/// Writes `NAME = Genotype(...)`, the form of DARTS' `genotypes.py`.
pub fn to_darts_named(genotype: &Genotype, name: &str) -> String {
    format!("{name} = {}", to_darts(genotype))
}

/// Reads a DARTS genotype text, ignoring any `NAME =` prefix.
pub fn parse_darts(text: &str) -> Result<Genotype, ParseError> {
    parse_darts_named(text).map(|(_, genotype)| genotype)
}

/// Reads a DARTS genotype text and returns the `NAME` of a `NAME =` prefix,
/// if there is one, with the genotype.
pub fn parse_darts_named(text: &str) -> Result<(Option<String>, Genotype), ParseError> {
    let tokens = lex(text)?;
    Parser {
        text,
        tokens,
        pos: 0,
    }
    .genotype()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok<'a> {
    Ident(&'a str),
    Str(&'a str),
    Int(u64),
    Punct(char),
    Eof,
}

impl Tok<'_> {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Int(n) => format!("integer {n}"),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Eof => "end of input".to_owned(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    tok: Tok<'a>,
    offset: usize,
}

fn syntax(text: &str, offset: usize, expected: &str, found: String) -> ParseError {
    ParseError::at(
        Format::Darts,
        text,
        offset,
        ParseErrorKind::Syntax {
            expected: expected.to_owned(),
            found,
        },
    )
}

fn lex(text: &str) -> Result<Vec<Token<'_>>, ParseError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' | b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != c && bytes[i] != b'\n' && bytes[i] != b'\\' {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] != c {
                    let found = if i >= bytes.len() {
                        "end of input".to_owned()
                    } else if bytes[i] == b'\\' {
                        "a backslash escape (op names have none)".to_owned()
                    } else {
                        "end of line".to_owned()
                    };
                    return Err(syntax(text, i, &format!("closing {}", c as char), found));
                }
                // Quotes are ASCII, so both ends are character boundaries.
                tokens.push(Token {
                    tok: Tok::Str(&text[start + 1..i]),
                    offset: start,
                });
                i += 1;
            }
            b'0'..=b'9' => {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let value = text[start..i].parse::<u64>().map_err(|_| {
                    syntax(
                        text,
                        start,
                        "an integer that fits 64 bits",
                        format!("`{}`", &text[start..i]),
                    )
                })?;
                tokens.push(Token {
                    tok: Tok::Int(value),
                    offset: start,
                });
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                tokens.push(Token {
                    tok: Tok::Ident(&text[start..i]),
                    offset: start,
                });
            }
            b'(' | b')' | b'[' | b']' | b',' | b'=' | b'.' => {
                tokens.push(Token {
                    tok: Tok::Punct(c as char),
                    offset: start,
                });
                i += 1;
            }
            _ => {
                let ch = text[start..].chars().next().unwrap_or('\u{fffd}');
                return Err(syntax(
                    text,
                    start,
                    "a genotype text",
                    format!("character {ch:?}"),
                ));
            }
        }
    }
    tokens.push(Token {
        tok: Tok::Eof,
        offset: text.len(),
    });
    Ok(tokens)
}

/// An edge list as written, with the offset of the list and of each entry.
struct EdgeList {
    offset: usize,
    edges: Vec<NodeInput>,
    entry_offsets: Vec<usize>,
}

/// A concat list as written, with its offset.
struct ConcatList {
    offset: usize,
    states: Vec<usize>,
}

enum Value {
    Edges(EdgeList),
    Concat(ConcatList),
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Token<'a> {
        self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek2(&self) -> Tok<'a> {
        self.tokens[(self.pos + 1).min(self.tokens.len() - 1)].tok
    }

    fn bump(&mut self) -> Token<'a> {
        let t = self.peek();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn error(&self, expected: &str) -> ParseError {
        let t = self.peek();
        syntax(self.text, t.offset, expected, t.tok.describe())
    }

    fn expect(&mut self, c: char) -> Result<Token<'a>, ParseError> {
        if self.peek().tok == Tok::Punct(c) {
            Ok(self.bump())
        } else {
            Err(self.error(&format!("`{c}`")))
        }
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek().tok == Tok::Punct(c);
        if hit {
            self.bump();
        }
        hit
    }

    fn genotype(mut self) -> Result<(Option<String>, Genotype), ParseError> {
        let mut name = None;
        if let (Tok::Ident(n), Tok::Punct('=')) = (self.peek().tok, self.peek2()) {
            name = Some(n.to_owned());
            self.pos += 2;
        }
        // `Genotype` or `genotypes.Genotype`.
        loop {
            match self.peek().tok {
                Tok::Ident(_) if self.peek2() == Tok::Punct('.') => self.pos += 2,
                Tok::Ident("Genotype") => {
                    self.bump();
                    break;
                }
                _ => return Err(self.error("`Genotype(`")),
            }
        }
        self.expect('(')?;
        let mut fields: [Option<Value>; 4] = [None, None, None, None];
        let mut positional = 0;
        let mut keyword_seen = false;
        while !self.eat(')') {
            let start = self.peek();
            let index = if let (Tok::Ident(key), Tok::Punct('=')) = (start.tok, self.peek2()) {
                keyword_seen = true;
                let index = FIELDS.iter().position(|f| *f == key).ok_or_else(|| {
                    self.field_error(
                        start.offset,
                        format!("unknown field `{key}` (Genotype has {})", FIELDS.join(", ")),
                    )
                })?;
                self.pos += 2;
                index
            } else {
                if keyword_seen {
                    return Err(self.field_error(
                        start.offset,
                        "positional argument after keyword arguments".to_owned(),
                    ));
                }
                if positional >= FIELDS.len() {
                    return Err(self.field_error(
                        start.offset,
                        "too many arguments: Genotype has 4 fields".to_owned(),
                    ));
                }
                positional += 1;
                positional - 1
            };
            if fields[index].is_some() {
                return Err(self.field_error(
                    start.offset,
                    format!("field `{}` given twice", FIELDS[index]),
                ));
            }
            fields[index] = Some(if index % 2 == 0 {
                Value::Edges(self.edge_list()?)
            } else {
                Value::Concat(self.concat()?)
            });
            if !self.eat(',') && self.peek().tok != Tok::Punct(')') {
                return Err(self.error("`,` or `)`"));
            }
        }
        let close = self.tokens[self.pos.saturating_sub(1)].offset;
        if self.peek().tok != Tok::Eof {
            return Err(self.error("end of input after the genotype"));
        }
        let [normal, normal_concat, reduce, reduce_concat] = fields;
        let normal = self.cell(CellKind::Normal, normal, normal_concat, close)?;
        let reduce = self.cell(CellKind::Reduce, reduce, reduce_concat, close)?;
        Ok((name, Genotype { normal, reduce }))
    }

    fn field_error(&self, offset: usize, message: String) -> ParseError {
        ParseError::at(
            Format::Darts,
            self.text,
            offset,
            ParseErrorKind::Field(message),
        )
    }

    fn cell(
        &self,
        kind: CellKind,
        edges: Option<Value>,
        concat: Option<Value>,
        close: usize,
    ) -> Result<Cell, ParseError> {
        let missing = |field: String| self.field_error(close, format!("missing field `{field}`"));
        let Some(Value::Edges(edges)) = edges else {
            return Err(missing(kind.name().to_owned()));
        };
        let Some(Value::Concat(concat)) = concat else {
            return Err(missing(format!("{kind}_concat")));
        };
        Cell::new(&edges.edges, &concat.states).map_err(|error| {
            let offset = match error.entry() {
                Some(entry) => edges.entry_offsets[entry],
                None if error.is_concat() => concat.offset,
                None => edges.offset,
            };
            ParseError::at(
                Format::Darts,
                self.text,
                offset,
                ParseErrorKind::Invalid(GenotypeError { kind, error }),
            )
        })
    }

    fn edge_list(&mut self) -> Result<EdgeList, ParseError> {
        let open = self.expect('[')?;
        let mut list = EdgeList {
            offset: open.offset,
            edges: Vec::new(),
            entry_offsets: Vec::new(),
        };
        while !self.eat(']') {
            let start = self.peek();
            let close = match start.tok {
                Tok::Punct('(') => ')',
                Tok::Punct('[') => ']',
                _ => return Err(self.error("an edge `('op', input)` or `]`")),
            };
            self.bump();
            let op_token = self.bump();
            let Tok::Str(name) = op_token.tok else {
                self.pos -= 1;
                return Err(self.error("an op name in quotes"));
            };
            let op = Primitive::from_name(name).map_err(|e| {
                ParseError::at(
                    Format::Darts,
                    self.text,
                    op_token.offset,
                    ParseErrorKind::UnknownOp(e),
                )
            })?;
            self.expect(',')?;
            let input = self.int("an input index")?;
            self.eat(',');
            self.expect(close)?;
            list.edges.push(NodeInput::new(op, input));
            list.entry_offsets.push(start.offset);
            if !self.eat(',') && self.peek().tok != Tok::Punct(']') {
                return Err(self.error("`,` or `]`"));
            }
        }
        Ok(list)
    }

    fn int(&mut self, what: &str) -> Result<usize, ParseError> {
        match self.peek().tok {
            Tok::Int(n) => {
                self.bump();
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
            _ => Err(self.error(what)),
        }
    }

    fn concat(&mut self) -> Result<ConcatList, ParseError> {
        let offset = self.peek().offset;
        let wrapped =
            matches!(self.peek().tok, Tok::Ident("list")) && self.peek2() == Tok::Punct('(');
        if wrapped {
            self.pos += 2;
        }
        let states = match self.peek().tok {
            Tok::Punct('[') => {
                self.bump();
                let mut states = Vec::new();
                while !self.eat(']') {
                    states.push(self.int("a node index or `]`")?);
                    if !self.eat(',') && self.peek().tok != Tok::Punct(']') {
                        return Err(self.error("`,` or `]`"));
                    }
                }
                states
            }
            Tok::Ident("range") => {
                self.bump();
                self.expect('(')?;
                let first = self.int("an integer")?;
                let (start, end) = if self.eat(',') && self.peek().tok != Tok::Punct(')') {
                    (first, self.int("an integer")?)
                } else {
                    (0, first)
                };
                self.eat(',');
                self.expect(')')?;
                // Any range longer than the node count is invalid; taking one
                // more than that keeps the error without allocating the range.
                (start..end).take(NUM_STATES + 1).collect()
            }
            _ => return Err(self.error("a concat list `[2, 3, 4, 5]` or `range(2, 6)`")),
        };
        if wrapped {
            self.expect(')')?;
        }
        Ok(ConcatList { offset, states })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    const V2: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

    #[test]
    fn writes_what_it_reads() {
        let g = parse_darts(V2).unwrap();
        assert_eq!(to_darts(&g), V2);
        let (name, g2) = parse_darts_named(&to_darts_named(&g, "DARTS_V2")).unwrap();
        assert_eq!(name.as_deref(), Some("DARTS_V2"));
        assert_eq!(g2, g);
    }

    #[test]
    fn accepts_python_variants() {
        let g = parse_darts(V2).unwrap();
        let variants = [
            V2.replace('\'', "\""),
            V2.replace("[2, 3, 4, 5]", "range(2, 6)"),
            V2.replace("[2, 3, 4, 5]", "list(range(2,6))"),
            V2.replace(", ", ",\n    "),
            format!(
                "# searched\nX = genotypes.{}  # comment\n",
                V2.replace("])", ",],)")
            ),
            format!(
                "Genotype({}, [2,3,4,5], {}, range(2, 6))",
                &V2[16..V2.find("], normal_concat").unwrap() + 1],
                &V2[V2.find("reduce=").unwrap() + 7..V2.find("], reduce_concat").unwrap() + 1]
            ),
            V2.replace("('", "['")
                .replace("), [", "], [")
                .replace(")]", "]]"),
        ];
        for v in &variants {
            assert_eq!(parse_darts(v).unwrap(), g, "{v}");
        }
        // Keyword order does not matter.
        let reordered = format!(
            "Genotype(reduce_concat=[2, 3, 4, 5], {})",
            &V2[9..V2.find(", reduce_concat").unwrap()]
        );
        assert_eq!(parse_darts(&reordered).unwrap(), g);
    }

    fn err(text: &str) -> ParseError {
        parse_darts(text).unwrap_err()
    }

    #[test]
    fn errors_carry_the_byte_offset() {
        let bad = V2.replace("dil_conv_3x3", "dil_conv_9x9");
        let e = err(&bad);
        let at = bad.find("'dil_conv_9x9'").unwrap();
        assert_eq!(e.location.unwrap().offset, at);
        assert!(matches!(e.kind, ParseErrorKind::UnknownOp(_)));
        assert!(
            e.to_string()
                .starts_with(&format!("DARTS text byte {at} (line 1, column {})", at + 1))
        );

        // Input out of range points at the tuple.
        let bad = V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 7)");
        let e = err(&bad);
        assert_eq!(
            e.location.unwrap().offset,
            bad.find("('dil_conv_3x3', 7)").unwrap()
        );
        assert!(
            e.to_string()
                .contains("normal cell: entry 7 (node 5): input 7 out of range"),
            "{e}"
        );

        // Bad concat points at the concat list.
        let bad = V2.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 7)");
        let e = err(&bad);
        assert_eq!(e.location.unwrap().offset, bad.find("range(2, 7)").unwrap());
        assert!(
            e.to_string()
                .contains("reduce cell: concat list names state 6"),
            "{e}"
        );

        // Wrong number of edges points at the list.
        let bad = V2.replace(
            "('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)",
            "('sep_conv_3x3', 0), ('sep_conv_3x3', 1)",
        );
        let e = err(&bad);
        assert_eq!(e.location.unwrap().offset, 16);
        assert!(e.to_string().contains("expected 8 edges"), "{e}");

        // Missing field, unknown field, duplicates, trailing garbage, truncation.
        let cut = &V2[..V2.find(", reduce_concat").unwrap()];
        assert!(
            err(&format!("{cut})"))
                .to_string()
                .contains("missing field `reduce_concat`")
        );
        assert!(
            err(&V2.replace("reduce=", "reduced="))
                .to_string()
                .contains("unknown field `reduced`")
        );
        assert!(
            err(&V2.replace("reduce_concat", "normal_concat"))
                .to_string()
                .contains("given twice")
        );
        assert!(
            err(&format!("{V2} x"))
                .to_string()
                .contains("expected end of input")
        );
        let e = err(&V2[..100]);
        assert_eq!(e.location.unwrap().offset, 100);
        assert!(matches!(err("").kind, ParseErrorKind::Syntax { .. }));
        let e = err("Genotype(normal=[('sep_conv_3x3\n");
        assert_eq!(
            e.location.unwrap(),
            Location {
                offset: 31,
                line: 1,
                column: 32
            }
        );
        assert!(
            err("Genotype(normal=[('x', 99999999999999999999999)])")
                .to_string()
                .contains("64 bits")
        );
    }
}
