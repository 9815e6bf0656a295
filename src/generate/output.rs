//! The output folder of a generation run: PNGs per branch, `samples.csv`,
//! the optional `raw.npz`, `run.json` (what the run is), and the state that
//! lets `--resume` continue an interrupted run.
//!
//! Every file appears whole or not at all. While a run is under way its state
//! lives in `OUT/.stackgan-eval-run/`: `state.json` (what the run is and how
//! many samples are done, updated after each batch) and the raw outputs
//! appended row by row. Samples are done in order, so a resumed run truncates
//! the raw parts to the recorded count and carries on from there; the images
//! of the interrupted batch are simply written again, with the same bytes.
//! A finished run keeps its [`RunIdentity`] in `run.json`, so that `--resume`
//! can tell this run (nothing to do) from another one (refused) even then.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayView4, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::GenerateError;
use super::generator::{Branch, GeneratedBatch, branch_folder};
use super::plan::{PlanRequest, Sample};
use super::quantize::to_rgb8;
use crate::atomic::{write_atomically, write_atomically_unsynced, write_bytes_atomically};
use crate::shard::Shard;

const STATE_DIR: &str = ".stackgan-eval-run";
const STATE_FILE: &str = "state.json";
pub const SAMPLES_CSV: &str = "samples.csv";
pub const RAW_NPZ: &str = "raw.npz";
pub const RUN_JSON: &str = "run.json";

/// Everything that makes two runs the same run; `--resume` refuses to mix runs.
/// What does not change a single output byte (batch size, threads, device)
/// is not part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunIdentity {
    pub model_sha256: String,
    /// SHA-256 of the embeddings or of the noise file.
    pub inputs_sha256: Option<String>,
    pub seed: Option<u32>,
    pub sampling: String,
    pub plan: PlanRequest,
    pub branches: Vec<u32>,
    pub save_raw: bool,
    pub samples: usize,
    /// The part of the samples this folder holds (`--shard`); absent: all.
    #[serde(default, skip_serializing_if = "Shard::is_whole")]
    pub shard: Shard,
}

#[derive(Debug, Serialize, Deserialize)]
struct RunState {
    identity: RunIdentity,
    done: usize,
}

/// A float output kept for `raw.npz`: its name and the shape of one sample.
#[derive(Debug, Clone)]
pub struct RawOutput {
    pub name: String,
    pub sample_shape: Vec<usize>,
}

/// An output folder being written.
pub struct RunFolder {
    out: PathBuf,
    branches: Vec<Branch>,
    value_range: [f32; 2],
    name_width: usize,
    raw: Vec<RawOutput>,
    state: RunState,
}

/// Where a run starts.
pub enum Opened {
    /// Samples before `start` are already written.
    Run {
        folder: Box<RunFolder>,
        start: usize,
    },
    /// `--resume` found the run already finished.
    Complete,
}

impl RunFolder {
    /// The resume rules that need no model (what `out` holds, and whether
    /// this command may use it), so that a wrong `--out` is refused before
    /// any model loads; [`RunFolder::open`] checks the run's identity on top.
    pub fn check_target(out: &Path, resume: bool) -> Result<(), GenerateError> {
        held(out, resume).map(|_| ())
    }

    /// Prepares `out` for the run `identity`, following the resume rules:
    ///
    /// - an empty or new folder: the run starts;
    /// - an interrupted run: refused without `resume`; with it, continued
    ///   when its identity is this one, refused (naming the first flag that
    ///   differs) when not;
    /// - a finished run: refused without `resume`; with it, [`Opened::Complete`]
    ///   when its identity (`run.json`) is this one, refused when not;
    /// - anything else in the folder: refused.
    pub fn open(
        out: &Path,
        identity: RunIdentity,
        branches: &[Branch],
        value_range: [f32; 2],
        raw: Vec<RawOutput>,
        resume: bool,
    ) -> Result<Opened, GenerateError> {
        let done = match held(out, resume)? {
            Held::Nothing => identity.shard.range(identity.samples).start,
            Held::Unfinished(previous) => {
                check_same_run(out, &previous.identity, &identity)?;
                previous.done
            }
            Held::Finished(previous) => {
                check_same_run(out, &previous, &identity)?;
                return Ok(Opened::Complete);
            }
        };
        let state_dir = out.join(STATE_DIR);
        fs::create_dir_all(&state_dir).map_err(|e| output_error(out, e))?;
        for branch in branches {
            let folder = branch_folder(out, branch);
            fs::create_dir_all(&folder).map_err(|e| output_error(&folder, e))?;
            remove_stale_temporaries(&folder).map_err(|e| output_error(&folder, e))?;
        }
        remove_stale_temporaries(out).map_err(|e| output_error(out, e))?;
        let folder = RunFolder {
            out: out.to_path_buf(),
            branches: branches.to_vec(),
            value_range,
            name_width: name_width(identity.samples),
            raw,
            state: RunState { identity, done },
        };
        folder.prepare_raw_parts()?;
        folder.save_state()?;
        Ok(Opened::Run {
            folder: Box::new(folder),
            start: done,
        })
    }

