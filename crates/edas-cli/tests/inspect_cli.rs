//! End-to-end tests of `edas inspect`, running the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::edas;

#[test]
fn inspect_reports_published_counts() {
    let o = edas(&["inspect", "--genotype", "DARTS_V2", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["params"], 3_349_342);
    assert_eq!(v["params_with_aux"], 3_825_768);
    assert_eq!(v["mult_adds"], 528_359_040u64);
    assert_eq!(
        v["costs"]["cell_shapes"][19],
        serde_json::json!([576, 8, 8])
    );

    let o = edas(&["inspect", "--genotype", "DARTS_V2", "--net", "imagenet"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("parameters: 4718752 (4.72M) without the auxiliary head"),
        "{out}"
    );
    assert!(out.contains("mult-adds: 529911552 (529.9M"), "{out}");

    let o = edas(&[
        "inspect",
        "--genotype",
        "PDARTS",
        "--in-channels",
        "1",
        "--image-size",
        "28",
        "--channels",
        "16",
        "--layers",
        "8",
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(" 5 reduce    256 x 7 x 7  <- auxiliary head")
            && out.contains(" 7 normal    256 x 7 x 7"),
        "{out}"
    );
}

#[test]
fn inspect_rejects_impossible_networks_cleanly() {
    let o = edas(&["inspect", "--genotype", "DARTS_V2", "--channels", "7"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: invalid network configuration: channels must be even"),
        "{err}"
    );
    let o = edas(&["inspect", "--genotype", "DARTS_V2", "--image-size", "12"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs at least 5x5 maps"));
}
