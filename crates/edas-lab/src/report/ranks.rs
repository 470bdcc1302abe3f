//! `report ... --ranks`: what predicts a found cell's test
//! accuracy after training from scratch. Per group (and over all runs),
//! Kendall's rank correlation (tau-b) of the final test accuracy with the
//! accuracy the search measured for its derived cell (`derived_acc`: does
//! the search rank its own cells right?) and with the trained network's
//! parameter count (do bigger cells simply win?). NAS evaluations report
//! Kendall's tau for the first question (Yu et al., "Evaluating the search
//! phase of neural architecture search", ICLR 2020).

use super::units::{Unit, by_group, field, test_top1};

/// Kendall's tau-b of the pairs `(x, y)` (ties counted as neither
/// concordant nor discordant, and corrected for); `None` below two pairs or
/// when either side has no spread.
pub fn kendall_tau_b(pairs: &[(f64, f64)]) -> Option<f64> {
    let (mut concordant, mut discordant, mut tie_x, mut tie_y) = (0i64, 0i64, 0i64, 0i64);
    for (i, a) in pairs.iter().enumerate() {
        for b in &pairs[i + 1..] {
            let dx = (a.0 - b.0).partial_cmp(&0.0)?;
            let dy = (a.1 - b.1).partial_cmp(&0.0)?;
            use std::cmp::Ordering::Equal;
            match (dx, dy) {
                (Equal, Equal) => {}
                (Equal, _) => tie_x += 1,
                (_, Equal) => tie_y += 1,
                _ if dx == dy => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    #[allow(clippy::cast_precision_loss)] // pair counts of a few hundred runs
    let (n1, n2) = (
        (concordant + discordant + tie_y) as f64,
        (concordant + discordant + tie_x) as f64,
    );
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    Some((concordant - discordant) as f64 / (n1 * n2).sqrt())
}

/// The table's header.
pub fn header() -> Vec<String> {
    vec![
        "group".to_owned(),
        "trained runs".into(),
        "tau(search's derived accuracy, test accuracy)".into(),
        "tau(params, test accuracy)".into(),
    ]
}

/// One row per group, in group order, then one over all the trained runs;
/// `-` where a correlation is undefined (no search, fewer than two runs).
pub fn table(units: &[Unit]) -> Vec<Vec<String>> {
    let row = |label: &str, us: &[&Unit]| -> Vec<String> {
        let trained: Vec<(&Unit, f64)> = us
            .iter()
            .filter_map(|u| Some((*u, test_top1(u)?)))
            .collect();
        let tau = |x: &dyn Fn(&Unit) -> Option<f64>| {
            let pairs: Vec<(f64, f64)> = trained
                .iter()
                .filter_map(|(u, acc)| Some((x(u)?, *acc)))
                .collect();
            kendall_tau_b(&pairs).map_or_else(|| "-".to_owned(), |t| format!("{t:+.2}"))
        };
        vec![
            label.to_owned(),
            trained.len().to_string(),
            tau(&|u| field(u.search.as_ref(), "derived_acc")),
            tau(&|u| field(u.train.as_ref(), "params")),
        ]
    };
    let mut rows: Vec<Vec<String>> = by_group(units).iter().map(|(l, us)| row(l, us)).collect();
    let all: Vec<&Unit> = units.iter().collect();
    rows.push(row("all", &all));
    rows
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn kendall_tau_b_matches_hand_counts() {
        // Perfect agreement and disagreement.
        let up = [(1.0, 10.0), (2.0, 20.0), (3.0, 30.0)];
        assert!((kendall_tau_b(&up).unwrap() - 1.0).abs() < 1e-12);
        let down = [(1.0, 30.0), (2.0, 20.0), (3.0, 10.0)];
        assert!((kendall_tau_b(&down).unwrap() + 1.0).abs() < 1e-12);
        // 4 points, pairs: (1,2) C, (1,3) C, (1,4) C, (2,3) D, (2,4) C,
        // (3,4) C: (5 - 1) / 6.
        let mixed = [(1.0, 1.0), (2.0, 3.0), (3.0, 2.0), (4.0, 4.0)];
        assert!((kendall_tau_b(&mixed).unwrap() - 4.0 / 6.0).abs() < 1e-12);
        // A tie in x: x = 1, 1, 2 and y = 1, 2, 3: pairs (1,2) tie in x,
        // (1,3) C, (2,3) C: tau-b = 2 / sqrt(2 * 3).
        let tied = [(1.0, 1.0), (1.0, 2.0), (2.0, 3.0)];
        assert!((kendall_tau_b(&tied).unwrap() - 2.0 / 6f64.sqrt()).abs() < 1e-12);
        assert!(kendall_tau_b(&[(1.0, 1.0)]).is_none());
        assert!(kendall_tau_b(&[(1.0, 1.0), (1.0, 2.0)]).is_none()); // no spread in x
        assert!(kendall_tau_b(&[(f64::NAN, 1.0), (1.0, 2.0)]).is_none());
    }

    #[test]
    fn table_has_a_row_per_group_and_one_over_all() {
        let unit = |label: &str, derived: Option<f64>, params: f64, top1: f64| Unit {
            label: label.into(),
            search: derived.map(|d| serde_json::json!({ "derived_acc": d })),
            train: Some(serde_json::json!({ "params": params, "test": { "top1": top1 } })),
            ..Unit::default()
        };
        let units = vec![
            unit("edas", Some(0.5), 100.0, 0.80),
            unit("edas", Some(0.6), 300.0, 0.82),
            unit("edas", Some(0.7), 200.0, 0.84),
            unit("random-cell", None, 100.0, 0.79),
            unit("random-cell", None, 200.0, 0.83),
            Unit {
                label: "random-cell".into(),
                ..Unit::default()
            }, // not trained yet
        ];
        let rows = table(&units);
        assert_eq!(header().len(), 4);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], ["edas", "3", "+1.00", "+0.33"]);
        assert_eq!(rows[1], ["random-cell", "2", "-", "+1.00"]);
        // All 5 trained runs: params 100, 300, 200, 100, 200 against
        // accuracy .80 .82 .84 .79 .83: C 6, D 2, one tie in params each
        // for 100 and 200 (2 pairs): (6 - 2) / sqrt(8 * 10).
        assert_eq!(rows[2][..2], ["all", "5"]);
        let want = 4.0 / 80f64.sqrt();
        assert_eq!(rows[2][3], format!("{want:+.2}"));
    }
}
