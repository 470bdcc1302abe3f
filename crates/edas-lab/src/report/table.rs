//! The report's main table: one row per group, Markdown and CSV.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use super::units::{Unit, by_group, field, genotype_text, test_errors};
use crate::matrix::RANDOM_CELL;
use crate::stats::{Welch, holm, mean_std, welch};

fn fmt_ms(v: Option<(f64, Option<f64>)>, digits: usize) -> String {
    match v {
        None => "-".into(),
        Some((m, None)) => format!("{m:.digits$}"),
        Some((m, Some(s))) => format!("{m:.digits$} ± {s:.digits$}"),
    }
}

/// The group a group's test errors are compared with: the `random-cell`
/// group with the longest common prefix (one per data set in a matrix over
/// data sets).
fn baseline_of<'a>(label: &str, labels: &[&'a str]) -> Option<&'a str> {
    let common = |b: &str| {
        label
            .chars()
            .zip(b.chars())
            .take_while(|(x, y)| x == y)
            .count()
    };
    labels
        .iter()
        .copied()
        .filter(|b| b.ends_with(RANDOM_CELL) && *b != label)
        .max_by_key(|b| common(b))
}

/// The report's header and rows, Markdown and CSV. Each group's test
/// errors are compared with `baseline`'s where given (a group's label),
/// else with the matching `random-cell` group (`baseline_of`).
pub fn table(units: &[Unit], baseline: Option<&str>) -> Result<Table> {
    let groups = by_group(units);
    if let Some(b) = baseline
        && !groups.contains_key(b)
    {
        bail!(
            "--baseline {b}: no such group; the groups are: {}",
            groups.keys().copied().collect::<Vec<_>>().join(", ")
        );
    }
    let header = vec![
        "group".to_owned(),
        "runs".into(),
        "device".into(),
        "search time (min)".into(),
        "peak memory (MiB)".into(),
        "pruning gap (points)".into(),
        "params".into(),
        "test error (%)".into(),
        format!("vs {} (points, 95% CI)", baseline.unwrap_or(RANDOM_CELL)),
        "p (Holm)".into(),
        "detects (points)".into(),
        "genotypes".into(),
    ];
    let labels: Vec<&str> = groups.keys().copied().collect();
    let compared_with = |label: &str| -> Option<String> {
        match baseline {
            Some(b) => (b != label).then(|| b.to_owned()),
            None => baseline_of(label, &labels).map(str::to_owned),
        }
    };
    let group_errors: BTreeMap<&str, Vec<f64>> = groups
        .iter()
        .map(|(&label, us)| (label, test_errors(us)))
        .collect();
    // Every comparison first, so that Holm's adjustment sees them all.
    let comparisons: BTreeMap<&str, (String, Welch)> = group_errors
        .iter()
        .filter_map(|(&label, err)| {
            let against = compared_with(label)?;
            let w = welch(err, group_errors.get(against.as_str())?)?;
            Some((label, (against, w)))
        })
        .collect();
    let adjusted: BTreeMap<&str, f64> = {
        let p: Vec<f64> = comparisons.values().map(|(_, w)| w.p).collect();
        comparisons.keys().copied().zip(holm(&p)).collect()
    };
    let (mut md, mut csv) = (Vec::new(), Vec::new());
    for (label, us) in &groups {
        let row = GroupRow {
            label,
            units: us,
            errors: &group_errors[label],
            vs: comparisons.get(label),
            holm_p: adjusted.get(label).copied(),
        };
        let (cells, raw) = row.cells();
        md.push(cells);
        csv.push(raw);
    }
    Ok(Table { header, md, csv })
}

/// One group's row of the table, from what [`table`] computed for all.
struct GroupRow<'a> {
    label: &'a str,
    units: &'a [&'a Unit],
    errors: &'a [f64],
    /// The baseline and the comparison with it.
    vs: Option<&'a (String, Welch)>,
    /// The comparison's Holm-adjusted p-value.
    holm_p: Option<f64>,
}

