//! A `--csv` directory: every file (tables, parameters as CSV and safetensors, pictures) is
//! staged in a private staging directory inside it and all
//! are committed together, under a lock, replacing the previous result set whole (its
//! `manifest.csv` says what it was), so the directory never holds a half-written file or a mix
//! of two runs' files; an interrupted run leaves at most its staging directory, which a signal
//! handler or the next run into the directory removes.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::data::params::write_params_to;
use crate::data::{StagedFile, StagingDir, commit_all, replaceable, write_model_safetensors};
use crate::error::Error;
use crate::model::{Activation, ParamSet};
use crate::report::saved::{MANIFEST, Manifest, ManifestRow, manifest};
use crate::report::schema::Schema;

/// The files of one report, staged until [`CsvDir::commit`].
pub struct CsvDir {
    dir: PathBuf,
    staged: Vec<StagedFile>,
    // Declared after `staged`, so that the files are dropped before their directory.
    staging: StagingDir,
}

impl CsvDir {
    /// Starts a report into `dir` (created if missing): creates its staging directory, after
    /// removing those of processes that died before they could. A `dir` that is a file or a
    /// symbolic link to nothing is refused with a message that says so.
    pub fn create(dir: &Path) -> Result<CsvDir, Error> {
        refuse_non_directory(dir)?;
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        replaceable(&dir.join(MANIFEST))?;
        Ok(CsvDir {
            dir: dir.to_path_buf(),
            staged: Vec::new(),
            staging: StagingDir::create(dir)?,
        })
    }

    /// Checks, before the work starts, that the files `names` can be put in place (no
    /// directory is in the way), so that a report does not fail only once it is complete.
    pub fn expect<S: AsRef<str>>(&self, names: &[S]) -> Result<(), Error> {
        names
            .iter()
            .try_for_each(|name| replaceable(&self.dir.join(name.as_ref())))
    }

    fn stage(&self, name: &str) -> Result<StagedFile, Error> {
        StagedFile::staged_in(&self.dir.join(name), self.staging.path())
    }

    /// Stages the table `name` with these rows.
    pub fn table<'r, R: 'r>(
        &mut self,
        name: &str,
        schema: &Schema<'_, R>,
        rows: impl IntoIterator<Item = &'r R>,
    ) -> Result<(), Error> {
        let mut file = self.stage(name)?;
        schema
            .write_csv(file.writer(), rows)
            .map_err(|e| file.error(e))?;
        self.staged.push(file);
        Ok(())
    }

    /// Stages a parameter file (layer,tensor,row,column,value).
    pub fn params(&mut self, name: &str, params: &ParamSet) -> Result<(), Error> {
        let mut file = self.stage(name)?;
        write_params_to(file.writer(), params).map_err(|e| file.error(e))?;
        self.staged.push(file);
        Ok(())
    }

    /// Stages the parameters as a safetensors file (PyTorch's nn.Sequential layout, f64).
    pub fn safetensors(
        &mut self,
        name: &str,
        params: &ParamSet,
        activation: Activation,
    ) -> Result<(), Error> {
        let mut file = self.stage(name)?;
        write_model_safetensors(file.writer(), params, activation).map_err(|e| file.error(e))?;
        self.staged.push(file);
        Ok(())
    }

    /// Stages a text file (a picture, a page) with this content.
    pub fn text(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let mut file = self.stage(name)?;
        file.writer()
            .write_all(text.as_bytes())
            .map_err(|e| file.error(e))?;
        self.staged.push(file);
        Ok(())
    }

