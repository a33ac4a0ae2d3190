//! The command line: parse, run, print, exit code. No math and no tables here.

mod audit_cmd;
mod grid_cmd;
mod merge_cmd;
mod plot_cmd;
mod progress;
mod study_cmd;
mod tables_cmd;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::error::Error;
use crate::flags::{Cli, Command};

/// Exit code for an internal failure (a bug): a panic is caught and reported as this.
const INTERNAL: u8 = 1;

/// Exit code for bad input or usage.
const BAD_INPUT: u8 = 2;

/// Exit code when a finding was asked to fail the run (`--fail-on`, a `check` regression).
const FINDING: u8 = 3;

/// Prints `text`; a closed pipe (`| head`) is not an error, any other failed write is (exit 2),
/// so that a report that did not reach its reader never passes for one that did.
fn print(out: &mut dyn Write, text: &str) -> Result<(), Error> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
            path: "<stdout>".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Writes a line to stderr. A failed write is ignored: a message that cannot be shown must not
/// change the exit code (`eprintln!` would panic, and the panic would turn exit 2 into 101).
fn warn(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "precision-audit: {line}");
}

/// Prints the estimate of a large run to stderr before it starts (more than
/// [`LARGE_BYTES`](crate::resources::LARGE_BYTES) of memory or
/// [`LARGE_MULTIPLY_ADDS`](crate::resources::LARGE_MULTIPLY_ADDS)), and warns of a step count
/// beyond [`ABSURD_STEPS`](crate::resources::ABSURD_STEPS).
fn announce(plan: &crate::flags::config::Plan) {
    use crate::resources::ABSURD_STEPS;
    let estimate = &plan.estimate;
    if estimate.steps > ABSURD_STEPS {
        warn(&format!(
            "warning: {} steps (--epochs × batches of --batch-size) will not finish in any \
             reasonable time",
            estimate.steps
        ));
    }
    if estimate.is_large() || estimate.steps > ABSURD_STEPS {
        let available = plan
            .available
            .map_or_else(|| "unknown".to_string(), |a| a.to_string());
        warn(&format!(
            "estimate: {}; memory available: {available}; by part:\n{}",
            estimate.summary(),
            estimate.breakdown().trim_end()
        ));
    }
}

/// Parses the command line. `--help` and `--version` print to stdout and fail (exit 2) when that
/// write fails; usage errors print to stderr (ignoring a failed write) and exit 2.
fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|error| {
        let printed = error.print();
        if error.use_stderr() {
            return ExitCode::from(BAD_INPUT);
        }
        match printed {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                warn(&format!("error: <stdout>: {e}"));
                ExitCode::from(BAD_INPUT)
            }
            _ => ExitCode::SUCCESS,
        }
    })
}

/// On SIGINT or SIGTERM: removes the staged `--csv` files (waiting for a commit in progress
/// to finish) and exits 128 + the signal's number, 130 or 143, as a shell reports it.
#[cfg(unix)]
fn handle_interrupts() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        // Without the handler the signal ends the process as by default; the next run into
        // the directory removes what it staged.
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            warn(&format!("interrupted by {name}"));
            let _held = crate::data::staging::discard_all();
            std::process::exit(128 + signal);
        }
    });
}

#[cfg(not(unix))]
fn handle_interrupts() {}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    handle_interrupts();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match std::panic::catch_unwind(|| run(&cli)) {
        Ok(code) => code,
        // The panic hook has already printed the message and location.
        Err(_) => {
            warn("internal error; please report it with the command line");
            ExitCode::from(INTERNAL)
        }
    }
}

fn run(cli: &Cli) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let outcome = match &cli.command {
        Some(Command::Formats(args)) => print(&mut stdout, &tables_cmd::formats(args)).map(|()| 0),
        Some(Command::Round(args)) => {
            tables_cmd::round(args).and_then(|t| print(&mut stdout, &t).map(|()| 0))
        }
        Some(Command::Quantize(args)) => {
            tables_cmd::quantize(args).and_then(|t| print(&mut stdout, &t).map(|()| 0))
        }
        Some(Command::Check(args)) => audit_cmd::check(args, &mut stdout),
        Some(Command::Plot(args)) => plot_cmd::plot(args, &mut stdout),
        Some(Command::Merge(args)) => merge_cmd::merge(args, &mut stdout),
        None if !cli.audit.grid.is_empty() => {
            let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
            grid_cmd::grid(&cli.audit, &argv, &mut stdout)
        }
        None => match (cli.audit.seeds, cli.audit.orders) {
            (Some(seeds), _) => study_cmd::sweep(&cli.audit, seeds, &mut stdout),
            (_, Some(orders)) => study_cmd::orders(&cli.audit, orders, &mut stdout),
            _ if cli.audit.blame => study_cmd::blame(&cli.audit, &mut stdout),
            _ => audit_cmd::audit(&cli.audit, &mut stdout),
        },
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            warn(&format!("error: {error}"));
            ExitCode::from(BAD_INPUT)
        }
    }
}
