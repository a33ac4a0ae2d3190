//! Kernel benchmarks: a sequential matmul in every format and accumulator, against a plain f32
//! loop of the kernel's own loop order, MPFR matmuls against MPFR's in-place fma, and the
//! double-double reference against the MPFR reference on the mid-size job.
//!
//! Sizes: 256×256×256 for f16, bf16, f32, f64 and double-double; 64×64×64 for MPFR (a 256³ MPFR matmul is
//! 16.7 M fmas, about 2 s each), with the f32 and f64 cases repeated at 64³ so that MPFR
//! has a baseline of the same shape. Times are the benchmarking thread's CPU time, not wall
//! time (see `support::ThreadCpuTime`); throughput is in multiply-adds (n³ per matmul). The
//! summary at the end prints ns per multiply-add and the ratios the targets are stated in.
//! The references train the mid-size job alone, unobserved, as an audit's reference does;
//! each is timed in thread CPU time, three runs alternating (`reference_midsize` as a filter).

#[allow(dead_code)] // each target uses its own part of the helpers
mod support;

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use clap::Parser;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use half::{bf16, f16};
use precision_audit::audit::AuditConfig;
use precision_audit::flags::{Cli, audit_config};
use precision_audit::format::{DoubleDouble, Mpfr, Scalar};
use precision_audit::kernel::{Accumulate, OpKind, Order, Reduction, Tensor, eval};
use precision_audit::train::Trainer;
use rug::{Assign, Float};

use support::{
    Args, MIDSIZE_JOB, MIDSIZE_SMOKE, ThreadCpuTime, criterion_median_ns, ratio_line,
    thread_cpu_time, threshold_line,
};

/// The size of the f16/bf16/f32/f64 matmuls.
const N: usize = 256;
/// The size of the MPFR matmuls and their baselines.
const N_MPFR: usize = 64;
/// Terms of the raw in-place fma loop: one 64³ matmul's inner products laid end to end would be
/// 64 times more, but the per-term cost does not depend on the length.
const FMA_TERMS: usize = 4096;

const MATMUL: OpKind = OpKind::MatMul {
    lhs_transposed: false,
    rhs_transposed: false,
};

fn sequential(accumulate: Accumulate) -> Reduction {
    Reduction {
        order: Order::Sequential,
        accumulate,
    }
}

/// splitmix64, mapped to [−1, 1): inputs that are the same for every format up to its rounding.
fn uniform(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// An n × n matrix of uniform values rounded to `S`; `seed` tells A from B.
fn matrix<S: Scalar>(n: usize, seed: u64, ctx: &S::Context) -> Tensor<S> {
    let mut state = seed;
    Tensor::from_shape_simple_fn((n, n), || S::from_f64(uniform(&mut state), ctx))
}

/// C = A·B over row-major slices in the kernel's loop order: i, then j, then the inner
/// product over k left to right, one fused multiply-add per term.
fn native_matmul_fma(a: &[f32], b: &[f32], n: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut acc = 0.0f32;
            for k in 0..n {
                acc = a[i * n + k].mul_add(b[k * n + j], acc);
            }
            c[i * n + j] = acc;
        }
    }
    c
}

/// The same loop with a separate multiply and add (two roundings per term): what the loop costs
/// when the fma is not a call into libm's `fmaf` (see the README).
fn native_matmul_unfused(a: &[f32], b: &[f32], n: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut acc = 0.0f32;
            for k in 0..n {
                acc += a[i * n + k] * b[k * n + j];
            }
            c[i * n + j] = acc;
        }
    }
    c
}

/// Benchmarks `eval` of one n³ matmul in `S`, measuring for `seconds` (ten samples of the slow
/// cases need more than the group's default).
fn bench_eval<S: Scalar>(
    group: &mut BenchmarkGroup<'_, ThreadCpuTime>,
    name: &str,
    n: usize,
    accumulate: Accumulate,
    ctx: S::Context,
    seconds: u64,
) {
    let a = matrix::<S>(n, 1, &ctx);
    let b = matrix::<S>(n, 2, &ctx);
    group.measurement_time(Duration::from_secs(seconds));
    group.bench_function(name, |bencher| {
        bencher.iter(|| {
            eval(
                MATMUL,
                &[black_box(&a), black_box(&b)],
                sequential(accumulate),
                &ctx,
            )
        })
    });
}

/// Benchmarks the plain f32 loops at size n, after checking that the fused one computes
/// exactly what `eval::<f32>` does (same order, same roundings).
fn bench_native(group: &mut BenchmarkGroup<'_, ThreadCpuTime>, n: usize, with_unfused: bool) {
    let a = matrix::<f32>(n, 1, &());
    let b = matrix::<f32>(n, 2, &());
    let (a_flat, b_flat) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    let kernel = eval(MATMUL, &[&a, &b], sequential(Accumulate::Same), &());
    assert_eq!(
        native_matmul_fma(a_flat, b_flat, n),
        kernel.as_slice().expect("standard layout"),
        "the native baseline must round exactly as the kernel does"
    );
    group.bench_function("f32_native_fma", |bencher| {
        bencher.iter(|| native_matmul_fma(black_box(a_flat), black_box(b_flat), n))
    });
    if with_unfused {
        group.bench_function("f32_native_unfused", |bencher| {
            bencher.iter(|| native_matmul_unfused(black_box(a_flat), black_box(b_flat), n))
        });
    }
}

