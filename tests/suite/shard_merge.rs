//! `--shard I/N` and `merge`: a run split into shards and merged equals the
//! single-process run bit for bit (the `.npz` files byte for byte, report
//! numbers with `==`), for shard counts that divide the items and ones that
//! do not; shards of different runs, duplicated, missing, foreign or
//! truncated files are refused in one line naming them.
//!
//! No tolerance: the reference is the single run of the same build on the
//! same images, and the claim is identity. (The single run's own numbers
//! are checked against numpy and pytorch-fid in `metrics_stats` and
//! `cli_core`.) The folder has 601 images, so the shards' edges fall inside
//! the statistics' 256-row blocks, and `--batch-size 7` puts batch edges
//! elsewhere again.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use stackgan_eval::shard::{Partial, Shard};

use crate::util::{Refusal, assert_ok, demo_model, fixture, s, temp_dir, tiny_extractor, tool};

const CPU: [&str; 2] = ["--device", "cpu"];

/// 601 images: the 40 of the end-to-end fixtures, over and over, under new names.
fn big_folder(dir: &Path) -> PathBuf {
    let folder = dir.join("images");
    std::fs::create_dir(&folder).unwrap();
    let mut sources: Vec<PathBuf> = ["e2e/fake", "e2e/real"]
        .iter()
        .flat_map(|f| std::fs::read_dir(fixture(f)).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    sources.sort();
    for i in 0..601 {
        std::fs::copy(
            &sources[i % sources.len()],
            folder.join(format!("{i:04}.png")),
        )
        .unwrap();
    }
    folder
}

/// `command --images folder --extractor tiny --out out` with `extra`.
fn run(command: &str, folder: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        command,
        "--images",
        s(folder),
        "--extractor",
        tiny_extractor(),
        "--out",
        s(out),
        "--quiet",
    ];
    args.extend(CPU);
    args.extend(extra);
    assert_ok(&tool(&args));
}

/// Runs `command` whole and as `count` shards, merges them, and asserts the
/// merged file is the single run's, byte for byte.
fn assert_merge_is_exact(command: &str, folder: &Path, dir: &Path, count: usize, ext: &str) {
    let whole = dir.join(format!("{command}-whole.{ext}"));
    run(command, folder, &whole, &[]);
    let mut parts = Vec::new();
    for index in (0..count).rev() {
        let part = dir.join(format!("{command}-{index}-of-{count}.part"));
        let shard = format!("{index}/{count}");
        run(
            command,
            folder,
            &part,
            &["--shard", &shard, "--batch-size", "7"],
        );
        parts.push(part);
    }
    let merged = dir.join(format!("{command}-merged-{count}.{ext}"));
    let mut args = vec!["merge".to_string()];
    args.extend(parts.iter().map(|p| s(p).to_string()));
    args.extend(["--out".into(), s(&merged).into()]);
    assert_ok(&tool(&args));
    let (a, b) = (
        std::fs::read(&whole).unwrap(),
        std::fs::read(&merged).unwrap(),
    );
    assert!(
        a == b,
        "{command} over {count} shards: {} differs from the single run {}",
        merged.display(),
        whole.display()
    );
}

#[test]
fn stats_merged_from_4_and_from_3_shards_equal_the_single_run() {
    let dir = temp_dir();
    let folder = big_folder(dir.path());
    for count in [4, 3] {
        assert_merge_is_exact("stats", &folder, dir.path(), count, "npz");
    }
}

#[test]
fn extract_merged_from_4_and_from_3_shards_equals_the_single_run() {
    let dir = temp_dir();
    let folder = big_folder(dir.path());
    for count in [4, 3] {
        assert_merge_is_exact("extract", &folder, dir.path(), count, "npz");
    }
    assert_merge_is_exact("extract", &folder, dir.path(), 3, "npy");
}

/// Runs `shard` (a command writing a partial result to its first argument)
/// as `count` shards into `dir`, merges them with `merge --json`, and returns
/// the merged report.
fn merged_report(
    dir: &Path,
    tag: &str,
    count: usize,
    shard: &dyn Fn(&Path, &[&str]),
) -> serde_json::Value {
    let mut args = vec!["merge".to_string()];
    for index in 0..count {
        let part = dir.join(format!("{tag}-{index}-of-{count}.part"));
        shard(&part, &["--shard", &format!("{index}/{count}")]);
        args.push(s(&part).to_string());
    }
    let merged = dir.join(format!("{tag}-merged-{count}.json"));
    args.extend(["--json".into(), s(&merged).into(), "--quiet".into()]);
    assert_ok(&tool(&args));
    crate::util::json(&merged)
}

