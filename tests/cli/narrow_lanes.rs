//! Formats named at run time as lanes: any eXmY (`e5m7`) and a format with another overflow
//! rule (`e4m3-saturate`, or `--overflow` for every narrow lane), with the refusals that name
//! the lane and say why.

use crate::bad_input::refused;
use crate::common::Audit;

fn run(extra: &[&str]) -> Audit {
    let mut args = vec!["--loss", "relative", "--eps", "1e-8", "--epochs", "5"];
    args.extend(extra);
    let audit = Audit::run(&args);
    audit.assert_ok();
    audit
}

#[test]
fn an_overflow_rule_is_part_of_a_lane() {
    let audit = run(&["--formats", "e4m3,e4m3-saturate,e5m7"]);
    let events = audit.table("events.csv");
    let first_overflow = |lane: &str| {
        let row = events.row_matching(&[("format", lane), ("kind", "overflow")]);
        (row.get("op").to_string(), row.get("value").to_string())
    };
    // The same op overflows first in both e4m3 lanes (−512 is past 448): OCP/ml_dtypes' rule
    // stores NaN, CUDA's SATFINITE −448. e5m7 (IEEE-like) stores −inf.
    assert_eq!(
        first_overflow("e4m3"),
        ("bwd.loss.div".to_string(), "nan".to_string())
    );
    assert_eq!(
        first_overflow("e4m3-saturate"),
        ("bwd.loss.div".to_string(), "-448".to_string())
    );
    assert_eq!(first_overflow("e5m7").1, "-inf");
    // e5m7 has f16's range: eps = 1e-8 is below its smallest subnormal 2^-21 and stored as 0.
    let constants = audit.table("constants.csv");
    let eps = constants.row_matching(&[("format", "e5m7"), ("constant", "eps")]);
    assert_eq!(eps.f64("stored"), 0.0);

    // --overflow gives every narrow lane the rule: the same lane, the same numbers.
    let flagged = run(&["--formats", "e4m3", "--overflow", "saturate"]);
    let summary = |audit: &Audit| {
        let table = audit.table("summary.csv");
        let row = table.row_where("format", "e4m3-saturate");
        (row.u64("overflow"), row.get("final_loss").to_string())
    };
    assert_eq!(summary(&flagged), summary(&audit));
}

#[test]
fn lanes_beyond_what_a_format_or_a_run_holds_are_refused() {
    for (lanes, says) in [
        (
            "e4m3-ieee",
            "e4m3 has no infinities; its overflow rules are saturate or nan",
        ),
        ("e2m1-nan", "e2m1 has no NaN"),
        ("e10m5", "2 to 9 exponent bits"),
        (
            "e5m7,e5m8,e5m9,e6m7,e6m8",
            "at most 4 formats beyond the named ones",
        ),
    ] {
        let message = refused(&["--formats", lanes]);
        assert!(message.contains(says), "{lanes}: {message}");
    }
}
