//! `plot DIR` and `--plot`: the pictures are drawn from a `--csv` directory's files, the same
//! bytes every time and the same whichever way they are made; they are well-formed XML with one
//! series per lane and mark what the CSV files say is not finite.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{Audit, default_job};
use crate::snapshot;
use crate::support::{DEFAULT_JOB, FORMATS, Outcome, Scratch, Table, entries, run};

/// What `plot` writes, in order.
const PICTURES: [&str; 5] = [
    "drift.svg",
    "loss.svg",
    "ops.svg",
    "exponents.svg",
    "report.html",
];

/// Writes `files` into a fresh directory: an audit's `--csv` directory as it was saved.
fn saved(tag: &str, files: &BTreeMap<String, Vec<u8>>) -> Scratch {
    let dir = Scratch::dir(tag);
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("a scratch file");
    }
    dir
}

/// Runs `plot` with `args`.
fn plot(args: &[&str]) -> Outcome {
    let mut full = vec!["plot"];
    full.extend_from_slice(args);
    run(&full)
}

/// Every file of `dir` whose name is in `names`, read.
fn read(dir: &Path, names: &[&str]) -> BTreeMap<String, String> {
    names
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(name))
                .unwrap_or_else(|e| panic!("{name} in {}: {e}", dir.display()));
            (name.to_string(), text)
        })
        .collect()
}

/// The default job's pictures, drawn once from its saved directory by `plot DIR --out OUT`.
fn default_pictures() -> &'static BTreeMap<String, String> {
    static PICTURES_OF_DEFAULT: std::sync::OnceLock<BTreeMap<String, String>> =
        std::sync::OnceLock::new();
    PICTURES_OF_DEFAULT.get_or_init(|| {
        let job = default_job().assert_ok();
        let dir = saved("plot-default", &job.files);
        let out = Scratch::path("plot-default-out");
        let outcome = plot(&[&dir.arg(), "--out", &out.arg()]);
        assert_eq!(outcome.code, Some(0), "plot failed: {}", outcome.stderr);
        assert_eq!(
            outcome.stderr, "",
            "plot of a complete directory says nothing on stderr"
        );
        assert_eq!(
            entries(&out.path),
            sorted(&PICTURES),
            "plot writes these files only"
        );
        let listed: Vec<String> = PICTURES
            .iter()
            .map(|name| out.path.join(name).display().to_string())
            .collect();
        assert_eq!(outcome.stdout.lines().collect::<Vec<_>>(), listed);
        read(&out.path, &PICTURES)
    })
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    names.sort();
    names
}

fn parse<'a>(name: &str, text: &'a str) -> roxmltree::Document<'a> {
    // report.html starts with <!DOCTYPE html>.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, options)
        .unwrap_or_else(|e| panic!("{name} is well-formed XML: {e}"))
}

/// The elements of `doc` with this class (one of the classes in its `class` attribute).
fn with_class<'a, 'i>(node: roxmltree::Node<'a, 'i>, class: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    node.descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split(' ').any(|c| c == class))
        })
        .collect()
}

/// The `data-lane` of each lane group of a per-step chart, in order.
fn lanes_of(doc: &roxmltree::Document) -> Vec<String> {
    with_class(doc.root(), "lane")
        .iter()
        .map(|g| {
            g.attribute("data-lane")
                .expect("a lane group names its lane")
                .to_string()
        })
        .collect()
}

/// The group of `lane` in a per-step chart.
fn lane_group<'a, 'i>(doc: &'a roxmltree::Document<'i>, lane: &str) -> roxmltree::Node<'a, 'i> {
    with_class(doc.root(), "lane")
        .into_iter()
        .find(|g| g.attribute("data-lane") == Some(lane))
        .unwrap_or_else(|| panic!("a group of lane {lane}"))
}

/// The steps a lane's marks of `kind` cover, from their `data-steps` spans (`3` or `1-400`).
fn marked_steps(group: roxmltree::Node, kind: &str) -> Vec<u64> {
    with_class(group, kind)
        .iter()
        .flat_map(|mark| {
            let span = mark.attribute("data-steps").expect("a span of steps");
            let (first, last) = span.split_once('-').unwrap_or((span, span));
            let (first, last): (u64, u64) = (first.parse().unwrap(), last.parse().unwrap());
            first..=last
        })
        .collect()
}

