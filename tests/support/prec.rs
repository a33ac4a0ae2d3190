//! The named tolerances of every test suite, each with the reason for its value (statrs'
//! `src/prec.rs` is the model): no test invents an epsilon inline.
//!
//! A tolerance here is the error a computed value may have against what the test expects
//! (relative, absolute or in ulps), or the margin by which a difference must show. Two kinds of
//! number stay with their test: thresholds that state behaviour (the loss falls below 3/4 of its
//! start, p < 0.05) and bounds that follow exactly from a test's own construction (f16 flushes
//! below 2⁻²⁵; ⌈log₂ n⌉ half-ulps for a pairwise sum of n terms). The formats suite compares
//! every result bit for bit, except stochastic rounding, which it judges by its statistics.

// ---- MPFR against exact values ----

/// Backprop against central differences in 256-bit MPFR, relative to max(1, |gradient|).
///
/// With h = 2⁻⁶⁶ ≈ 1.4e-20 the truncation error of (L(w+h) − L(w−h)) / 2h is
/// h²/6 · |∂³L/∂w³| ≈ 3e-41 · |∂³L/∂w³|, below 1e-33 for any third derivative under 3e7 (ours
/// are O(1)–O(10³)). Each loss evaluation has a relative error of a few hundred × 2⁻²⁵⁶ ≈
/// 1e-75, which dividing by 2h magnifies to ~1e-55. Backprop itself is good to ~1e-75. So
/// 1e-30 has three orders of margin over the truncation error (measured: at most 7e-39) and
/// is still ~25 orders below what any wrong derivative (a missing factor, a wrong sign,
/// tanh' = 1 − a) would give.
pub const BACKPROP_VS_CENTRAL_DIFFERENCE: f64 = 1e-30;

/// A 113-bit MPFR result against the exact (1000-bit) hand value, absolute: a few dozen
/// roundings of 2⁻¹¹³ ≈ 9.6e-35 on values of order 1 stay below 1e-32.
pub const REFERENCE_VS_EXACT: f64 = 1e-30;

/// One plain SGD step in MPFR-113 against its exact result 0.72, absolute: lr = 0.01 rounded
/// once to 113 bits, a product and a subtraction cost about 1e-34. 1e-33 leaves a factor of ten
/// and stays far below [`F64_ROUNDED_LR_MIN`], what an lr routed through f64 would cost.
pub const REFERENCE_LR_STEP: f64 = 1e-33;

/// Two computations at 1000 bits of the same value of order 1 (the test's own optimizer against
/// the formula written in its documentation), absolute: a handful of roundings of
/// 2⁻¹⁰⁰⁰ ≈ 9.3e-302 each. 1e-290 leaves ten orders of margin and rejects any other formula.
pub const MPFR_1000_AGREEMENT: f64 = 1e-290;

/// `--verify-reference`: 113 bits against 226 bits, relative. f64 itself agrees with the
/// reference to about 14 digits on the default job; the reference must agree with itself to
/// at least 25.
pub const REFERENCE_SELF_AGREEMENT_MAX: f64 = 1e-25;

/// The reference's self-agreement (113 against 226 bits) as a fraction of f64's drift from the
/// reference on the same run. A p-bit run drifts about 2⁻ᵖ times the run's amplification, so
/// the ratio is about 2⁻⁶⁰ ≈ 9e-19 (113 − 53 = 60 more bits); 1e-10 leaves eight orders.
pub const REFERENCE_SELF_AGREEMENT_PER_F64_DRIFT: f64 = 1e-10;

// ---- f64 against MPFR and exact values ----

/// The 256-bit loss against the test's own plain-f64 forward pass, relative: about 40 f64
/// operations of relative error 2⁻⁵³ each, on well-conditioned sums, give ≲ 1e-14.
pub const F64_FORWARD_VS_MPFR: f64 = 1e-12;

/// f64 against MPFR-113 over 400 Adam steps on the built-in data (relative, per step loss).
///
/// f64 adds ~1e-16 relative per op; the difference grows through training as the two
/// trajectories drift apart, through Adam's division by √v̂ (large where gradients are
/// small). Measured: at most 1.6e-14 over the default 400-step run. 1e-10 leaves nearly four
/// orders of margin and is still six orders below f32's unit roundoff (f32 drifts 9.8e-5),
/// so an f64 run that silently computed anything in f32 fails.
pub const F64_VS_REFERENCE: f64 = 1e-10;

