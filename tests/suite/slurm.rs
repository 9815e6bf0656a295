//! examples/slurm/ on a real Slurm cluster: `scripts/slurm-cluster.sh`
//! starts one (Debian's slurmctld and slurmd on this machine, its own MUNGE
//! key and socket, free ports, everything in a temporary folder; installed
//! by `scripts/setup.sh`), and `examples/slurm/submit.sh` submits the whole
//! chain to it: the reference statistics of a folder as an array of 4 tasks
//! sharing it through the job-array variables, the merge job after them,
//! then one `eval` per checkpoint as a second array and the table job.
//!
//! References: the merged statistics equal, byte for byte, one `stats`
//! process over the folder; every checkpoint's report equals, number for
//! number (`==`), one `eval` process of that checkpoint; the table holds
//! each of its branches. Slurm ran them: every job's log names the
//! `SLURM_JOB_ID` that `scontrol` lists under the submitted job id, and
//! the test prints those lines and the jobs' states on stderr (uncaptured,
//! so CI's log shows them).
//!
//! Never skipped: a cluster that cannot be installed or started fails the
//! test with the script's reason and the daemon's log. The daemons are
//! stopped by a guard's `Drop`, so also when an assertion fails.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::util::*;

/// How long the submitted jobs may take together (they take seconds).
const JOBS_TIMEOUT: Duration = Duration::from_secs(180);

/// Job states after which a job does nothing more.
const FINAL_STATES: [&str; 8] = [
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
];

