//! `--seeds N` and `--orders K`: the studies that say whether a drift is larger than the noise.

use std::io::Write;
use std::path::Path;

use crate::cli::args::{AuditArgs, Output};
use crate::cli::config::audit_config;
use crate::data::StagedFile;
use crate::error::Error;
use crate::report::csv_out::{number, write_rows};
use crate::report::json_out;
use crate::report::study_report as report;
use crate::study::orders::{run_orders, summarize_orders};
use crate::study::sweep::{summarize_sweep, sweep};

/// A CSV file to write: name, header, rows.
type CsvFile<'a> = (&'a str, &'a [&'a str], Vec<Vec<String>>);

/// Writes the named CSV files into `dir`: all of them, or none.
fn write_files(dir: &Path, files: &[CsvFile<'_>]) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut staged = Vec::new();
    for (name, header, rows) in files {
        let mut file = StagedFile::create(&dir.join(name))?;
        write_rows(file.writer(), header, rows).map_err(|e| file.error(e))?;
        staged.push(file);
    }
    crate::data::commit_all(staged)
}

fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut bytes = Vec::new();
    // Writing into memory cannot fail.
    let _ = write_rows(&mut bytes, header, rows);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs a seed sweep of `seeds` seeds.
pub fn run_sweep(args: &AuditArgs, seeds: u32, stdout: &mut dyn Write) -> Result<u8, Error> {
    let config = audit_config(args)?;
    let runs = sweep(
        &config,
        seeds as usize,
        args.init_params.is_none(),
        config.threads,
    );
    let formats = summarize_sweep(&runs);
    let rows = report::sweep_rows(&runs);
    let summary = report::sweep_summary_rows(&formats);
    if let Some(dir) = &args.csv {
        write_files(
            dir,
            &[
                ("sweep.csv", report::SWEEP_HEADER, rows.clone()),
                (
                    "sweep_summary.csv",
                    report::SWEEP_SUMMARY_HEADER,
                    summary.clone(),
                ),
            ],
        )?;
    }
    let text = match args.output {
        Output::Table => report::sweep_text(&config.reference.name(), &runs, &formats),
        Output::Csv => csv_text(report::SWEEP_SUMMARY_HEADER, &summary),
        // The audit's JSON convention (report/json_out.rs): the CSV tables, formats named as
        // everywhere else and non-finite values as "nan"/"inf" strings, not `null`.
        Output::Json => json_out::render(&serde_json::json!({
            "runs": json_out::table(report::SWEEP_HEADER, &rows),
            "formats": json_out::table(report::SWEEP_SUMMARY_HEADER, &summary),
        })),
    };
    crate::cli::print(stdout, &text)?;
    Ok(0)
}

/// Runs the order study with `orders` summation orders.
pub fn run_order_study(args: &AuditArgs, orders: u32, stdout: &mut dyn Write) -> Result<u8, Error> {
    let config = audit_config(args)?;
    let results = run_orders(&config, u64::from(orders), config.threads)?;
    let (formats, ops) = summarize_orders(&results);
    let per_order: Vec<Vec<String>> = results
        .iter()
        .enumerate()
        .flat_map(|(index, result)| {
            result.formats.iter().map(move |f| {
                vec![
                    (index + 1).to_string(),
                    f.format.name().to_string(),
                    number(f.full_loss),
                    number(result.reference_full_loss),
                ]
            })
        })
        .collect();
    let losses: Vec<Vec<f64>> = (0..formats.len())
        .map(|i| results.iter().map(|r| r.formats[i].full_loss).collect())
        .collect();
    let summary = report::orders_summary_rows(&formats, &losses);
    let op_rows = report::orders_ops_rows(&ops);
    if let Some(dir) = &args.csv {
        write_files(
            dir,
            &[
                ("orders.csv", report::ORDERS_HEADER, per_order.clone()),
                (
                    "orders_summary.csv",
                    report::ORDERS_SUMMARY_HEADER,
                    summary.clone(),
                ),
                ("orders_ops.csv", report::ORDERS_OPS_HEADER, op_rows.clone()),
            ],
        )?;
    }
    let text = match args.output {
        Output::Table => report::orders_text(u64::from(orders), &formats, &ops),
        Output::Csv => csv_text(report::ORDERS_SUMMARY_HEADER, &summary),
        Output::Json => json_out::render(&serde_json::json!({
            "orders": json_out::table(report::ORDERS_HEADER, &per_order),
            "formats": json_out::table(report::ORDERS_SUMMARY_HEADER, &summary),
            "ops": json_out::table(report::ORDERS_OPS_HEADER, &op_rows),
        })),
    };
    crate::cli::print(stdout, &text)?;
    Ok(0)
}
