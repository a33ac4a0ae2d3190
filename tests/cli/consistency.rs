//! What must hold between the files of any audit: the summary is the last step, event totals
//! agree across summary, ops, steps and events, every format ran the same ops on the same
//! batches, and the ops are the ones the flags ask for.

use precision_audit::data::digest::Fnv1a;

use crate::common::{Audit, EVENT_KINDS, flag};
use crate::support::{FORMATS, Table, prec};

/// What the flags of a run imply about its files.
pub struct Expected<'a> {
    pub loss: &'a str,
    pub activation: &'a str,
    pub optimizer: &'a str,
    pub momentum: bool,
    pub dropout: bool,
    pub accumulate: &'a str,
    pub hidden_layers: usize,
    pub first_width: u64,
    pub steps: u64,
    pub steps_per_epoch: u64,
    pub samples: u64,
    pub batch_size: u64,
    pub eps: &'a str,
    pub adam_eps: &'a str,
    /// Parameter rows: Σ (inputs × outputs + outputs) over the layers.
    pub parameters: usize,
}

impl<'a> Expected<'a> {
    /// Reads the flags the way the binary documents their defaults (built-in data set only).
    pub fn from_args(args: &[&'a str]) -> Expected<'a> {
        let samples: u64 = flag(args, "--samples", "100").parse().unwrap();
        let features: usize = flag(args, "--features", "2").parse().unwrap();
        let batch_size: u64 = flag(args, "--batch-size", "32").parse().unwrap();
        let epochs: u64 = flag(args, "--epochs", "100").parse().unwrap();
        let hidden: Vec<usize> = flag(args, "--layers", "10")
            .split(',')
            .map(|w| w.parse().unwrap())
            .collect();
        let mut widths = vec![features];
        widths.extend(&hidden);
        widths.push(1);
        let parameters = widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum();
        let steps_per_epoch = samples.div_ceil(batch_size);
        Expected {
            loss: flag(args, "--loss", "mse"),
            activation: flag(args, "--activation", "relu"),
            optimizer: flag(args, "--optimizer", "adam"),
            momentum: flag(args, "--momentum", "0").parse::<f64>().unwrap() > 0.0,
            dropout: flag(args, "--dropout", "0").parse::<f64>().unwrap() > 0.0,
            accumulate: flag(args, "--accumulate", "f32"),
            hidden_layers: hidden.len(),
            first_width: hidden[0] as u64,
            steps: epochs * steps_per_epoch,
            steps_per_epoch,
            samples,
            batch_size,
            eps: flag(args, "--eps", "1e-8"),
            adam_eps: flag(args, "--adam-eps", "1e-7"),
            parameters,
        }
    }

    /// The accumulator each format reports: never narrower than the format.
    fn accumulator(&self, format: &str) -> &'static str {
        match (self.accumulate, format) {
            ("same", _) => "same",
            ("f32", "f16" | "bf16") => "f32",
            ("f32", _) => "same",
            ("f64", "f64") => "same",
            ("f64", _) => "f64",
            (other, _) => panic!("unexpected --accumulate {other}"),
        }
    }

    /// Op names that must appear in ops.csv.
    fn required_ops(&self) -> Vec<String> {
        let output = self.hidden_layers + 1;
        let mut ops = vec![
            "fwd.dense1.matmul".to_string(),
            "fwd.dense1.bias".to_string(),
            format!("fwd.dense1.{}", self.activation),
            format!("bwd.dense1.{}", self.activation),
            format!("fwd.dense{output}.matmul"),
            format!("bwd.dense{output}.weight_grad"),
            "loss.sub".into(),
            "loss.mean".into(),
            "opt.update".into(),
        ];
        ops.extend(
            match self.loss {
                "mse" => &["loss.square", "bwd.loss.scale"][..],
                "mae" => &["loss.abs", "bwd.loss.sign"][..],
                "relative" => &[
                    "loss.abs",
                    "loss.target_abs",
                    "loss.denominator",
                    "loss.div",
                    "bwd.loss.div",
                ][..],
                other => panic!("unexpected --loss {other}"),
            }
            .iter()
            .map(|s| s.to_string()),
        );
        ops.extend(
            match (self.optimizer, self.momentum) {
                ("adam", _) => &["opt.adam.m", "opt.adam.v", "opt.adam.sqrt"][..],
                ("sgd", true) => &["opt.sgd.velocity", "opt.sgd.step"][..],
                ("sgd", false) => &["opt.sgd.step"][..],
                (other, _) => panic!("unexpected --optimizer {other}"),
            }
            .iter()
            .map(|s| s.to_string()),
        );
        if self.dropout {
            ops.push("fwd.dense1.dropout".into());
            ops.push("bwd.dense1.dropout".into());
        }
        ops
    }

    /// Op name fragments that must not appear.
    fn forbidden_ops(&self) -> Vec<String> {
        let mut ops = vec![format!("dense{}.", self.hidden_layers + 2)];
        if !self.dropout {
            ops.push("dropout".into());
        }
        ops.push(
            if self.optimizer == "adam" {
                "opt.sgd"
            } else {
                "opt.adam"
            }
            .into(),
        );
        if self.optimizer == "sgd" && !self.momentum {
            ops.push("velocity".into());
        }
        if self.loss != "relative" {
            ops.push("loss.div".into());
        }
        for activation in ["relu", "tanh", "sigmoid"] {
            if activation != self.activation {
                ops.push(format!(".{activation}"));
            }
        }
        ops
    }
}

/// Checks every cross-file fact of `audit` against what its flags imply.
pub fn check(audit: &Audit, expected: &Expected) {
    audit.assert_ok();
    let command = audit.command();
    assert_eq!(
        audit.outcome.stderr, "",
        "`{command}` prints nothing on stderr when stderr is not a terminal"
    );
    let mut names = vec![
        "advice.csv",
        "chains.csv",
        "config.csv",
        "constants.csv",
        "data.csv",
        "events.csv",
        "exponents.csv",
        "manifest.csv",
        "ops.csv",
        "params_bf16.csv",
        "params_bf16.safetensors",
        "params_f16.csv",
        "params_f16.safetensors",
        "params_f32.csv",
        "params_f32.safetensors",
        "params_f64.csv",
        "params_f64.safetensors",
        "params_initial.csv",
        "params_initial.safetensors",
        "params_reference.csv",
        "params_reference.safetensors",
        "rows.csv",
        "schedule.csv",
        "steps.csv",
        "summary.csv",
    ];
    names.sort();
    assert_eq!(
        audit.files.keys().map(String::as_str).collect::<Vec<_>>(),
        names,
        "`{command}` writes these files and no temporary ones"
    );
    // The manifest records every other file, byte for byte.
    let manifest = audit.table("manifest.csv");
    let mut listed = manifest.column_values("file");
    listed.push("manifest.csv".into());
    listed.sort();
    assert_eq!(listed, names, "manifest.csv lists every other file");
    for row in manifest.rows() {
        let bytes = &audit.files[row.get("file")];
        let mut hash = Fnv1a::new();
        hash.update(bytes);
        assert_eq!(row.u64("bytes"), bytes.len() as u64, "{}", row.get("file"));
        assert_eq!(row.get("fnv1a_64"), hash.hex(), "{}", row.get("file"));
    }

    let summary = audit.table("summary.csv");
    let ops = audit.table("ops.csv");
    let steps = audit.table("steps.csv");
    let events = audit.table("events.csv");

    assert_eq!(summary.distinct("format"), FORMATS, "summary.csv formats");
    assert_eq!(summary.records.len(), FORMATS.len(), "one summary row each");
    for (format, bits) in FORMATS.iter().zip(["11", "8", "24", "53"]) {
        let row = summary.row_matching(&[("format", format)]);
        assert_eq!(row.get("precision_bits"), bits, "{format} precision");
        assert_eq!(
            row.get("accumulate"),
            expected.accumulator(format),
            "{format} accumulator under `{command}`"
        );
        assert_eq!(row.u64("steps"), expected.steps, "{format} steps");
    }

    check_steps(&summary, &steps, expected, &command);
    check_verdicts(audit, &summary, &steps);
    check_events(&summary, &ops, &steps, &events, &command);
    check_ops(&ops, expected, &command);
    check_exponents(&audit.table("exponents.csv"), &ops, &command);
    check_constants(&audit.table("constants.csv"), expected);
    check_params(audit, expected);
    check_schedule(&audit.table("schedule.csv"), expected);
    let data = audit.table("data.csv");
    assert_eq!(data.records.len() as u64, expected.samples, "data.csv rows");
    assert_eq!(data.header.last().map(String::as_str), Some("y"), "target");
}

/// exponents.csv: per format and role, the counts add up to the elements of the ops the role
/// is made of (forward outputs; backward outputs through the layers, not the loss's own; the
/// updates' steps, one per updated element), the three special bins are always there, and the
/// finite bins lie inside the range of the format the values are stored in.
fn check_exponents(exponents: &Table, ops: &Table, command: &str) {
    assert_eq!(
        exponents.distinct("format"),
        FORMATS,
        "exponents.csv formats"
    );
    let role_of = |op: &str| match op.split('.').collect::<Vec<_>>()[..] {
        ["fwd", ..] => Some("activations"),
        ["bwd", "loss", ..] => None,
        ["bwd", ..] => Some("gradients"),
        ["opt", "update"] => Some("updates"),
        _ => None,
    };
    for format in FORMATS {
        let mut elements = [("activations", 0u64), ("gradients", 0), ("updates", 0)];
        for row in ops.rows_where("format", format) {
            if let Some(role) = role_of(row.get("op")) {
                let entry = elements
                    .iter_mut()
                    .find(|(r, _)| *r == role)
                    .expect("a role");
                entry.1 += row.u64("elements");
            }
        }
        for (role, total) in elements {
            let rows: Vec<_> = exponents
                .rows()
                .filter(|r| r.get("format") == format && r.get("role") == role)
                .collect();
            assert_eq!(
                rows.iter().map(|r| r.u64("count")).sum::<u64>(),
                total,
                "`{command}`: {format} {role} in exponents.csv add up to their ops' elements"
            );
            let bins: Vec<&str> = rows.iter().map(|r| r.get("bin")).collect();
            assert_eq!(
                bins.iter()
                    .filter(|b| ["zero", "inf", "nan"].contains(b))
                    .count(),
                3,
                "{format} {role}: zero, inf and nan rows"
            );
            for row in rows.iter().filter(|r| r.get("bin") == "finite") {
                let spec: precision_audit::format::Format =
                    row.get("stored_in").parse().expect("a format name");
                let spec = spec.spec();
                let e: i32 = row.get("exponent").parse().expect("an exponent");
                let smallest = spec.emin - spec.precision as i32 + 1;
                assert!(
                    (smallest..=spec.emax).contains(&e) && row.u64("count") > 0,
                    "{format} {role}: 2^{e} is a nonempty bin inside {}'s range",
                    spec.name
                );
            }
        }
    }
}

/// steps.csv: consecutive steps per format, one reference trajectory, and the summary equal to
/// its last row.
fn check_steps(summary: &Table, steps: &Table, expected: &Expected, command: &str) {
    assert_eq!(steps.distinct("format"), FORMATS, "steps.csv formats");
    for format in FORMATS {
        let rows: Vec<_> = steps.rows_where("format", format).collect();
        assert_eq!(
            rows.len() as u64,
            expected.steps,
            "{format}: steps.csv rows"
        );
        for (i, row) in rows.iter().enumerate() {
            let step = i as u64 + 1;
            assert_eq!(row.u64("step"), step, "{format}: steps in order");
            assert_eq!(
                row.u64("epoch"),
                step.div_ceil(expected.steps_per_epoch),
                "{format}: epoch of step {step}"
            );
        }
        let s = summary.row_matching(&[("format", format)]);
        let last = rows.last().expect("at least one step");
        for (summary_column, step_column) in [
            ("final_loss", "loss"),
            ("reference_loss", "reference_loss"),
            ("loss_abs_drift", "abs_drift"),
            ("loss_rel_drift", "rel_drift"),
            ("param_rel_drift", "param_rel_drift"),
        ] {
            assert_eq!(
                s.get(summary_column),
                last.get(step_column),
                "{format}: summary {summary_column} is the last step's {step_column} (`{command}`)"
            );
        }
        // A NaN loss has a NaN drift; the maximum counts it as inf.
        let max = rows
            .iter()
            .map(|r| r.f64("rel_drift"))
            .map(|d| if d.is_nan() { f64::INFINITY } else { d })
            .fold(0.0f64, f64::max);
        assert_eq!(
            s.f64("max_rel_drift"),
            max,
            "{format}: max_rel_drift is the largest step rel_drift"
        );
        let first_nonfinite = rows
            .iter()
            .find(|r| !r.f64("loss").is_finite())
            .map(|r| r.get("step"))
            .unwrap_or("");
        assert_eq!(
            s.get("first_nonfinite_step"),
            first_nonfinite,
            "{format}: first_nonfinite_step is the first step whose loss is not finite"
        );
    }
    // One reference runs; every format is compared with the same reference loss per step.
    let reference: Vec<&str> = steps
        .rows_where("format", "f64")
        .map(|r| r.get("reference_loss"))
        .collect();
    for format in FORMATS {
        let theirs: Vec<&str> = steps
            .rows_where("format", format)
            .map(|r| r.get("reference_loss"))
            .collect();
        assert_eq!(theirs, reference, "{format}: the reference trajectory");
    }
}

/// The verdict lines of the table report say what summary.csv and steps.csv say.
fn check_verdicts(audit: &Audit, summary: &Table, steps: &Table) {
    let stdout = &audit.outcome.stdout;
    let verdicts: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "Verdict:")
        .skip(1)
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        // The run's line on the rows that carry the loss, when there is one, comes first.
        .filter(|l| !l.starts_with("rows: "))
        .collect();
    assert_eq!(
        verdicts.len(),
        FORMATS.len(),
        "one verdict per format:\n{stdout}"
    );
    for (format, verdict) in FORMATS.iter().zip(&verdicts) {
        assert!(verdict.starts_with(&format!("{format}: ")), "{verdict}");
        let s = summary.row_matching(&[("format", format)]);
        let after = |prefix: &str| verdict.split(prefix).nth(1);
        match after("the final loss is ") {
            Some(rest) => {
                assert_eq!(s.get("first_nonfinite_step"), "", "{verdict}");
                let final_loss = rest.split(' ').next().unwrap();
                assert_eq!(final_loss, s.get("final_loss"), "{verdict}");
                let reference = after("against the reference's ").unwrap();
                assert_eq!(
                    reference.split(' ').next().unwrap(),
                    s.get("reference_loss"),
                    "{verdict}"
                );
                let drift: f64 = after("(relative drift ")
                    .and_then(|r| r.split(';').next())
                    .and_then(|d| d.parse().ok())
                    .unwrap_or_else(|| panic!("a drift in `{verdict}`"));
                let exact = s.f64("loss_rel_drift");
                prec::assert_close(
                    drift,
                    exact,
                    prec::REPORT_THREE_DIGITS,
                    &format!("{verdict}: the drift against summary.csv's"),
                );
            }
            None => {
                let rest = after("the loss is ")
                    .unwrap_or_else(|| panic!("the verdict says what the loss is: {verdict}"));
                let mut words = rest.split(' ');
                let what = words.next().unwrap();
                assert_eq!(
                    (words.next(), words.next()),
                    (Some("at"), Some("step")),
                    "{verdict}"
                );
                let step = words.next().unwrap().trim_end_matches([';', '.']);
                assert_eq!(step, s.get("first_nonfinite_step"), "{verdict}");
                let loss = steps
                    .row_matching(&[("format", format), ("step", step)])
                    .f64("loss");
                assert_eq!(
                    what,
                    if loss.is_nan() { "NaN" } else { "inf" },
                    "`{verdict}` against steps.csv step {step}"
                );
                let final_loss = s.f64("final_loss");
                let at_end = if final_loss.is_nan() { "NaN" } else { "inf" };
                let expected_end = if at_end == what {
                    format!("and still {at_end} at the end")
                } else {
                    format!("and {at_end} at the end")
                };
                assert!(verdict.contains(&expected_end), "{verdict}");
            }
        }
    }
}

