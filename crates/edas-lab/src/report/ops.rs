//! `report ... --ops`: which operations each group's found
//! cells use. DARTS-family searches are known to drift toward
//! parameter-free operations (skip connections, pooling) as they go on;
//! this table shows whether a strategy's cells did, next to the test errors
//! that the main table compares.

use anyhow::{Context, Result, bail};
use edas_genotype::nb201::Nb201Op;
use edas_genotype::{Architecture, CellKind, NUM_OPS, Primitive, SpaceName};

use super::units::{Unit, by_group, genotype_text};

/// The primitives a DARTS cell can hold (`none` is never kept).
fn kept_ops() -> impl Iterator<Item = Primitive> {
    Primitive::ALL.into_iter().filter(|p| *p != Primitive::None)
}

/// The space of the units' cells: that of the first one that parses
/// (DARTS when none does).
fn space_of(units: &[Unit]) -> SpaceName {
    units
        .iter()
        .filter_map(genotype_text)
        .find_map(|t| Architecture::parse_any(t).ok())
        .map_or(SpaceName::Darts, |(_, a)| a.space())
}

/// The table's header: group, cell, how many cells, the mean count of each
/// op over the group's cells, and the mean count of parameter-free ones
/// (DARTS: the 7 ops a cell keeps; NAS-Bench-201: its 5, `none`
/// included).
pub fn header(units: &[Unit]) -> Vec<String> {
    let mut h = vec!["group".to_owned(), "cell".into(), "cells".into()];
    match space_of(units) {
        SpaceName::Darts => h.extend(kept_ops().map(|p| p.name().to_owned())),
        SpaceName::NasBench201 => h.extend(Nb201Op::ALL.map(|op| op.name().to_owned())),
    }
    h.push("parameter-free".into());
    h
}

