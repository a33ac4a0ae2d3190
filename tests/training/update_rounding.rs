//! `--update-rounding` in training, on the tiny problem of `optimizers.rs` with plain SGD at
//! lr = 0.0001, where every bf16 update is below half an ulp of its weight: to nearest bf16
//! never moves, Kahan's buffer keeps what nearest absorbs, stochastic rounding is seeded like
//! every other draw, and the reference rounds to nearest whatever the flag, running Kahan's ops
//! like every format.
//!
//! ```text
//! steps at the start: lr·g = [3e-4, −1.5e-4, 1.5e-4]
//! half a bf16 spacing:       [2^-9, 2^-9, 2^-10] ≈ [2.0e-3, 2.0e-3, 9.8e-4] at w = [0.75, 0.5, 0.25]
//! ```

use half::bf16;
use precision_audit::data::builtin;
use precision_audit::format::{DoubleDouble, Mpfr, Scalar};
use precision_audit::model::glorot_uniform;
use precision_audit::train::{OptimizerConfig, TrainConfig, Trainer, UpdateRounding};

use crate::common::{
    REFERENCE_BITS, Recorder, default_config, exact, exact_params, schedule, sgd, train,
};
use crate::optimizers::{tiny_config, tiny_data, tiny_params, tiny_run};

/// Steps of the tiny problem: enough for the reference to move w1 by several bf16 spacings.
const STEPS: usize = 200;

/// Plain SGD at lr = 0.0001 with `rounding`.
fn slow_sgd(rounding: UpdateRounding) -> OptimizerConfig {
    OptimizerConfig {
        update_rounding: rounding,
        ..sgd("0.0001", "0")
    }
}

/// The spacing of bf16 values around `w` (2^(e − 7) for w in [2^e, 2^(e+1))).
fn spacing(w: f64) -> f64 {
    2f64.powi(w.abs().log2().floor() as i32 - 7)
}

#[test]
fn kahan_keeps_the_updates_bf16_absorbs_to_nearest() {
    let initial = [0.75, 0.5, 0.25];
    let nearest = tiny_run::<bf16>(slow_sgd(UpdateRounding::Nearest), STEPS, ());
    let kahan = tiny_run::<bf16>(slow_sgd(UpdateRounding::Kahan), STEPS, ());
    let reference = tiny_run::<Mpfr>(slow_sgd(UpdateRounding::Kahan), STEPS, REFERENCE_BITS);
    let last = STEPS - 1;
    for k in 0..3 {
        let moved = (reference[last][k].to_f64() - initial[k]).abs();
        assert!(
            moved > 4.0 * spacing(initial[k]),
            "the reference moves parameter {k} by several spacings: {moved}"
        );
        assert_eq!(
            nearest[last][k].to_f64(),
            initial[k],
            "to nearest, bf16 absorbs every update of parameter {k}"
        );
    }
    for (step, (kahan, reference)) in kahan.iter().zip(&reference).enumerate() {
        for k in 0..3 {
            let (w, r) = (kahan[k].to_f64(), reference[k].to_f64());
            assert!(
                (w - r).abs() <= spacing(r),
                "step {}: Kahan's bf16 parameter {k} = {w} stays within a spacing of {r}",
                step + 1
            );
        }
    }
}