/// `score` over `real` and the 601 images, whole and as 4 and 3 shards:
/// the merged report equals the single run's, every number with `==`.
fn assert_score_merge_is_exact(dir: &Path, real: &Path, fake: &Path, metrics: &[&str], tag: &str) {
    let score = |json: &Path, extra: &[&str]| {
        let mut args = vec![
            "score",
            "--real",
            s(real),
            "--fake",
            s(fake),
            "--extractor",
            tiny_extractor(),
            "--json",
            s(json),
            "--quiet",
        ];
        args.extend(CPU);
        args.extend(metrics);
        args.extend(extra);
        assert_ok(&tool(&args));
    };
    let whole = dir.join(format!("{tag}-whole.json"));
    score(&whole, &[]);
    let expected = crate::util::json(&whole);
    for count in [4, 3] {
        let got = merged_report(dir, tag, count, &score);
        assert!(
            expected["fid"].is_f64() || expected["is_mean"].is_f64(),
            "{expected}"
        );
        assert_eq!(got, expected, "{tag}: score over {count} shards");
    }
}

#[test]
fn score_merged_from_4_and_from_3_shards_equals_the_single_run() {
    let dir = temp_dir();
    let folder = big_folder(dir.path());
    let real = Path::new(fixture("e2e/real"));
    let all = [
        "--metrics",
        "fid,is,kid,prdc",
        "--kid-subset-size",
        "15",
        "--kid-subsets",
        "7",
        "--splits",
        "3",
    ];
    // 20 reference images then 601 evaluated: shard 0 holds both sides.
    assert_score_merge_is_exact(dir.path(), real, &folder, &all, "folders");
    // Reference statistics from a file (read again by the merge), IS from a separate classifier.
    let stats = dir.path().join("real.npz");
    run("stats", real, &stats, &[]);
    let classifier = [
        "--metrics",
        "fid,is",
        "--classifier",
        demo_model("demo-extractor.onnx"),
        "--splits",
        "4",
    ];
    assert_score_merge_is_exact(dir.path(), &stats, &folder, &classifier, "stats-file");
}

/// The bootstrap needs every feature vector, which the partials carry: the
/// merged intervals and replicate values are the single run's.
#[test]
fn score_merged_with_a_bootstrap_equals_the_single_run() {
    let dir = temp_dir();
    let folder = big_folder(dir.path());
    let real = Path::new(fixture("e2e/real"));
    let bootstrap = [
        "--metrics",
        "fid,kid,prdc",
        "--kid-subset-size",
        "15",
        "--kid-subsets",
        "7",
        "--bootstrap",
        "5",
        "--bootstrap-seed",
        "9",
    ];
    assert_score_merge_is_exact(dir.path(), real, &folder, &bootstrap, "bootstrap");
}

#[test]
fn eval_merged_from_4_and_from_3_shards_equals_the_single_run() {
    let dir = temp_dir();
    let d = dir.path();
    let real = d.join("real.npz");
    run("extract", Path::new(fixture("e2e/real")), &real, &[]);
    // 80 samples (8 images × 10 captions); batches of 7 cross every shard edge.
    let eval = |json: &Path, extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--model",
            demo_model("demo-generator.onnx"),
            "--embeddings",
            demo_model("demo-embeddings.npy"),
            "--extractor",
            tiny_extractor(),
            "--real",
            s(&real),
            "--metrics",
            "fid,is,kid,prdc",
            "--kid-subset-size",
            "10",
            "--kid-subsets",
            "3",
            "--splits",
            "3",
            "--batch-size",
            "7",
            "--json",
            s(json),
            "--quiet",
        ];
        args.extend(CPU);
        args.extend(extra);
        if !extra.contains(&"--seed") {
            args.extend(["--seed", "3"]);
        }
        assert_ok(&tool(&args));
    };
    let whole = d.join("eval-whole.json");
    eval(&whole, &[]);
    let expected = crate::util::json(&whole);
    assert!(expected["branches"][0]["fid"].is_f64(), "{expected}");
    assert!(
        expected["color_consistency"][0]["loss"].is_f64(),
        "{expected}"
    );
    for count in [4, 3] {
        assert_eq!(
            merged_report(d, "eval", count, &eval),
            expected,
            "eval over {count} shards"
        );
    }
    // A shard of another seed is refused.
    let other = d.join("eval-seed-4.part");
    eval(&other, &["--shard", "1/3", "--seed", "4"]);
    let out = d.join("never.json");
    let (p0, p2) = (d.join("eval-0-of-3.part"), d.join("eval-2-of-3.part"));
    Refusal {
        args: vec!["merge", s(&p0), s(&other), s(&p2), "--json", s(&out)],
        output: &out,
        names: s(&other),
        also: &["seed"],
    }
    .check();
}