/// Event totals agree in summary.csv, ops.csv (per op), steps.csv (per step) and events.csv
/// (the first occurrence of each kind, with the total).
fn check_events(summary: &Table, ops: &Table, steps: &Table, events: &Table, command: &str) {
    let kinds = EVENT_KINDS.len();
    assert_eq!(
        &summary.header[11..11 + kinds],
        EVENT_KINDS,
        "summary event columns"
    );
    assert_eq!(&ops.header[12..], EVENT_KINDS, "ops event columns");
    assert_eq!(
        &steps.header[8..8 + kinds],
        EVENT_KINDS,
        "steps event columns"
    );
    for format in FORMATS {
        let s = summary.row_matching(&[("format", format)]);
        let mut listed = Vec::new();
        for kind in EVENT_KINDS {
            let total = s.u64(kind);
            let by_op: u64 = ops.rows_where("format", format).map(|r| r.u64(kind)).sum();
            let by_step: u64 = steps
                .rows_where("format", format)
                .map(|r| r.u64(kind))
                .sum();
            assert_eq!(
                (by_op, by_step),
                (total, total),
                "{format} {kind}: ops.csv and steps.csv sum to summary.csv (`{command}`)"
            );
            if total > 0 {
                let first = events.row_matching(&[("format", format), ("kind", kind)]);
                assert_eq!(
                    first.u64("count"),
                    total,
                    "{format} {kind}: events.csv count"
                );
                let op = ops.row_matching(&[("format", format), ("op", first.get("op"))]);
                assert!(
                    op.u64(kind) > 0,
                    "{format} {kind}: the first event's op {} has such events",
                    first.get("op")
                );
                listed.push(kind);
            }
        }
        let kinds: Vec<&str> = events
            .rows_where("format", format)
            .map(|r| r.get("kind"))
            .collect();
        assert_eq!(
            kinds, listed,
            "{format}: events.csv lists each kind that occurred once, in kind order"
        );
    }
    let order: Vec<String> = FORMATS
        .iter()
        .map(|f| f.to_string())
        .filter(|f| events.distinct("format").contains(f))
        .collect();
    assert_eq!(
        events.distinct("format"),
        order,
        "events.csv formats in order"
    );
}