#[test]
fn plot_writes_the_same_bytes_every_time() {
    let first = default_pictures();
    let job = default_job();
    let dir = saved("plot-again", &job.files);
    let out = Scratch::path("plot-again-out");
    let outcome = plot(&[&dir.arg(), "--out", &out.arg()]);
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let again = read(&out.path, &PICTURES);
    for name in PICTURES {
        assert!(
            first[name] == again[name],
            "{name} differs between two runs of plot"
        );
    }
    // Without --out, into the directory itself, beside the CSV files, which stay as they were.
    let outcome = plot(&[&dir.arg()]);
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let mut expected: Vec<String> = job.files.keys().cloned().collect();
    expected.extend(PICTURES.iter().map(|n| n.to_string()));
    expected.sort();
    assert_eq!(entries(&dir.path), expected);
    for (name, text) in &job.files {
        assert!(
            std::fs::read(dir.join(name)).unwrap() == *text,
            "{name} untouched"
        );
    }
    let inside = read(&dir.path, &PICTURES);
    for name in PICTURES {
        assert!(
            first[name] == inside[name],
            "{name}: --out changes nothing drawn"
        );
    }
}

#[test]
fn pictures_are_well_formed_with_one_series_per_lane() {
    let pictures = default_pictures();
    let drift = parse("drift.svg", &pictures["drift.svg"]);
    assert_eq!(lanes_of(&drift), FORMATS, "drift.svg: one series per lane");
    let loss = parse("loss.svg", &pictures["loss.svg"]);
    let mut expected = vec!["reference".to_string()];
    expected.extend(FORMATS.map(String::from));
    assert_eq!(
        lanes_of(&loss),
        expected,
        "loss.svg: the reference, then each lane"
    );
    for doc in [&drift, &loss] {
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        for lane in ["bf16", "f32", "f64"] {
            let lines = with_class(lane_group(doc, lane), "series");
            assert!(!lines.is_empty(), "{lane}'s finite values are drawn");
        }
    }

    let ops_csv = Table::parse("ops.csv", default_job().file("ops.csv"));
    let ops = parse("ops.svg", &pictures["ops.svg"]);
    let cells = with_class(ops.root(), "cell");
    let ops_per_lane = ops_csv.rows_where("format", "f16").count();
    assert_eq!(
        cells.len(),
        2 * FORMATS.len() * ops_per_lane,
        "two panels of ops × lanes"
    );
    for panel in with_class(ops.root(), "panel") {
        let mut lanes: Vec<&str> = with_class(panel, "cell")
            .iter()
            .map(|c| c.attribute("data-lane").unwrap())
            .collect();
        lanes.dedup();
        assert_eq!(lanes, FORMATS, "one column per lane, in order");
    }

    let exponents = parse("exponents.svg", &pictures["exponents.svg"]);
    let panels: Vec<(String, String)> = with_class(exponents.root(), "histogram")
        .iter()
        .map(|g| {
            let get = |a: &str| g.attribute(a).unwrap().to_string();
            (get("data-lane"), get("data-role"))
        })
        .collect();
    let expected: Vec<(String, String)> = FORMATS
        .iter()
        .flat_map(|lane| {
            ["activations", "gradients", "updates"].map(|role| (lane.to_string(), role.into()))
        })
        .collect();
    assert_eq!(panels, expected, "one histogram per lane and role");

    let html = parse("report.html", &pictures["report.html"]);
    let svgs = html
        .descendants()
        .filter(|n| n.tag_name().name() == "svg")
        .count();
    assert_eq!(svgs, 4, "report.html has every picture inline");
    let rows = html
        .descendants()
        .filter(|n| n.tag_name().name() == "tr")
        .count();
    assert_eq!(
        rows,
        1 + FORMATS.len(),
        "the summary: a header and a row per lane"
    );
    assert!(
        !pictures["report.html"].contains("src=") && !pictures["report.html"].contains("href="),
        "report.html refers to no other file"
    );
}

