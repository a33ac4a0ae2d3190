//! Berkeley TestFloat-3 vectors for binary16 (round to nearest even), checked bit for bit.
//!
//! The expected results are a peer's, generated outside this project; see
//! `fixtures/testfloat/README.md`. Flags are not checked: the crate does not report them.

use std::path::PathBuf;

use half::f16;
use precision_audit::format::Scalar;

use super::oracle::{F16, Tally, same_bits};

/// One line: the operand bit patterns and the expected result's bits (the flags field dropped).
struct Vector {
    line: usize,
    operands: Vec<u64>,
    expected: u64,
}

fn read(file: &str, operands: usize) -> Vec<Vector> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "fixtures", "testfloat", file]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let fields: Vec<u64> = line
                .split_whitespace()
                .map(|field| {
                    u64::from_str_radix(field, 16).unwrap_or_else(|e| {
                        panic!(
                            "{}:{}: `{field}` is not hex: {e}",
                            path.display(),
                            index + 1
                        )
                    })
                })
                .collect();
            assert_eq!(
                fields.len(),
                operands + 2,
                "{}:{}: expected {operands} operands, a result and flags",
                path.display(),
                index + 1
            );
            Vector {
                line: index + 1,
                operands: fields[..operands].to_vec(),
                expected: fields[operands],
            }
        })
        .collect()
}

/// Runs every vector of `file` through `op` (operand bits to result bits) and checks the count.
fn check_file(file: &str, operands: usize, expected_count: usize, op: impl Fn(&[u64]) -> u64) {
    let vectors = read(file, operands);
    let mut tally = Tally::new(format!("TestFloat {file}"));
    for vector in &vectors {
        let got = op(&vector.operands);
        tally.check(same_bits(&F16, got, vector.expected), || {
            let operands: Vec<String> = vector
                .operands
                .iter()
                .map(|bits| format!("{bits:X}"))
                .collect();
            format!(
                "line {}: operands [{}]: expected {}, got {}",
                vector.line,
                operands.join(" "),
                F16.hex(vector.expected),
                F16.hex(got)
            )
        });
    }
    // A missing or truncated fixture must not pass as "no failures".
    assert_eq!(
        tally.checked(),
        expected_count as u64,
        "{file}: checked {} vectors, the fixture has {expected_count}",
        tally.checked()
    );
    tally.assert_all_passed();
}

fn h(bits: u64) -> f16 {
    f16::from_bits(bits as u16)
}

fn binary(op: fn(&f16, &f16) -> f16) -> impl Fn(&[u64]) -> u64 {
    move |operands| u64::from(op(&h(operands[0]), &h(operands[1])).to_bits())
}

// Line counts of the fixtures as generated (TestFloat level 1).
const BINARY_VECTORS: usize = 46_464;

#[test]
fn testfloat_f16_add() {
    check_file("f16_add.txt", 2, BINARY_VECTORS, binary(Scalar::add));
}

#[test]
fn testfloat_f16_sub() {
    check_file("f16_sub.txt", 2, BINARY_VECTORS, binary(Scalar::sub));
}

#[test]
fn testfloat_f16_mul() {
    check_file("f16_mul.txt", 2, BINARY_VECTORS, binary(Scalar::mul));
}

#[test]
fn testfloat_f16_div() {
    check_file("f16_div.txt", 2, BINARY_VECTORS, binary(Scalar::div));
}

#[test]
fn testfloat_f16_sqrt() {
    check_file("f16_sqrt.txt", 1, 408, |operands| {
        u64::from(Scalar::sqrt(&h(operands[0])).to_bits())
    });
}

#[test]
fn testfloat_f64_to_f16() {
    check_file("f64_to_f16.txt", 1, 768, |operands| {
        u64::from(<f16 as Scalar>::from_f64(f64::from_bits(operands[0]), &()).to_bits())
    });
}

#[test]
fn testfloat_f32_to_f16() {
    check_file("f32_to_f16.txt", 1, 600, |operands| {
        // Every f32 is exactly an f64, so this is the f32 → f16 conversion.
        let exact = f64::from(f32::from_bits(operands[0] as u32));
        u64::from(<f16 as Scalar>::from_f64(exact, &()).to_bits())
    });
}
