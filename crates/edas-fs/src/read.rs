//! Reading user files and streams with bounds: regular files only, and no
//! more than a stated number of bytes.

use std::io::Read;
use std::path::Path;

use crate::error::{FsError, Result, io};
use crate::kind::{FileKind, kind_of};

/// The bytes of the regular file `path` (a symlink to one is followed), at
/// most `limit` of them: a FIFO, device or directory is refused rather than
/// read (a FIFO would block, `/dev/zero` would never end), and a longer
/// file is refused naming `what` it should hold.
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    require_file(path)?;
    let f = std::fs::File::open(path).map_err(io(path))?;
    let too_large = || FsError::TooLarge {
        path: path.to_owned(),
        limit,
        what: what.to_owned(),
    };
    if f.metadata().map_err(io(path))?.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// `Ok` when `path` is a regular file (a symlink to one is followed), for a
/// reader that opens the file itself (a library's): a missing file is the
/// system's "not found", a directory, FIFO or device is named as what it is.
pub fn require_file(path: &Path) -> Result<()> {
    match kind_of(path, true)? {
        FileKind::File => Ok(()),
        FileKind::Missing => Err(FsError::Io {
            path: path.to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }),
        other => Err(FsError::NotRegular {
            path: path.to_owned(),
            kind: other.describe(),
            action: "reads",
        }),
    }
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_to_string_bounded(path: &Path, limit: u64, what: &str) -> Result<String> {
    let bytes = read_bounded(path, limit, what)?;
    String::from_utf8(bytes).map_err(|e| FsError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// A reader that fails with [`std::io::ErrorKind::FileTooLarge`] once more
/// than `limit` bytes have come through it: a decompressor behind it stops
/// at the size the data can have instead of filling memory.
#[derive(Debug)]
pub struct BoundedReader<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> BoundedReader<R> {
    /// `inner`, cut off after `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Self {
        BoundedReader {
            inner,
            left: limit,
            limit,
        }
    }

    /// A new limit, counted from here (once a header has told the size).
    pub fn set_limit(&mut self, limit: u64) {
        self.left = limit;
        self.limit = limit;
    }
}

impl<R: Read> Read for BoundedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more than allowed is an error; the end is fine.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::FileTooLarge,
                    format!("more than {} bytes", self.limit),
                )),
            };
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_file_and_refuses_a_long_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(read_bounded(&p, 10, "matrix file").unwrap().len(), 10);
        let e = read_bounded(&p, 9, "matrix file").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} is larger than 9 bytes, more than a matrix file can be",
                p.display()
            )
        );
        let e = read_bounded(&dir.path().join("none"), 9, "x").unwrap_err();
        assert!(matches!(e, FsError::Io { .. }));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices_fifos_and_directories_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("results.json");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        for (p, kind) in [
            (fifo.as_path(), "a FIFO"),
            (link.as_path(), "a character device"),
            (dir.path(), "a directory"),
        ] {
            let e = read_bounded(p, 1 << 20, "x").unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{} is {kind}, not a regular file; edas reads only regular files",
                    p.display()
                )
            );
        }
    }

    #[test]
    fn a_bounded_reader_stops_one_byte_past_its_limit() {
        let data = [0u8; 100];
        let mut out = Vec::new();
        BoundedReader::new(&data[..], 100)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 100);
        let e = BoundedReader::new(&data[..], 99)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        // An endless stream ends with the error, not with memory full.
        let e = BoundedReader::new(std::io::repeat(0), 1 << 20)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
    }
}