/// The default job's f16 loss is inf at step 1 and NaN after: every step of its drift is
/// marked non-finite, nothing of it is drawn as a line, and no other lane is marked.
#[test]
fn drift_marks_the_nonfinite_steps_of_f16() {
    let steps = Table::parse("steps.csv", default_job().file("steps.csv"));
    let drift = parse("drift.svg", &default_pictures()["drift.svg"]);
    for lane in FORMATS {
        let nonfinite: Vec<u64> = steps
            .rows_where("format", lane)
            .filter(|r| !r.f64("rel_drift").is_finite())
            .map(|r| r.u64("step"))
            .collect();
        let group = lane_group(&drift, lane);
        assert_eq!(
            marked_steps(group, "nonfinite"),
            nonfinite,
            "{lane}'s marks"
        );
        assert!(
            marked_steps(group, "skipped").is_empty(),
            "{lane} skips nothing"
        );
    }
    let f16 = lane_group(&drift, "f16");
    assert_eq!(
        marked_steps(f16, "nonfinite"),
        (1..=400).collect::<Vec<u64>>()
    );
    assert!(
        with_class(f16, "series").is_empty(),
        "no f16 drift is finite"
    );
}

#[test]
fn heatmap_marks_nonfinite_means() {
    let ops_csv = Table::parse("ops.csv", default_job().file("ops.csv"));
    let ops = parse("ops.svg", &default_pictures()["ops.svg"]);
    let mut marked = 0;
    for (panel, column) in [
        ("local", "local_mean_bits"),
        ("accumulated", "acc_mean_bits"),
    ] {
        let panel = with_class(ops.root(), "panel")
            .into_iter()
            .find(|p| p.attribute("data-panel") == Some(panel))
            .expect("both panels");
        for cell in with_class(panel, "cell") {
            let (lane, op) = (
                cell.attribute("data-lane").unwrap(),
                cell.attribute("data-op").unwrap(),
            );
            let mean = ops_csv
                .row_matching(&[("format", lane), ("op", op)])
                .f64(column);
            let is_marked = cell.attribute("class").unwrap().contains("nonfinite");
            assert_eq!(
                is_marked,
                !mean.is_finite(),
                "{lane} {op} {column} = {mean}"
            );
            marked += usize::from(is_marked);
        }
    }
    assert!(marked > 0, "f16's NaN ops are marked");
}

#[test]
fn histogram_bars_add_up_to_exponents_csv() {
    let exponents_csv = Table::parse("exponents.csv", default_job().file("exponents.csv"));
    let svg = parse("exponents.svg", &default_pictures()["exponents.svg"]);
    for group in with_class(svg.root(), "histogram") {
        let (lane, role) = (
            group.attribute("data-lane").unwrap(),
            group.attribute("data-role").unwrap(),
        );
        let drawn: u64 = with_class(group, "bin")
            .iter()
            .map(|b| b.attribute("data-count").unwrap().parse::<u64>().unwrap())
            .sum();
        let counted: u64 = exponents_csv
            .rows()
            .filter(|r| r.get("format") == lane && r.get("role") == role)
            .map(|r| r.u64("count"))
            .sum();
        assert_eq!(
            drawn, counted,
            "{lane} {role}: every counted value is drawn"
        );
        assert!(counted > 0, "{lane} {role} has values");
    }
}

