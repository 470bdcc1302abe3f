//! End-to-end tests of `edas genotype ...`: they run the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::edas;

const V2: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failure is one `error:` line, a non-zero status and no panic.
fn assert_clean_failure(o: &Output) -> String {
    let err = stderr(o);
    assert!(!o.status.success(), "expected failure, got {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

#[test]
fn show_prints_both_cells() {
    let o = edas(&["genotype", "show", "DARTS_V2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("DARTS_V2 (published: "), "{out}");
    assert!(out.contains("normal cell (output: concat of nodes 2, 3, 4, 5)"));
    assert!(out.contains("  5     2            dil_conv_3x3\n"), "{out}");
    assert!(out.contains("ops: skip_connect x2, sep_conv_3x3 x5, dil_conv_3x3 x1"));
    assert!(out.contains("ops: max_pool_3x3 x5, skip_connect x3"));
    assert!(out.trim_end().ends_with(V2));

    let o = edas(&["genotype", "show", "pdarts", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["name"], "PDARTS");
    assert_eq!(v["op_counts"]["normal"]["sep_conv_3x3"], 4);
    assert_eq!(v["genotype"]["reduce"]["edges"][7]["op"], "dil_conv_5x5");
}

#[test]
fn inline_text_and_stdin() {
    let o = edas(&["genotype", "show", V2]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut child = Command::new(env!("CARGO_BIN_EXE_edas"))
        .args(["genotype", "convert", "-", "--to", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(V2.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["normal"]["edges"][7]["op"], "dil_conv_3x3");
}

#[test]
fn convert_round_trips_through_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut previous = "PC_DARTS_cifar".to_owned();
    for ext in ["json", "toml", "dot", "txt"] {
        let path = dir.path().join(format!("g.{ext}"));
        let path = path.to_str().unwrap();
        let o = edas(&["genotype", "convert", &previous, "-o", path]);
        assert!(o.status.success(), "{ext}: {}", stderr(&o));
        previous = path.to_owned();
    }
    // After four conversions it is still PC-DARTS, in the same edge order.
    let o = edas(&[
        "genotype",
        "diff",
        &previous,
        "PC_DARTS_cifar",
        "--exit-code",
    ]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(stdout(&o), "identical\n");
    let text = std::fs::read_to_string(&previous).unwrap();
    assert!(
        text.starts_with("Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0),"),
        "{text}"
    );
    // A published name is kept as the DARTS `NAME =` prefix.
    let o = edas(&["genotype", "convert", "DARTS_V2", "--to", "darts"]);
    assert_eq!(stdout(&o), format!("DARTS_V2 = {V2}\n"));
    // --to is needed when the extension says nothing.
    let o = edas(&[
        "genotype",
        "convert",
        "DARTS_V2",
        "-o",
        dir.path().join("g.out").to_str().unwrap(),
    ]);
    assert!(assert_clean_failure(&o).contains("pass --to"));
}

#[test]
fn bad_input_is_one_line_with_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(
        &bad,
        V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 9)"),
    )
    .unwrap();
    let err = assert_clean_failure(&edas(&["genotype", "show", bad.to_str().unwrap()]));
    let at = V2.find("('dil_conv_3x3', 2)").unwrap();
    assert!(
        err.contains(&format!(
            "bad.txt: DARTS text byte {at} (line 1, column {})",
            at + 1
        )),
        "{err}"
    );
    assert!(
        err.contains("normal cell: entry 7 (node 5): input 9 out of range"),
        "{err}"
    );

    std::fs::write(&bad, &V2[..120]).unwrap();
    let err = assert_clean_failure(&edas(&[
        "genotype",
        "convert",
        bad.to_str().unwrap(),
        "--to",
        "json",
    ]));
    assert!(err.contains("byte 120"), "{err}");

    let json = dir.path().join("bad.json");
    std::fs::write(
        &json,
        "{\"normal\": {\"edges\": [{\"op\": \"conv\", \"input\": 0}]}}",
    )
    .unwrap();
    let err = assert_clean_failure(&edas(&["genotype", "show", json.to_str().unwrap()]));
    assert!(
        err.contains("JSON byte") && err.contains("unknown op `conv`"),
        "{err}"
    );

    let err = assert_clean_failure(&edas(&["genotype", "show", "NO_SUCH_CELL"]));
    assert!(
        err.contains("neither a published genotype (DARTS_V1, DARTS_V2"),
        "{err}"
    );
    let err = assert_clean_failure(&edas(&["genotype", "show", "Genotype(normal=[)"]));
    assert!(
        err.contains("invalid genotype text in the argument: DARTS text byte 17"),
        "{err}"
    );
    let err = assert_clean_failure(&edas(&["genotype", "show", dir.path().to_str().unwrap()]));
    assert!(err.contains("without genotype.json"), "{err}");
}

#[test]
fn run_directory_is_read_through_its_genotype_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = edas(&[
        "genotype",
        "convert",
        "PDARTS",
        "-o",
        dir.path().join("genotype.json").to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let o = edas(&[
        "genotype",
        "diff",
        dir.path().to_str().unwrap(),
        "PDARTS",
        "--exit-code",
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn diff_lists_changes_and_sets_the_exit_code() {
    let o = edas(&["genotype", "diff", "DARTS_V1", "DARTS_V2"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("normal node 3, input 0: skip_connect -> sep_conv_3x3"),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with("7 edge(s) differ in 4 node(s)"),
        "{out}"
    );
    let o = edas(&["genotype", "diff", "DARTS_V1", "DARTS_V2", "--exit-code"]);
    assert_eq!(o.status.code(), Some(1));
    let o = edas(&["genotype", "diff", "DARTS_V1", "DARTS_V2", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["edges_changed"], 7);
    assert_eq!(v["changes"][0]["change"], "edge");
    assert_eq!(v["changes"][0]["from"], "skip_connect");
}

fn has_graphviz() -> bool {
    Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn plot_without_graphviz_writes_dot_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_edas"))
            .args(["genotype", "plot", "DARTS_V2", "-o", out])
            .args(extra)
            .env("PATH", "/nonexistent")
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("Graphviz `dot` is not installed"));
    for f in ["DARTS_V2-normal.dot", "DARTS_V2-reduce.dot", "DARTS_V2.dot"] {
        assert!(Path::new(out).join(f).is_file(), "{f}");
    }
    let dot = std::fs::read_to_string(Path::new(out).join("DARTS_V2-normal.dot")).unwrap();
    assert_eq!(dot.matches("->").count(), 12);
    let err = assert_clean_failure(&run(&["--format", "svg"]));
    assert!(err.contains("needs Graphviz `dot`"), "{err}");
}

#[test]
fn plot_renders_svg_with_graphviz() {
    if !has_graphviz() {
        eprintln!("skipped: Graphviz `dot` is not installed (CI installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = edas(&[
        "genotype",
        "plot",
        "PDARTS",
        "-o",
        dir.path().to_str().unwrap(),
        "--prefix",
        "p",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["p-normal.svg", "p-reduce.svg", "p.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert!(svg.contains("<svg"), "{f}");
        assert!(svg.contains("dil_conv_5x5"), "{f}");
    }
}

#[test]
fn random_samples_are_seeded_valid_cells() {
    let a = edas(&["genotype", "random", "--seed", "7"]);
    assert!(a.status.success(), "{}", stderr(&a));
    let again = edas(&["genotype", "random", "--seed", "7"]);
    assert_eq!(stdout(&a), stdout(&again));
    assert!(
        stdout(&a).starts_with("RANDOM_S7 = Genotype(normal=["),
        "{}",
        stdout(&a)
    );
    let texts: Vec<String> = (0..8)
        .map(|s| stdout(&edas(&["genotype", "random", "--seed", &s.to_string()])))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = texts.iter().collect();
    assert_eq!(distinct.len(), 8);
    // As JSON: 8 edges per cell, two distinct inputs per node, inputs before
    // the node, never `none`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cells/random.json");
    let o = edas(&[
        "genotype",
        "random",
        "--seed",
        "3",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for cell in ["normal", "reduce"] {
        let edges = v[cell]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 8, "{v}");
        for (node, pair) in edges.chunks(2).enumerate() {
            let inputs: Vec<u64> = pair.iter().map(|e| e["input"].as_u64().unwrap()).collect();
            assert_ne!(inputs[0], inputs[1], "{v}");
            assert!(inputs.iter().all(|&i| i < node as u64 + 2), "{v}");
            assert!(pair.iter().all(|e| e["op"] != "none"), "{v}");
        }
    }
    // The file is a genotype argument like any other.
    let o = edas(&["genotype", "show", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `--nodes` draws cells of a space of fewer nodes; counts the space does
/// not allow are refused.
#[test]
fn random_cells_of_fewer_nodes() {
    let o = edas(&[
        "genotype", "random", "--seed", "3", "--nodes", "2", "--to", "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for cell in ["normal", "reduce"] {
        assert_eq!(v[cell]["edges"].as_array().unwrap().len(), 4, "{v}");
        assert_eq!(v[cell]["concat"], serde_json::json!([2, 3]), "{v}");
    }
    // Four nodes draw what the default draws.
    let four = edas(&["genotype", "random", "--seed", "3", "--nodes", "4"]);
    assert_eq!(
        stdout(&four),
        stdout(&edas(&["genotype", "random", "--seed", "3"]))
    );
    for (space, nodes, allowed) in [("darts", "5", "1..=4"), ("nas-bench-201", "2", "3..=3")] {
        let o = edas(&["genotype", "random", "--space", space, "--nodes", nodes]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains(&format!(
                "--nodes: the {space} space's cells take {allowed} intermediate nodes, not {nodes}"
            )),
            "{}",
            stderr(&o)
        );
    }
}
