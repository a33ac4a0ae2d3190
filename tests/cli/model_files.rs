//! Bring your own model and data: parameters from safetensors and `.npz` files in PyTorch's and
//! Keras's layouts start the same run as the same parameters in CSV; the `params_*.safetensors`
//! a run writes are PyTorch's layout and read back; hostile files exit 2 naming the file, the
//! key, the dtype and the shapes, and write nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::common::Audit;
use crate::support::{Scratch, entries, run};

/// A fixture of `fixtures/models/`, relative to the crate root.
fn model(name: &str) -> String {
    let path = format!("fixtures/models/{name}");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(&path).exists(),
        "fixture {path} exists"
    );
    path
}

/// The files that must be byte-identical between two runs of the same network and data.
const RESULTS: [&str; 3] = ["summary.csv", "ops.csv", "steps.csv"];

const SHORT: [&str; 6] = ["--epochs", "2", "--batch-size", "2", "--loss", "relative"];

#[test]
fn tensor_files_start_the_same_run_as_the_csv() {
    for (params, activation) in [
        ("torch-2-3-1-f32.safetensors", "tanh"),
        ("torch-2-3-1-f64.npz", "relu"),
        ("keras-2-3-1-f16.safetensors", "relu"),
        ("keras-2-3-1-f32.npz", "relu"),
    ] {
        // The widths and (for the safetensors file with metadata) the activation come from
        // the file; the data from an .npz.
        let mut args = vec!["--init-params".to_string(), model(params)];
        args.extend(["--data".into(), model("tiny.npz")]);
        args.extend(SHORT.map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let from_file = Audit::run(&args);
        from_file.assert_ok();
        let config = from_file.table("config.csv");
        assert_eq!(
            config.row_where("key", "widths").get("value"),
            "2,3,1",
            "{params}"
        );
        assert_eq!(
            config.row_where("key", "activation").get("value"),
            activation,
            "{params}"
        );

        // The same parameters as CSV, the same data as CSV, everything said with flags.
        let dir = Scratch::dir("as-csv");
        let csv = dir.join("params.csv");
        std::fs::write(&csv, from_file.file("params_initial.csv")).expect("write");
        let csv = csv.to_string_lossy().into_owned();
        let data = "fixtures/data/tiny.csv";
        let mut args = vec![
            "--init-params",
            &csv,
            "--data",
            data,
            "--layers",
            "3",
            "--activation",
            activation,
        ];
        args.extend(SHORT);
        let from_csv = Audit::run(&args);
        from_csv.assert_ok();
        for name in RESULTS {
            assert!(
                from_file.files[name] == from_csv.files[name],
                "{params}: {name} differs from the run started from CSV"
            );
        }
    }
}

#[test]
fn an_f16_parameter_is_read_exactly() {
    // 0.1 stored in f16 is 0.0999755859375: the parameters every lane rounds from hold that
    // value, not the f64 nearest to 0.1, so the f16 lane stores it without rounding.
    let audit = Audit::run(&[
        "--init-params",
        &model("keras-2-3-1-f16.safetensors"),
        "--epochs",
        "1",
    ]);
    audit.assert_ok();
    let initial = audit.table("params_initial.csv");
    let bias = initial
        .rows()
        .find(|r| r.get("layer") == "1" && r.get("tensor") == "bias" && r.get("column") == "2")
        .expect("layer 1 bias column 2");
    assert_eq!(bias.get("value"), "0.0999755859375");
}

/// Key → (dtype, shape, values as f64).
type Tensors = BTreeMap<String, (String, Vec<usize>, Vec<f64>)>;

/// The tensors of a safetensors file of f64 values, read with the `safetensors` crate, and its
/// metadata.
fn tensors_of(bytes: &[u8]) -> (Tensors, HashMap<String, String>) {
    let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes).expect("a safetensors file");
    let file = safetensors::SafeTensors::deserialize(bytes).expect("a safetensors file");
    let tensors = file
        .tensors()
        .into_iter()
        .map(|(key, view)| {
            let values = view
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            (
                key,
                (format!("{:?}", view.dtype()), view.shape().to_vec(), values),
            )
        })
        .collect();
    (tensors, metadata.metadata().clone().unwrap_or_default())
}