/// ops.csv: every format ran the same ops, in the same order, over as many elements; and the
/// ops are those of the configured loss, activation, optimizer and dropout.
fn check_ops(ops: &Table, expected: &Expected, command: &str) {
    let names = |format: &str| -> Vec<(String, String)> {
        ops.rows_where("format", format)
            .map(|r| (r.get("op").to_string(), r.get("elements").to_string()))
            .collect()
    };
    let f64_ops = names("f64");
    for format in FORMATS {
        assert_eq!(names(format), f64_ops, "{format} ran f64's ops");
    }
    let op_names: Vec<&str> = f64_ops.iter().map(|(op, _)| op.as_str()).collect();
    for required in expected.required_ops() {
        assert!(
            op_names.contains(&required.as_str()),
            "`{command}` runs {required}: {op_names:?}"
        );
    }
    for forbidden in expected.forbidden_ops() {
        assert!(
            !op_names.iter().any(|op| op.contains(&forbidden)),
            "`{command}` runs no op like {forbidden}: {op_names:?}"
        );
    }
    for row in ops.rows() {
        let phase = row.get("phase");
        let op = row.get("op");
        assert!(
            op.starts_with(phase) || (phase == "loss" && op.starts_with("loss.")),
            "{op} is in phase {phase}"
        );
        for column in [
            "acc_max_rel",
            "local_max_rel",
            "acc_max_ulp",
            "local_max_ulp",
        ] {
            let value = row.f64(column);
            assert!(
                value.is_nan() || value >= 0.0,
                "{op} {column} = {value} is an error size"
            );
        }
    }
    // fwd.dense1.matmul has one element per data row and first-layer unit: every row ran
    // once per epoch.
    let epochs = expected.steps / expected.steps_per_epoch;
    let matmul = ops.row_matching(&[("format", "f64"), ("op", "fwd.dense1.matmul")]);
    assert_eq!(
        matmul.u64("elements"),
        epochs * expected.samples * expected.first_width,
        "fwd.dense1.matmul elements"
    );
}

