//! Memory at scale: feature vectors and logits spilled to a mapped file
//! (`STACKGAN_EVAL_SPILL_MB=0` spills every store) give the very numbers
//! of a run that keeps them in memory — `score` and `eval`, every metric
//! that keeps rows (KID, PRDC, IS). The in-memory numbers are the ones the
//! other modules check against numpy, torch-fidelity and prdc; here the
//! comparison is exact (`==`).

use crate::util::{assert_ok, command, demo_model, fixture, json, s, temp_dir, tiny_extractor};
use serde_json::Value;
use std::path::Path;

const METRIC_FIELDS: [&str; 9] = [
    "fid",
    "kid_mean",
    "kid_std",
    "is_mean",
    "is_std",
    "precision",
    "recall",
    "density",
    "coverage",
];

/// Runs `args` with the spill threshold `spill_mb` (none: the default) and returns the JSON report.
fn report(args: &[&str], out: &Path, spill_mb: Option<&str>) -> Value {
    let mut cmd = command(args);
    cmd.args(["--json", s(out), "--device", "cpu", "--quiet"]);
    match spill_mb {
        Some(mb) => cmd.env("STACKGAN_EVAL_SPILL_MB", mb),
        None => cmd.env_remove("STACKGAN_EVAL_SPILL_MB"),
    };
    assert_ok(&cmd.output().expect("the binary runs"));
    json(out)
}

/// Every metric number of `kept` equals `spilled`'s (present in both, `==`).
fn assert_same_numbers(kept: &Value, spilled: &Value, what: &str) {
    let mut compared = 0;
    for field in METRIC_FIELDS {
        if let Some(value) = kept.get(field).filter(|v| v.is_number()) {
            assert_eq!(Some(value), spilled.get(field), "{what}: {field}");
            compared += 1;
        }
    }
    assert!(compared >= 4, "{what}: only {compared} metrics in {kept}");
}

#[test]
fn spilled_features_score_exactly_as_kept_ones() {
    let dir = temp_dir();
    let args = [
        "score",
        "--real",
        fixture("e2e/real"),
        "--fake",
        fixture("e2e/fake"),
        "--extractor",
        tiny_extractor(),
        "--metrics",
        "fid,is,kid,prdc",
        "--splits",
        "2",
        "--kid-subsets",
        "5",
        "--kid-subset-size",
        "8",
        "--prdc-k",
        "3",
    ];
    let kept = report(&args, &dir.path().join("kept.json"), None);
    let spilled = report(&args, &dir.path().join("spilled.json"), Some("0"));
    assert_same_numbers(&kept, &spilled, "score");
}

#[test]
fn a_spilled_eval_matches_a_kept_one_branch_by_branch() {
    let dir = temp_dir();
    let args = [
        "eval",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--real",
        fixture("e2e/real"),
        "--extractor",
        tiny_extractor(),
        "--metrics",
        "fid,is,kid",
        "--splits",
        "2",
        "--kid-subsets",
        "5",
        "--kid-subset-size",
        "8",
    ];
    let kept = report(&args, &dir.path().join("kept.json"), None);
    let spilled = report(&args, &dir.path().join("spilled.json"), Some("0"));
    let branches = kept["branches"]
        .as_array()
        .expect("branches in the eval report");
    assert_eq!(branches.len(), 3, "{kept}");
    for (i, branch) in branches.iter().enumerate() {
        assert_same_numbers(branch, &spilled["branches"][i], &format!("branch {i}"));
    }
}
