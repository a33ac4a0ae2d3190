//! The `precision-audit` binary: a thin shell over the library's command line.

fn main() -> std::process::ExitCode {
    precision_audit::cli::main()
}