/// constants.csv: the constants the run uses — eps for the relative loss, the Adam eps for Adam —
/// for every format, as given on the command line; no row for an unused one.
fn check_constants(constants: &Table, expected: &Expected) {
    let used = [
        ("eps", expected.loss == "relative", expected.eps),
        ("adam_eps", expected.optimizer == "adam", expected.adam_eps),
    ];
    for format in FORMATS {
        for (name, is_used, given) in used {
            let rows = constants
                .rows()
                .filter(|r| r.get("format") == format && r.get("constant") == name)
                .count();
            assert_eq!(
                rows,
                usize::from(is_used),
                "{format} {name}: a row exactly when used"
            );
            if !is_used {
                continue;
            }
            let row = constants.row_matching(&[("format", format), ("constant", name)]);
            assert_eq!(row.get("given"), given, "{format} {name} as given");
            if name == "eps" {
                assert_eq!(row.u64("targets"), expected.samples, "{format} targets");
            }
            let stored = row.f64("stored");
            assert_eq!(
                row.get("class") == "zero",
                stored == 0.0,
                "{format} {name}: class zero exactly when stored 0"
            );
        }
    }
}

/// The parameter files all list the same parameters, in the same order.
fn check_params(audit: &Audit, expected: &Expected) {
    let keys = |name: &str| -> Vec<String> {
        let table = audit.table(name);
        assert_eq!(
            table.header,
            ["layer", "tensor", "row", "column", "value"],
            "{name} header"
        );
        table
            .rows()
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    r.get("layer"),
                    r.get("tensor"),
                    r.get("row"),
                    r.get("column")
                )
            })
            .collect()
    };
    let initial = keys("params_initial.csv");
    assert_eq!(initial.len(), expected.parameters, "parameter count");
    for name in [
        "params_reference.csv",
        "params_f16.csv",
        "params_bf16.csv",
        "params_f32.csv",
        "params_f64.csv",
    ] {
        assert_eq!(
            keys(name),
            initial,
            "{name} lists params_initial's parameters"
        );
    }
}