impl GroupRow<'_> {
    /// The Markdown cells and the CSV fields.
    fn cells(&self) -> (Vec<String>, Vec<String>) {
        let (label, us) = (self.label.to_owned(), self.units);
        let f = |sel: &dyn Fn(&Unit) -> Option<f64>| -> Vec<f64> {
            us.iter().filter_map(|u| sel(u)).collect()
        };
        let time = f(&|u| field(u.search.as_ref(), "search_time_s").map(|s| s / 60.0));
        let mem = f(&|u| field(u.search.as_ref(), "peak_memory_mib"));
        let gap = f(&|u| field(u.search.as_ref(), "pruning_gap").map(|g| 100.0 * g));
        let params = f(&|u| field(u.train.as_ref(), "params"));
        let (err, vs, holm_p) = (self.errors, self.vs, self.holm_p);
        let genotypes: Vec<String> = us
            .iter()
            .filter_map(|u| genotype_text(u).map(str::to_owned))
            .collect();
        let distinct: std::collections::BTreeSet<&String> = genotypes.iter().collect();
        let devices: std::collections::BTreeSet<&str> =
            us.iter().map(|u| u.device.as_str()).collect();
        let device = devices.into_iter().collect::<Vec<_>>().join("+");
        // A matrix under way: some units searched but not yet trained.
        let runs = if !err.is_empty() && err.len() < us.len() {
            format!("{} ({} trained)", us.len(), err.len())
        } else {
            us.len().to_string()
        };
        let cells = vec![
            label.clone(),
            runs,
            device.clone(),
            fmt_ms(mean_std(&time), 1),
            fmt_ms(mean_std(&mem), 0),
            fmt_ms(mean_std(&gap), 1),
            fmt_ms(mean_std(&params), 0),
            fmt_ms(mean_std(err), 2),
            vs.map_or_else(
                || "-".into(),
                |(_, w)| format!("{:+.2} [{:+.2}, {:+.2}]", w.difference, w.low, w.high),
            ),
            holm_p.map_or_else(|| "-".into(), |p| format!("{p:.3}")),
            vs.map_or_else(|| "-".into(), |(_, w)| format!("{:.2}", w.detectable)),
            format!("{} distinct of {}", distinct.len(), genotypes.len()),
        ];
        let raw = |v: &[f64]| {
            mean_std(v).map_or((String::new(), String::new()), |(m, s)| {
                (m.to_string(), s.map_or(String::new(), |s| s.to_string()))
            })
        };
        let mut row = vec![label, us.len().to_string(), device];
        for v in [&time, &mem, &gap, &params, err] {
            let (m, s) = raw(v);
            row.push(m);
            row.push(s);
        }
        row.push(vs.map_or_else(String::new, |(against, _)| against.clone()));
        let w = vs.map(|(_, w)| w);
        for x in [
            w.map(|w| w.difference),
            w.map(|w| w.low),
            w.map(|w| w.high),
            w.map(|w| w.p),
            holm_p,
            w.map(|w| w.detectable),
        ] {
            row.push(x.map_or(String::new(), |x| x.to_string()));
        }
        row.push(genotypes.join(" | "));
        (cells, row)
    }
}

/// `report`'s table: the Markdown header and rows, and the
/// CSV rows (raw numbers).
pub struct Table {
    /// The column names.
    pub header: Vec<String>,
    /// The Markdown rows (rounded, mean +/- std in one cell).
    pub md: Vec<Vec<String>>,
    /// The CSV rows (raw numbers, mean and std apart; [`csv_text`]).
    pub csv: Vec<Vec<String>>,
}

/// A Markdown table, one line per row.
pub fn markdown(header: &[String], rows: &[Vec<String>]) -> String {
    let mut out = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for row in rows {
        out += &format!("| {} |\n", row.join(" | "));
    }
    out
}

/// The CSV header of [`Table::csv`]'s rows.
const CSV_HEADER: &str = "group,runs,device,search_min_mean,search_min_std,peak_mib_mean,peak_mib_std,gap_points_mean,gap_points_std,params_mean,params_std,test_error_mean,test_error_std,baseline,vs_baseline,vs_baseline_low,vs_baseline_high,p,p_holm,detectable,genotypes";

/// The CSV file of [`Table::csv`]'s rows, with its header.
pub fn csv_text(rows: &[Vec<String>]) -> String {
    format!("{CSV_HEADER}\n{}", csv_rows(rows))
}

/// `rows` as CSV lines (RFC 4180 fields), no header.
pub fn csv_rows(rows: &[Vec<String>]) -> String {
    let mut text = String::new();
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    text
}

