//! Reading text files with a size cap: genotype files and configs are a few
//! KiB, so anything over [`MAX_TEXT_BYTES`] (a device such as `/dev/zero`,
//! a data file given by mistake) is refused instead of read until memory
//! runs out.

use std::io::{self, Read};
use std::path::Path;

/// The largest genotype or config file read: 16 MiB.
pub const MAX_TEXT_BYTES: u64 = 16 * 1024 * 1024;

/// All of `reader` as UTF-8 text, or an `InvalidData` error when it holds
/// more than [`MAX_TEXT_BYTES`] or is not UTF-8.
pub fn read_text_from(reader: impl Read) -> io::Result<String> {
    let mut bytes = Vec::new();
    reader.take(MAX_TEXT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB; not a genotype or config file",
                MAX_TEXT_BYTES / (1024 * 1024)
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// The file at `path` as UTF-8 text, capped as [`read_text_from`].
pub fn read_text(path: &Path) -> io::Result<String> {
    read_text_from(std::fs::File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_text_reads_and_large_or_binary_input_is_refused() {
        assert_eq!(
            read_text_from(&b"Genotype()"[..]).ok().as_deref(),
            Some("Genotype()")
        );
        let zeros = io::repeat(0).take(MAX_TEXT_BYTES + 10);
        let e = read_text_from(zeros)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("larger than 16 MiB"), "{e}");
        let e = read_text_from(&[0x66, 0xff, 0x66][..])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("not UTF-8 text (byte 1)"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn dev_zero_is_refused() {
        let e = read_text(Path::new("/dev/zero"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("larger than"), "{e}");
        // What `edas genotype show /dev/zero` calls.
        assert!(crate::codec::load(Path::new("/dev/zero")).is_err());
    }
}