/// One row per group and cell kind (DARTS: normal, then reduce; a
/// NAS-Bench-201 cell: `cell`), in group order: the mean number of the
/// cell's kept edges (DARTS 8, NAS-Bench-201 6) that use each op. A
/// genotype that does not parse, or of another space than the first, is
/// an error naming its group.
pub fn table(units: &[Unit]) -> Result<Vec<Vec<String>>> {
    let space = space_of(units);
    let mut rows = Vec::new();
    for (label, us) in by_group(units) {
        let archs = us
            .iter()
            .filter_map(|u| genotype_text(u))
            .map(|text| {
                let (_, a) = Architecture::parse_any(text)
                    .with_context(|| format!("{label}: a genotype that does not parse"))?;
                if a.space() != space {
                    bail!(
                        "{label}: a {} cell among {space} ones; report one space at a time",
                        a.space()
                    );
                }
                Ok(a)
            })
            .collect::<Result<Vec<Architecture>>>()?;
        if archs.is_empty() {
            continue;
        }
        #[allow(clippy::cast_precision_loss)] // a few hundred cells at most
        let n = archs.len() as f64;
        #[allow(clippy::cast_precision_loss)]
        let mean = |k: usize| format!("{:.1}", k as f64 / n);
        let row = |cell: &str| vec![label.to_owned(), cell.to_owned(), archs.len().to_string()];
        match space {
            SpaceName::Darts => {
                for kind in CellKind::ALL {
                    let mut counts = [0usize; NUM_OPS];
                    for a in &archs {
                        if let Architecture::Darts(g) = a {
                            for (c, k) in counts.iter_mut().zip(g.cell(kind).op_counts()) {
                                *c += k;
                            }
                        }
                    }
                    let mut r = row(kind.name());
                    r.extend(kept_ops().map(|p| mean(counts[p.index()])));
                    r.push(mean(
                        kept_ops()
                            .filter(|p| !p.is_parametric())
                            .map(|p| counts[p.index()])
                            .sum(),
                    ));
                    rows.push(r);
                }
            }
            SpaceName::NasBench201 => {
                let mut counts = [0usize; 5];
                for a in &archs {
                    if let Architecture::Nb201(c) = a {
                        for (t, k) in counts.iter_mut().zip(c.op_counts()) {
                            *t += k;
                        }
                    }
                }
                let mut r = row("cell");
                r.extend(counts.iter().map(|&k| mean(k)));
                r.push(mean(
                    Nb201Op::ALL
                        .into_iter()
                        .filter(|op| !op.is_parametric())
                        .map(|op| counts[op.index()])
                        .sum(),
                ));
                rows.push(r);
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn unit(label: &str, genotype: &str) -> Unit {
        Unit {
            label: label.into(),
            search: Some(serde_json::json!({ "genotype": genotype })),
            ..Unit::default()
        }
    }

    #[test]
    fn counts_each_op_per_cell_averaged_over_the_group() {
        let pools = "Genotype(normal=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('skip_connect', 1)], normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce_concat=[2, 3, 4, 5])";
        let convs = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('dil_conv_5x5', 0), ('dil_conv_5x5', 1), ('dil_conv_5x5', 0), ('dil_conv_5x5', 1)], normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce_concat=[2, 3, 4, 5])";
        let units = vec![
            unit("darts", pools),
            unit("darts", convs),
            unit("edas", convs),
            Unit {
                label: "edas".into(),
                ..Unit::default()
            }, // no genotype yet: not counted
        ];
        let h = header(&units);
        assert_eq!(h.len(), 3 + 7 + 1);
        let col = |name: &str| h.iter().position(|c| c == name).unwrap();
        let rows = table(&units).unwrap();
        assert_eq!(rows.len(), 4); // 2 groups x normal, reduce
        let darts_normal = &rows[0];
        assert_eq!(darts_normal[..3], ["darts", "normal", "2"]);
        assert_eq!(darts_normal[col("max_pool_3x3")], "3.0"); // 6 and 0
        assert_eq!(darts_normal[col("avg_pool_3x3")], "0.5");
        assert_eq!(darts_normal[col("skip_connect")], "0.5");
        assert_eq!(darts_normal[col("sep_conv_3x3")], "2.0"); // 0 and 4
        assert_eq!(darts_normal[col("dil_conv_5x5")], "2.0");
        assert_eq!(darts_normal[col("parameter-free")], "4.0"); // 8 and 0
        assert_eq!(rows[1][..3], ["darts", "reduce", "2"]);
        assert_eq!(rows[1][col("sep_conv_3x3")], "8.0");
        assert_eq!(rows[1][col("parameter-free")], "0.0");
        assert_eq!(rows[2][..3], ["edas", "normal", "1"]);
        assert_eq!(rows[2][col("parameter-free")], "0.0");
        let broken = vec![unit("gdas", "Genotype(normal=[('conv_9x9', 0)])")];
        let e = format!("{:#}", table(&broken).unwrap_err());
        assert!(e.starts_with("gdas: a genotype that does not parse"), "{e}");
    }

    #[test]
    fn nas_bench_201_cells_count_their_five_ops() {
        let skips = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
        let convs =
            "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|";
        let units = vec![
            unit("darts", skips),
            unit("darts", convs),
            unit("edas", convs),
        ];
        let h = header(&units);
        assert_eq!(h.len(), 3 + 5 + 1);
        let col = |name: &str| h.iter().position(|c| c == name).unwrap();
        let rows = table(&units).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][..3], ["darts", "cell", "2"]);
        assert_eq!(rows[0][col("skip_connect")], "4.0"); // 6 and 2
        assert_eq!(rows[0][col("none")], "1.0"); // 0 and 2
        assert_eq!(rows[0][col("nor_conv_3x3")], "1.0");
        assert_eq!(rows[0][col("parameter-free")], "5.0"); // 6 and 4
        assert_eq!(rows[1][col("parameter-free")], "4.0");
        let mixed = vec![
            unit("edas", convs),
            unit(
                "darts",
                "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
            ),
        ];
        let e = format!("{:#}", table(&mixed).unwrap_err());
        assert!(e.contains("report one space at a time"), "{e}");
    }
}