/// `field` as one CSV field (RFC 4180): quoted, with inner quotes doubled,
/// when it holds a comma, a quote or a line break.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::report::units::{device_of, label_of};
    use std::path::Path;

    #[test]
    fn report_groups_seeds_with_mean_and_sample_std() {
        let unit = |label: &str, gap: f64, time: f64, top1: f64| Unit {
            label: label.into(),
            search: Some(
                serde_json::json!({"strategy": "edas", "pruning_gap": gap, "search_time_s": time, "peak_memory_mib": 100.0, "genotype": format!("G{gap}")}),
            ),
            train: Some(serde_json::json!({"params": 1000, "test": {"top1": top1}})),
            device: if label == "darts" { "cuda:1" } else { "cpu" }.into(),
            configs: Vec::new(),
            search_dir: None,
        };
        let mut units = vec![
            unit("edas", 0.01, 60.0, 0.9),
            unit("edas", 0.03, 180.0, 0.8),
            unit("darts", 0.5, 600.0, 0.85),
            unit("random-cell", 0.0, 0.0, 0.7),
            unit("random-cell", 0.0, 0.0, 0.75),
        ];
        // A darts seed searched, its training not finished yet.
        units.push(Unit {
            train: None,
            ..unit("darts", 0.6, 660.0, 0.0)
        });
        let Table { header, md, csv } = table(&units, None).unwrap();
        assert_eq!(header[8], "vs random-cell (points, 95% CI)");
        assert_eq!(md.len(), 3);
        assert_eq!(
            md.iter().find(|r| r[0] == "darts").unwrap()[1],
            "2 (1 trained)"
        );
        let edas = md.iter().find(|r| r[0] == "edas").unwrap();
        assert_eq!(edas[1], "2");
        assert_eq!(edas[2], "cpu");
        assert_eq!(edas[3], "2.0 ± 1.4"); // minutes: 1 and 3
        assert_eq!(edas[5], "2.0 ± 1.4"); // gap points: 1 and 3
        assert_eq!(edas[7], "15.00 ± 7.07"); // error: 10% and 20%
        // Against random-cell (25% and 30%): -12.5, Welch df 1.8, wide.
        assert!(edas[8].starts_with("-12.50 ["), "{}", edas[8]);
        // One comparison: Holm's p is the test's own.
        let p: f64 = edas[9].parse().unwrap();
        assert!(p > 0.05 && p < 0.5, "{p}");
        // Detectable: (t_0.975 + t_0.8) on Welch's df 1.5 times se 5.59:
        // far wider than the difference itself.
        let detects: f64 = edas[10].parse().unwrap();
        assert!(detects > 12.5 && detects < 60.0, "{detects}");
        assert_eq!(edas[11], "2 distinct of 2");
        assert_eq!(md.iter().find(|r| r[0] == "darts").unwrap()[8], "-");
        let darts = md.iter().find(|r| r[0] == "darts").unwrap();
        assert_eq!(darts[2], "cuda:1");
        assert_eq!(darts[5], "55.0 ± 7.1"); // both searches' gaps
        assert_eq!(darts[7], "15.00"); // the one trained cell
        let tmp = std::env::temp_dir().join(format!("edas-xtask-dev-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        assert_eq!(device_of(&tmp).unwrap(), "cpu");
        std::fs::write(
            tmp.join("command.txt"),
            "edas search --device vulkan:0 --quiet",
        )
        .unwrap();
        assert_eq!(device_of(&tmp).unwrap(), "vulkan:0");
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!(csv.len(), 3);
        // CSV: group, runs, device, 5 mean/std pairs, then the baseline
        // compared with and the interval.
        let edas_csv = csv.iter().find(|r| r[0] == "edas").unwrap();
        assert_eq!(edas_csv[13], "random-cell");
        assert!((edas_csv[14].parse::<f64>().unwrap() + 12.5).abs() < 1e-9);
        assert_eq!(edas_csv[17], edas_csv[18]);
        assert!((edas_csv[17].parse::<f64>().unwrap() - p).abs() < 1e-3);
        assert!((edas_csv[19].parse::<f64>().unwrap() - detects).abs() < 1e-2);
        assert_eq!(edas_csv[20], "G0.01 | G0.03"); // genotypes last
        assert_eq!(edas_csv.len(), 21);
        assert_eq!(csv.iter().find(|r| r[0] == "darts").unwrap()[13], "");
        // --baseline: every other group against the named one.
        let Table { header, md, csv } = table(&units, Some("darts")).unwrap();
        assert_eq!(header[8], "vs darts (points, 95% CI)");
        assert_eq!(md.iter().find(|r| r[0] == "darts").unwrap()[8], "-");
        // darts has one trained run: no interval.
        assert_eq!(md.iter().find(|r| r[0] == "edas").unwrap()[8], "-");
        let Table { md, .. } = table(&units, Some("edas")).unwrap();
        // random-cell (25, 30) against edas (10, 20): +12.5.
        let rc = md.iter().find(|r| r[0] == "random-cell").unwrap();
        assert!(rc[8].starts_with("+12.50 ["), "{}", rc[8]);
        assert_eq!(csv.iter().find(|r| r[0] == "edas").unwrap()[13], "");
        let missing = table(&units, Some("gdas")).err().unwrap().to_string();
        assert!(
            missing.contains("no such group") && missing.contains("darts, edas, random-cell"),
            "{missing}"
        );
        assert_eq!(label_of(Path::new("runs/m/edas-s12")), "edas");
        assert_eq!(
            label_of(Path::new("runs/fashion-mnist-edas")),
            "fashion-mnist-edas"
        );
    }

    #[test]
    fn csv_fields_with_commas_are_quoted() {
        assert_eq!(csv_field("edas"), "edas");
        assert_eq!(
            csv_field("Genotype(normal=[('skip_connect', 0)])"),
            "\"Genotype(normal=[('skip_connect', 0)])\""
        );
        assert_eq!(csv_field("a \"b\""), "\"a \"\"b\"\"\"");
    }

    #[test]
    fn each_group_is_compared_with_its_own_random_cells() {
        assert_eq!(
            baseline_of(
                "c10-edas",
                &["c10-edas", "c10-random-cell", "c100-random-cell"]
            ),
            Some("c10-random-cell")
        );
        assert_eq!(baseline_of("random-cell", &["random-cell"]), None);
    }
}