/// f64's final relative loss drift on the default job (`summary.csv`) is about 2e-14 (a few
/// hundred steps of 2⁻⁵³ rounding). The limit leaves room for a different but sound
/// summation, not for a lost bit per op.
pub const F64_FINAL_DRIFT_MAX: f64 = 1e-10;

/// f64's final loss over seeded summation orders: a few hundred steps of 2⁻⁵³ rounding move it
/// by about 1e-16 relative (measured: 3.5e-16 on the order study's configuration). 1e-12
/// leaves room for a different but sound summation, not for a lost bit per op.
pub const F64_ORDER_SPREAD_REL_MAX: f64 = 1e-12;

/// Values computed through a handful of correctly rounded f64 operations (a square root, a
/// division, a product), relative: each costs at most 2⁻⁵³, so four of them stay below
/// 4.5e-16; 1e-15 rejects any wrong formula.
pub const F64_FEW_ROUNDINGS: f64 = 1e-15;

/// Values that pass through statrs' Student-t (regularized incomplete beta), relative: statrs
/// 0.19 agrees with 40-digit values to about 2e-15 on these cases (the crate's own tests use
/// the same bound); 1e-13 leaves room for a libm's last bit.
pub const STATRS_T: f64 = 1e-13;

/// Adam's first step against lr, absolute: the exact step is short of lr = 0.01 by
/// lr·ε/(|g| + ε) ≈ 3.3e-10 (|g| = 3) and 6.7e-10 (|g| = 1.5) with ε = 1e-7, and f64 adds
/// ~1e-18. 1e-9 holds both shortfalls and rejects a step of any other size (without bias
/// correction the step would be 3.2·lr).
pub const ADAM_FIRST_STEP_SHORTFALL: f64 = 1e-9;

/// A parameter after k hand-worked optimizer steps against its exact value, in ulps of the
/// format: k × this. One step's lr·g costs a few hundredths of an ulp of w (the step is about
/// 0.01, w about 0.5) and the subtraction ½ ulp, so a step stays within one ulp; the next
/// carries it and adds its own.
pub const ULPS_PER_HAND_STEP: i64 = 1;

// ---- f32 ----

/// Results of a handful of f32 operations, relative: each costs at most 2⁻²⁴ ≈ 6e-8, so ten of
/// them stay below 6e-7; 1e-6 allows that rounding and nothing of the size of a wrong formula.
pub const F32_FEW_ROUNDINGS: f64 = 1e-6;

// ---- differences that must show ----

/// f32's batch losses must leave the reference by more than this (relative, somewhere in the
/// 400-step run): 10⁴ × [`F64_VS_REFERENCE`] = 1e-6, a hundred times below f32's measured 9.8e-5
/// and far above f64's 1.6e-14, so the comparison tells the two formats apart.
pub const F32_VS_REFERENCE_MIN: f64 = 1e4 * F64_VS_REFERENCE;

/// The error an lr rounded to f64 would put into an SGD step of lr·3, absolute: f64's 0.01 is
/// 2.08e-19 too large, so 0.03 would be 6.2e-19 too large. 1e-19 is below that and 14 orders
/// above [`REFERENCE_LR_STEP`], so a 113-bit run that rounded lr to f64 would show it.
pub const F64_ROUNDED_LR_MIN: f64 = 1e-19;

// ---- statistics of seeded draws ----

/// How many standard deviations a statistic of seeded random draws (the mean of 10⁵ stochastic
/// roundings, the number of them that went up) may stray from its expectation. A 4σ miss has
/// probability 6e-5 under the normal approximation, and the draws are seeded, so a test that
/// passes once passes every time; a biased rounding misses by far more (nearest's count of
/// roundings up is 0 or n, about 200σ from n·p at n = 10⁵ and p = 0.3).
pub const SAMPLE_SIGMAS: f64 = 4.0;

// ---- printed values ----

/// A number the report prints with three significant digits (`{:.2e}`) against the exact value
/// in a CSV file, relative: the printed value is off by at most half a unit of the third
/// digit, 0.005 × 10ᵉ, and the exact value is at least 1 × 10ᵉ.
pub const REPORT_THREE_DIGITS: f64 = 0.005;

// ---- geometry of a test problem ----

/// The smallest |z| (pre-activation) and |p − y| the gradient-check points allow: the
/// perturbations move them by about |x|·h < 1e-19, so a margin of 1e-3 keeps every
/// evaluation on one side of relu's, |·|'s and sign's kinks.
pub const KINK_MARGIN: f64 = 1e-3;

/// Asserts `|actual − expected| ≤ relative · |expected|`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= relative * expected.abs(),
        "{what}: {actual} is not within a relative {relative} of {expected}"
    );
}
