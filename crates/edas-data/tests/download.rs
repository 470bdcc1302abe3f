//! The download path, against a local HTTP server on 127.0.0.1 that serves
//! files generated here. Nothing reaches outside the machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use edas_data::download::{
    Checksum, DownloadOptions, Resource, digest, ensure_archive, ensure_files, fetch,
};
use edas_data::{DataError, ImageSource, Split, cifar10, fashion_mnist};
use md5::{Digest, Md5};

/// A tiny HTTP/1.1 server: GET /name answers the file or 404. Counts requests.
struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let (r, f) = (requests.clone(), files.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                r.fetch_add(1, Ordering::SeqCst);
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                reader.read_line(&mut line).unwrap();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                        break;
                    }
                }
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/')
                    .to_owned();
                let body = f.lock().unwrap().get(&path).cloned();
                let _ = match body {
                    Some(b) => stream
                        .write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", b.len()).as_bytes())
                        .and_then(|_| stream.write_all(&b)),
                    None => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                };
            }
        });
        Server {
            base,
            requests,
            files,
        }
    }

    fn serve(&self, name: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(name.to_owned(), body);
    }

    fn options(&self) -> DownloadOptions {
        DownloadOptions {
            mirror: Some(self.base.clone()),
            progress: false,
        }
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn md5_hex(bytes: &[u8]) -> &'static str {
    leak(
        Md5::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

#[test]
fn fetch_verifies_and_does_not_refetch() {
    let server = Server::start();
    server.serve("data.bin", b"hello data".to_vec());
    let dir = tempfile::tempdir().unwrap();
    let good = Resource {
        url: "https://example.invalid/files/data.bin",
        checksum: Checksum::Md5(md5_hex(b"hello data")),
    };
    let path = fetch(&good, dir.path(), &server.options()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"hello data");
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    fetch(&good, dir.path(), &server.options()).unwrap();
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "present and verified: no request"
    );
    assert_eq!(
        digest(&path, good.checksum).unwrap(),
        ("md5", md5_hex(b"hello data").to_owned())
    );
}

#[test]
fn checksum_mismatch_removes_the_download() {
    let server = Server::start();
    server.serve("corrupt.bin", b"not what was published".to_vec());
    let dir = tempfile::tempdir().unwrap();
    let r = Resource {
        url: "https://example.invalid/corrupt.bin",
        checksum: Checksum::Md5("00000000000000000000000000000000"),
    };
    let err = fetch(&r, dir.path(), &server.options()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Checksum {
                algorithm: "md5",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("corrupt.bin.part: checksum mismatch"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left behind"
    );

    // A user's existing file with the wrong digest is reported, not deleted.
    std::fs::write(dir.path().join("corrupt.bin"), b"mine").unwrap();
    let err = fetch(&r, dir.path(), &server.options()).unwrap_err();
    assert!(
        err.to_string().contains("delete it to download again"),
        "{err}"
    );
    assert!(dir.path().join("corrupt.bin").exists());
}

#[test]
fn missing_remote_file_names_the_address() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let r = Resource {
        url: "https://example.invalid/absent.tar.gz",
        checksum: Checksum::Md5("00000000000000000000000000000000"),
    };
    let err = fetch(&r, dir.path(), &server.options()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("download of {}/absent.tar.gz failed", server.base)),
        "{text}"
    );
    assert!(text.contains("404"), "{text}");
}

#[test]
fn cifar10_archive_is_fetched_unpacked_and_read() {
    // A CIFAR-10 archive in the real layout, 2 records per batch.
    let mut tar_bytes = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut tar_bytes, flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        let mut add = |name: &str, data: Vec<u8>| {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, &data[..]).unwrap();
        };
        for name in [
            "data_batch_1",
            "data_batch_2",
            "data_batch_3",
            "data_batch_4",
            "data_batch_5",
            "test_batch",
        ] {
            let mut data = Vec::new();
            for label in [3u8, 8] {
                data.push(label);
                data.extend(std::iter::repeat_n(label * 10, 3072));
            }
            add(&format!("cifar-10-batches-bin/{name}.bin"), data);
        }
        builder.into_inner().unwrap().finish().unwrap();
    }
    let server = Server::start();
    server.serve("cifar-10-binary.tar.gz", tar_bytes.clone());
    let archive = Resource {
        url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        checksum: Checksum::Md5(md5_hex(&tar_bytes)),
    };
    let dir = tempfile::tempdir().unwrap();
    ensure_archive(
        &archive,
        dir.path(),
        "cifar-10-batches-bin/data_batch_1.bin",
        &server.options(),
    )
    .unwrap();
    let train = cifar10(dir.path(), Split::Train).unwrap();
    assert_eq!(train.len(), 10);
    assert_eq!(train.label(1), 8);
    assert_eq!(train.image(1).unwrap().at(2, 5, 5), 80);
    // Already unpacked: no second request.
    ensure_archive(
        &archive,
        dir.path(),
        "cifar-10-batches-bin/data_batch_1.bin",
        &server.options(),
    )
    .unwrap();
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn fashion_mnist_files_are_checked_after_gunzip() {
    let idx = |magic: &[u8], dims: &[u32], data: &[u8]| {
        let mut b = magic.to_vec();
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend_from_slice(data);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&b).unwrap();
        (b, e.finish().unwrap())
    };
    let server = Server::start();
    let mut resources = Vec::new();
    for (name, raw_gz) in [
        (
            "train-images-idx3-ubyte.gz",
            idx(&[0, 0, 8, 3], &[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8]),
        ),
        (
            "train-labels-idx1-ubyte.gz",
            idx(&[0, 0, 8, 1], &[2], &[4, 9]),
        ),
    ] {
        let (raw, gz) = raw_gz;
        let sha: String = sha2::Sha256::digest(&raw)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        server.serve(name, gz);
        resources.push(Resource {
            url: leak(format!("http://fashion-mnist.example/{name}")),
            checksum: Checksum::Sha256Gunzipped(leak(sha)),
        });
    }
    let dir = tempfile::tempdir().unwrap();
    ensure_files(&resources, dir.path(), &server.options()).unwrap();
    let train = fashion_mnist(Some(dir.path()), Split::Train).unwrap();
    assert_eq!(train.labels(), &[4, 9]);
    assert_eq!(train.pixels(1), &[5, 6, 7, 8]);
}

