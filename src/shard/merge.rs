//! The exact merge of a run's shards.
//!
//! Why it is exact: a shard keeps the rows the network gave for its items
//! (float32, in item order) and reduces nothing; the merge reads the shards
//! in index order and feeds those rows, in that order, to the same
//! accumulators the single-process run feeds batch by batch. The float64
//! statistics ([`StatsAccumulator`]) fold fixed blocks of rows counted from
//! the first row, whatever the batching, so the merged `mu` and `sigma` go
//! through the same floating-point operations in the same order as the
//! single run's: equal bit for bit. Features and IS logits are concatenated.
//! Merging shard-wise float64 accumulators instead (Chan's update) would be
//! equal only to rounding, since the fold is not associative in floating
//! point. The price is size: a shard's file holds 4·D bytes per image (8 KB
//! for 2048-d pool features), about what its images' features take in
//! memory anyway; the merge holds one shard's rows at a time.
//!
//! Before any data is read every header is checked: the same command, shard
//! count, plan and provenance, each shard once, none missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::{Array2, Axis, concatenate};

use super::Shard;
use super::partial::{Partial, PartialError, PartialHeader, PartialKind};
use crate::features::FeatureFile;
use crate::metrics::{FidStats, StatsAccumulator, StatsError};

/// How many missing shards an error names.
const SHOWN: usize = 10;

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Partial(#[from] PartialError),
    #[error(
        "{first} is a shard of `{first_kind}` but {other} of `{other_kind}`; merge the shards of one command's run"
    )]
    Kinds {
        first: String,
        first_kind: PartialKind,
        other: String,
        other_kind: PartialKind,
    },
    #[error(
        "{first} is shard {first_shard} but {other} is shard {other_shard}: different shard counts; merge the shards of one split"
    )]
    Counts {
        first: String,
        first_shard: Shard,
        other: String,
        other_shard: Shard,
    },
    #[error(
        "{first} and {other} are shards of different plans ({first_items} items, {first_plan:.12}… vs {other_items} items, {other_plan:.12}…): different folders, sample plans or orders; merge the shards of one run"
    )]
    Plans {
        first: String,
        first_items: usize,
        first_plan: String,
        other: String,
        other_items: usize,
        other_plan: String,
    },
    #[error(
        "{first} and {other} differ in {what} (`{first_value}` vs `{other_value}`); merge the shards of one run, all made with the same {what}"
    )]
    Provenance {
        first: String,
        other: String,
        what: String,
        first_value: String,
        other_value: String,
    },
    #[error(
        "{first} and {other} differ in their settings ({detail}); merge the shards of one run, all made with the same flags"
    )]
    Context {
        first: String,
        other: String,
        detail: String,
    },
    #[error("{first} and {other} are both shard {shard}; pass each shard's partial result once")]
    Duplicate {
        first: String,
        other: String,
        shard: Shard,
    },
    #[error(
        "shard{plural} {missing} of {count} {verb} missing (given: {given}); pass every shard's partial result"
    )]
    Missing {
        plural: &'static str,
        verb: &'static str,
        missing: String,
        count: usize,
        given: String,
    },
    #[error("{path}: {reason}; run its shard again")]
    Data { path: String, reason: String },
    #[error("the statistics merged from {parts}: {source}")]
    Stats { parts: String, source: StatsError },
}

/// The partial results of one run, checked, in shard order.
pub struct ShardSet {
    pub kind: PartialKind,
    /// (file, header), shard 0 first.
    pub parts: Vec<(PathBuf, PartialHeader)>,
}