/// Writes a line to the test process's stderr, past the test harness's
/// capture (`eprintln!` is captured), so that CI's log shows it.
fn show(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A one-node cluster, stopped when dropped.
struct Cluster {
    folder: tempfile::TempDir,
}

impl Cluster {
    /// Starts it in a fresh temporary folder (short: the MUNGE socket's
    /// path must fit a Unix socket address), failing with the reason.
    fn start() -> Cluster {
        let folder = temp_dir();
        let cluster = Cluster { folder };
        let started = cluster.script("start");
        assert!(
            started.status.success(),
            "the one-node Slurm cluster did not start (scripts/slurm-cluster.sh start; `scripts/setup.sh` installs Slurm and MUNGE):\n{}",
            String::from_utf8_lossy(&started.stderr)
        );
        show(String::from_utf8_lossy(&started.stderr).trim_end());
        cluster
    }

    fn dir(&self) -> PathBuf {
        self.folder.path().join("cluster")
    }

    fn script(&self, action: &str) -> Output {
        Command::new(root().join("scripts/slurm-cluster.sh"))
            .arg(action)
            .arg(self.dir())
            .output()
            .expect("bash runs scripts/slurm-cluster.sh")
    }

    /// A client command (`sbatch`, `scontrol`, a script calling them) of this cluster.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(root())
            .env("SLURM_CONF", self.dir().join("slurm.conf"));
        command
    }

    /// `scontrol show job -o ID`: one line per job (per task of an array).
    fn jobs(&self, id: &str) -> Vec<BTreeMap<String, String>> {
        let out = self
            .command("scontrol")
            .args(["show", "job", "-o", id])
            .output()
            .expect("scontrol runs");
        assert_ok(&out);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| {
                line.split_whitespace()
                    .filter_map(|field| field.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    /// Waits until every job of `ids` has ended; fails, with the logs, after
    /// [`JOBS_TIMEOUT`].
    fn wait(&self, ids: &[&str], logs: &Path) {
        let start = Instant::now();
        loop {
            let pending: Vec<String> = ids
                .iter()
                .flat_map(|id| self.jobs(id))
                .filter(|job| !FINAL_STATES.contains(&job["JobState"].as_str()))
                .map(|job| format!("{} {}", job["JobId"], job["JobState"]))
                .collect();
            if pending.is_empty() {
                return;
            }
            if start.elapsed() > JOBS_TIMEOUT {
                panic!(
                    "jobs still not done after {JOBS_TIMEOUT:?}: {pending:?}\n{}",
                    self.logs(logs)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every job log and the controller's last lines, for a failure message.
    fn logs(&self, logs: &Path) -> String {
        let mut text = String::new();
        let mut files = log_files(logs);
        files.push(self.dir().join("log/slurmctld.log"));
        files.push(self.dir().join("log/slurmd.log"));
        for file in files {
            let content = std::fs::read_to_string(&file).unwrap_or_default();
            let lines: Vec<&str> = content.lines().collect();
            let tail = &lines[lines.len().saturating_sub(20)..];
            text += &format!("--- {}\n{}\n", file.display(), tail.join("\n"));
        }
        text
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let stopped = self.script("stop");
        if !stopped.status.success() {
            show(&format!(
                "scripts/slurm-cluster.sh stop failed: {}",
                String::from_utf8_lossy(&stopped.stderr)
            ));
        }
    }
}

/// The jobs' log files in `logs`, by name (none if there is no such folder).
fn log_files(logs: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(logs)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// `key=value` lines of submit.sh's stdout.
fn job_ids(out: &Output) -> BTreeMap<String, String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The branches' metrics of an `eval` report, by resolution.
fn branch_numbers(report: &Path) -> BTreeMap<String, [f64; 3]> {
    let report = json(report);
    let branches = report["branches"].as_array().expect("branches");
    branches
        .iter()
        .map(|branch| {
            let number = |name: &str| branch[name].as_f64().expect(name);
            (
                branch["resolution"].to_string(),
                [number("fid"), number("is_mean"), number("is_std")],
            )
        })
        .collect()
}

const CPU: [&str; 2] = ["--device", "cpu"];

/// What every `eval` of a checkpoint gets besides its model, reference and report.
fn eval_flags() -> Vec<&'static str> {
    vec![
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--images",
        "4",
        "--branches",
        "64,256",
    ]
}

#[test]
fn examples_run_as_job_arrays_and_merge_exactly() {
    let work = temp_dir();
    let run = work.path().join("run");
    let images = fixture("e2e/real");
    let checkpoints = work.path().join("checkpoints");
    std::fs::create_dir(&checkpoints).expect("a folder");
    // Two "checkpoints of a training run": the demo's generators, copied with their manifests.
    for (from, to) in [
        ("demo-generator-v1", "netG_1000"),
        ("demo-generator", "netG_2000"),
    ] {
        for extension in ["onnx", "toml"] {
            std::fs::copy(
                demo_model(&format!("{from}.{extension}")),
                checkpoints.join(format!("{to}.{extension}")),
            )
            .expect("a copy");
        }
    }

    // The single runs the cluster's results must equal.
    let single = work.path().join("single-stats.npz");
    let mut stats = vec!["stats", "--images", images, "--extractor", tiny_extractor()];
    stats.extend(["--out", s(&single), "--quiet"]);
    stats.extend(CPU);
    assert_ok(&tool(&stats));
    let single_eval = |name: &str| {
        let report = work.path().join(format!("single-{name}.json"));
        let model = checkpoints.join(format!("{name}.onnx"));
        let mut args = vec!["eval", "--model", s(&model), "--real", s(&single)];
        args.extend(["--metrics", "fid,is", "--extractor", tiny_extractor()]);
        args.extend(eval_flags());
        args.extend(["--json", s(&report), "--quiet"]);
        args.extend(CPU);
        assert_ok(&tool(&args));
        branch_numbers(&report)
    };

    let cluster = Cluster::start();
    let mut submit = cluster.command(root().join("examples/slurm/submit.sh"));
    submit
        .args(["--images", images, "--out", s(&run), "--tasks", "4"])
        .args(["--extractor", tiny_extractor(), "--device", "cpu"])
        .args(["--checkpoints", s(&checkpoints), "--"])
        .args(eval_flags())
        // The jobs run the binary under test, as hermetic as util::command's runs.
        .env("STACKGAN_EVAL", env!("CARGO_BIN_EXE_stackgan-eval"))
        .env("XDG_CACHE_HOME", empty_cache())
        .env("STACKGAN_EVAL_WEIGHTS_URL", UNREACHABLE_WEIGHTS);
    let submitted = submit.output().expect("examples/slurm/submit.sh runs");
    assert_ok(&submitted);
    let ids = job_ids(&submitted);
    let id = |name: &str| {
        ids.get(name)
            .unwrap_or_else(|| panic!("submit.sh printed no {name}: {ids:?}"))
            .as_str()
    };
    let all = [
        id("stats_array"),
        id("stats_merge"),
        id("eval_array"),
        id("eval_table"),
    ];
    let logs = run.join("logs");
    cluster.wait(&all, &logs);

    // Every job (each array task) ran under Slurm and succeeded, and its log
    // names the job id Slurm gave it.
    let mut ran = BTreeMap::new();
    for (name, submitted) in ["stats_array", "stats_merge", "eval_array", "eval_table"]
        .iter()
        .zip(all)
    {
        for job in cluster.jobs(submitted) {
            let line = format!(
                "{name} (submitted as {submitted}): JobId={} ArrayJobId={} ArrayTaskId={} JobState={} ExitCode={} NodeList={}",
                job["JobId"],
                job.get("ArrayJobId").map_or("-", String::as_str),
                job.get("ArrayTaskId").map_or("-", String::as_str),
                job["JobState"],
                job["ExitCode"],
                job["NodeList"],
            );
            show(&line);
            assert!(
                job["JobState"] == "COMPLETED" && job["ExitCode"] == "0:0",
                "{line}\n{}",
                cluster.logs(&logs)
            );
            ran.insert(job["JobId"].clone(), name.to_string());
        }
    }
    assert_eq!(ran.len(), 4 + 1 + 2 + 1, "jobs that ran: {ran:?}");
    let mut named = BTreeMap::new();
    for file in log_files(&logs) {
        let log = std::fs::read_to_string(&file).expect("a log");
        for line in log.lines().filter(|l| l.contains("SLURM_JOB_ID=")) {
            show(&format!("job log: {line}"));
            let job = line
                .split("SLURM_JOB_ID=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .expect("a job id");
            named.insert(job.to_string(), line.to_string());
        }
    }
    assert_eq!(
        named.keys().collect::<Vec<_>>(),
        ran.keys().collect::<Vec<_>>(),
        "the job ids the logs name and those scontrol lists"
    );
    for task in 0..4 {
        assert!(
            named
                .values()
                .any(|line| line.contains("stats-part: SLURM_JOB_ID=")
                    && line.contains(&format!("task {task} of 4"))),
            "no stats-part log of task {task} of 4: {named:?}"
        );
    }

    // (a) The merged statistics are the single run's, byte for byte.
    for part in 0..4 {
        assert!(
            run.join(format!("parts/part-{part}.npz")).is_file(),
            "part {part} missing"
        );
    }
    let merged = std::fs::read(run.join("stats.npz")).expect("the merge job wrote stats.npz");
    let expected = std::fs::read(&single).expect("the single run's statistics");
    assert!(
        merged == expected,
        "stats.npz merged from 4 Slurm array tasks differs from one `stats` process"
    );

    // (b) Each checkpoint's report is the single `eval`'s, and the table holds its branches.
    let table = std::fs::read_to_string(run.join("table/compare.csv"))
        .expect("the table job wrote compare.csv");
    for name in ["netG_1000", "netG_2000"] {
        let got = branch_numbers(&run.join(format!("results/{name}.json")));
        assert_eq!(
            got,
            single_eval(name),
            "{name}: the array task's report against one eval"
        );
        for (resolution, [fid, ..]) in &got {
            let row = format!("{name} {resolution}²,{fid}");
            assert!(table.contains(&row), "compare.csv lacks `{row}…`:\n{table}");
        }
    }
}