#[test]
fn published_checksums_match_debians_fashion_mnist() {
    let dir = std::path::Path::new(edas_data::idx::DEBIAN_FASHION_MNIST_DIR);
    if !dir.is_dir() {
        eprintln!("skipped: Fashion-MNIST is not installed");
        return;
    }
    for r in &edas_data::download::FASHION_MNIST {
        let Checksum::Sha256Gunzipped(expected) = r.checksum else {
            unreachable!()
        };
        assert_eq!(
            digest(&dir.join(r.file_name()), r.checksum).unwrap().1,
            expected,
            "{}",
            r.file_name()
        );
    }
}

/// CIFAR files already on disk, flat in the data directory or in the
/// archive's folder, are used as they are: `download = true` fetches
/// nothing (an offline machine with the files used to fail on DNS).
#[test]
fn cifar_files_on_disk_in_either_layout_are_not_downloaded() {
    use edas_data::{DataConfig, DatasetKind};
    let server = Server::start();
    let records = |n: usize, header: usize| -> Vec<u8> {
        let mut data = Vec::new();
        for label in 0..n {
            data.extend(std::iter::repeat_n(label as u8, header));
            data.extend(std::iter::repeat_n(7u8, 3072));
        }
        data
    };
    for (kind, nested, files) in [
        (
            DatasetKind::Cifar10,
            "cifar-10-batches-bin",
            &[
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "data_batch_4.bin",
                "data_batch_5.bin",
                "test_batch.bin",
            ][..],
        ),
        (
            DatasetKind::Cifar100,
            "cifar-100-binary",
            &["train.bin", "test.bin"][..],
        ),
    ] {
        for flat in [true, false] {
            let root = tempfile::tempdir().unwrap();
            let dir = if flat {
                root.path().to_owned()
            } else {
                root.path().join(nested)
            };
            std::fs::create_dir_all(&dir).unwrap();
            let header = if kind == DatasetKind::Cifar10 { 1 } else { 2 };
            for f in files {
                std::fs::write(dir.join(f), records(3, header)).unwrap();
            }
            let config = DataConfig {
                root: Some(root.path().to_owned()),
                download: true,
                ..DataConfig::new(kind)
            };
            let train = config.open(Split::Train, &server.options()).unwrap();
            // CIFAR-10's five training batches of 3 records; CIFAR-100's one.
            let want = if kind == DatasetKind::Cifar10 { 15 } else { 3 };
            assert_eq!(train.len(), want, "{kind:?} flat={flat}");
        }
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
    // Absent files are fetched (and the missing archive named).
    let empty = tempfile::tempdir().unwrap();
    let config = DataConfig {
        root: Some(empty.path().to_owned()),
        download: true,
        ..DataConfig::new(DatasetKind::Cifar100)
    };
    let e = match config.open(Split::Train, &server.options()) {
        Ok(_) => panic!("absent files were not fetched"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("404") || e.contains("cifar-100-binary.tar.gz"),
        "{e}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

/// Fashion-MNIST unpacked (plain IDX files, as `gunzip` leaves them) counts
/// as present too: `download = true` would otherwise fetch the `.gz` files.
#[test]
fn plain_idx_files_count_as_present() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!edas_data::idx_present(dir.path()));
    for f in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
    ] {
        std::fs::write(dir.path().join(f), b"x").unwrap();
    }
    assert!(!edas_data::idx_present(dir.path()));
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), b"x").unwrap();
    assert!(edas_data::idx_present(dir.path()));
}
