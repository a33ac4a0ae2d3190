//! Formats named at run time (`--formats e5m10`, `e4m3-saturate`) train in the generic narrow
//! type with facts from a run-time slot. A user format with f16's or bf16's fields must give,
//! bit for bit, what the `half` crate's f16 and bf16 give: every batch loss, the final loss and
//! every parameter, with Adam and tanh on.

use precision_audit::data::{Dataset, builtin};
use precision_audit::format::custom::intern;
use precision_audit::format::{Format, FormatFn, Native, Overflow, Spec, Specials};
use precision_audit::model::{Activation, Loss, Preset, glorot_uniform};
use precision_audit::train::{TrainConfig, Trainer};

use crate::common::{default_config, exact, schedule};

fn config() -> (TrainConfig, Dataset) {
    let data = builtin(40, 3, 5);
    let mut config = default_config(&data);
    config.architecture.widths = vec![3, 6, 1];
    config.architecture.activation = Activation::Tanh;
    // The mean squared error: f16 stores the relative loss's eps = 1e-8 as 0, and a run that
    // is NaN from its first step would compare nothing.
    config.loss = Loss::from(Preset::Mse);
    config.batch_size = 8;
    (config, data)
}

/// Every batch loss of 30 steps, the final loss and every parameter, exactly.
struct Run<'a>(&'a TrainConfig, &'a Dataset);

impl FormatFn for Run<'_> {
    type Output = Vec<String>;
    fn call<S: Native>(self, _: Format) -> Vec<String> {
        let Run(config, data) = self;
        let params = glorot_uniform(&config.architecture, config.seed);
        let mut trainer = Trainer::<S>::new(config, data, &params, ());
        let mut out: Vec<String> = schedule(config, data)
            .take(30)
            .map(|plan| exact(&trainer.step(&plan, None)))
            .collect();
        out.push(exact(&trainer.full_loss()));
        for layer in &trainer.mlp().layers {
            out.extend(layer.weight.iter().chain(layer.bias.iter()).map(exact));
        }
        out
    }
}

#[test]
fn user_formats_with_f16_and_bf16_fields_train_as_half_does() {
    let (config, data) = config();
    let run = |format: Format| format.dispatch(Run(&config, &data));
    for (fields, named) in [((5, 10), Format::F16), ((8, 7), Format::Bf16)] {
        let (exp, man) = fields;
        let name = format!("e{exp}m{man}");
        let spec = Spec::narrow(
            Box::leak(name.clone().into_boxed_str()),
            exp,
            man,
            Specials::Ieee,
            Overflow::Ieee,
        );
        let format = intern(spec).unwrap();
        assert!(matches!(format, Format::Custom(_)), "{name}");
        let (got, expected) = (run(format), run(named));
        assert_eq!(got.len(), expected.len());
        assert_eq!(got, expected, "{name} against {named}");
        assert!(
            !got[30].contains("nan") && !got[30].contains("inf"),
            "{name}: the final loss {} is finite",
            got[30]
        );
    }
}
