//! What a path names, without following a final symlink.

use std::path::Path;

use crate::error::{Result, io};

/// What is at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Nothing.
    Missing,
    /// A regular file.
    File,
    /// A symbolic link (not followed).
    Symlink,
    /// A directory.
    Directory,
    /// A FIFO, socket, character or block device.
    Special(&'static str),
}

impl FileKind {
    /// `a directory`, `a FIFO`...
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::Missing => "missing",
            FileKind::File => "a regular file",
            FileKind::Symlink => "a symbolic link",
            FileKind::Directory => "a directory",
            FileKind::Special(s) => s,
        }
    }
}

/// What `path` names; `follow` follows a final symlink (for reads).
pub fn kind_of(path: &Path, follow: bool) -> Result<FileKind> {
    let meta = if follow {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    };
    let meta = match meta {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(io(path)(e)),
    };
    let t = meta.file_type();
    Ok(if t.is_file() {
        FileKind::File
    } else if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_dir() {
        FileKind::Directory
    } else {
        FileKind::Special(special(&t))
    })
}

#[cfg(unix)]
fn special(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special(_: &std::fs::FileType) -> &'static str {
    "a special file"
}
