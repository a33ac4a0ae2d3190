//! Every path the CPU runs against the per-output definition, bit for bit.

use ndarray::Array2;

use super::*;
use crate::kernel::{Accumulate, OpKind, Order, Reduction, eval};

/// Shapes that exercise full tiles, every kind of edge, a single output, an empty sum, and
/// the narrow results that run transposed.
const SHAPES: [(usize, usize, usize); 10] = [
    (1, 1, 1),
    (3, 5, 7),
    (9, 17, 37),
    (8, 33, 64),
    (5, 3, 1),
    (64, 16, 1),
    (70, 9, 3),
    (2, 40, 70),
    (6, 0, 4),
    (1, 64, 65),
];

/// splitmix64.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Values of a format: one in `rarity` from `edges` (zeros, infinities, NaN, subnormals, the
/// largest value, ties), the others uniform in [−2, 2) with the format's full precision.
fn values<T>(
    count: usize,
    seed: u64,
    (edges, rarity): (&[T], u64),
    uniform: impl Fn(f64) -> T,
) -> Vec<T>
where
    T: Clone,
{
    let mut state = seed;
    (0..count)
        .map(|_| {
            let r = next(&mut state);
            if r.is_multiple_of(rarity) {
                edges[(r >> 8) as usize % edges.len()].clone()
            } else {
                uniform((r >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0)
            }
        })
        .collect()
}

/// The definition: each output on its own, `dot_sequential` over its row and column.
fn per_output<T: Scalar>(a: &Array2<T>, b: &Array2<T>, exact: bool, ctx: &T::Context) -> Array2<T> {
    Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
        let row: Vec<T> = a.row(i).to_vec();
        let column: Vec<T> = b.column(j).to_vec();
        T::dot_sequential(&row, &column, exact, ctx)
    })
}

/// How many outputs of each kind a check compared.
#[derive(Debug, Default)]
struct Compared {
    finite: usize,
    infinite: usize,
    nan: usize,
}

impl Compared {
    /// Each kind was compared: a check whose outputs were all NaN would prove little.
    fn assert_all_kinds(&self) {
        assert!(
            self.finite > 1000 && self.infinite > 0 && self.nan > 0,
            "{self:?}"
        );
    }
}

/// Runs every supported path on every shape and compares bits (`key`) with the definition;
/// NaN compares as NaN, whatever its payload (which IEEE and Rust leave open). Edge values are
/// drawn often (most sums then meet a NaN or an infinity) and rarely (most sums are finite).
fn check_every_path<T: Scalar>(
    edges: &[T],
    uniform: impl Fn(f64) -> T + Copy,
    key: impl Fn(&T) -> Option<u128>,
    ctx: &T::Context,
) -> Compared {
    let mut compared = Compared::default();
    for rarity in [4, 40] {
        for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
            let seed = 2 * seed as u64 + 100 * rarity;
            let a = Array2::from_shape_vec((m, k), values(m * k, seed, (edges, rarity), uniform));
            let b =
                Array2::from_shape_vec((k, n), values(k * n, seed + 1, (edges, rarity), uniform));
            let (a, b) = (a.unwrap(), b.unwrap());
            for exact in [false, true] {
                let expected = per_output(&a, &b, exact, ctx);
                for path in Path::ALL.into_iter().filter(|p| p.is_supported()) {
                    let got = matmul_on(path, a.view(), b.view(), exact, ctx)
                        .expect("a format with lanes");
                    assert_eq!(got.dim(), (m, n));
                    for ((i, j), x) in expected.indexed_iter() {
                        assert_eq!(
                            key(&got[(i, j)]),
                            key(x),
                            "{path:?}, {m}×{k}×{n}, exact products {exact}, c[{i}][{j}]: {:?} vs {x:?}",
                            got[(i, j)]
                        );
                        match x.classify() {
                            crate::format::Class::Nan => compared.nan += 1,
                            crate::format::Class::Infinite => compared.infinite += 1,
                            _ => compared.finite += 1,
                        }
                    }
                }
            }
        }
    }
    compared
}

/// Ties of an f32 sum: 1 + 2^-24 and 1 + 3·2^-24 round to even, (1 + 2^-23) + 2^-24 up.
fn f32_edges() -> Vec<f32> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        2f32.powi(-24),
        3.0 * 2f32.powi(-24),
        1.0 + 2f32.powi(-23),
        f32::from_bits(1),
        -f32::MIN_POSITIVE / 2.0,
        f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ]
}

fn f64_edges() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        2f64.powi(-53),
        3.0 * 2f64.powi(-53),
        1.0 + 2f64.powi(-52),
        f64::from_bits(1),
        -f64::MIN_POSITIVE / 2.0,
        f64::MAX,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ]
}

#[test]
fn f32_lanes_match_each_output_on_every_path() {
    let key = |x: &f32| (!x.is_nan()).then_some(u128::from(x.to_bits()));
    check_every_path(&f32_edges(), |x| x as f32, key, &()).assert_all_kinds();
}

