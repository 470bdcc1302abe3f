//! Writing an output file: to a fresh temporary file beside it, then renamed
//! into place, and only over a regular file or a symlink.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{FsError, Result, io};
use crate::kind::{FileKind, kind_of};

/// Whether `path` may be written as an output: it does not exist, or it is
/// a regular file or a symlink and `force` is set. A directory, FIFO,
/// socket or device node is refused whatever `force` says.
pub fn check_output(path: &Path, force: bool) -> Result<()> {
    match kind_of(path, false)? {
        FileKind::Missing => Ok(()),
        FileKind::File | FileKind::Symlink if force => Ok(()),
        FileKind::File | FileKind::Symlink => Err(FsError::Exists {
            path: path.to_owned(),
        }),
        other => Err(not_regular(path, other)),
    }
}

/// Writes `bytes` to `path`: a fresh temporary file in the same directory,
/// synced, renamed over `path`. A reader sees the old or the new contents,
/// never a part; a symlink at `path` is replaced, not followed; the file
/// gets the mode any new file gets (0666 less the umask).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_with(path, |tmp| {
        let mut f = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| e.to_string())?;
        f.write_all(bytes).map_err(|e| e.to_string())
    })
}

/// Like [`write_atomic`] for writers that want a path (a library's file
/// writer): `fill` writes the temporary file it is given (which exists,
/// empty, with the usual mode; a writer that truncates it keeps that mode),
/// which is then synced and renamed over `path`. On any failure the
/// temporary file is removed and `path` is untouched.
pub fn replace_with(
    path: &Path,
    fill: impl FnOnce(&Path) -> std::result::Result<(), String>,
) -> Result<()> {
    match kind_of(path, false)? {
        FileKind::Missing | FileKind::File | FileKind::Symlink => {}
        other => return Err(not_regular(path, other)),
    }
    let tmp = create_temp(path)?;
    let done = fill(&tmp)
        .map_err(|message| FsError::Write {
            path: path.to_owned(),
            message,
        })
        .and_then(|()| {
            File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(io(&tmp))
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io(path)));
    if done.is_err() {
        // Ours: created exclusively above.
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

fn not_regular(path: &Path, kind: FileKind) -> FsError {
    FsError::NotRegular {
        path: path.to_owned(),
        kind: kind.describe(),
        action: "writes",
    }
}

/// A new, empty file `.NAME.PID-N.tmp` beside `path`, created exclusively
/// (never an existing file, never through a symlink).
fn create_temp(path: &Path) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| FsError::Write {
        path: path.to_owned(),
        message: "the path has no file name".into(),
    })?;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}-{n}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(_) => return Ok(tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&tmp)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        check_output(&p, false).unwrap();
        write_atomic(&p, b"one").unwrap();
        assert!(matches!(
            check_output(&p, false),
            Err(FsError::Exists { .. })
        ));
        check_output(&p, true).unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_gets_the_umask_mode_and_a_symlink_is_replaced_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        check_output(&link, true).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
        // What File::create gives here, with this process's umask.
        let probe = dir.path().join("probe");
        File::create(&probe).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&link), mode(&probe));
    }

    #[cfg(unix)]
    #[test]
    fn devices_fifos_and_directories_are_refused_even_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        for p in [fifo.as_path(), Path::new("/dev/null"), dir.path()] {
            let e = check_output(p, true).unwrap_err();
            assert!(matches!(e, FsError::NotRegular { .. }), "{p:?}: {e}");
        }
        // Writes are tried only where a regression cannot hurt the system
        // (never on /dev/null: a test run as root would replace it).
        for p in [fifo.as_path(), dir.path()] {
            let e = write_atomic(p, b"x").unwrap_err();
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
        assert!(
            kind_of(Path::new("/dev/null"), false).unwrap()
                == FileKind::Special("a character device")
        );
        // Nothing was left in the directory but the FIFO.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failing_writer_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("model.onnx");
        std::fs::write(&p, "old").unwrap();
        let e = replace_with(&p, |tmp| {
            std::fs::write(tmp, "half").unwrap();
            Err("disk full".into())
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("cannot write {}: disk full", p.display())
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
