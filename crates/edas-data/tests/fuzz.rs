//! Random and mutated bytes through the readers of user data files (IDX,
//! plain and gzip; CIFAR records): each returns `Ok` or `Err`, never
//! panics, and never reads past what the header declares. CI runs these
//! cases; `PROPTEST_CASES=100000 cargo test -p edas-data --test fuzz`
//! runs longer (docs/reliability.md records a run).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use edas_data::idx::read_idx;
use edas_data::{ImageSource, Split, cifar10};
use proptest::prelude::*;

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `bytes` with edits at `ops` (replace, delete, insert a byte).
fn mutate(mut bytes: Vec<u8>, ops: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(kind, at, byte) in ops {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let i = at % bytes.len();
        match kind % 3 {
            0 => bytes[i] = byte,
            1 => {
                bytes.remove(i);
            }
            _ => bytes.insert(i, byte),
        }
    }
    bytes
}

fn check_idx(bytes: &[u8]) {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x-idx3-ubyte");
    std::fs::write(&p, bytes).unwrap();
    if let Ok((dims, data)) = read_idx(&p) {
        // Whatever is accepted is exactly what its header declares.
        assert!(dims.iter().all(|&d| d > 0));
        assert_eq!(dims.iter().product::<usize>(), data.len());
    }
}

proptest! {
    // 400 cases, or `PROPTEST_CASES` (which `with_cases` alone would ignore).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(400)
    ))]

    #[test]
    fn random_bytes_as_idx_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_idx(&bytes);
        check_idx(&gz(&bytes));
    }

    #[test]
    fn mutated_idx_files_never_panic(
        dims in proptest::collection::vec(0u32..5, 1..4),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..4),
        compress in any::<bool>(),
    ) {
        let n: u32 = dims.iter().product();
        let file = idx(&dims, &vec![7; n as usize]);
        let file = if compress { gz(&file) } else { file };
        check_idx(&mutate(file, &ops));
    }

    #[test]
    fn cifar_files_of_any_size_and_bytes_never_panic(
        records in 0usize..3,
        extra in 0usize..4,
        label in any::<u8>(),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..3),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cifar-10-batches-bin");
        std::fs::create_dir_all(&dir).unwrap();
        let mut bytes = Vec::new();
        for _ in 0..records {
            bytes.push(label);
            bytes.extend(std::iter::repeat_n(3u8, 3072));
        }
        bytes.extend(std::iter::repeat_n(1u8, extra));
        let bytes = if ops.is_empty() { bytes } else { mutate(bytes, &ops) };
        std::fs::write(dir.join("test_batch.bin"), &bytes).unwrap();
        if let Ok(d) = cifar10(tmp.path(), Split::Test) {
            prop_assert_eq!(d.len() * 3073, bytes.len());
            prop_assert!((0..d.len()).all(|i| d.label(i) < 10));
        }
    }
}
