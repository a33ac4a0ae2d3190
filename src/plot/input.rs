//! What the pictures are drawn from: the tables of a `--csv` directory, read back from its
//! files (`plot DIR`) or taken from an audit that has just run (`--plot`) through the same
//! schemas and as the same text, so that both ways draw the same numbers into the same bytes.

use std::path::{Path, PathBuf};

use crate::audit::{AuditConfig, AuditResult, Bin, verdict};
use crate::error::Error;
use crate::report::Schema;
use crate::report::audit_tables as tables;

/// One table as CSV text: its header and its records.
pub struct Records {
    path: PathBuf,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Records {
    /// Reads `name` from `dir`; `None` when the file is not there.
    fn read(dir: &Path, name: &str) -> Result<Option<Records>, Error> {
        let path = dir.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        let bad = |line: u64, message: String| Error::BadFile {
            path: path.clone(),
            line,
            column: None,
            message,
        };
        let mut reader = csv::Reader::from_path(&path).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(source) => Error::Io {
                path: path.clone(),
                source,
            },
            other => bad(1, format!("{other:?}")),
        })?;
        let header = reader
            .headers()
            .map_err(|e| bad(1, format!("unreadable header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader
            .records()
            .enumerate()
            .map(|(i, record)| {
                record
                    .map(|r| r.iter().map(str::to_string).collect())
                    .map_err(|e| bad(i as u64 + 2, e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Records { path, header, rows }))
    }

    /// The rows of a table as its CSV file would hold them.
    fn of<'r, R: 'r>(
        name: &str,
        schema: &Schema<'_, R>,
        rows: impl IntoIterator<Item = &'r R>,
    ) -> Records {
        Records {
            path: PathBuf::from(name),
            header: schema.header().into_iter().map(str::to_string).collect(),
            rows: rows.into_iter().map(|row| schema.record(row)).collect(),
        }
    }

    /// The column names.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The records, in file order.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    fn column(&self, name: &str) -> Result<usize, Error> {
        self.header
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::BadFile {
                path: self.path.clone(),
                line: 1,
                column: None,
                message: format!("no column `{name}`: is this a precision-audit --csv directory?"),
            })
    }

    /// Every cell of `name`, in file order.
    fn texts(&self, name: &str) -> Result<Vec<&str>, Error> {
        let column = self.column(name)?;
        Ok(self.rows.iter().map(|r| r[column].as_str()).collect())
    }

    /// Every cell of `name` parsed as `T` (numbers as CSV writes them: `nan`, `inf` too).
    fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Vec<T>, Error> {
        self.texts(name)?
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                text.parse().map_err(|_| Error::BadFile {
                    path: self.path.clone(),
                    line: i as u64 + 2,
                    column: Some(name.to_string()),
                    message: format!("`{text}` is not a number"),
                })
            })
            .collect()
    }
}

/// One lane's steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The lane (`f16`, `mixed-bf16`).
    pub lane: String,
    /// 1-based steps, in order.
    pub steps: Vec<u64>,
    /// The lane's batch loss at each step.
    pub loss: Vec<f64>,
    /// The reference's batch loss at each step.
    pub reference: Vec<f64>,
    /// The relative loss drift at each step.
    pub drift: Vec<f64>,
    /// Whether the step's update was skipped (loss scaling).
    pub skipped: Vec<bool>,
}

/// One op of one lane in `ops.csv`: its mean bits of error.
#[derive(Clone, Debug, PartialEq)]
pub struct OpErrors {
    /// The lane.
    pub lane: String,
    /// The op's name.
    pub op: String,
    /// Mean bits of local error.
    pub local: f64,
    /// Mean bits of accumulated error.
    pub accumulated: f64,
}

/// One bin of `exponents.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct BinCount {
    /// The lane.
    pub lane: String,
    /// `activations`, `gradients` or `updates`.
    pub role: String,
    /// The format the values are stored in.
    pub stored_in: String,
    /// The bin.
    pub bin: Bin,
    /// Values in it.
    pub count: u64,
}

/// Everything the pictures show about one audit.
pub struct Run {
    /// Lanes in report order (summary.csv's).
    pub lanes: Vec<String>,
    /// The reference's name (`mpfr113`), from config.csv; `reference` when unknown.
    pub reference: String,
    /// summary.csv.
    pub summary: Records,
    /// config.csv's (key, value) rows; empty when absent.
    pub config: Vec<(String, String)>,
    /// Per lane, in lane order.
    pub series: Vec<Series>,
    /// ops.csv, in file order.
    pub ops: Vec<OpErrors>,
    /// exponents.csv, in file order; `None` for a directory written before it existed.
    pub exponents: Option<Vec<BinCount>>,
    /// (lane, verdict), when known.
    pub verdicts: Vec<(String, String)>,
}

/// The tables a run is drawn from.
struct Tables {
    summary: Records,
    steps: Records,
    ops: Records,
    exponents: Option<Records>,
    config: Option<Records>,
}

impl Run {
    /// Reads the `--csv` directory `dir`.
    pub fn read(dir: &Path) -> Result<Run, Error> {
        let not_csv = |missing: &str| Error::InvalidData {
            what: dir.display().to_string(),
            message: format!(
                "not a directory written by precision-audit --csv (it has no {missing})"
            ),
        };
        if !dir.is_dir() {
            return Err(Error::InvalidData {
                what: dir.display().to_string(),
                message: "no such directory: expected one written by precision-audit --csv".into(),
            });
        }
        let required = |name: &str| Records::read(dir, name)?.ok_or_else(|| not_csv(name));
        Run::from_tables(Tables {
            summary: required("summary.csv")?,
            steps: required("steps.csv")?,
            ops: required("ops.csv")?,
            exponents: Records::read(dir, "exponents.csv")?,
            config: Records::read(dir, "config.csv")?,
        })
    }

