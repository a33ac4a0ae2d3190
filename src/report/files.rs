//! A `--csv` directory: every file is staged in a private staging directory inside it and all
//! are committed together, so the directory never holds a half-written file or a mix of two
//! runs' files; an interrupted run leaves at most its staging directory, which a signal handler
//! or the next run into the directory removes.

use std::path::{Path, PathBuf};

use crate::data::params::write_params_to;
use crate::data::{StagedFile, StagingDir, commit_all};
use crate::error::Error;
use crate::model::ParamSet;
use crate::report::saved::{MANIFEST, ManifestRow, manifest};
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
    /// removing those of processes that died before they could.
    pub fn create(dir: &Path) -> Result<CsvDir, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(CsvDir {
            dir: dir.to_path_buf(),
            staged: Vec::new(),
            staging: StagingDir::create(dir)?,
        })
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

    /// Puts every staged file in place, or none, and removes the staging directory. The last
    /// file put in place is `manifest.csv`, the size and checksum of every other one. A SIGINT
    /// or SIGTERM that arrives meanwhile is acted on once the commit is done.
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
        self.table(MANIFEST, &manifest(), &listed)?;
        let CsvDir {
            staged, staging, ..
        } = self;
        let held = staging.hold();
        let committed = commit_all(staged);
        drop(held);
        committed
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