#[test]
fn generate_shards_write_the_single_runs_samples_by_name_and_byte() {
    let dir = temp_dir();
    let d = dir.path();
    let generate = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "generate",
            "--model",
            demo_model("demo-generator.onnx"),
            "--embeddings",
            demo_model("demo-embeddings.npy"),
            "--seed",
            "3",
            "--save-raw",
            "--out",
            s(out),
            "--quiet",
        ];
        args.extend(CPU);
        args.extend(extra);
        assert_ok(&tool(&args));
    };
    let whole = d.join("whole");
    generate(&whole, &[]);
    let expected = crate::util::files_under(&whole);
    let whole_raw = crate::util::read_npz(&whole.join("raw.npz"));
    let csv = |folder: &Path| std::fs::read_to_string(folder.join("samples.csv")).unwrap();
    let whole_csv = csv(&whole);
    for count in [4, 3] {
        let mut pngs = std::collections::BTreeMap::new();
        let mut rows = String::new();
        let mut raws: Vec<std::collections::BTreeMap<String, ndarray::ArrayD<f32>>> = Vec::new();
        for index in 0..count {
            let out = d.join(format!("shard-{index}-of-{count}"));
            generate(
                &out,
                &["--shard", &format!("{index}/{count}"), "--batch-size", "7"],
            );
            for (name, bytes) in crate::util::files_under(&out) {
                if name.extension().is_some_and(|e| e == "png") {
                    assert_eq!(
                        expected.get(&name),
                        Some(&bytes),
                        "{} of shard {index}/{count}",
                        name.display()
                    );
                    pngs.insert(name, bytes);
                }
            }
            let text = csv(&out);
            let (header, body) = text.split_once('\n').unwrap();
            if rows.is_empty() {
                rows.push_str(header);
                rows.push('\n');
            }
            rows.push_str(body);
            raws.push(crate::util::read_npz(&out.join("raw.npz")));
        }
        let expected_pngs = expected
            .keys()
            .filter(|n| n.extension().is_some_and(|e| e == "png"))
            .count();
        assert_eq!(
            pngs.len(),
            expected_pngs,
            "{count} shards write every sample once"
        );
        assert_eq!(rows, whole_csv, "samples.csv of {count} shards");
        for (name, array) in &whole_raw {
            let parts: Vec<_> = raws.iter().map(|r| r[name].view()).collect();
            let joined = ndarray::concatenate(ndarray::Axis(0), &parts).unwrap();
            assert!(joined == *array, "raw.npz `{name}` of {count} shards");
        }
    }
    // A shard's folder resumes only as that shard.
    let shard = d.join("shard-1-of-3");
    let out = shard.join("never.png");
    let mut args = vec![
        "generate",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--seed",
        "3",
        "--save-raw",
        "--out",
        s(&shard),
        "--resume",
        "--shard",
        "2/3",
    ];
    args.extend(CPU);
    Refusal {
        args,
        output: &out,
        names: "--shard",
        also: &["1/3", "2/3"],
    }
    .check();
}

#[test]
fn more_shards_than_images_leave_empty_shards_that_merge() {
    let dir = temp_dir();
    let folder = dir.path().join("three");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..3 {
        std::fs::copy(
            fixture(&format!("e2e/fake/0{i}.png")),
            folder.join(format!("{i}.png")),
        )
        .unwrap();
    }
    assert_merge_is_exact("stats", &folder, dir.path(), 5, "npz");
    assert_merge_is_exact("extract", &folder, dir.path(), 5, "npz");
}