    /// The audit that just ran, with the steps it streamed (kept by [`KeepSteps`]).
    pub fn from_audit(
        config: &AuditConfig,
        result: &AuditResult,
        steps: Vec<Vec<String>>,
    ) -> Result<Run, Error> {
        let formats = &result.formats;
        let mut run = Run::from_tables(Tables {
            summary: Records::of("summary.csv", &tables::summary(), formats),
            steps: Records {
                path: PathBuf::from("steps.csv"),
                header: tables::steps()
                    .header()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                rows: steps,
            },
            ops: Records::of("ops.csv", &tables::ops(), &tables::op_rows(formats)),
            exponents: Some(Records::of(
                "exponents.csv",
                &tables::exponents(),
                &tables::exponent_rows(formats),
            )),
            config: Some(Records::of(
                "config.csv",
                &tables::config(),
                &tables::config_rows(config),
            )),
        })?;
        run.verdicts = formats
            .iter()
            .map(|f| (f.lane.to_string(), verdict(f, formats)))
            .collect();
        Ok(run)
    }

    /// Takes the verdicts from a saved `--output json` of the same audit.
    pub fn read_verdicts(&mut self, json: &Path) -> Result<(), Error> {
        let invalid = |message: String| Error::InvalidData {
            what: json.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(json).map_err(|source| Error::Io {
            path: json.to_path_buf(),
            source,
        })?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("not JSON ({e}): expected --output json")))?;
        let verdicts = value["verdicts"].as_object().ok_or_else(|| {
            invalid("no `verdicts`: expected precision-audit --output json".into())
        })?;
        self.verdicts = verdicts
            .iter()
            .map(|(lane, text)| (lane.clone(), text.as_str().unwrap_or_default().to_string()))
            .collect();
        Ok(())
    }

    fn from_tables(t: Tables) -> Result<Run, Error> {
        let lanes: Vec<String> = t
            .summary
            .texts("format")?
            .into_iter()
            .map(str::to_string)
            .collect();
        let config: Vec<(String, String)> = match &t.config {
            Some(config) => config
                .texts("key")?
                .into_iter()
                .zip(config.texts("value")?)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            None => Vec::new(),
        };
        let reference = config
            .iter()
            .find(|(k, _)| k == "reference")
            .map_or_else(|| "reference".to_string(), |(_, v)| v.clone());
        Ok(Run {
            series: series(&t.steps, &lanes)?,
            ops: ops(&t.ops)?,
            exponents: t.exponents.as_ref().map(exponents).transpose()?,
            lanes,
            reference,
            summary: t.summary,
            config,
            verdicts: Vec::new(),
        })
    }
}

fn series(steps: &Records, lanes: &[String]) -> Result<Vec<Series>, Error> {
    let format = steps.texts("format")?;
    let step: Vec<u64> = steps.parsed("step")?;
    let loss: Vec<f64> = steps.parsed("loss")?;
    let reference: Vec<f64> = steps.parsed("reference_loss")?;
    let drift: Vec<f64> = steps.parsed("rel_drift")?;
    let skipped: Vec<bool> = steps.parsed("skipped")?;
    Ok(lanes
        .iter()
        .map(|lane| {
            let rows: Vec<usize> = (0..format.len()).filter(|&i| format[i] == lane).collect();
            Series {
                lane: lane.clone(),
                steps: rows.iter().map(|&i| step[i]).collect(),
                loss: rows.iter().map(|&i| loss[i]).collect(),
                reference: rows.iter().map(|&i| reference[i]).collect(),
                drift: rows.iter().map(|&i| drift[i]).collect(),
                skipped: rows.iter().map(|&i| skipped[i]).collect(),
            }
        })
        .collect())
}

fn ops(ops: &Records) -> Result<Vec<OpErrors>, Error> {
    let lane = ops.texts("format")?;
    let op = ops.texts("op")?;
    let local: Vec<f64> = ops.parsed("local_mean_bits")?;
    let accumulated: Vec<f64> = ops.parsed("acc_mean_bits")?;
    Ok((0..lane.len())
        .map(|i| OpErrors {
            lane: lane[i].to_string(),
            op: op[i].to_string(),
            local: local[i],
            accumulated: accumulated[i],
        })
        .collect())
}

fn exponents(table: &Records) -> Result<Vec<BinCount>, Error> {
    let lane = table.texts("format")?;
    let role = table.texts("role")?;
    let stored_in = table.texts("stored_in")?;
    let bin = table.texts("bin")?;
    let exponent = table.texts("exponent")?;
    let count: Vec<u64> = table.parsed("count")?;
    (0..lane.len())
        .map(|i| {
            let bin = match (bin[i], exponent[i].parse()) {
                ("zero", _) => Bin::Zero,
                ("inf", _) => Bin::Inf,
                ("nan", _) => Bin::Nan,
                ("finite", Ok(e)) => Bin::Finite(e),
                (other, _) => {
                    return Err(Error::BadFile {
                        path: table.path.clone(),
                        line: i as u64 + 2,
                        column: Some("bin".into()),
                        message: format!(
                            "`{other}` with exponent `{}`: expected zero, inf, nan, or finite \
                             with an integer exponent",
                            exponent[i]
                        ),
                    });
                }
            };
            Ok(BinCount {
                lane: lane[i].to_string(),
                role: role[i].to_string(),
                stored_in: stored_in[i].to_string(),
                bin,
                count: count[i],
            })
        })
        .collect()
}
