//! Private staging directories: a report is written into `.precision-audit.<pid>.<n>/` inside
//! its destination directory and renamed out of it, file by file, only when it is complete.
//!
//! Nothing half-written ever sits under a result's name, and what an interrupted run leaves is
//! one directory that is easy to recognise and to remove whole:
//! - on SIGINT or SIGTERM, the binary calls [`discard_all`], which removes this process's
//!   staging directories and exits holding it off;
//! - after SIGKILL (or a power cut), the next [`StagingDir::create`] into the same directory
//!   removes the staging directories of processes that are no longer alive, and the
//!   `.<name>.<pid>.<n>.tmp` files that versions before this one staged beside their targets.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::Error;

/// The name of every staging directory starts with this.
pub const PREFIX: &str = ".precision-audit.";

/// The staging directories this process has open: what [`discard_all`] removes.
static OPEN: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Distinguishes staging directories of one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

fn open_dirs() -> MutexGuard<'static, Vec<PathBuf>> {
    OPEN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A private directory inside an output directory, on the same file system, so that a rename
/// out of it is atomic. Dropping it removes it with everything still in it.
#[derive(Debug)]
pub struct StagingDir {
    path: PathBuf,
}

/// While held, [`discard_all`] waits: a signal that arrives during a commit is acted on after
/// the commit, so it cannot cut a result set in half.
pub struct Held(#[allow(dead_code)] MutexGuard<'static, Vec<PathBuf>>);

impl StagingDir {
    /// Creates a staging directory in `dir` (which must exist), after removing those that
    /// processes no longer alive left there.
    pub fn create(dir: &Path) -> Result<StagingDir, Error> {
        remove_stale(dir);
        let mut open = open_dirs();
        loop {
            let number = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{PREFIX}{}.{number}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    open.push(path.clone());
                    return Ok(StagingDir { path });
                }
                // Left by an earlier process with the same id: take the next number.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    return Err(Error::Io {
                        path: dir.to_path_buf(),
                        source,
                    });
                }
            }
        }
    }

    /// Where files are staged.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Holds off [`discard_all`] until the returned guard is dropped. Do not drop a
    /// [`StagingDir`] while holding it.
    pub fn hold(&self) -> Held {
        Held(open_dirs())
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let mut open = open_dirs();
        let _ = std::fs::remove_dir_all(&self.path);
        open.retain(|p| *p != self.path);
    }
}

/// Removes every staging directory this process has open (after a commit in progress) and
/// returns a guard under which no one creates or commits another: for a signal handler, which
/// exits holding it and so leaves no partial file.
pub fn discard_all() -> Held {
    let open = open_dirs();
    for path in open.iter() {
        let _ = std::fs::remove_dir_all(path);
    }
    Held(open)
}

/// Removes from `dir` the staging directories of processes that are not alive, and the
/// temporary files `.<name>.<pid>.<n>.tmp` of earlier versions whose process is not alive.
/// Best effort: what cannot be read or removed stays.
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let dead = |rest: &str| owner(rest).is_some_and(|pid| !alive(pid));
        if let Some(rest) = name.strip_prefix(PREFIX) {
            if kind.is_dir() && dead(rest) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        } else if let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp"))
            && kind.is_file()
            && dead(rest)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The process id in `<…>.<pid>.<n>` or `<pid>.<n>`: the part before the last dot's number.
fn owner(text: &str) -> Option<u32> {
    let (head, number) = text.rsplit_once('.')?;
    number.parse::<u64>().ok()?;
    let pid = head.rsplit('.').next()?;
    pid.parse().ok().filter(|&pid| pid > 0)
}

/// Whether a process with this id exists (signal 0 checks without sending anything). A pid
/// this process may not signal belongs to a live process too.
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: kill with signal 0 only checks that the process exists; it has no effect.
    let status = unsafe { libc::kill(pid, 0) };
    status == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Elsewhere no process is known to be dead, and nothing is removed.
#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::scratch;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The id of a process that has exited (and been reaped).
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn owners_are_read_from_both_name_shapes() {
        assert_eq!(owner("1234.0"), Some(1234));
        assert_eq!(owner("steps.csv.1234.7"), Some(1234));
        assert_eq!(owner("steps.csv"), None);
        assert_eq!(owner("0.1"), None);
    }

    #[test]
    fn only_what_dead_processes_left_is_removed() {
        let dir = scratch::dir("staging-stale");
        let dead = dead_pid();
        let me = std::process::id();
        for name in [format!("{PREFIX}{dead}.0"), format!("{PREFIX}{me}.99")] {
            std::fs::create_dir(dir.join(&name)).unwrap();
            std::fs::write(dir.join(name).join(".steps.csv.tmp"), "half").unwrap();
        }
        for name in [
            format!(".steps.csv.{dead}.0.tmp"),
            format!(".steps.csv.{me}.0.tmp"),
            "notes.txt".to_string(),
            format!(".notes.{dead}.tmp"),
        ] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
        remove_stale(&dir);
        let mut kept = vec![
            format!("{PREFIX}{me}.99"),
            format!(".steps.csv.{me}.0.tmp"),
            "notes.txt".to_string(),
            format!(".notes.{dead}.tmp"),
        ];
        kept.sort();
        assert_eq!(names(&dir), kept);
    }

    #[test]
    fn a_staging_dir_is_removed_when_dropped() {
        let dir = scratch::dir("staging-drop");
        let staging = StagingDir::create(&dir).unwrap();
        std::fs::write(staging.path().join("a.csv"), "a").unwrap();
        assert_eq!(names(&dir).len(), 1);
        assert!(open_dirs().contains(&staging.path().to_path_buf()));
        let path = staging.path().to_path_buf();
        drop(staging);
        assert!(names(&dir).is_empty());
        assert!(!open_dirs().contains(&path));
    }
}
