//! `edas-fs`: how edas writes and reads files, in one place.
//!
//! - [`write_atomic`] / [`replace_with`]: outputs go to a fresh temporary
//!   file beside the target and are renamed into place; only a regular file
//!   or a symlink (replaced, never followed) is ever replaced.
//! - [`check_output`]: whether a path may be written, before any work.
//! - [`read_bounded`] / [`read_to_string_bounded`] / [`BoundedReader`]:
//!   reads of user files and streams that refuse FIFOs and devices and stop
//!   at a size limit.
//! - [`shell`]: text for shells and batch scripts.

mod error;
mod kind;
mod read;
pub mod shell;
mod write;

pub use error::{FsError, Result};
pub use kind::{FileKind, kind_of};
pub use read::{BoundedReader, read_bounded, read_to_string_bounded, require_file};
pub use write::{check_output, replace_with, write_atomic};

/// The crate README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