/// `--plot` draws into the `--csv` directory what `plot DIR --json` draws from it afterwards.
#[test]
fn audit_with_plot_draws_what_plot_draws() {
    let dir = Scratch::path("audit-plot");
    let mut args: Vec<String> = DEFAULT_JOB.iter().map(|a| a.to_string()).collect();
    args.extend(["--epochs", "2", "--output", "json", "--plot", "--csv"].map(String::from));
    args.push(dir.arg());
    let outcome = run(&args);
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let names = entries(&dir.path);
    for name in PICTURES
        .iter()
        .chain(&["summary.csv", "steps.csv", "exponents.csv"])
    {
        assert!(
            names.iter().any(|n| n == name),
            "--plot wrote {name}: {names:?}"
        );
    }
    assert!(
        !names.iter().any(|n| n.starts_with('.')),
        "no temporary file left: {names:?}"
    );
    let drawn = read(&dir.path, &PICTURES);

    let json = Scratch::dir("audit-plot-json");
    std::fs::write(json.join("audit.json"), &outcome.stdout).unwrap();
    let out = Scratch::path("audit-plot-out");
    let json_arg = json.join("audit.json").display().to_string();
    let replot = plot(&[&dir.arg(), "--out", &out.arg(), "--json", &json_arg]);
    assert_eq!(replot.code, Some(0), "{}", replot.stderr);
    let again = read(&out.path, &PICTURES);
    for name in PICTURES {
        assert!(
            drawn[name] == again[name],
            "{name}: --plot and plot DIR --json differ"
        );
    }
    assert!(
        drawn["report.html"].contains("Verdicts")
            && drawn["report.html"].contains("eps = 1e-8 is stored as 0"),
        "report.html has the verdicts"
    );
}

#[test]
fn plot_refuses_a_directory_not_written_by_csv() {
    let empty = Scratch::dir("plot-empty");
    let outcome = plot(&[&empty.arg()]);
    assert_eq!(outcome.code, Some(2), "{}", outcome.stderr);
    for part in [
        "error",
        &empty.arg(),
        "not a directory written by precision-audit --csv",
        "summary.csv",
    ] {
        assert!(
            outcome.stderr.contains(part),
            "stderr names `{part}`: {}",
            outcome.stderr
        );
    }
    assert_eq!(
        entries(&empty.path),
        Vec::<String>::new(),
        "nothing written"
    );

    let missing = Scratch::path("plot-missing");
    let outcome = plot(&[&missing.arg()]);
    assert_eq!(outcome.code, Some(2), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("no such directory"),
        "{}",
        outcome.stderr
    );
    assert!(!missing.path.exists(), "nothing created");

    // A study's directory has no summary.csv either.
    let files = BTreeMap::from([("sweep.csv".to_string(), b"seed,format\n".to_vec())]);
    let study = saved("plot-study", &files);
    let outcome = plot(&[&study.arg()]);
    assert_eq!(outcome.code, Some(2), "{}", outcome.stderr);
    assert_eq!(entries(&study.path), ["sweep.csv"], "nothing written");

    let outcome = run(&["--plot"]);
    assert_eq!(
        outcome.code,
        Some(2),
        "--plot needs --csv: {}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("--csv"), "{}", outcome.stderr);
}

/// A directory written before exponents.csv existed still draws, without exponents.svg.
#[test]
fn plot_draws_an_older_directory_without_exponents() {
    let mut files = default_job().files.clone();
    files.remove("exponents.csv");
    let dir = saved("plot-old", &files);
    let outcome = plot(&[&dir.arg()]);
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("exponents.csv"),
        "{}",
        outcome.stderr
    );
    let names = entries(&dir.path);
    assert!(!names.iter().any(|n| n == "exponents.svg"), "{names:?}");
    let report = read(&dir.path, &["report.html", "drift.svg"]);
    assert!(report["report.html"].contains("No exponents.csv"));
    assert!(report["drift.svg"] == default_pictures()["drift.svg"]);
}

/// A small picture pinned, so that any change to how the charts are drawn is reviewed.
#[test]
fn tiny_run_drift_svg() {
    let args = [
        "--loss", "relative", "--eps", "1e-8", "--epochs", "1", "--layers", "3",
    ];
    let audit = Audit::run(&args);
    audit.assert_ok();
    let dir = saved("plot-tiny", &audit.files);
    let outcome = plot(&[&dir.arg()]);
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let drift = read(&dir.path, &["drift.svg"]);
    snapshot(
        "plot__tiny_drift_svg",
        &format!(
            "{} --csv DIR && precision-audit plot DIR: drift.svg",
            audit.command()
        ),
        &drift["drift.svg"],
    );
}