    /// The PNG of `sample` at `branch`, relative to the output folder.
    pub fn image_name(&self, branch: &Branch, sample: usize) -> String {
        format!(
            "{}/{:0width$}.png",
            branch.resolution,
            sample,
            width = self.name_width
        )
    }

    /// Writes one batch (the next samples in order) and records it as done.
    pub fn write_batch(
        &mut self,
        samples: &[Sample],
        batch: &GeneratedBatch,
    ) -> Result<(), GenerateError> {
        assert_eq!(
            samples.first().map(|s| s.id),
            Some(self.state.done),
            "batches arrive in order"
        );
        for (branch, images) in self.branches.iter().zip(&batch.images) {
            self.write_images(branch, samples, images.view())?;
        }
        for raw in &self.raw {
            let array = raw_array(raw, batch, &self.branches);
            let path = self.raw_part(&raw.name);
            let mut file = OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(|e| output_error(&path, e))?;
            file.write_all(&le_bytes(array))
                .map_err(|e| output_error(&path, e))?;
            file.sync_data().map_err(|e| output_error(&path, e))?;
        }
        self.state.done += samples.len();
        self.save_state()
    }

    fn write_images(
        &self,
        branch: &Branch,
        samples: &[Sample],
        images: ArrayView4<f32>,
    ) -> Result<(), GenerateError> {
        images
            .axis_iter(Axis(0))
            .into_par_iter()
            .zip(samples.par_iter())
            .try_for_each(|(image, sample)| {
                let path = self.out.join(self.image_name(branch, sample.id));
                let rgb = to_rgb8(image, self.value_range);
                write_atomically_unsynced(&path, |out| encode_png(&rgb, out))
                    .map_err(|e| output_error(&path, e))
            })
    }

    /// The first sample this folder holds (its shard's).
    fn first_sample(&self) -> usize {
        let identity = &self.state.identity;
        identity.shard.range(identity.samples).start
    }

    /// Writes `samples.csv`, `raw.npz` and `run.json`, then removes the run
    /// state (until then, `--resume` finds the run unfinished and finishes it).
    /// `samples`: the folder's (its shard's).
    pub fn finish(self, samples: &[Sample], seed: Option<u32>) -> Result<(), GenerateError> {
        assert_eq!(
            self.state.done,
            self.first_sample() + samples.len(),
            "every sample written"
        );
        let csv_path = self.out.join(SAMPLES_CSV);
        let table = self
            .samples_csv(samples, seed)
            .map_err(|e| output_error(&csv_path, e))?;
        write_bytes_atomically(&csv_path, &table).map_err(|e| output_error(&csv_path, e))?;
        if !self.raw.is_empty() {
            let npz = self.out.join(RAW_NPZ);
            write_atomically(&npz, |out| self.write_raw_npz(out, samples.len()))
                .map_err(|e| output_error(&npz, e))?;
        }
        let run_json = self.out.join(RUN_JSON);
        write_bytes_atomically(&run_json, &json_bytes(&self.state.identity))
            .map_err(|e| output_error(&run_json, e))?;
        let state_dir = self.out.join(STATE_DIR);
        fs::remove_dir_all(&state_dir).map_err(|e| output_error(&state_dir, e))
    }

    /// `samples.csv`: one row per sample, with the PNG of each branch.
    fn samples_csv(&self, samples: &[Sample], seed: Option<u32>) -> io::Result<Vec<u8>> {
        let mut header: Vec<String> = ["sample", "image", "caption", "draw", "seed"]
            .map(String::from)
            .to_vec();
        header.extend(
            self.branches
                .iter()
                .map(|b| format!("png_{}", b.resolution)),
        );
        let seed = seed.map(|s| s.to_string()).unwrap_or_default();
        let rows = samples.iter().map(|sample| {
            let mut row = vec![
                sample.id.to_string(),
                sample.image.to_string(),
                sample.caption.to_string(),
                sample.draw.to_string(),
                seed.clone(),
            ];
            row.extend(
                self.branches
                    .iter()
                    .map(|branch| self.image_name(branch, sample.id)),
            );
            row
        });
        crate::report::csv::records(std::iter::once(header).chain(rows))
            .map(String::into_bytes)
            .map_err(io::Error::other)
    }

