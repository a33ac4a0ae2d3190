//! The estimate's arithmetic, checked by hand.

use super::*;

/// The default network on the built-in data: 2 features, 10 hidden units, one output; one
/// f32 lane, the MPFR reference at 113 bits, Adam.
fn small(mode: Mode, runs: u64, concurrent: u64) -> Shape {
    Shape {
        samples: 100,
        features: 2,
        widths: vec![2, 10, 1],
        batch: 32,
        steps: 400,
        lanes: vec![(4, 4)],
        reference: mpfr_value_bytes(113),
        check: None,
        state_copies: 2,
        kept_per_step: 0,
        mode,
        runs,
        concurrent,
    }
}

fn part(estimate: &Estimate, what: &str) -> f64 {
    estimate
        .parts
        .iter()
        .find(|p| p.what.starts_with(what))
        .unwrap_or_else(|| panic!("no part `{what}`"))
        .bytes
}

#[test]
fn an_mpfr_value_is_its_struct_and_a_malloc_block_of_its_limbs_and_one_more() {
    assert_eq!(std::mem::size_of::<rug::Float>(), 32);
    // 113 bits: 2 limbs + 1 = 24 bytes, a 32-byte block.
    assert_eq!(mpfr_value_bytes(113), 64);
    assert_eq!(mpfr_value_bytes(53), 64);
    // 256 bits: 4 + 1 limbs = 40 bytes, 48 with the header.
    assert_eq!(mpfr_value_bytes(256), 80);
    // 2000 bits: 32 + 1 limbs = 264 bytes, 272 with the header.
    assert_eq!(mpfr_value_bytes(2000), 304);
}

#[test]
fn lane_values_cost_their_type() {
    assert_eq!(value_bytes(Format::F16), 2);
    assert_eq!(value_bytes(Format::Bf16), 2);
    assert_eq!(value_bytes(Format::F32), 4);
    assert_eq!(value_bytes(Format::F64), 8);
    // The narrow formats are held as the f64 of their value.
    assert_eq!(value_bytes(Format::E4m3), 8);
    assert_eq!(reference_value_bytes(Reference::DoubleDouble), 16);
    assert_eq!(reference_value_bytes(Reference::Mpfr(113)), 64);
}

#[test]
fn an_audit_adds_up_as_computed_by_hand() {
    let estimate = small(Mode::Audit, 1, 2).estimate();
    // 41 parameters (2·10 + 10 + 10·1 + 1); 30 products per row; 11 units; the largest
    // tensor 20.
    assert_eq!(part(&estimate, "the data set in f64"), 2400.0); // 100 × 3 × 8
    // (2 features × 100 + 100 targets) × (64 + 4).
    assert_eq!(part(&estimate, "the data set in each"), 20_400.0);
    // Per trainer: 41 × (2 + 2 Adam moments) × master + 41 × compute = 205 values.
    assert_eq!(part(&estimate, "weights"), 205.0 * 68.0);
    // 32 × (2 + 8 × 11) + 32 × 10 + 2 × 41 + 9 × 20 = 3462 values per trainer, and two
    // recorded steps (the reference runs one ahead): (32 × (6 × 11 + 10) + 12 × 41) pairs of
    // 16 bytes each.
    assert_eq!(
        part(&estimate, "a step's"),
        3462.0 * 68.0 + 2.0 * 2924.0 * 16.0
    );
    // 100 × (2 + 3 × 11 + 10) values, in the lane's 4 and the reference's 64 bytes: two
    // threads evaluate both at once.
    assert_eq!(part(&estimate, "the whole-data"), 4500.0 * 68.0);
    // Held throughout: 2400 + 20,400 + 13,940; then the larger of the steps' 328,984 and the
    // end's 306,000.
    assert_eq!(estimate.bytes(), 36_740.0 + 328_984.0);
    // 400 steps × 3 × 32 rows × 30 products × (2 trainers + 1 lane re-evaluated), and the
    // whole-data evaluation 100 × 30 × 2.
    assert_eq!(estimate.multiply_adds, 3_462_000.0);
    assert!(!estimate.is_large());
    assert_eq!(
        estimate.largest().what,
        "a step's activations and the reference's recorded ops"
    );
}

