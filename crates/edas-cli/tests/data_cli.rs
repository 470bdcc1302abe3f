//! End-to-end tests of `edas data check`, running the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

fn edas(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edas"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the edas binary runs")
}

#[test]
fn check_reports_counts_and_statistics() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cifar-10-batches-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, label) in [
        ("data_batch_1.bin", 0u8),
        ("data_batch_2.bin", 1),
        ("data_batch_3.bin", 2),
        ("data_batch_4.bin", 3),
        ("data_batch_5.bin", 4),
        ("test_batch.bin", 5),
    ] {
        let mut bytes = vec![label];
        // Red 255, green 0, blue 51: means (1, 0, 0.2), std 0.
        bytes.extend(std::iter::repeat_n(255u8, 1024));
        bytes.extend(std::iter::repeat_n(0u8, 1024));
        bytes.extend(std::iter::repeat_n(51u8, 1024));
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let o = edas(
        &[
            "data",
            "check",
            "cifar10",
            "--root",
            tmp.path().to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["examples"], 5);
    assert_eq!(v[1]["examples"], 1);
    assert_eq!(
        v[0]["class_counts"],
        serde_json::json!([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    );
    assert_eq!(v[0]["shape"], serde_json::json!([3, 32, 32]));
    let stats = &v[0]["channel_stats"];
    assert_eq!(stats[0][0], 1.0);
    assert_eq!(stats[1][0], 0.0);
    assert!((stats[2][0].as_f64().unwrap() - 0.2).abs() < 1e-12);

    let o = edas(&["data", "check", "synthetic"], &[]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("train    1000 images, 10 classes (100..100 per class), 3x32x32"),
        "{out}"
    );
}

#[test]
fn missing_data_suggests_download_and_bad_download_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("c10");
    let o = edas(
        &["data", "check", "cifar10", "--root", root.to_str().unwrap()],
        &[],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot open cifar10 train (pass --download to fetch it)"),
        "{err}"
    );
    assert!(err.contains("c10: data directory not found"), "{err}");
    // A damaged file: a download would not replace it, so no such hint.
    let batches = root.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&batches).unwrap();
    for f in [
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ] {
        std::fs::write(batches.join(format!("{f}.bin")), [0u8; 10]).unwrap();
    }
    let o = edas(
        &["data", "check", "cifar10", "--root", root.to_str().unwrap()],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("data_batch_1.bin: 10 bytes") && !err.contains("--download"),
        "{err}"
    );
    std::fs::remove_dir_all(&root).unwrap();

    // A local server hands out an archive that is not the published one: the
    // checksum check refuses it and removes it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let body = b"definitely not CIFAR";
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            let _ = s.write_all(body);
        }
    });
    let o = edas(
        &[
            "data",
            "check",
            "cifar10",
            "--root",
            root.to_str().unwrap(),
            "--download",
        ],
        &[("EDAS_DATA_MIRROR", &base)],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("downloading {base}/cifar-10-binary.tar.gz")),
        "{err}"
    );
    assert!(err.contains("checksum mismatch (md5"), "{err}");
    assert!(
        err.contains("expected c32a1d4ab5d03f1284b67883e8d87530"),
        "{err}"
    );
    assert!(!root.join("cifar-10-binary.tar.gz").exists());
    assert!(!root.join("cifar-10-binary.tar.gz.part").exists());
}

/// ImageNet16-120 from the downsampled-ImageNet fixture files
/// (`bench/imagenet16_files.py`, made-up pixels): `data check` counts the
/// kept images, and the shipped NAS-Bench-201 configs search and train on it
/// (shrunk with `--set`).
#[test]
fn imagenet16_120_is_checked_searched_and_trained() {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../edas-data/tests/data/imagenet16"
    );
    let o = edas(
        &["data", "check", "imagenet16-120", "--data", root, "--json"],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let parts: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(parts[0]["examples"], 30);
    assert_eq!(parts[1]["examples"], 3);
    assert_eq!(parts[0]["classes"], 120);

    let tmp = tempfile::tempdir().unwrap();
    let search = tmp.path().join("search");
    let shrink = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            format!("data.root={root}"),
            "epochs=1".into(),
            "network.layers=3".into(),
            "network.channels=4".into(),
            "loader.workers=1".into(),
        ]
        .into_iter()
        .chain(extra.iter().map(|s| (*s).to_owned()))
        .collect();
        v = v
            .into_iter()
            .flat_map(|s| ["--set".to_owned(), s])
            .collect();
        v
    };
    let mut args: Vec<String> = ["search", "--config", "nb201-imagenet16-edas", "--out"]
        .map(str::to_owned)
        .to_vec();
    args.push(search.display().to_string());
    args.extend(shrink(&[
        "loader.batch_size=5",
        "regularizers.warmup_epochs=0",
    ]));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = edas(&refs, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let found = std::fs::read_to_string(search.join("genotype.txt")).unwrap();
    assert!(found.trim().starts_with('|'), "{found}");

    let train = tmp.path().join("train");
    let mut args: Vec<String> = ["train", "--config", "nb201-imagenet16", "--genotype"]
        .map(str::to_owned)
        .to_vec();
    args.push(search.display().to_string());
    args.push("--out".into());
    args.push(train.display().to_string());
    args.extend(shrink(&["loader.batch_size=8"]));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = edas(&refs, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(train.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(results["test"]["examples"], 3, "{results}");
}