/// schedule.csv: each epoch visits every data row exactly once, in batches of --batch-size.
fn check_schedule(schedule: &Table, expected: &Expected) {
    assert_eq!(schedule.header, ["step", "epoch", "position", "row"]);
    let epochs = expected.steps / expected.steps_per_epoch;
    assert_eq!(
        schedule.records.len() as u64,
        epochs * expected.samples,
        "one schedule row per data row and epoch"
    );
    for epoch in 1..=epochs {
        let epoch_text = epoch.to_string();
        let mut rows: Vec<u64> = schedule
            .rows_where("epoch", &epoch_text)
            .map(|r| r.u64("row"))
            .collect();
        rows.sort_unstable();
        assert_eq!(
            rows,
            (0..expected.samples).collect::<Vec<_>>(),
            "epoch {epoch} visits every row once"
        );
    }
    let mut batches: Vec<(u64, Vec<u64>)> = Vec::new();
    for row in schedule.rows() {
        let step = row.u64("step");
        match batches.last_mut() {
            Some((last, positions)) if *last == step => positions.push(row.u64("position")),
            _ => batches.push((step, vec![row.u64("position")])),
        }
    }
    assert_eq!(
        batches.iter().map(|(step, _)| *step).collect::<Vec<_>>(),
        (1..=expected.steps).collect::<Vec<_>>(),
        "schedule.csv steps in order"
    );
    for (step, positions) in batches {
        let in_epoch = (step - 1) % expected.steps_per_epoch;
        let size = expected
            .batch_size
            .min(expected.samples - in_epoch * expected.batch_size);
        assert_eq!(
            positions,
            (0..size).collect::<Vec<_>>(),
            "step {step} is a batch of {size}"
        );
    }
}
