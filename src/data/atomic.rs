//! Output files written completely or not at all: write a temporary file beside the target,
//! flush and fsync it, then rename it over the target.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Error;
use crate::data::digest::{Digest, Hashing};

/// Distinguishes temporary files of concurrent writes from one process.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Removes the temporary file when dropped, unless it has been renamed into place; so an
/// error or a panic in the middle of writing leaves nothing behind.
struct Temporary {
    path: PathBuf,
    armed: bool,
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `path` through `write`, atomically: readers see either the old file (or none) or
/// the complete new one, never a half-written file.
///
/// `write` gets a buffered writer onto a new file `.<name>.<pid>.<n>.tmp` in the target's
/// directory (the same file system, so the rename is atomic). After `write` returns `Ok`, the
/// file is flushed, fsynced and renamed over `path`, and the directory is fsynced where the
/// platform allows. On any error, or a panic in `write`, the temporary file is removed.
///
/// ```
/// use std::io::Write;
/// use precision_audit::data::write_atomically;
///
/// let path = std::env::temp_dir().join(format!("doc-atomic-{}.csv", std::process::id()));
/// write_atomically(&path, |out| writeln!(out, "a,b\n1,2")).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n1,2\n");
/// # std::fs::remove_file(&path).unwrap();
/// ```
///
/// # Errors
///
/// [`Error::Io`] naming `path`, when `path` has no file name, the directory does not accept
/// a new file, `write` fails, or the flush, fsync or rename fails.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    let mut staged = StagedFile::create(path)?;
    write(staged.writer()).map_err(|source| staged.error(source))?;
    staged.commit()
}

/// A file being written under a temporary name beside its destination. [`StagedFile::commit`]
/// flushes, syncs and renames it into place; dropping it uncommitted removes it. Several staged
/// files can be written and then committed together, so a failure part-way through a report
/// leaves none of them behind.
pub struct StagedFile {
    path: PathBuf,
    directory: PathBuf,
    out: BufWriter<Hashing<File>>,
    temporary: Temporary,
}

/// Refuses a destination that a rename cannot replace: a directory is in the way. Checked when
/// a file is staged, and by a report before its work starts.
pub fn replaceable(path: &Path) -> Result<(), Error> {
    if path.is_dir() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory, not a file that can be replaced",
            ),
        });
    }
    Ok(())
}

/// Commits staged files together: every file is flushed and synced before any is renamed, and
/// if a rename fails, the files already renamed are removed again, so that either all of them
/// are in place or none is.
pub fn commit_all(files: Vec<StagedFile>) -> Result<(), Error> {
    let mut ready = Vec::with_capacity(files.len());
    for file in files {
        ready.push(file.finish()?);
    }
    let mut placed: Vec<PathBuf> = Vec::with_capacity(ready.len());
    for (path, directory, temporary) in &mut ready {
        if let Err(source) = std::fs::rename(&temporary.path, &*path) {
            for done in &placed {
                let _ = std::fs::remove_file(done);
            }
            return Err(Error::Io {
                path: path.clone(),
                source,
            });
        }
        temporary.armed = false;
        placed.push(path.clone());
        sync_directory(directory);
    }
    Ok(())
}

impl StagedFile {
    /// Starts writing `path`: creates the temporary file now, beside `path`, so an unwritable
    /// destination is an error before any work is done.
    pub fn create(path: &Path) -> Result<StagedFile, Error> {
        StagedFile::create_in(path, None)
    }

    /// Starts writing `path` with the temporary file in `staging` (a directory on the same
    /// file system as `path`, e.g. a [`StagingDir`](crate::data::StagingDir) inside its
    /// directory) instead of beside it.
    pub fn staged_in(path: &Path, staging: &Path) -> Result<StagedFile, Error> {
        StagedFile::create_in(path, Some(staging))
    }

