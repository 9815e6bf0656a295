//! Partial results (`--shard`'s files) through the reader and the merge:
//! headers edited as JSON inside a well-formed archive, arrays mutated,
//! members dropped or doubled.

use std::path::PathBuf;
use std::sync::Arc;

use ndarray::Array2;
use stackgan_eval::features::FeatureFile;
use stackgan_eval::shard::{Partial, PartialHeader, PartialKind, Shard, ShardSet};

use super::engine::Target;
use super::{npz_tokens, npz_with_mutated_member, run, tokens};

/// Partial results the library writes: stats and extract, whole (0/1, so
/// the merge runs) and one shard of three.
fn seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = Vec::new();
    for (kind, shard, files) in [
        (PartialKind::Stats, Shard::WHOLE, false),
        (PartialKind::Extract, Shard::WHOLE, true),
        (PartialKind::Extract, Shard { index: 1, count: 3 }, true),
    ] {
        let mut header = PartialHeader::new(kind, shard, 5, "ab".repeat(32));
        header
            .provenance
            .insert("extractor".into(), "x.onnx".into());
        let rows = header.end - header.start;
        let data = FeatureFile {
            arrays: vec![
                (
                    "pool".into(),
                    Array2::from_shape_fn((rows, 3), |(i, j)| (i * 3 + j) as f32 * 0.7),
                ),
                ("logits".into(), Array2::from_elem((rows, 2), 0.5)),
            ],
            files: if files {
                (0..rows)
                    .map(|i| PathBuf::from(format!("{i}.png")))
                    .collect()
            } else {
                Vec::new()
            },
        };
        let path = dir.path().join("seed.part");
        Partial { header, data }.write(&path).unwrap();
        seeds.push(std::fs::read(&path).unwrap());
    }
    seeds
}

#[test]
fn partial_results() {
    run(Target {
        name: "partial-results",
        file_name: "shard.part",
        must_name: "shard.part",
        custom: Some(npz_with_mutated_member),
        inputs: 300,
        seeds: seeds(),
        tokens: {
            let mut all = npz_tokens(&[b"partial.npy", b"pool.npy", b"files.npy"]);
            all.extend(tokens(&[
                b"\"count\":0",
                b"\"count\":18446744073709551615",
                b"\"index\":7",
                b"\"items\":0",
                b"\"end\":99",
                b"\"skipped\":5",
                b"\"kind\":\"eval\"",
                b"\"version\":2",
                b"null",
            ]));
            all
        },
        parse: Arc::new(|path| {
            Partial::read(path).map_err(|e| e.to_string())?;
            let set = ShardSet::open(&[path.to_path_buf()]).map_err(|e| e.to_string())?;
            match set.kind {
                PartialKind::Stats => set.statistics().map(|_| ()),
                _ => set.features().map(|_| ()),
            }
            .map_err(|e| e.to_string())
        }),
    });
}