/// The ops of one Kahan step, and what each holds: in bf16 the first update is absorbed whole
/// and the compensation holds the step; in the reference it is the rounding error of a 113-bit
/// subtraction, at most half an ulp of the weight: |c| ≤ 2⁻¹¹³·2^⌈log₂|w|⌉ ≤ 2⁻¹¹²·|w|.
#[test]
fn kahan_runs_its_ops_in_every_format_and_the_reference_compensation_stays_tiny() {
    fn first_step<S: Scalar>(ctx: S::Context) -> Recorder {
        let config = tiny_config(slow_sgd(UpdateRounding::Kahan), 1);
        let data = tiny_data();
        let mut trainer = Trainer::<S>::new(&config, &data, &tiny_params(), ctx);
        let mut recorder = Recorder::default();
        let plan = schedule(&config, &data).next().expect("one step");
        trainer.step(&plan, Some(&mut recorder));
        recorder
    }
    let reference = first_step::<Mpfr>(REFERENCE_BITS);
    let narrow = first_step::<bf16>(());
    let optimizer_ops = |recorder: &Recorder| -> Vec<String> {
        let names = recorder.ops.iter().map(|(name, _)| name.clone());
        names.filter(|name| name.starts_with("opt.")).collect()
    };
    let per_tensor = [
        "opt.sgd.step",
        "opt.kahan.corrected",
        "opt.update",
        "opt.kahan.applied",
        "opt.kahan.compensation",
    ];
    // A weight (2 × 1) and a bias (1 × 1).
    assert_eq!(optimizer_ops(&reference), [per_tensor, per_tensor].concat());
    assert_eq!(optimizer_ops(&narrow), optimizer_ops(&reference));

    let steps = narrow.outputs("opt.kahan.corrected");
    assert_eq!(narrow.outputs("opt.kahan.applied"), [0.0; 3]);
    assert_eq!(narrow.outputs("opt.kahan.compensation"), steps);
    assert!(steps.iter().all(|&s| s != 0.0));

    let weights = reference.outputs("opt.update");
    let compensations = reference.outputs("opt.kahan.compensation");
    for (c, w) in compensations.iter().zip(weights) {
        assert!(
            c.abs() <= 2f64.powi(-112) * w.abs(),
            "|c| = {c:e} at w = {w}"
        );
    }
    assert!(
        compensations.iter().any(|&c| c != 0.0),
        "the reference rounds too"
    );
}

/// The tiny problem has one row and no dropout, and its parameters are given: the seed changes
/// nothing but the stochastic rounding.
#[test]
fn stochastic_rounding_is_seeded_and_moves_bf16() {
    let run = |seed: u64| -> Vec<String> {
        let mut config = tiny_config(slow_sgd(UpdateRounding::Stochastic), STEPS);
        config.seed = seed;
        let data = tiny_data();
        let (_, trainer) = train::<bf16>(&config, &data, &tiny_params(), (), STEPS);
        exact_params(trainer.mlp())
    };
    let here = run(1);
    assert_eq!(here, run(1), "same seed, same bits");
    let elsewhere = std::thread::scope(|scope| scope.spawn(|| run(1)).join().expect("trains"));
    assert_eq!(here, elsewhere, "same seed, another thread");
    assert_ne!(here, run(2), "another seed, other bits");
    let nearest = tiny_run::<bf16>(slow_sgd(UpdateRounding::Nearest), STEPS, ());
    let nearest: Vec<String> = nearest[STEPS - 1].iter().map(exact).collect();
    assert_ne!(here, nearest, "some updates below half an ulp went through");
}

/// The reference rounds to nearest: asking for stochastic rounding changes none of its bits.
#[test]
fn the_reference_ignores_stochastic_rounding() {
    fn params<S: Scalar>(config: &TrainConfig, ctx: S::Context) -> Vec<String> {
        let data = builtin(100, 2, 0);
        let init = glorot_uniform(&config.architecture, config.seed);
        let (_, trainer) = train::<S>(config, &data, &init, ctx, 20);
        exact_params(trainer.mlp())
    }
    let nearest = default_config(&builtin(100, 2, 0));
    let mut stochastic = nearest.clone();
    stochastic.optimizer.update_rounding = UpdateRounding::Stochastic;
    assert_eq!(
        params::<Mpfr>(&stochastic, REFERENCE_BITS),
        params::<Mpfr>(&nearest, REFERENCE_BITS)
    );
    assert_eq!(
        params::<DoubleDouble>(&stochastic, ()),
        params::<DoubleDouble>(&nearest, ())
    );
    assert_ne!(
        params::<bf16>(&stochastic, ()),
        params::<bf16>(&nearest, ()),
        "while bf16 does round stochastically"
    );
}
