//! The reduction kernels do what `src/kernel/reduce.rs` documents: sequential sums with one
//! fused multiply-add per term, pairwise trees and Kahan compensation over rounded products,
//! in the accumulator asked for (never narrower than the format), rounded once at the end.

use half::{bf16, f16};
use ndarray::Array2;
use precision_audit::format::{Mpfr, Scalar};
use precision_audit::kernel::{Accumulate, Engine, OpKind, Order, Reduction, Tensor, eval};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rug::Float;

use crate::common::{Recorder, exact};

const ORDERS: [Order; 3] = [Order::Sequential, Order::Pairwise, Order::Kahan];

fn reduction(order: Order, accumulate: Accumulate) -> Reduction {
    Reduction { order, accumulate }
}

/// The column sum of a one-column tensor, as f64.
fn column_sum<S: Scalar>(column: &[S], reduction: Reduction, ctx: &S::Context) -> f64 {
    let tensor = Array2::from_shape_vec((column.len(), 1), column.to_vec()).expect("n × 1");
    eval(OpKind::SumRows, &[&tensor], reduction, ctx)[[0, 0]].to_f64()
}

/// candle's bug (PR #3717): an f16 sum accumulated in f16 stalls at 2048, where the spacing of
/// f16 values becomes 2 and 2048 + 1 is a tie that rounds to the even 2048. An f32 (or f64)
/// accumulator counts to 4096 and rounds once. A pairwise tree only ever adds equal powers of
/// two, which is exact; Kahan's compensation carries the lost 1 into the next term (2048 + 2 is
/// exact), so both also reach 4096 in f16 itself.
#[test]
fn f16_sum_of_4096_ones_stalls_at_2048_in_an_f16_accumulator() {
    let ones = vec![f16::ONE; 4096];
    let sum = |order, accumulate| column_sum(&ones, reduction(order, accumulate), &());
    assert_eq!(sum(Order::Sequential, Accumulate::Same), 2048.0);
    assert_eq!(sum(Order::Sequential, Accumulate::F32), 4096.0);
    assert_eq!(sum(Order::Sequential, Accumulate::F64), 4096.0);
    assert_eq!(sum(Order::Pairwise, Accumulate::Same), 4096.0);
    assert_eq!(sum(Order::Kahan, Accumulate::Same), 4096.0);

    // The mean divides the stalled sum: 2048 / 4096 = 0.5 instead of 1.
    let tensor = Array2::from_elem((64, 64), f16::ONE);
    let mean = |accumulate| {
        let r = reduction(Order::Sequential, accumulate);
        eval(OpKind::Mean, &[&tensor], r, &())[[0, 0]].to_f64()
    };
    assert_eq!(mean(Accumulate::Same), 0.5);
    assert_eq!(mean(Accumulate::F32), 1.0);
}

/// bf16 has 8 significant bits, so its own accumulator stalls at 256.
#[test]
fn bf16_sum_of_1024_ones_stalls_at_256_in_a_bf16_accumulator() {
    let ones = vec![bf16::ONE; 1024];
    let sum = |accumulate| column_sum(&ones, reduction(Order::Sequential, accumulate), &());
    assert_eq!(sum(Accumulate::Same), 256.0);
    assert_eq!(sum(Accumulate::F32), 1024.0);
}

/// Seeded f16 values of assorted magnitudes and signs.
fn random_f16(rng: &mut ChaCha20Rng, rows: usize, cols: usize) -> Tensor<f16> {
    Array2::from_shape_simple_fn((rows, cols), || {
        let significand = (rng.next_u64() >> 11) as f64 / 2f64.powi(53) + 0.5;
        let exponent = (rng.next_u64() % 9) as i32 - 4;
        let sign = if rng.next_u64() & 1 == 1 { -1.0 } else { 1.0 };
        <f16 as Scalar>::from_f64(sign * significand * 2f64.powi(exponent), &())
    })
}