    fn raw_part(&self, name: &str) -> PathBuf {
        self.out.join(STATE_DIR).join(format!("raw-{name}.f32"))
    }

    /// Creates the raw parts, or cuts them back to the samples recorded as done.
    fn prepare_raw_parts(&self) -> Result<(), GenerateError> {
        for raw in &self.raw {
            let path = self.raw_part(&raw.name);
            let rows = self.state.done - self.first_sample();
            let bytes = (rows * raw.sample_shape.iter().product::<usize>() * 4) as u64;
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| output_error(&path, e))?;
            let length = file.metadata().map_err(|e| output_error(&path, e))?.len();
            if length < bytes {
                return Err(GenerateError::Output {
                    path,
                    reason: format!(
                        "holds {length} bytes, fewer than the {bytes} the run state records; start the run again in an empty folder"
                    ),
                });
            }
            file.set_len(bytes).map_err(|e| output_error(&path, e))?;
        }
        Ok(())
    }

    fn save_state(&self) -> Result<(), GenerateError> {
        let path = self.out.join(STATE_DIR).join(STATE_FILE);
        write_bytes_atomically(&path, &json_bytes(&self.state)).map_err(|e| output_error(&path, e))
    }

    /// `raw.npz`: one stored (uncompressed) `.npy` per output, streamed from its part.
    fn write_raw_npz(&self, out: &mut BufWriter<File>, samples: usize) -> io::Result<()> {
        use zip::write::SimpleFileOptions;
        let mut zip = zip::ZipWriter::new(out);
        for raw in &self.raw {
            let mut shape = vec![samples];
            shape.extend(&raw.sample_shape);
            let header = npy_header(&shape);
            let bytes = header.len() as u64 + 4 * shape.iter().product::<usize>() as u64;
            let options = SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .last_modified_time(zip::DateTime::default())
                .large_file(bytes >= u32::MAX as u64);
            zip.start_file(format!("{}.npy", raw.name), options)
                .map_err(io::Error::other)?;
            zip.write_all(&header)?;
            let mut part = File::open(self.raw_part(&raw.name))?;
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                let read = part.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                zip.write_all(&buffer[..read])?;
            }
        }
        zip.finish().map_err(io::Error::other)?;
        Ok(())
    }
}