    /// Stages the table `name`, header first, to be filled row by row as a run goes; hand it
    /// back with [`CsvDir::add`] before committing.
    pub fn stream<'s, R>(&self, name: &str, schema: Schema<'s, R>) -> Result<Stream<'s, R>, Error> {
        let mut file = self.stage(name)?;
        schema
            .write_csv(file.writer(), [])
            .map_err(|e| file.error(e))?;
        Ok(Stream { file, schema })
    }

    /// Takes a streamed table back into the report.
    pub fn add<R>(&mut self, stream: Stream<'_, R>) {
        self.staged.push(stream.file);
    }

    /// Puts every staged file in place, or none, beside what the directory already holds: no
    /// manifest is written and nothing is removed. For files drawn from a result set (the
    /// pictures of `plot DIR`), which must not replace it.
    pub fn commit_beside(self) -> Result<(), Error> {
        let CsvDir {
            dir,
            staged,
            staging,
        } = self;
        let _lock = lock(&dir)?;
        let held = staging.hold();
        let committed = commit_all(staged);
        drop(held);
        committed
    }

    /// Puts every staged file in place, or none, and removes the staging directory: the new
    /// result set replaces the previous one whole. Under an advisory lock on the directory (so
    /// that two runs commit one after the other, never interleaved), the data files are put in
    /// place, the files the previous `manifest.csv` lists that this set does not write are
    /// removed, and the new `manifest.csv`, the size and checksum of every other file, comes
    /// last. A SIGINT or SIGTERM that arrives meanwhile is acted on once the commit is done.
    pub fn commit(mut self) -> Result<(), Error> {
        let mut listed: Vec<ManifestRow> = Vec::with_capacity(self.staged.len());
        for file in &mut self.staged {
            let name = file
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            listed.push((name, file.digest()?));
        }
        let mut manifest_file = self.stage(MANIFEST)?;
        manifest()
            .write_csv(manifest_file.writer(), &listed)
            .map_err(|e| manifest_file.error(e))?;
        let CsvDir {
            dir,
            staged,
            staging,
        } = self;
        let _lock = lock(&dir)?;
        // A previous manifest that cannot be read names nothing to remove.
        let previous: Vec<String> = Manifest::read(&dir)
            .map(|m| m.files().map(str::to_string).collect())
            .unwrap_or_default();
        let held = staging.hold();
        let committed = commit_all(staged).and_then(|()| {
            for name in previous {
                if !listed.iter().any(|(file, _)| *file == name) {
                    remove_stale(&dir.join(name))?;
                }
            }
            manifest_file.commit()
        });
        drop(held);
        committed
    }
}

/// Refuses an output directory that exists as something else than a directory, or is a
/// symbolic link to nothing (which `create_dir_all` reports only as "File exists").
fn refuse_non_directory(dir: &Path) -> Result<(), Error> {
    let Ok(link) = std::fs::symlink_metadata(dir) else {
        return Ok(());
    };
    let refuse = |what: String| {
        Err(Error::InvalidFlag {
            flag: "--csv".into(),
            message: format!("{} {what}: it must be a directory", dir.display()),
        })
    };
    match std::fs::metadata(dir) {
        Ok(target) if target.is_dir() => Ok(()),
        Ok(target) if target.is_file() => refuse("is a regular file".into()),
        Ok(_) => refuse("is not a directory".into()),
        Err(_) if link.file_type().is_symlink() => {
            let target = std::fs::read_link(dir).unwrap_or_default();
            refuse(format!(
                "is a symbolic link to {}, which does not exist",
                target.display()
            ))
        }
        Err(_) => Ok(()),
    }
}

/// Takes an exclusive advisory lock (flock) on the directory itself, waiting for another
/// run's commit to finish; released when the handle is dropped or the process ends.
fn lock(dir: &Path) -> Result<File, Error> {
    let io_error = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let handle = File::open(dir).map_err(io_error)?;
    handle.lock().map_err(io_error)?;
    Ok(handle)
}

/// Removes a file of the previous result set; one already gone is fine.
fn remove_stale(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(source) if source.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
        _ => Ok(()),
    }
}

/// A table written row by row while a run goes, staged like the rest of its report.
pub struct Stream<'s, R> {
    file: StagedFile,
    schema: Schema<'s, R>,
}

impl<R> Stream<'_, R> {
    /// Appends rows.
    pub fn rows(&mut self, rows: &[R]) -> Result<(), Error> {
        let bytes = self.schema.csv_rows(rows).map_err(|e| self.file.error(e))?;
        self.file
            .writer()
            .write_all(&bytes)
            .map_err(|e| self.file.error(e))
    }
}