#[test]
fn a_slurm_job_array_task_picks_the_shard_without_the_flag() {
    let dir = temp_dir();
    let folder = fixture("e2e/fake");
    let part = dir.path().join("task.part");
    let mut command = crate::util::command(&[
        "extract",
        "--images",
        folder,
        "--extractor",
        tiny_extractor(),
        "--out",
        s(&part),
        "--quiet",
        "--device",
        "cpu",
    ]);
    command.envs([
        ("SLURM_ARRAY_TASK_ID", "7"),
        ("SLURM_ARRAY_TASK_MIN", "5"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ]);
    assert_ok(&command.output().unwrap());
    let header = Partial::read_header(&part).unwrap();
    assert_eq!(header.shard, Shard { index: 2, count: 3 });
    assert_eq!((header.start, header.end, header.items), (14, 20, 20));
    // The flag wins over the job array.
    let flagged = dir.path().join("flag.part");
    let mut command = crate::util::command(&[
        "extract",
        "--images",
        folder,
        "--extractor",
        tiny_extractor(),
        "--out",
        s(&flagged),
        "--quiet",
        "--device",
        "cpu",
        "--shard",
        "0/2",
    ]);
    command.envs([
        ("SLURM_ARRAY_TASK_ID", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "2"),
    ]);
    assert_ok(&command.output().unwrap());
    assert_eq!(
        Partial::read_header(&flagged).unwrap().shard,
        Shard { index: 0, count: 2 }
    );
}

#[test]
fn shards_of_other_runs_duplicated_missing_or_damaged_are_refused_naming_them() {
    let dir = temp_dir();
    let d = dir.path();
    let fake = Path::new(fixture("e2e/fake"));
    let real = Path::new(fixture("e2e/real"));
    let part = |name: &str| d.join(format!("{name}.part"));
    let shard = |name: &str, command: &str, folder: &Path, shard: &str, extra: &[&str]| {
        let mut flags = vec!["--shard", shard];
        flags.extend(extra);
        run(command, folder, &part(name), &flags);
    };
    shard("s0", "stats", fake, "0/3", &[]);
    shard("s1", "stats", fake, "1/3", &[]);
    shard("s2", "stats", fake, "2/3", &[]);
    shard("s1-real", "stats", real, "1/3", &[]);
    shard("s1-clean", "stats", fake, "1/3", &["--resize", "clean"]);
    shard("s1-of-4", "stats", fake, "1/4", &[]);
    shard("e1", "extract", fake, "1/3", &[]);
    let mut other_model = vec![
        "stats",
        "--images",
        s(fake),
        "--extractor",
        demo_model("demo-extractor.onnx"),
        "--out",
    ];
    let s1_demo = part("s1-demo");
    other_model.extend([s(&s1_demo), "--shard", "1/3", "--quiet"]);
    other_model.extend(CPU);
    assert_ok(&tool(&other_model));
    let score2 = part("score2");
    let mut score = vec![
        "score",
        "--real",
        s(real),
        "--fake",
        s(fake),
        "--extractor",
        tiny_extractor(),
        "--metrics",
        "fid",
    ];
    score.extend(["--json", s(&score2), "--shard", "2/3", "--quiet"]);
    score.extend(CPU);
    assert_ok(&tool(&score));
    let not_partial = d.join("stats.npz");
    run("stats", fake, &not_partial, &[]);
    let truncated = part("s2-truncated");
    let bytes = std::fs::read(part("s2")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = d.join("merged.npz");
    let (p0, p1, p2) = (part("s0"), part("s1"), part("s2"));
    let names =
        |paths: &[&Path]| -> Vec<String> { paths.iter().map(|p| s(p).to_string()).collect() };
    let cases: Vec<(Vec<String>, String, Vec<&str>)> = vec![
        (
            names(&[&p0, &part("s1-real"), &p2]),
            s(&part("s1-real")).into(),
            vec!["different plans"],
        ),
        (
            names(&[&p0, &part("s1-clean"), &p2]),
            s(&part("s1-clean")).into(),
            vec!["resize mode", "clean"],
        ),
        (
            names(&[&p0, &s1_demo, &p2]),
            s(&s1_demo).into(),
            vec!["extractor"],
        ),
        (
            names(&[&p0, &part("s1-of-4"), &p2]),
            s(&part("s1-of-4")).into(),
            vec!["shard counts"],
        ),
        (
            names(&[&p0, &part("e1"), &p2]),
            s(&part("e1")).into(),
            vec!["`extract`"],
        ),
        (
            names(&[&p0, &p1, &p1, &p2]),
            s(&p1).into(),
            vec!["both shard 1/3", "once"],
        ),
        (
            names(&[&p2, &p0]),
            "shard 1 of 3 is missing".into(),
            vec![s(&p0), s(&p2)],
        ),
        (names(&[&p0]), "shards 1, 2 of 3 are missing".into(), vec![]),
        (
            names(&[&p0, &p1, &not_partial]),
            s(&not_partial).into(),
            vec!["not a partial result"],
        ),
        (
            names(&[&p0, &p1, &truncated]),
            s(&truncated).into(),
            vec!["truncated"],
        ),
    ];
    for (parts, names, also) in &cases {
        let mut args: Vec<&str> = vec!["merge"];
        args.extend(parts.iter().map(String::as_str));
        args.extend(["--out", s(&out)]);
        Refusal {
            args,
            output: &out,
            names,
            also,
        }
        .check();
    }
    // The shard itself: a bad flag, a bad job array.
    let written = d.join("never.part");
    let base = [
        "stats",
        "--images",
        s(fake),
        "--extractor",
        tiny_extractor(),
        "--out",
        s(&written),
    ];
    let mut bad_flag = base.to_vec();
    bad_flag.extend(["--shard", "3/3"]);
    Refusal {
        args: bad_flag,
        output: &written,
        names: "3/3",
        also: &["I/N"],
    }
    .check();
    Refusal {
        args: base.to_vec(),
        output: &written,
        names: "SLURM_ARRAY_TASK_COUNT",
        also: &["--shard"],
    }
    .check_in(&[("SLURM_ARRAY_TASK_ID", OsStr::new("2"))]);
}
