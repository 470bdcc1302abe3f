//! The errors of the file rules.

use std::path::PathBuf;

/// Why a file cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The operating system refused (the cause follows in the chain).
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The output exists and replacing it was not asked for.
    #[error("{} exists; pass --force to replace it", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The path names something that edas never writes over or reads as a
    /// file: a directory, FIFO, socket or device node.
    #[error("{} is {kind}, not a regular file; edas {action} only regular files", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is (`a FIFO`).
        kind: &'static str,
        /// `writes` or `reads`.
        action: &'static str,
    },
    /// A file or stream longer than the limit for what it should hold.
    #[error("{} is larger than {limit} bytes, more than a {what} can be", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
        /// What the file should hold (`matrix file`).
        what: String,
    },
    /// Filling the temporary file failed (the writer's message).
    #[error("cannot write {}: {message}", path.display())]
    Write {
        /// The file that was to be written.
        path: PathBuf,
        /// The writer's error.
        message: String,
    },
    /// Text bound for a shell or a batch script holds a control character.
    #[error(
        "{what} {text:?} holds a control character (a newline would end a script line); refused"
    )]
    ControlCharacter {
        /// What the text is (`the matrix's out`).
        what: String,
        /// The text.
        text: String,
    },
}

impl FsError {
    /// The file the error is about (none for text bound for a shell).
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            FsError::Io { path, .. }
            | FsError::Exists { path }
            | FsError::NotRegular { path, .. }
            | FsError::TooLarge { path, .. }
            | FsError::Write { path, .. } => Some(path),
            FsError::ControlCharacter { .. } => None,
        }
    }

    /// What is wrong, without the path (for an error of the caller's that
    /// names it): `no such file`, `is a FIFO, not a regular file`...
    pub fn reason(&self) -> String {
        match self {
            FsError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "no such file".into()
            }
            FsError::Io { source, .. } => source.to_string(),
            FsError::Exists { .. } => "exists; pass --force to replace it".into(),
            FsError::NotRegular { kind, .. } => format!("is {kind}, not a regular file"),
            FsError::TooLarge { limit, what, .. } => {
                format!("is larger than {limit} bytes, more than a {what} can be")
            }
            FsError::Write { message, .. } => message.clone(),
            FsError::ControlCharacter { .. } => self.to_string(),
        }
    }
}

/// This crate's result.
pub type Result<T, E = FsError> = std::result::Result<T, E>;

/// The `map_err` closure for an I/O error on `path`.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
    move |source| FsError::Io {
        path: path.to_owned(),
        source,
    }
}