fn matmul_group<'c>(
    c: &'c mut Criterion<ThreadCpuTime>,
    n: usize,
) -> BenchmarkGroup<'c, ThreadCpuTime> {
    let mut group = c.benchmark_group(format!("matmul_{n}"));
    group
        .throughput(Throughput::Elements((n * n * n) as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group
}

fn matmul_256(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = matmul_group(c, N);
    bench_native(&mut group, N, true);
    bench_eval::<f32>(&mut group, "f32_eval", N, Accumulate::Same, (), 3);
    bench_eval::<f16>(&mut group, "f16_acc_f32", N, Accumulate::F32, (), 3);
    bench_eval::<f16>(&mut group, "f16_acc_same", N, Accumulate::Same, (), 8);
    bench_eval::<bf16>(&mut group, "bf16_acc_f32", N, Accumulate::F32, (), 3);
    bench_eval::<bf16>(&mut group, "bf16_acc_same", N, Accumulate::Same, (), 8);
    bench_eval::<f64>(&mut group, "f64_eval", N, Accumulate::Same, (), 3);
    bench_eval::<DoubleDouble>(&mut group, "double_double_eval", N, Accumulate::Same, (), 3);
    group.finish();
}

fn matmul_64(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = matmul_group(c, N_MPFR);
    bench_native(&mut group, N_MPFR, false);
    bench_eval::<f32>(&mut group, "f32_eval", N_MPFR, Accumulate::Same, (), 2);
    bench_eval::<f64>(&mut group, "f64_eval", N_MPFR, Accumulate::Same, (), 2);
    bench_eval::<Mpfr>(&mut group, "mpfr113_eval", N_MPFR, Accumulate::Same, 113, 3);
    bench_eval::<Mpfr>(&mut group, "mpfr256_eval", N_MPFR, Accumulate::Same, 256, 3);
    group.finish();
}

/// MPFR's floor: `acc += &a * &b` (one `mpfr_fma`) on preallocated values, no allocation.
fn mpfr_fma(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("mpfr_fma");
    group
        .throughput(Throughput::Elements(FMA_TERMS as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for bits in [113u32, 256] {
        let mut state = 3;
        let mut values = || -> Vec<Float> {
            (0..FMA_TERMS)
                .map(|_| Float::with_val(bits, uniform(&mut state)))
                .collect()
        };
        let (a, b) = (values(), values());
        let mut acc = Float::new(bits);
        group.bench_function(format!("in_place_{bits}"), |bencher| {
            bencher.iter(|| {
                acc.assign(0);
                for (x, y) in a.iter().zip(&b) {
                    acc += x * y;
                }
                black_box(&acc);
            })
        });
        // The same single rounding another way: the product is exact in 2·bits, so rounding
        // only the sum is what an fma does. Not a target, a lead for the kernel's author.
        let mut product = Float::new(2 * bits);
        group.bench_function(format!("exact_product_then_add_{bits}"), |bencher| {
            bencher.iter(|| {
                acc.assign(0);
                for (x, y) in a.iter().zip(&b) {
                    product.assign(x * y);
                    acc += &product;
                }
                black_box(&acc);
            })
        });
    }
    group.finish();
}

/// ns per multiply-add of `group/bench`, measured in this run.
fn ns_per_mac(id: &str, n: usize, since: SystemTime) -> Option<f64> {
    criterion_median_ns(id, since).map(|ns| ns / (n * n * n) as f64)
}

fn summary(since: SystemTime, references: Option<(f64, f64)>) {
    let mac = |id: &str| {
        let n = if id.starts_with("matmul_64/") {
            N_MPFR
        } else {
            N
        };
        ns_per_mac(id, n, since)
    };
    let fma = |bits: u32| {
        criterion_median_ns(&format!("mpfr_fma/in_place_{bits}"), since)
            .map(|ns| ns / FMA_TERMS as f64)
    };
    println!("\nSummary (medians of this run), ns of CPU time per multiply-add:");
    let rows = [
        "matmul_256/f32_native_fma",
        "matmul_256/f32_native_unfused",
        "matmul_256/f32_eval",
        "matmul_256/f16_acc_f32",
        "matmul_256/f16_acc_same",
        "matmul_256/bf16_acc_f32",
        "matmul_256/bf16_acc_same",
        "matmul_256/f64_eval",
        "matmul_256/double_double_eval",
        "matmul_64/f32_native_fma",
        "matmul_64/f32_eval",
        "matmul_64/f64_eval",
        "matmul_64/mpfr113_eval",
        "matmul_64/mpfr256_eval",
    ];
    for id in rows {
        match mac(id) {
            Some(ns) => println!("  {id:<50} {ns:>9.3}"),
            None => println!("  {id:<50}       n/a"),
        }
    }
    for bits in [113, 256] {
        for way in ["in_place", "exact_product_then_add"] {
            let id = format!("mpfr_fma/{way}_{bits}");
            match criterion_median_ns(&id, since) {
                Some(ns) => println!("  {id:<50} {:>9.3}", ns / FMA_TERMS as f64),
                None => println!("  {id:<50}       n/a"),
            }
        }
    }
    if let Some((mpfr, double_double)) = references {
        println!(
            "  {:<50} {mpfr:>9.3} s",
            "reference_midsize/mpfr (median, cpu)"
        );
        println!(
            "  {:<50} {double_double:>9.3} s",
            "reference_midsize/double_double (median, cpu)"
        );
    }
    println!("\nIssue 14 targets (kernels at vector speed, a cheap reference):");
    for (id, target) in [
        ("matmul_256/f16_acc_f32", 0.15),
        ("matmul_256/bf16_acc_f32", 0.15),
        ("matmul_256/f32_eval", 0.15),
        ("matmul_256/f64_eval", 0.3),
        ("matmul_256/double_double_eval", 1.5),
    ] {
        threshold_line(id, mac(id), "ns/mac", target);
    }
    ratio_line(
        "double-double reference / MPFR reference, mid-size",
        references.map(|(_, dd)| dd),
        references.map(|(mpfr, _)| mpfr),
        Some(0.1),
    );
    println!("\nRatios:");
    let native = mac("matmul_256/f32_native_fma");
    ratio_line(
        "f32 eval / f32 native",
        mac("matmul_256/f32_eval"),
        native,
        None,
    );
    for format in ["f16", "bf16"] {
        ratio_line(
            &format!("{format} acc f32 / f32 native"),
            mac(&format!("matmul_256/{format}_acc_f32")),
            native,
            None,
        );
        ratio_line(
            &format!("{format} acc same / f32 native"),
            mac(&format!("matmul_256/{format}_acc_same")),
            native,
            Some(10.0),
        );
    }
    ratio_line(
        "f64 eval / f32 native",
        mac("matmul_256/f64_eval"),
        native,
        None,
    );
    for bits in [113, 256] {
        ratio_line(
            &format!("MPFR {bits} matmul / raw in-place fma"),
            mac(&format!("matmul_64/mpfr{bits}_eval")),
            fma(bits),
            Some(1.5),
        );
        ratio_line(
            &format!("MPFR {bits} matmul / f32 native (64³)"),
            mac(&format!("matmul_64/mpfr{bits}_eval")),
            mac("matmul_64/f32_native_fma"),
            None,
        );
    }
}

/// Timed runs of each reference (a mid-size MPFR reference takes about 4 s).
const REFERENCE_RUNS: usize = 3;

/// Trains the job's network in `S` alone, unobserved, as the reference of an audit steps;
/// returns the last batch loss.
fn train_alone<S: Scalar>(config: &AuditConfig, ctx: S::Context) -> Option<S> {
    let mut trainer = Trainer::<S>::new(&config.train, &config.data, &config.init, ctx);
    config
        .schedule()
        .map(|plan| trainer.step(&plan, None))
        .last()
}

/// The median of some seconds.
fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

/// Target 2 of issue 14: the double-double reference alone against the MPFR reference alone
/// on the mid-size job, in thread CPU time, runs alternating (a whole training run is too long
/// for criterion's ten samples). Returns the medians (MPFR, double-double) in seconds.
fn references(args: &Args) -> Option<(f64, f64)> {
    if !args.selects("reference_midsize") {
        return None;
    }
    let flags = if args.bench {
        MIDSIZE_JOB
    } else {
        MIDSIZE_SMOKE
    };
    let cli = Cli::parse_from(std::iter::once("precision-audit").chain(flags.iter().copied()));
    let config = audit_config(&cli.audit).expect("the benchmark's flags are valid");
    let bits = cli.audit.reference_bits;
    let runs = if args.bench { REFERENCE_RUNS } else { 1 };
    let time = |run: &dyn Fn()| {
        let start = thread_cpu_time();
        run();
        thread_cpu_time().saturating_sub(start).as_secs_f64()
    };
    let (mut mpfr, mut double_double) = (Vec::new(), Vec::new());
    for round in 1..=runs {
        mpfr.push(time(&|| {
            black_box(train_alone::<Mpfr>(&config, bits));
        }));
        double_double.push(time(&|| {
            black_box(train_alone::<DoubleDouble>(&config, ()));
        }));
        println!(
            "reference_midsize run {round}/{runs}: MPFR {:.3} s cpu, double-double {:.3} s cpu",
            mpfr[round - 1],
            double_double[round - 1]
        );
    }
    Some((median(mpfr), median(double_double)))
}

fn main() {
    let since = SystemTime::now();
    let args = Args::from_env();
    let mut criterion = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .configure_from_args();
    matmul_256(&mut criterion);
    matmul_64(&mut criterion);
    mpfr_fma(&mut criterion);
    criterion.final_summary();
    if args.list {
        println!("reference_midsize: benchmark");
    }
    let references = if args.list { None } else { references(&args) };
    if args.bench && !args.list {
        summary(since, references);
    }
}