/// An f16 matmul with the f32 accumulator is the f32 matmul of the same (exactly widened)
/// inputs, in the same order, rounded once to f16: bit for bit, in every order. And the f16
/// accumulator gives other bits for some elements, so the comparison can tell them apart.
#[test]
fn f16_matmul_in_f32_is_the_f32_matmul_rounded_once() {
    let mut rng = ChaCha20Rng::seed_from_u64(2024);
    let a = random_f16(&mut rng, 7, 300);
    let b = random_f16(&mut rng, 300, 5);
    let (a32, b32) = (a.mapv(|x| x.to_f32()), b.mapv(|x| x.to_f32()));
    let matmul = OpKind::MatMul {
        lhs_transposed: false,
        rhs_transposed: false,
    };
    for order in ORDERS {
        let in_f32 = eval(matmul, &[&a, &b], reduction(order, Accumulate::F32), &());
        let f32_then_round = eval(
            matmul,
            &[&a32, &b32],
            reduction(order, Accumulate::Same),
            &(),
        )
        .mapv(|x| <f16 as Scalar>::from_f64(f64::from(x), &()));
        assert_eq!(
            in_f32.mapv(|x| x.to_bits()),
            f32_then_round.mapv(|x| x.to_bits()),
            "{}",
            order.name()
        );
        let in_f16 = eval(matmul, &[&a, &b], reduction(order, Accumulate::Same), &());
        assert_ne!(
            in_f16.mapv(|x| x.to_bits()),
            in_f32.mapv(|x| x.to_bits()),
            "{}: 300-term f16 sums should round differently somewhere",
            order.name()
        );
    }
}

/// The sequential order is a loop of fused multiply-adds written out here with `f32::mul_add`;
/// the f32 matmul is that loop, bit for bit. The pairwise order is a balanced tree (split at
/// ⌈n/2⌉) over products rounded to f32, also written out here.
#[test]
fn f32_orders_are_the_documented_loops() {
    fn tree(terms: &[f32]) -> f32 {
        match terms {
            [] => 0.0,
            [only] => *only,
            _ => {
                let (left, right) = terms.split_at(terms.len().div_ceil(2));
                tree(left) + tree(right)
            }
        }
    }
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let a = random_f16(&mut rng, 4, 77).mapv(|x| x.to_f32() * 1.000_001);
    let b = random_f16(&mut rng, 77, 3).mapv(|x| x.to_f32() / 3.0);
    let matmul = OpKind::MatMul {
        lhs_transposed: false,
        rhs_transposed: false,
    };
    let sequential = eval(matmul, &[&a, &b], Reduction::EXACT, &());
    let pairwise = eval(
        matmul,
        &[&a, &b],
        reduction(Order::Pairwise, Accumulate::Same),
        &(),
    );
    for i in 0..4 {
        for j in 0..3 {
            let fma = (0..77).fold(0.0f32, |acc, k| a[[i, k]].mul_add(b[[k, j]], acc));
            assert_eq!(sequential[[i, j]].to_bits(), fma.to_bits(), "[{i}][{j}]");
            let products: Vec<f32> = (0..77).map(|k| a[[i, k]] * b[[k, j]]).collect();
            assert_eq!(
                pairwise[[i, j]].to_bits(),
                tree(&products).to_bits(),
                "[{i}][{j}]"
            );
        }
    }
}

/// With x = 1 + 2⁻¹², x² = 1 + 2⁻¹¹ + 2⁻²⁴ needs 25 bits. Sequential: −1 then fma(x, x, −1) =
/// 2⁻¹¹ + 2⁻²⁴ exactly (one rounding of the exact x² − 1). Pairwise and Kahan round x² to f32
/// first (a tie, to the even 1 + 2⁻¹¹) and get 2⁻¹¹.
#[test]
fn sequential_dot_fuses_the_product_pairwise_and_kahan_round_it() {
    let x = 1.0 + 2f32.powi(-12);
    let a = Array2::from_shape_vec((1, 2), vec![-1.0f32, x]).unwrap();
    let b = Array2::from_shape_vec((2, 1), vec![1.0f32, x]).unwrap();
    let matmul = OpKind::MatMul {
        lhs_transposed: false,
        rhs_transposed: false,
    };
    let dot = |order| eval(matmul, &[&a, &b], reduction(order, Accumulate::Same), &())[[0, 0]];
    assert_eq!(dot(Order::Sequential), 2f32.powi(-11) + 2f32.powi(-24));
    assert_eq!(dot(Order::Pairwise), 2f32.powi(-11));
    assert_eq!(dot(Order::Kahan), 2f32.powi(-11));
}

