//! The reader on small files in the official layouts, written by
//! `bench/nb201_bench_files.py` (made-up values, 5 cells, 3 epochs for the
//! long training): the same accuracies from all three layouts, equal to
//! what the official reader (`nats_bench` 1.8's `get_more_info(i, dataset,
//! hp='200')['test-accuracy']`) returns for the NATS files; damaged files
//! are errors naming the file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use edas_benchmark::{Benchmark, Dataset};
use edas_genotype::Nb201Cell;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// `get_more_info(i, d, hp='200')['test-accuracy']` of the official reader
/// on these files, per cell and data set (CIFAR-10, CIFAR-100,
/// ImageNet16-120).
const EXPECTED: [[f64; 3]; 5] = [
    [85.366667, 59.866667, 34.866667],
    [87.366667, 61.866667, 36.866667],
    [89.366667, 63.866667, 38.866667],
    [91.366667, 65.866667, 40.866667],
    [93.366667, 67.866667, 42.866667],
];

#[test]
fn every_layout_gives_the_official_readers_accuracies() {
    for name in [
        "NAS-Bench-201-v1_1-096897.pth",
        "NATS-tss-v1_0-3ffb9.pickle.pbz2",
        "NATS-tss-v1_0-3ffb9-simple",
    ] {
        let b = Benchmark::open(&data(name)).unwrap();
        assert_eq!(b.len(), 5, "{name}");
        for (i, want) in EXPECTED.iter().enumerate() {
            let cell = *b.cell(i).unwrap();
            assert_eq!(b.index_of(&cell), Some(i));
            for (d, &w) in Dataset::ALL.iter().zip(want) {
                let got = b.test_accuracy(&cell, *d).unwrap().unwrap();
                assert!(
                    (got - w).abs() < 1e-5,
                    "{name} cell {i} {}: {got} vs {w}",
                    d.name()
                );
            }
        }
        // A cell the file does not hold has no accuracy.
        let other = Nb201Cell::parse(
            "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
        )
        .unwrap();
        assert_eq!(b.test_accuracy(&other, Dataset::Cifar10).unwrap(), None);
    }
    // The first cell is the best CIFAR-10 cell's string.
    let b = Benchmark::open(&data("NATS-tss-v1_0-3ffb9-simple")).unwrap();
    assert_eq!(
        b.cell(0).unwrap().arch_str(),
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    );
}

#[test]
fn damaged_files_are_errors_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("edas-benchmark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pth = std::fs::read(data("NAS-Bench-201-v1_1-096897.pth")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "cut.pth",
            pth[..pth.len() / 2].to_vec(),
            "not a readable benchmark pickle",
        ),
        ("zip.pth", b"PK\x03\x04rest".to_vec(), "zip-format"),
        ("text.pth", b"hello".to_vec(), "no magic number"),
        ("bad.pickle.pbz2", b"BZh9 not bzip2".to_vec(), "cannot read"),
    ];
    for (name, bytes, expect) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = Benchmark::open(&path).err().expect("an error");
        let text = format!("{e}");
        assert!(
            text.contains(name) && text.contains(expect),
            "{name}: {text}"
        );
    }
    let e = Benchmark::open(&dir.join("missing.pth")).err().unwrap();
    assert!(format!("{e}").contains("missing.pth"), "{e}");
    // A NATS directory without its meta file.
    let empty = dir.join("empty-simple");
    std::fs::create_dir_all(&empty).unwrap();
    let e = Benchmark::open(&empty).err().unwrap();
    assert!(format!("{e}").contains("meta.pickle.pbz2"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
