//! Shared by the bench targets: CPU-time clocks (the machine is shared, and wall time counts the
//! time other processes hold the cores), telling a benchmark run from a test run, the filter
//! given on the command line, and reading back the medians criterion measured in this run so
//! that each target can end with the ratios the performance targets are stated in.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

#[cfg(target_os = "linux")]
mod clock {
    use std::ffi::{c_int, c_long};
    use std::time::Duration;

    /// Linux's clock ids (`<linux/time.h>`).
    pub const PROCESS: c_int = 2;
    pub const THREAD: c_int = 3;

    #[repr(C)]
    struct Timespec {
        tv_sec: c_long,
        tv_nsec: c_long,
    }

    unsafe extern "C" {
        fn clock_gettime(clock: c_int, time: *mut Timespec) -> c_int;
    }

    /// The CPU time `clock` has counted.
    pub fn read(clock: c_int) -> Duration {
        let mut time = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `time` is a valid, writable timespec, and both clock ids exist on Linux.
        let status = unsafe { clock_gettime(clock, &mut time) };
        assert_eq!(status, 0, "clock_gettime({clock}) failed");
        Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
    }
}

#[cfg(not(target_os = "linux"))]
mod clock {
    //! Elsewhere, wall time stands in for CPU time.
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    pub const PROCESS: i32 = 2;
    pub const THREAD: i32 = 3;

    pub fn read(_: i32) -> Duration {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        EPOCH.get_or_init(Instant::now).elapsed()
    }
}

/// CPU time used so far by the calling thread.
pub fn thread_cpu_time() -> Duration {
    clock::read(clock::THREAD)
}

/// CPU time used so far by every thread of the process.
pub fn process_cpu_time() -> Duration {
    clock::read(clock::PROCESS)
}

/// A criterion measurement of the benchmarking thread's CPU time, in nanoseconds: on a shared
/// machine it leaves out the time the thread waited for a core (not the cache and memory
/// bandwidth other processes take).
pub struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats nanoseconds of CPU time as criterion formats wall time, with "cpu" in the unit.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical_ns {
            ns if ns < 1e3 => (1.0, "ns cpu"),
            ns if ns < 1e6 => (1e-3, "µs cpu"),
            ns if ns < 1e9 => (1e-6, "ms cpu"),
            _ => (1e-9, "s cpu"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (count, unit) = match *throughput {
            Throughput::Elements(n) => (n as f64, "Melem/s cpu"),
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (n as f64, "MB/s cpu"),
        };
        values.iter_mut().for_each(|ns| *ns = count * 1e3 / *ns);
        unit
    }

    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// Criterion options that take a value, so that the value is not mistaken for a filter.
const VALUE_OPTIONS: [&str; 19] = [
    "--save-baseline",
    "-s",
    "--baseline",
    "-b",
    "--baseline-lenient",
    "--load-baseline",
    "--format",
    "--profile-time",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
    "--color",
    "-c",
];

/// The command line as criterion sees it.
pub struct Args {
    /// `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and criterion then
    /// runs every benchmark once as a test.
    pub bench: bool,
    /// `--list`: name the benchmarks, run nothing.
    pub list: bool,
    /// The substring a benchmark's name must contain to run.
    pub filter: Option<String>,
}

impl Args {
    /// Parses the process's arguments the way criterion does, for the parts that matter here.
    pub fn from_env() -> Args {
        let args: Vec<String> = env::args().skip(1).collect();
        let mut filter = None;
        let mut skip_value = false;
        for arg in &args {
            if skip_value {
                skip_value = false;
            } else if VALUE_OPTIONS.contains(&arg.as_str()) {
                skip_value = true;
            } else if !arg.starts_with('-') {
                filter = Some(arg.clone());
            }
        }
        let has = |flag: &str| args.iter().any(|a| a == flag);
        Args {
            bench: has("--bench") && !has("--test"),
            list: has("--list"),
            filter,
        }
    }

    /// Whether the benchmark `name` passes the filter.
    pub fn selects(&self, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| name.contains(f))
    }
}

/// Criterion's output directory, found as criterion finds it (without its `cargo metadata`
/// fallback: benches run from the package root, where that gives `target` too).
fn criterion_home() -> PathBuf {
    if let Some(home) = env::var_os("CRITERION_HOME") {
        return home.into();
    }
    env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("criterion")
}

/// The median time of one iteration of `group/bench` in nanoseconds, if criterion measured it
/// after `since` (so that a filtered run never quotes an old figure).
pub fn criterion_median_ns(id: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_home().join(id).join("new").join("estimates.json");
    let modified = fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let estimates: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

/// One line of the summary: `a / b = r×`, and whether it meets `target` (a ratio the quotient
/// should not exceed) or by how much it misses; "n/a" when a figure was not measured.
pub fn ratio_line(
    label: &str,
    numerator: Option<f64>,
    denominator: Option<f64>,
    target: Option<f64>,
) {
    quotient_line(
        label,
        numerator.zip(denominator),
        target.map(Target::AtMost),
    );
}

/// As [`ratio_line`], for a ratio that should be at least `target`.
pub fn at_least_line(
    label: &str,
    numerator: Option<f64>,
    denominator: Option<f64>,
    target: Option<f64>,
) {
    quotient_line(
        label,
        numerator.zip(denominator),
        target.map(Target::AtLeast),
    );
}

/// What a quotient should be.
enum Target {
    AtMost(f64),
    AtLeast(f64),
}

fn quotient_line(label: &str, figures: Option<(f64, f64)>, target: Option<Target>) {
    let Some((n, d)) = figures else {
        println!("  {label:<50}       n/a  (not measured in this run)");
        return;
    };
    let ratio = n / d;
    let verdict = match target {
        None => String::new(),
        Some(Target::AtMost(t)) if ratio <= t => format!("  (target ≤ {t}×: met)"),
        Some(Target::AtMost(t)) => format!("  (target ≤ {t}×: missed by {:.2}×)", ratio / t),
        Some(Target::AtLeast(t)) if ratio >= t => format!("  (target ≥ {t}×: met)"),
        Some(Target::AtLeast(t)) => format!("  (target ≥ {t}×: missed by {:.2}×)", t / ratio),
    };
    println!("  {label:<50} {ratio:>9.2}×{verdict}");
}

/// One line of the summary for an absolute target: `value unit`, and whether it is at most
/// `target` or by how much it misses; "n/a" when it was not measured.
pub fn threshold_line(label: &str, value: Option<f64>, unit: &str, target: f64) {
    let Some(value) = value else {
        println!("  {label:<50}       n/a  (not measured in this run)");
        return;
    };
    let verdict = if value <= target {
        format!("(target ≤ {target} {unit}: met)")
    } else {
        format!(
            "(target ≤ {target} {unit}: missed by {:.2}×)",
            value / target
        )
    };
    println!("  {label:<50} {value:>9.3} {unit}  {verdict}");
}

/// The mid-size job of issue 14 (128 steps): `--samples 4096 --features 16 --layers 64,64
/// --epochs 2 --batch-size 64`.
pub const MIDSIZE_JOB: &[&str] = &[
    "--samples",
    "4096",
    "--features",
    "16",
    "--layers",
    "64,64",
    "--epochs",
    "2",
    "--batch-size",
    "64",
];

/// What `cargo test --all-targets` runs instead of [`MIDSIZE_JOB`]: the same network on 4
/// batches.
pub const MIDSIZE_SMOKE: &[&str] = &[
    "--samples",
    "256",
    "--features",
    "16",
    "--layers",
    "64,64",
    "--epochs",
    "1",
    "--batch-size",
    "64",
];