/// 1 followed by a thousand 2⁻²⁴ in f32: each 2⁻²⁴ is half an ulp of 1, so the sequential sum
/// absorbs them all (ties to even) and stays 1, an error of 1000·2⁻²⁴. Kahan's compensation
/// recovers the exact 1 + 1000·2⁻²⁴ (representable: 500 ulps). Pairwise sums the small terms
/// exactly in their subtrees and rounds only where a subtree holding the 1 is added, once per
/// level: within ⌈log₂ 1001⌉ = 10 half-ulps of 1 (it loses 2).
#[test]
fn kahan_recovers_what_sequential_absorbs_and_pairwise_loses_a_little_per_level() {
    let tiny = 2f32.powi(-24);
    let mut terms = vec![1.0f32];
    terms.extend(std::iter::repeat_n(tiny, 1000));
    let exact_sum = 1.0 + 1000.0 * f64::from(tiny);
    let sum = |order| column_sum(&terms, reduction(order, Accumulate::Same), &());
    assert_eq!(sum(Order::Sequential), 1.0);
    assert_eq!(sum(Order::Kahan), exact_sum);
    let pairwise_error = (sum(Order::Pairwise) - exact_sum).abs();
    assert!(
        pairwise_error <= 10.0 * f64::from(tiny),
        "{pairwise_error:e}"
    );
    // An f64 accumulator holds every partial sum exactly here.
    assert_eq!(
        column_sum(&terms, reduction(Order::Sequential, Accumulate::F64), &()),
        exact_sum
    );
}

/// The accumulator is never narrower than the format: asking f64 for an f32 accumulator, or
/// the reference for an f32 or f64 one, changes nothing.
#[test]
fn a_narrower_accumulator_request_means_the_format_itself() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let values: Vec<f64> = (0..257)
        .map(|_| (rng.next_u64() >> 11) as f64 / 2f64.powi(53) - 0.3)
        .collect();
    for order in ORDERS {
        let same = column_sum(&values, reduction(order, Accumulate::Same), &());
        let f32_request = column_sum(&values, reduction(order, Accumulate::F32), &());
        assert_eq!(same.to_bits(), f32_request.to_bits(), "{}", order.name());
    }
    // 1 + 2⁻⁶⁰ is exact at 113 bits; an f32 or f64 accumulator would give 1.
    let bits = 113;
    let terms = [Mpfr::one(&bits), Mpfr::from_f64(2f64.powi(-60), &bits)];
    let expected = Float::with_val(113, 1) + Float::with_val(113, 2f64.powi(-60));
    for accumulate in [Accumulate::Same, Accumulate::F32, Accumulate::F64] {
        for order in ORDERS {
            let tensor = Array2::from_shape_vec((2, 1), terms.to_vec()).unwrap();
            let sum = &eval(
                OpKind::SumRows,
                &[&tensor],
                reduction(order, accumulate),
                &bits,
            )[[0, 0]];
            assert_eq!(sum.0, expected, "{} / {accumulate}", order.name());
        }
    }
}

/// f32 with an f64 accumulator: 1 + 2⁻²⁴ + 2⁻²⁴ summed in f64 is 1 + 2⁻²³, which f32 holds; in
/// f32 itself both halves of an ulp are absorbed.
#[test]
fn f32_with_an_f64_accumulator_rounds_once() {
    let terms = [1.0f32, 2f32.powi(-24), 2f32.powi(-24)];
    let sum = |accumulate| column_sum(&terms, reduction(Order::Sequential, accumulate), &());
    assert_eq!(sum(Accumulate::Same), 1.0);
    assert_eq!(sum(Accumulate::F64), 1.0 + 2f64.powi(-23));
}

/// The transposition flags read the operand transposed (the backward pass relies on them), and
/// the engine reports each op under its name with the output `eval` gives.
#[test]
fn matmul_transposes_and_the_engine_reports_each_op() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let a = random_f16(&mut rng, 6, 4).mapv(|x| x.to_f64());
    let b = random_f16(&mut rng, 6, 3).mapv(|x| x.to_f64());
    let c = random_f16(&mut rng, 5, 3).mapv(|x| x.to_f64());
    let r = Reduction::EXACT;
    let plain = OpKind::MatMul {
        lhs_transposed: false,
        rhs_transposed: false,
    };
    let at_b = eval(plain, &[&a.t().to_owned(), &b], r, &());
    let b_ct = eval(plain, &[&b, &c.t().to_owned()], r, &());

    let mut recorder = Recorder::default();
    let (flagged_at_b, flagged_b_ct) = {
        let mut engine = Engine::observed((), r, &mut recorder);
        (
            engine.matmul("test.at_b", &a, &b, true, false),
            engine.matmul("test.b_ct", &b, &c, false, true),
        )
    };
    assert_eq!(flagged_at_b.mapv(|x| exact(&x)), at_b.mapv(|x| exact(&x)));
    assert_eq!(flagged_b_ct.mapv(|x| exact(&x)), b_ct.mapv(|x| exact(&x)));
    let names: Vec<&str> = recorder.ops.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["test.at_b", "test.b_ct"]);
    assert_eq!(
        recorder.outputs("test.at_b"),
        at_b.iter().copied().collect::<Vec<_>>()
    );
}
