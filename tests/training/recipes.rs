//! Quantized matmul operands (the scaled recipes' engine hook) against the runs they extend: a
//! quantizer that stores every operand as it is gives the bits of the plain f32 run, under a
//! shuffled summation order too (quantization ops draw no permutation), and the network's ops
//! keep their roles; the quantization ops are reported as casts carrying the operand.

use ndarray::{Array2, Axis};
use precision_audit::format::scaled::ScaleRule;
use precision_audit::kernel::{
    Observer, OpKind, OpRecord, Operand, Order, Quantization, Quantizer, Role, Tensor,
};
use precision_audit::model::glorot_uniform;
use precision_audit::train::recipe::RecipeQuantizer;
use precision_audit::train::{Recipe, Trainer};

use crate::common::{default_config, exact_params, schedule};

/// Stores every operand exactly as it is.
#[derive(Clone, Debug)]
struct Identity;

impl Quantizer for Identity {
    fn quantize(
        &mut self,
        _: &str,
        _: Operand,
        values: &Tensor<f64>,
        _: Axis,
    ) -> Option<Quantization> {
        Some(Quantization {
            values: values.clone(),
            clipped: Array2::from_elem(values.dim(), false),
            scale_saturated: Array2::from_elem(values.dim(), false),
        })
    }

    fn end_step(&mut self) {}

    fn boxed_clone(&self) -> Box<dyn Quantizer> {
        Box::new(self.clone())
    }
}

/// Every op's name, role and what it carries.
#[derive(Default)]
struct Names(Vec<(String, Role, Option<String>, bool)>);

impl Observer<f32> for Names {
    fn observe(&mut self, record: &OpRecord<'_, f32>) {
        self.0.push((
            record.name.to_string(),
            record.role,
            record.carries.map(str::to_string),
            record.kind == OpKind::Cast && record.source.is_some(),
        ));
    }
}

#[test]
fn storing_operands_as_they_are_gives_the_plain_runs_bits() {
    let data = precision_audit::data::builtin(40, 3, 5);
    let mut config = default_config(&data);
    config.architecture.widths = vec![3, 6, 1];
    config.batch_size = 8;
    config.reduction.order = Order::Shuffled(11);
    let params = glorot_uniform(&config.architecture, config.seed);
    let mut plain = Trainer::<f32>::new(&config, &data, &params, ());
    let mut quantized =
        Trainer::<f32>::new(&config, &data, &params, ()).with_quantizer(Box::new(Identity));
    let mut names = Names::default();
    for (index, plan) in schedule(&config, &data).take(12).enumerate() {
        let a = plain.step(&plan, None);
        let b = if index == 0 {
            quantized.step(&plan, Some(&mut names))
        } else {
            quantized.step(&plan, None)
        };
        assert_eq!(a.to_bits(), b.to_bits(), "step {}", plan.step);
    }
    assert_eq!(exact_params(plain.mlp()), exact_params(quantized.mlp()));
    assert_eq!(plain.full_loss().to_bits(), quantized.full_loss().to_bits());

    // Each matmul is preceded by its operands' quantization ops, casts carrying the operand.
    let find = |name: &str| names.0.iter().position(|n| n.0 == name).expect(name);
    for matmul in [
        "fwd.dense1.matmul",
        "bwd.dense2.weight_grad",
        "bwd.dense2.input_grad",
    ] {
        for operand in ["lhs", "rhs"] {
            let quant = find(&format!("quant.{matmul}.{operand}"));
            assert!(quant < find(matmul));
            let (_, role, carries, cast) = &names.0[quant];
            assert_eq!(*role, Role::Value);
            assert_eq!(
                carries.as_deref(),
                Some(format!("{matmul}.{operand}").as_str())
            );
            assert!(cast);
        }
    }
    // The weight gradient keeps its role past its operands' quantization.
    assert_eq!(names.0[find("bwd.dense1.weight_grad")].1, Role::ParamGrad);
}

#[test]
fn a_recipe_run_is_deterministic_and_not_f32() {
    let data = precision_audit::data::builtin(40, 3, 5);
    let mut config = default_config(&data);
    config.architecture.widths = vec![3, 40, 1];
    config.batch_size = 8;
    let params = glorot_uniform(&config.architecture, config.seed);
    let run = |recipe: Option<Recipe>| {
        let mut trainer = Trainer::<f32>::new(&config, &data, &params, ());
        if let Some(recipe) = recipe {
            trainer =
                trainer.with_quantizer(Box::new(RecipeQuantizer::new(recipe, ScaleRule::Floor)));
        }
        for plan in schedule(&config, &data).take(10) {
            trainer.step(&plan, None);
        }
        exact_params(trainer.mlp())
    };
    let f32_run = run(None);
    for recipe in Recipe::ALL {
        let got = run(Some(recipe));
        assert_eq!(got, run(Some(recipe)), "{recipe}");
        assert_ne!(got, f32_run, "{recipe} quantizes something");
    }
}
