//! The data crate's error type. Every variant names the path (or URL) at fault
//! and what was expected there.

use std::path::PathBuf;

use thiserror::Error;

/// Errors from reading, downloading or preparing data.
#[derive(Debug, Error)]
pub enum DataError {
    /// A directory the data set should be in does not exist.
    #[error("{}: data directory not found ({expected})", path.display())]
    MissingDir {
        /// The directory.
        path: PathBuf,
        /// What should be there.
        expected: String,
    },
    /// A file the format needs does not exist.
    #[error("{}: file not found ({expected})", path.display())]
    MissingFile {
        /// The file.
        path: PathBuf,
        /// What it should hold.
        expected: String,
    },
    /// A file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file has the wrong size for its format (truncated or oversized).
    #[error("{}: {found} bytes, expected {expected}", path.display())]
    Size {
        /// The file.
        path: PathBuf,
        /// The size found.
        found: u64,
        /// The size (or rule) expected.
        expected: String,
    },
    /// A file's contents do not follow its format.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An image file that does not decode.
    #[error("{}: cannot decode image: {message}", path.display())]
    Decode {
        /// The image file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// A download failed.
    #[error("download of {url} failed: {message}")]
    Download {
        /// The address.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A downloaded file does not have the published checksum.
    #[error("{}: checksum mismatch ({algorithm} {found}, expected {expected}); the file was removed", path.display())]
    Checksum {
        /// The file (removed).
        path: PathBuf,
        /// `md5` or `sha256`.
        algorithm: &'static str,
        /// The digest computed.
        found: String,
        /// The published digest.
        expected: String,
    },
    /// A data worker thread died before it sent a batch (a panic in an
    /// image decoder or a transform; its message is kept).
    #[error("data worker for batch {batch} stopped: {message}")]
    Worker {
        /// The batch it was to build.
        batch: usize,
        /// The panic's message, or why none is known.
        message: String,
    },
    /// A configuration value is out of range.
    #[error("invalid data configuration: {0}")]
    Config(String),
}

impl DataError {
    /// A file-rule refusal ([`edas_fs`]) as a data error: a missing file
    /// is [`DataError::MissingFile`], anything else names the path and why.
    pub(crate) fn fs(e: edas_fs::FsError, expected: &str) -> DataError {
        match e {
            edas_fs::FsError::Io { path, source } => DataError::io(path, source, expected),
            other => DataError::Format {
                path: other.path().map(PathBuf::from).unwrap_or_default(),
                message: other.reason(),
            },
        }
    }

    /// An I/O error on `path`, as a `MissingFile` when the file is absent.
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        source: std::io::Error,
        expected: &str,
    ) -> DataError {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::MissingFile {
                path,
                expected: expected.to_owned(),
            }
        } else {
            DataError::Io { path, source }
        }
    }
}

/// Results of this crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