#[test]
fn a_sweep_holds_one_trainer_per_running_seed() {
    let estimate = small(Mode::Sweep, 10, 2).estimate();
    assert_eq!(part(&estimate, "the data set in f64"), 4800.0);
    // The largest trainer's copy of the data (300 values × 64 bytes), twice.
    assert_eq!(part(&estimate, "the data set in each"), 2.0 * 300.0 * 64.0);
    // No lane re-evaluates: (400 × 2880 × 2 + 100 × 30 × 2) × 10 seeds.
    assert_eq!(estimate.multiply_adds, 23_100_000.0);
    // Never more at once than there are runs.
    let one = small(Mode::Sweep, 1, 8).estimate();
    assert_eq!(part(&one, "the data set in f64"), 2400.0);
}

#[test]
fn kept_steps_count_per_step_and_lane() {
    let mut shape = small(Mode::Audit, 1, 1);
    shape.kept_per_step = kept_per_step(true, false);
    assert_eq!(shape.kept_per_step, 256 + 2048);
    assert_eq!(kept_per_step(false, false), 0);
    assert_eq!(kept_per_step(false, true), 256 + 1024);
    let estimate = shape.estimate();
    assert_eq!(part(&estimate, "every step's rows"), 400.0 * 2304.0);
}

#[test]
fn absurd_sizes_give_a_finite_estimate_larger_than_any_machine() {
    let shape = Shape {
        samples: u64::MAX,
        features: u64::MAX,
        widths: vec![u64::MAX; 64],
        batch: u64::MAX,
        steps: u64::MAX,
        lanes: vec![(8, 8); 10],
        reference: mpfr_value_bytes(u32::MAX),
        check: Some(mpfr_value_bytes(u32::MAX)),
        state_copies: 3,
        kept_per_step: kept_per_step(true, true),
        mode: Mode::Orders,
        runs: u64::MAX,
        concurrent: u64::MAX,
    };
    let estimate = shape.estimate();
    assert!(estimate.bytes().is_finite() && estimate.bytes() > u64::MAX as f64);
    assert!(estimate.multiply_adds.is_finite() && estimate.multiply_adds > 1e60);
    assert!(estimate.is_large());
    let available = Available {
        bytes: u64::MAX,
        source: "test",
    };
    assert!(refuse_beyond(&estimate, Some(available), Reference::DoubleDouble).is_err());
}

#[test]
fn a_run_beyond_the_memory_available_is_refused_naming_its_largest_part() {
    let estimate = small(Mode::Audit, 1, 1).estimate();
    let tight = Available {
        bytes: 300_000,
        source: "MemAvailable in /proc/meminfo",
    };
    let error = refuse_beyond(&estimate, Some(tight), Reference::Mpfr(113))
        .expect_err("365,724 bytes do not fit in 300,000")
        .to_string();
    assert!(
        error.starts_with("--batch-size, --layers: the run needs about 357.2 KiB"),
        "{error}"
    );
    assert!(
        error.contains("but 293.0 KiB (MemAvailable in /proc/meminfo) is available"),
        "{error}"
    );
    assert!(error.contains("   321.3 KiB  a step's activations and the reference's recorded ops (--batch-size, --layers, while the steps run)"), "{error}");
    assert!(
        error.contains("an MPFR value of 113 bits takes 64 bytes"),
        "{error}"
    );
    let enough = Available {
        bytes: 365_724,
        source: "test",
    };
    assert!(refuse_beyond(&estimate, Some(enough), Reference::Mpfr(113)).is_ok());
    assert!(refuse_beyond(&estimate, None, Reference::Mpfr(113)).is_ok());
}

#[test]
fn sizes_and_counts_read_as_people_write_them() {
    assert_eq!(bytes_text(12.0), "12 bytes");
    assert_eq!(bytes_text(1536.0), "1.5 KiB");
    assert_eq!(bytes_text(1.5 * (1u64 << 30) as f64), "1.5 GiB");
    assert_eq!(bytes_text(3.0 * (1u64 << 40) as f64), "3.0 TiB");
    assert_eq!(count_text(999_999.0), "999999");
    assert_eq!(count_text(8.2e9), "8.2e9");
}

#[test]
fn large_runs_are_those_beyond_a_gib_or_a_billion_multiply_adds() {
    let mut shape = small(Mode::Audit, 1, 1);
    assert!(!shape.estimate().is_large());
    // 100,000 steps × 2880 × 3 ≈ 8.6e8 multiply-adds; 200,000 steps 1.7e9.
    shape.steps = 100_000;
    assert!(!shape.estimate().is_large());
    shape.steps = 200_000;
    assert!(shape.estimate().is_large());
    // 2^30 bytes of kept rows and nothing else large.
    shape.steps = 400;
    shape.kept_per_step = (1 << 30) / 400 + 1;
    assert!(shape.estimate().is_large());
}
