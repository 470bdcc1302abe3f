//! `report ... --ops`: which operations each group's found
//! cells use. DARTS-family searches are known to drift toward
//! parameter-free operations (skip connections, pooling) as they go on;
//! this table shows whether a strategy's cells did, next to the test errors
//! that the main table compares.

use anyhow::{Context, Result};
use edas_genotype::darts_text::parse_darts;
use edas_genotype::{CellKind, Genotype, NUM_OPS, Primitive};

use super::units::{Unit, by_group, genotype_text};

/// The primitives a cell can hold (`none` is never kept).
fn kept_ops() -> impl Iterator<Item = Primitive> {
    Primitive::ALL.into_iter().filter(|p| *p != Primitive::None)
}

/// The table's header: group, cell, how many cells, the mean count of each
/// op over the group's cells, and the mean count of parameter-free ones.
pub fn header() -> Vec<String> {
    let mut h = vec!["group".to_owned(), "cell".into(), "cells".into()];
    h.extend(kept_ops().map(|p| p.name().to_owned()));
    h.push("parameter-free".into());
    h
}

/// One row per group and cell kind (normal, then reduce), in group order:
/// the mean number of the cell's 8 kept edges that use each op. A genotype
/// that does not parse is an error naming its group.
pub fn table(units: &[Unit]) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    for (label, us) in by_group(units) {
        let genotypes = us
            .iter()
            .filter_map(|u| genotype_text(u))
            .map(|text| {
                parse_darts(text)
                    .with_context(|| format!("{label}: a genotype that does not parse"))
            })
            .collect::<Result<Vec<Genotype>>>()?;
        if genotypes.is_empty() {
            continue;
        }
        #[allow(clippy::cast_precision_loss)] // a few hundred cells at most
        let n = genotypes.len() as f64;
        for kind in CellKind::ALL {
            let mut counts = [0usize; NUM_OPS];
            for g in &genotypes {
                for (c, k) in counts.iter_mut().zip(g.cell(kind).op_counts()) {
                    *c += k;
                }
            }
            #[allow(clippy::cast_precision_loss)]
            let mean = |k: usize| k as f64 / n;
            let mut row = vec![
                label.to_owned(),
                kind.name().to_owned(),
                genotypes.len().to_string(),
            ];
            row.extend(kept_ops().map(|p| format!("{:.1}", mean(counts[p.index()]))));
            let free: usize = kept_ops()
                .filter(|p| !p.is_parametric())
                .map(|p| counts[p.index()])
                .sum();
            row.push(format!("{:.1}", mean(free)));
            rows.push(row);
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
        let h = header();
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
}