/// Pretty JSON of plain data (strings, numbers, options): it cannot fail.
fn json_bytes(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A run's state or record, with an error that says how to get past it.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path, out: &Path) -> Result<T, GenerateError> {
    let bytes = fs::read(path).map_err(|e| output_error(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| GenerateError::Output {
        path: path.to_path_buf(),
        reason: format!(
            "it is not the run record this tool writes ({e}), so the run in {} cannot be checked; choose another --out",
            out.display()
        ),
    })
}

fn output_error(path: &Path, e: io::Error) -> GenerateError {
    GenerateError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Sample numbers are zero-padded so that a sorted folder listing is sample order.
fn name_width(samples: usize) -> usize {
    samples.saturating_sub(1).to_string().len().max(6)
}

fn encode_png(image: &image::RgbImage, out: &mut BufWriter<File>) -> io::Result<()> {
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    PngEncoder::new_with_quality(out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(io::Error::other)
}

/// The batch's array for one raw array (a kept branch, an extra output or an input).
fn raw_array<'a>(
    raw: &RawOutput,
    batch: &'a GeneratedBatch,
    branches: &[Branch],
) -> ndarray::ArrayViewD<'a, f32> {
    if let Some(i) = branches.iter().position(|b| b.output == raw.name) {
        return batch.images[i].view().into_dyn();
    }
    let (_, array) = batch
        .extras
        .iter()
        .chain(&batch.inputs)
        .find(|(name, _)| *name == raw.name)
        .expect("raw arrays are kept branches, extras or inputs");
    array.view().into_dyn()
}

fn le_bytes(array: ndarray::ArrayViewD<f32>) -> Vec<u8> {
    array.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A version-1.0 `.npy` header for little-endian float32 in C order.
fn npy_header(shape: &[usize]) -> Vec<u8> {
    crate::npy::header_bytes("<f4", shape)
}

/// Removes `.NAME.tmp-PID` files an interrupted atomic write left behind.
fn remove_stale_temporaries(folder: &Path) -> io::Result<()> {
    for entry in fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".tmp-") && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// What an output folder holds, as far as the resume rules go.
enum Held {
    /// Nothing: the run starts.
    Nothing,
    /// An interrupted run (`--resume` continues it if it is this one).
    Unfinished(RunState),
    /// A finished run and its identity (`--resume` does nothing if it is this one).
    Finished(RunIdentity),
}

/// What `out` holds, refusing what this command may not use: any run
/// without `resume`, a finished run without its record, anything else.
fn held(out: &Path, resume: bool) -> Result<Held, GenerateError> {
    let state_path = out.join(STATE_DIR).join(STATE_FILE);
    if state_path.exists() {
        let previous: RunState = read_json(&state_path, out)?;
        if !resume {
            return Err(GenerateError::Unfinished {
                out: out.to_path_buf(),
                done: previous.done,
                total: previous.identity.samples,
            });
        }
        return Ok(Held::Unfinished(previous));
    }
    if out.join(SAMPLES_CSV).exists() || out.join(RUN_JSON).exists() {
        if !resume {
            return Err(GenerateError::Finished {
                out: out.to_path_buf(),
            });
        }
        let run_json = out.join(RUN_JSON);
        if !run_json.exists() {
            return Err(GenerateError::FinishedUnknown {
                out: out.to_path_buf(),
            });
        }
        return Ok(Held::Finished(read_json(&run_json, out)?));
    }
    if let Ok(mut entries) = fs::read_dir(out)
        && entries.next().is_some()
    {
        return Err(GenerateError::OutputNotEmpty {
            out: out.to_path_buf(),
            reason: "it is not empty".into(),
        });
    }
    Ok(Held::Nothing)
}

/// Refuses to mix runs: the first difference names its flag and both values.
fn check_same_run(out: &Path, was: &RunIdentity, now: &RunIdentity) -> Result<(), GenerateError> {
    match first_difference(was, now) {
        None => Ok(()),
        Some((flag, was, now)) => Err(GenerateError::ResumeMismatch {
            out: out.to_path_buf(),
            flag,
            was,
            now,
        }),
    }
}

/// The first field in which two runs differ: its flag, its value in `a`, in `b`.
fn first_difference(a: &RunIdentity, b: &RunIdentity) -> Option<(&'static str, String, String)> {
    let hash = |h: &Option<String>| match h {
        Some(h) => format!("SHA-256 {}…", h.chars().take(12).collect::<String>()),
        None => "none".into(),
    };
    let seed = |s: Option<u32>| s.map_or("none (a noise file)".into(), |s| s.to_string());
    let branches = |b: &[u32]| b.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let on_off = |on: bool| if on { "on" } else { "off" }.to_string();
    let fields: [(&'static str, bool, String, String); 9] = [
        (
            "--model",
            a.model_sha256 != b.model_sha256,
            hash(&Some(a.model_sha256.clone())),
            hash(&Some(b.model_sha256.clone())),
        ),
        (
            "--embeddings/--noise",
            a.inputs_sha256 != b.inputs_sha256,
            hash(&a.inputs_sha256),
            hash(&b.inputs_sha256),
        ),
        ("--seed", a.seed != b.seed, seed(a.seed), seed(b.seed)),
        (
            "--sampling",
            a.sampling != b.sampling,
            a.sampling.clone(),
            b.sampling.clone(),
        ),
        (
            "--images/--captions/--samples-per-caption/--samples",
            a.plan != b.plan,
            a.plan.to_string(),
            b.plan.to_string(),
        ),
        (
            "--branches",
            a.branches != b.branches,
            branches(&a.branches),
            branches(&b.branches),
        ),
        (
            "--save-raw",
            a.save_raw != b.save_raw,
            on_off(a.save_raw),
            on_off(b.save_raw),
        ),
        (
            "the sample count",
            a.samples != b.samples,
            a.samples.to_string(),
            b.samples.to_string(),
        ),
        (
            "--shard",
            a.shard != b.shard,
            a.shard.to_string(),
            b.shard.to_string(),
        ),
    ];
    fields
        .into_iter()
        .find(|(_, differs, _, _)| *differs)
        .map(|(flag, _, was, now)| (flag, was, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_names_the_shape() {
        let header = npy_header(&[3, 2, 64, 64]);
        assert_eq!(header.len() % 64, 0);
        let text = String::from_utf8_lossy(&header[10..]);
        assert!(text.contains("'shape': (3, 2, 64, 64)"));
        assert!(text.ends_with('\n'));
        assert!(String::from_utf8_lossy(&npy_header(&[5])).contains("(5,)"));
    }

    #[test]
    fn names_sort_in_sample_order() {
        assert_eq!(name_width(10), 6);
        assert_eq!(name_width(1_000_000), 6);
        assert_eq!(name_width(1_000_001), 7);
    }
}