    fn create_in(path: &Path, staging: Option<&Path>) -> Result<StagedFile, Error> {
        let io_error = |source: io::Error| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let name = path.file_name().ok_or_else(|| {
            io_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file name to write",
            ))
        })?;
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        replaceable(path)?;
        let (file, temporary) =
            create_temporary(staging.unwrap_or(directory), name).map_err(io_error)?;
        Ok(StagedFile {
            path: path.to_path_buf(),
            directory: directory.to_path_buf(),
            out: BufWriter::new(Hashing::new(file)),
            temporary,
        })
    }

    /// Where the content goes.
    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    /// The destination.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The size and checksum of everything written so far (flushed to the file first).
    pub fn digest(&mut self) -> Result<Digest, Error> {
        self.out.flush().map_err(|e| self.error(e))?;
        Ok(self.out.get_ref().digest())
    }

    /// An I/O failure, named by the destination.
    pub fn error(&self, source: io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(self) -> Result<(), Error> {
        commit_all(vec![self])
    }

    /// Flushes and syncs the temporary file; returns the destination, its directory and the
    /// temporary file, still armed.
    fn finish(self) -> Result<(PathBuf, PathBuf, Temporary), Error> {
        let StagedFile {
            path,
            directory,
            out,
            temporary,
        } = self;
        let io_error = |source: io::Error| Error::Io {
            path: path.clone(),
            source,
        };
        let file = out.into_inner().map_err(|err| io_error(err.into_error()))?;
        file.get_ref().sync_all().map_err(io_error)?;
        Ok((path, directory, temporary))
    }
}

fn create_temporary(directory: &Path, name: &std::ffi::OsStr) -> io::Result<(File, Temporary)> {
    loop {
        let number = NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed);
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(name);
        temporary_name.push(format!(".{}.{number}.tmp", std::process::id()));
        let path = directory.join(temporary_name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, Temporary { path, armed: true })),
            // A stale file from a crashed run with a recycled process id: take the next number.
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
}

/// Makes the rename itself durable. Best effort: not every platform can open a directory.
fn sync_directory(directory: &Path) {
    if let Ok(handle) = File::open(directory) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::scratch;

    fn entries(directory: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_the_whole_file_and_leaves_no_temporary() {
        let dir = scratch::dir("atomic-ok");
        let path = dir.join("out.csv");
        write_atomically(&path, |out| out.write_all(b"a,b\n1,2\n")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a,b\n1,2\n");
        assert_eq!(entries(&dir), ["out.csv"]);
    }

    #[test]
    fn replaces_an_existing_file() {
        let dir = scratch::dir("atomic-replace");
        let path = scratch::file(&dir, "out.csv", b"old contents that are longer\n");
        write_atomically(&path, |out| out.write_all(b"new\n")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
        assert_eq!(entries(&dir), ["out.csv"]);
    }

    #[test]
    fn a_failing_writer_keeps_the_old_file_and_removes_the_temporary() {
        let dir = scratch::dir("atomic-fail");
        let path = scratch::file(&dir, "out.csv", b"old\n");
        let err = write_atomically(&path, |out| {
            out.write_all(b"half a fi")?;
            Err(io::Error::other("the writer gave up"))
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: the writer gave up", path.display())
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"old\n");
        assert_eq!(entries(&dir), ["out.csv"]);
    }

    #[test]
    fn a_failing_writer_creates_no_file() {
        let dir = scratch::dir("atomic-fail-new");
        let path = dir.join("new.csv");
        let result = write_atomically(&path, |_| Err(io::Error::other("no")));
        assert!(matches!(result, Err(Error::Io { .. })));
        assert!(entries(&dir).is_empty());
    }

    #[test]
    fn a_panicking_writer_removes_the_temporary() {
        let dir = scratch::dir("atomic-panic");
        let path = dir.join("new.csv");
        let outcome = std::panic::catch_unwind(|| {
            let _ = write_atomically(&path, |out| {
                out.write_all(b"partial")?;
                out.flush()?;
                panic!("writer bug");
            });
        });
        assert!(outcome.is_err());
        assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_the_target() {
        let path = Path::new("/nonexistent/precision-audit/out.csv");
        let err = write_atomically(path, |out| out.write_all(b"x")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(
            err.to_string()
                .starts_with("/nonexistent/precision-audit/out.csv: "),
            "{err}"
        );
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let err = write_atomically(Path::new("/"), |_| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), "/: not a file name to write");
    }
}
