//! Genotypes as text for people: a cell as a table of its nodes, inputs and
//! ops (what `edas genotype show` prints), and [`Genotype`]'s `Display`, its
//! two tables.

use std::fmt::{self, Write as _};

use crate::genotype::{Cell, Genotype};
use crate::primitive::{CellKind, Primitive};

/// A state's label: `0 (c_{k-2})` and `1 (c_{k-1})` for the cell's inputs,
/// the node's number otherwise.
fn state_label(state: usize) -> String {
    match state {
        0 => "0 (c_{k-2})".to_owned(),
        1 => "1 (c_{k-1})".to_owned(),
        s => s.to_string(),
    }
}

impl Cell {
    /// The cell as a table: its output, one line per edge (receiving node,
    /// input state, op) and the ops it uses.
    ///
    /// ```
    /// use edas_genotype::{published::DARTS_V2, CellKind};
    /// let table = DARTS_V2.normal.table(CellKind::Normal);
    /// assert!(table.starts_with("normal cell (output: concat of nodes 2, 3, 4, 5)"));
    /// assert!(table.contains("ops: skip_connect x2, sep_conv_3x3 x5, dil_conv_3x3 x1"));
    /// ```
    pub fn table(&self, kind: CellKind) -> String {
        let mut out = String::new();
        let concat: Vec<String> = self.concat().states().map(|s| s.to_string()).collect();
        let _ = writeln!(
            out,
            "{kind} cell (output: concat of nodes {})",
            concat.join(", ")
        );
        let _ = writeln!(out, "  node  input        op");
        for (node, pair) in self.nodes() {
            for edge in pair {
                let _ = writeln!(
                    out,
                    "  {node:<4}  {:<11}  {}",
                    state_label(edge.input),
                    edge.op
                );
            }
        }
        let counts: Vec<String> = Primitive::ALL
            .into_iter()
            .zip(self.op_counts())
            .filter(|&(_, n)| n > 0)
            .map(|(op, n)| format!("{op} x{n}"))
            .collect();
        let _ = writeln!(out, "  ops: {}", counts.join(", "));
        out
    }
}

/// Both cells as tables, normal then reduce, a blank line between.
impl fmt::Display for Genotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tables: Vec<String> = CellKind::ALL
            .into_iter()
            .map(|kind| self.cell(kind).table(kind))
            .collect();
        f.write_str(&tables.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use crate::published::DARTS_V2;

    #[test]
    fn a_genotype_prints_as_its_two_tables() {
        let text = DARTS_V2.to_string();
        assert!(text.starts_with("normal cell (output: concat of nodes 2, 3, 4, 5)\n"));
        assert!(text.contains("\n\nreduce cell (output: concat of nodes 2, 3, 4, 5)\n"));
        assert!(
            text.contains("  2     0 (c_{k-2})  sep_conv_3x3\n"),
            "{text}"
        );
        assert!(
            text.contains("  ops: max_pool_3x3 x5, skip_connect x3"),
            "{text}"
        );
    }
}
