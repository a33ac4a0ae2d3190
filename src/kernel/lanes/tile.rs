//! The one loop nest every matmul path runs: tiles of output rows × output columns, each
//! output advanced one term at a time over k, left to right.

/// C = A·B, every c_ij = step(…step(step(zero, a_i0, b_0j), a_i1, b_1j)…, a_i(k−1), b_(k−1)j):
/// the sequential sum that defines the matmul. Outputs are computed in tiles of `ROWS` rows ×
/// `COLS` columns whose accumulators stay in registers, so the `COLS` lanes of one row run the
/// same operation on independent outputs and compile to vector instructions; the order of the
/// terms of each output is untouched. Edges take narrower tiles (down to one output) with the
/// same `step`.
///
/// `a` is row-major m × k, `b` row-major k × n, `out` row-major m × n.
#[inline(always)]
pub(super) fn matmul<A: Copy, B: Copy, C: Copy, const ROWS: usize, const COLS: usize>(
    (m, k, n): (usize, usize, usize),
    (a, b): (&[A], &[B]),
    zero: C,
    step: impl Fn(C, A, B) -> C + Copy,
    out: &mut [C],
) {
    assert_eq!(a.len(), m * k, "matmul lhs");
    assert_eq!(b.len(), k * n, "matmul rhs");
    assert_eq!(out.len(), m * n, "matmul output");
    let full_rows = m - m % ROWS;
    let full_cols = n - n % COLS;
    for i in (0..full_rows).step_by(ROWS) {
        for j in (0..full_cols).step_by(COLS) {
            tile::<A, B, C, ROWS, COLS>((i, j), (k, n), (a, b), zero, step, out);
        }
        for j in full_cols..n {
            tile::<A, B, C, ROWS, 1>((i, j), (k, n), (a, b), zero, step, out);
        }
    }
    for i in full_rows..m {
        for j in (0..full_cols).step_by(COLS) {
            tile::<A, B, C, 1, COLS>((i, j), (k, n), (a, b), zero, step, out);
        }
        for j in full_cols..n {
            tile::<A, B, C, 1, 1>((i, j), (k, n), (a, b), zero, step, out);
        }
    }
}

/// The outputs rows i..i+ROWS × columns j..j+COLS.
#[inline(always)]
fn tile<A: Copy, B: Copy, C: Copy, const ROWS: usize, const COLS: usize>(
    (i, j): (usize, usize),
    (k, n): (usize, usize),
    (a, b): (&[A], &[B]),
    zero: C,
    step: impl Fn(C, A, B) -> C,
    out: &mut [C],
) {
    let mut acc = [[zero; COLS]; ROWS];
    let a_rows: [&[A]; ROWS] = std::array::from_fn(|r| &a[(i + r) * k..][..k]);
    for kk in 0..k {
        let b_row: &[B; COLS] = b[kk * n + j..][..COLS].try_into().expect("COLS terms");
        for (acc_row, a_row) in acc.iter_mut().zip(a_rows) {
            let a_ik = a_row[kk];
            for (acc_rc, &b_kc) in acc_row.iter_mut().zip(b_row) {
                *acc_rc = step(*acc_rc, a_ik, b_kc);
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        out[(i + r) * n + j..][..COLS].copy_from_slice(acc_row);
    }
}