#[test]
fn written_safetensors_hold_the_csv_parameters_in_pytorch_layout() {
    let audit = Audit::run(&[
        "--layers",
        "4,3",
        "--activation",
        "sigmoid",
        "--epochs",
        "1",
    ]);
    audit.assert_ok();
    for lane in ["initial", "reference", "f16", "bf16", "f32", "f64"] {
        let (tensors, metadata) = tensors_of(&audit.files[&format!("params_{lane}.safetensors")]);
        assert_eq!(metadata["activation"], "sigmoid");
        assert_eq!(metadata["widths"], "2,4,3,1");
        assert_eq!(metadata["format"], "pt");
        let keys: Vec<&str> = tensors.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"
            ]
        );
        assert_eq!(tensors["2.weight"].0, "F64");
        assert_eq!(tensors["2.weight"].1, [3, 4], "[out, in]");
        assert_eq!(tensors["2.bias"].1, [3]);
        // Every CSV row, found at its place in the [out, in] tensor, bit for bit.
        let csv = audit.table(&format!("params_{lane}.csv"));
        for row in csv.rows() {
            let key = format!("{}.{}", 2 * (row.u64("layer") - 1), row.get("tensor"));
            let (_, shape, values) = &tensors[&key];
            let (r, c) = (row.u64("row") as usize - 1, row.u64("column") as usize - 1);
            let stored = if row.get("tensor") == "weight" {
                values[c * shape[1] + r]
            } else {
                values[c]
            };
            assert_eq!(
                stored.to_bits(),
                row.f64("value").to_bits(),
                "{lane} {key} row {r} column {c}"
            );
        }
    }
}

#[test]
fn a_written_safetensors_file_starts_the_next_run() {
    let first = Audit::run(&[
        "--layers",
        "4,3",
        "--activation",
        "sigmoid",
        "--epochs",
        "1",
    ]);
    first.assert_ok();
    let dir = Scratch::dir("resume");
    let path = dir.join("params_f64.safetensors");
    std::fs::write(&path, &first.files["params_f64.safetensors"]).expect("write");
    let path = path.to_string_lossy().into_owned();
    // Neither --layers nor --activation: both come from the file.
    let next = Audit::run(&["--init-params", &path, "--epochs", "1"]);
    next.assert_ok();
    assert_eq!(
        next.file("params_initial.csv"),
        first.file("params_f64.csv")
    );
    let config = next.table("config.csv");
    assert_eq!(config.row_where("key", "widths").get("value"), "2,4,3,1");
    assert_eq!(
        config.row_where("key", "activation").get("value"),
        "sigmoid"
    );
    // A typed --activation wins over the file's.
    let typed = Audit::run(&[
        "--init-params",
        &path,
        "--epochs",
        "1",
        "--activation",
        "tanh",
    ]);
    typed.assert_ok();
    let config = typed.table("config.csv");
    assert_eq!(config.row_where("key", "activation").get("value"), "tanh");
}

// ---- hostile files ----

/// A safetensors file of `header` (padded to 8 bytes) and `data`.
fn safetensors_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut header = header.to_string();
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

/// Writes `bytes` as `name` in a scratch directory, runs the audit with `flag` pointing at it
/// (and `extra`) and `--csv` into another; asserts exit 2, nothing on stdout, no file written,
/// and that stderr names the file and each of `parts`.
fn refused(name: &str, bytes: &[u8], flag: &str, extra: &[&str], parts: &[&str]) {
    let input = Scratch::dir("hostile");
    let path = input.join(name);
    std::fs::write(&path, bytes).expect("write the hostile file");
    let path = path.to_string_lossy().into_owned();
    let out_dir = Scratch::dir("hostile-out");
    let mut args = vec![flag, &path, "--epochs", "1"];
    args.extend(extra);
    let out_arg = out_dir.arg();
    args.extend(["--csv", &out_arg]);
    let out = run(&args);
    assert_eq!(out.code, Some(2), "{name}: exit 2; stderr: {}", out.stderr);
    assert_eq!(out.stdout, "", "{name}: no report");
    assert!(
        out.stderr.starts_with("precision-audit: error: "),
        "{name}: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
    for part in std::iter::once(path.as_str()).chain(parts.iter().copied()) {
        assert!(
            out.stderr.contains(part),
            "{name}: stderr names `{part}`: {}",
            out.stderr
        );
    }
    assert_eq!(
        entries(&out_dir.path),
        Vec::<String>::new(),
        "{name}: nothing written"
    );
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(model(name))).expect("fixture")
}