#[test]
fn f64_lanes_match_each_output_on_every_path() {
    let key = |x: &f64| (!x.is_nan()).then_some(u128::from(x.to_bits()));
    check_every_path(&f64_edges(), |x| x, key, &()).assert_all_kinds();
}

#[test]
fn double_double_lanes_match_each_output_on_every_path() {
    let pair = |hi: f64, lo: f64| DoubleDouble { hi, lo };
    let mut edges: Vec<DoubleDouble> = f64_edges().into_iter().map(|x| pair(x, 0.0)).collect();
    edges.extend([
        pair(1.0, 2f64.powi(-60)),
        pair(-1.0 / 3.0, 1.850371707708594e-17),
        pair(2f64.powi(600), -1.0),
        pair(2f64.powi(-540), 2f64.powi(-600)),
    ]);
    // Full double-double values: hi and a remainder below half its ulp.
    let uniform = |x: f64| pair(x, x * 2f64.powi(-60) / 3.0);
    let key = |x: &DoubleDouble| {
        (!x.hi.is_nan()).then_some(u128::from(x.hi.to_bits()) << 64 | u128::from(x.lo.to_bits()))
    };
    check_every_path(&edges, uniform, key, &()).assert_all_kinds();
}

/// f16 and bf16 with their own accumulator: edges are each format's zeros, infinities, NaN,
/// smallest subnormal, largest value, and values whose sums tie.
#[test]
fn half_width_lanes_match_each_output_on_every_path() {
    use half::{bf16, f16};
    let key16 = |bits: u16, nan: bool| (!nan).then_some(u128::from(bits));
    let edges: Vec<f16> = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        2f64.powi(-11),
        3.0 * 2f64.powi(-11),
        2f64.powi(-24),
        65504.0,
        256.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ]
    .into_iter()
    .map(f16::from_f64)
    .collect();
    let uniform = |x: f64| <f16 as Scalar>::from_f64(x, &());
    let key = |x: &f16| key16(x.to_bits(), x.is_nan());
    check_every_path(&edges, uniform, key, &()).assert_all_kinds();
    let edges: Vec<bf16> = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        2f64.powi(-8),
        3.0 * 2f64.powi(-8),
        2f64.powi(-133),
        3.3895313892515355e38,
        2f64.powi(64),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ]
    .into_iter()
    .map(bf16::from_f64)
    .collect();
    let uniform = |x: f64| <bf16 as Scalar>::from_f64(x, &());
    let key = |x: &bf16| key16(x.to_bits(), x.is_nan());
    check_every_path(&edges, uniform, key, &()).assert_all_kinds();
}

#[test]
fn other_formats_have_no_lanes() {
    let a = Array2::from_elem((2, 2), crate::format::Mpfr::from_f64(1.0, &64));
    assert!(matmul(a.view(), a.view(), true, &64).is_none());
}

/// `eval` with transposed operands and the f32 accumulator of f16 and bf16 (exact products
/// and fused ones) gives the per-output sums of the widened inputs.
#[test]
fn eval_keeps_each_output_sum_for_transposed_and_widened_operands() {
    use half::{bf16, f16};
    let edges: Vec<f64> = vec![0.0, -0.0, 65504.0, 2f64.powi(-24), f64::INFINITY, f64::NAN];
    let a64 = Array2::from_shape_vec((37, 20), values(740, 7, (&edges, 4), |x| x)).unwrap();
    let b64 = Array2::from_shape_vec((37, 9), values(333, 8, (&edges, 4), |x| x)).unwrap();
    let reduction = Reduction {
        order: Order::Sequential,
        accumulate: Accumulate::F32,
    };
    let kind = OpKind::MatMul {
        lhs_transposed: true,
        rhs_transposed: false,
    };
    fn check<S: Scalar<Context = ()>>(
        a64: &Array2<f64>,
        b64: &Array2<f64>,
        kind: OpKind,
        reduction: Reduction,
        exact: bool,
    ) {
        let a = a64.mapv(|x| S::from_f64(x, &()));
        let b = b64.mapv(|x| S::from_f64(x, &()));
        let got = eval(kind, &[&a, &b], reduction, &());
        let wide = |t: &Array2<S>| t.mapv(|x| x.to_f64() as f32);
        let expected = per_output(&wide(&a).t().to_owned(), &wide(&b), exact, &())
            .mapv(|x| S::from_f64(f64::from(x), &()));
        let key = |x: &S| (!x.is_nan()).then(|| x.to_f64().to_bits());
        assert_eq!(got.dim(), (20, 9));
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(key(g), key(e), "{g:?} vs {e:?}");
        }
    }
    check::<f16>(&a64, &b64, kind, reduction, true);
    check::<bf16>(&a64, &b64, kind, reduction, false);
}