impl ShardSet {
    /// Reads every header and checks that they are one run's shards, each once, none missing.
    pub fn open(paths: &[PathBuf]) -> Result<ShardSet, MergeError> {
        let mut parts = Vec::with_capacity(paths.len());
        for path in paths {
            parts.push((path.clone(), Partial::read_header(path)?));
        }
        let Some((first_path, first)) = parts.first() else {
            return Err(MergeError::Missing {
                plural: "s",
                verb: "are",
                missing: "all".into(),
                count: 0,
                given: "none".into(),
            });
        };
        let name = |p: &Path| p.display().to_string();
        for (path, header) in &parts[1..] {
            compare(first_path, first, path, header)?;
        }
        let count = first.shard.count;
        let mut given: BTreeMap<usize, &PathBuf> = BTreeMap::new();
        for (path, header) in &parts {
            if let Some(seen) = given.insert(header.shard.index, path) {
                return Err(MergeError::Duplicate {
                    first: name(seen),
                    other: name(path),
                    shard: header.shard,
                });
            }
        }
        if given.len() < count {
            // At most `given.len() + SHOWN` steps, whatever the count claims.
            let mut missing: Vec<String> = (0..count)
                .filter(|i| !given.contains_key(i))
                .take(SHOWN + 1)
                .map(|i| i.to_string())
                .collect();
            let many = missing.len() > 1;
            if missing.len() > SHOWN {
                missing[SHOWN] = format!("… ({} in all)", count - given.len());
            }
            return Err(MergeError::Missing {
                plural: if many { "s" } else { "" },
                verb: if many { "are" } else { "is" },
                missing: missing.join(", "),
                count,
                given: parts
                    .iter()
                    .map(|(p, h)| format!("{} = {}", name(p), h.shard))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let kind = first.kind;
        parts.sort_by_key(|(_, h)| h.shard.index);
        Ok(ShardSet { kind, parts })
    }

    /// The first shard's header: what they all share.
    pub fn header(&self) -> &PartialHeader {
        &self.parts[0].1
    }

    /// The shards' files, for messages.
    fn names(&self) -> String {
        self.parts
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Unreadable items all shards skipped.
    pub fn skipped(&self) -> usize {
        self.parts.iter().map(|(_, h)| h.skipped).sum()
    }

    /// Each shard's data in order, read one at a time, checked against its header.
    pub fn each(
        &self,
        mut visit: impl FnMut(&Path, Partial) -> Result<(), MergeError>,
    ) -> Result<(), MergeError> {
        for (path, header) in &self.parts {
            let partial = Partial::read(path)?;
            if &partial.header != header {
                return Err(MergeError::Data {
                    path: path.display().to_string(),
                    reason: "it changed while the merge read it".into(),
                });
            }
            visit(path, partial)?;
        }
        Ok(())
    }

    /// The statistics of the whole run (`stats`): every shard's `pool` rows
    /// through one accumulator, in order.
    pub fn statistics(&self) -> Result<FidStats, MergeError> {
        let mut accumulator: Option<StatsAccumulator> = None;
        self.each(|path, partial| {
            let pool = rows(path, &partial, "pool")?;
            if pool.nrows() > 0 {
                accumulator
                    .get_or_insert_with(|| StatsAccumulator::new(pool.ncols()))
                    .add(pool.view())
                    .map_err(|e| data_error(path, e.to_string()))?;
            }
            Ok(())
        })?;
        let accumulator = accumulator.unwrap_or_else(|| StatsAccumulator::new(0));
        accumulator.finish().map_err(|source| MergeError::Stats {
            parts: self.names(),
            source,
        })
    }

    /// The feature file of the whole run (`extract`): every shard's arrays
    /// and file names, concatenated in order.
    pub fn features(&self) -> Result<FeatureFile, MergeError> {
        let mut names: Vec<String> = Vec::new();
        let mut parts: Vec<Vec<Array2<f32>>> = Vec::new();
        let mut files = Vec::new();
        self.each(|path, partial| {
            let these: Vec<&String> = partial.data.arrays.iter().map(|(n, _)| n).collect();
            if names.is_empty() && parts.is_empty() {
                names = these.iter().map(|n| n.to_string()).collect();
                parts = vec![Vec::new(); names.len()];
            } else if these
                .iter()
                .map(|n| n.as_str())
                .ne(names.iter().map(String::as_str))
            {
                return Err(data_error(
                    path,
                    format!("it holds the outputs {these:?}, the first shard {names:?}"),
                ));
            }
            files.extend(partial.data.files);
            for (part, (_, array)) in parts.iter_mut().zip(partial.data.arrays) {
                if array.nrows() > 0 {
                    part.push(array);
                }
            }
            Ok(())
        })?;
        let mut arrays = Vec::with_capacity(names.len());
        for (name, part) in names.into_iter().zip(parts) {
            if part.is_empty() {
                arrays.push((name, Array2::zeros((0, 0))));
                continue;
            }
            let views: Vec<_> = part.iter().map(|a| a.view()).collect();
            let joined = concatenate(Axis(0), &views).map_err(|e| MergeError::Data {
                path: self.names(),
                reason: format!("their `{name}` arrays differ in width ({e})"),
            })?;
            arrays.push((name, joined));
        }
        Ok(FeatureFile { arrays, files })
    }
}

/// `name` of a shard's data, refused when absent.
pub fn rows<'a>(
    path: &Path,
    partial: &'a Partial,
    name: &str,
) -> Result<&'a Array2<f32>, MergeError> {
    partial
        .data
        .array(name)
        .ok_or_else(|| data_error(path, format!("it has no array `{name}`")))
}

fn data_error(path: &Path, reason: String) -> MergeError {
    MergeError::Data {
        path: path.display().to_string(),
        reason,
    }
}

/// Refuses `other` unless it is a shard of the same run as `first`.
fn compare(
    first_path: &Path,
    first: &PartialHeader,
    path: &Path,
    other: &PartialHeader,
) -> Result<(), MergeError> {
    let (a, b) = (first_path.display().to_string(), path.display().to_string());
    if first.kind != other.kind {
        return Err(MergeError::Kinds {
            first: a,
            first_kind: first.kind,
            other: b,
            other_kind: other.kind,
        });
    }
    if first.shard.count != other.shard.count {
        return Err(MergeError::Counts {
            first: a,
            first_shard: first.shard,
            other: b,
            other_shard: other.shard,
        });
    }
    if (first.items, &first.plan) != (other.items, &other.plan) {
        return Err(MergeError::Plans {
            first: a,
            first_items: first.items,
            first_plan: first.plan.clone(),
            other: b,
            other_items: other.items,
            other_plan: other.plan.clone(),
        });
    }
    let keys = first.provenance.keys().chain(other.provenance.keys());
    for key in keys {
        let (x, y) = (first.provenance.get(key), other.provenance.get(key));
        if x != y {
            let shown = |v: Option<&String>| v.cloned().unwrap_or_else(|| "none".into());
            return Err(MergeError::Provenance {
                first: a,
                other: b,
                what: key.clone(),
                first_value: shown(x),
                other_value: shown(y),
            });
        }
    }
    if first.context != other.context {
        return Err(MergeError::Context {
            first: a,
            other: b,
            detail: context_difference(&first.context, &other.context),
        });
    }
    Ok(())
}

/// The first setting (a top-level key) in which two contexts differ.
fn context_difference(a: &serde_json::Value, b: &serde_json::Value) -> String {
    if let (Some(x), Some(y)) = (a.as_object(), b.as_object()) {
        for key in x.keys().chain(y.keys()) {
            if x.get(key) != y.get(key) {
                return format!("`{key}`");
            }
        }
    }
    "their contexts".into()
}