#[test]
fn a_truncated_safetensors_file() {
    let good = fixture_bytes("torch-2-3-1-f32.safetensors");
    refused(
        "cut.safetensors",
        &good[..good.len() - 5],
        "--init-params",
        &[],
        &[
            "data_offsets end at byte 52 of the data",
            "47 bytes",
            "truncated",
        ],
    );
    refused(
        "header-cut.safetensors",
        &good[..30],
        "--init-params",
        &[],
        &["the header length says", "only 22 follow it", "truncated"],
    );
}

#[test]
fn a_bad_json_header() {
    refused(
        "json.safetensors",
        &safetensors_bytes(
            r#"{"0.weight": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, "#,
            &[],
        ),
        "--init-params",
        &[],
        &["not a safetensors JSON header"],
    );
}

#[test]
fn a_wrong_dtype() {
    let header = r#"{"0.weight":{"dtype":"I64","shape":[3,2],"data_offsets":[0,48]},"0.bias":{"dtype":"I64","shape":[3],"data_offsets":[48,72]}}"#;
    refused(
        "ints.safetensors",
        &safetensors_bytes(header, &[0; 72]),
        "--init-params",
        &[],
        &[
            "key `0.weight`",
            "I64 [3, 2]",
            "parameters are F16, BF16, F32 or F64",
        ],
    );
    let header = r#"{"0.weight":{"dtype":"F8_E4M3","shape":[3,2],"data_offsets":[0,6]}}"#;
    refused(
        "fp8.safetensors",
        &safetensors_bytes(header, &[0; 6]),
        "--init-params",
        &[],
        &["key `0.weight`", "F8_E4M3 [3, 2]"],
    );
}

#[test]
fn a_shape_that_does_not_fit_the_layers() {
    refused(
        "fits-not.safetensors",
        &fixture_bytes("torch-2-3-1-f32.safetensors"),
        "--init-params",
        &["--layers", "4"],
        &[
            "key `0.weight`",
            "F32 [3, 2] as [out, in]",
            "the network [2, 4, 1] needs [4, 2]",
            "--layers",
        ],
    );
    // Without --layers the hidden widths are the file's; the inputs are still the data's.
    refused(
        "inputs.npz",
        &fixture_bytes("keras-2-3-1-f32.npz"),
        "--init-params",
        &["--features", "3"],
        &[
            "key `arr_0`",
            "F32 [2, 3] as [in, out]",
            "the network [3, 3, 1] needs [3, 3]",
        ],
    );
}

#[test]
fn a_shape_of_two_to_the_forty_elements() {
    let header = r#"{"0.weight":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,16]}}"#;
    refused(
        "huge.safetensors",
        &safetensors_bytes(header, &[0; 16]),
        "--init-params",
        &[],
        &[
            "key `0.weight`",
            "F32 [1048576, 1048576]",
            "1099511627776 elements",
            "[0, 16] hold 16 bytes",
        ],
    );
}

#[test]
fn overlapping_offsets() {
    let header = r#"{"0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"0.bias":{"dtype":"F32","shape":[3],"data_offsets":[12,24]}}"#;
    refused(
        "overlap.safetensors",
        &safetensors_bytes(header, &[0; 24]),
        "--init-params",
        &[],
        &["data_offsets do not start where the previous tensor's end"],
    );
}

#[test]
fn a_non_finite_parameter() {
    let mut data = Vec::new();
    for value in [1.0f32, 2.0, 3.0, 4.0, f32::INFINITY, 6.0, 0.0, 0.0, 0.0] {
        data.extend(value.to_le_bytes());
    }
    let header = r#"{"0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"0.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}}"#;
    refused(
        "inf.safetensors",
        &safetensors_bytes(header, &data),
        "--init-params",
        &[],
        &["key `0.weight`", "F32 [3, 2]", "[2, 0] is inf"],
    );
}

#[test]
fn broken_numpy_data() {
    let good = fixture_bytes("tiny.npz");
    refused(
        "cut.npz",
        &good[..good.len() - 40],
        "--data",
        &[],
        &["not a readable .npz (zip) archive"],
    );
    refused(
        "weights.npz",
        &fixture_bytes("keras-2-3-1-f32.npz"),
        "--data",
        &[],
        &["no features array", "`arr_0` F32 [2, 3]"],
    );
    let npy = fixture_bytes("tiny.npy");
    refused(
        "cut.npy",
        &npy[..npy.len() - 8],
        "--data",
        &[],
        &["F64 [4, 3] needs 96 bytes of data, the file has 88"],
    );
}
