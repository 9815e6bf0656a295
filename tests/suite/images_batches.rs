//! Streaming batches: order, independence from batch size and thread count,
//! equality with per-image preprocessing, and bad-file handling.

use ndarray::{Array3, Array4, Axis, concatenate};
use stackgan_eval::images::{
    ImageBatches, ImageError, Preprocess, ResizeMode, decode_rgb, list_images, preprocess_into,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::util::{fixture, temp_dir};

fn fixture_images() -> Vec<PathBuf> {
    list_images(Path::new(fixture("images/src"))).unwrap()
}

fn preprocess(mode: ResizeMode) -> Preprocess {
    Preprocess {
        resize: mode,
        height: 19,
        width: 13,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    }
}

/// Runs the whole stream and returns all rows, the paths and each batch size.
fn collect(batches: ImageBatches) -> (Array4<f32>, Vec<PathBuf>, Vec<usize>) {
    let mut tensors = Vec::new();
    let mut paths = Vec::new();
    let mut sizes = Vec::new();
    for batch in batches {
        let batch = batch.unwrap();
        assert_eq!(batch.tensor.len_of(Axis(0)), batch.paths.len());
        sizes.push(batch.paths.len());
        paths.extend(batch.paths);
        tensors.push(batch.tensor);
    }
    let views: Vec<_> = tensors.iter().map(|t| t.view()).collect();
    (concatenate(Axis(0), &views).unwrap(), paths, sizes)
}

fn pool(threads: usize) -> Arc<rayon::ThreadPool> {
    Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap(),
    )
}

#[test]
fn batches_are_bit_identical_across_batch_sizes_and_thread_counts() {
    let paths = fixture_images();
    for mode in ResizeMode::ALL {
        let p = preprocess(mode);
        let mut expected = Array4::<f32>::zeros((paths.len(), 3, 19, 13));
        for (path, slot) in paths.iter().zip(expected.axis_iter_mut(Axis(0))) {
            preprocess_into(&decode_rgb(path).unwrap(), &p, slot);
        }
        for (batch_size, threads) in [(1, 1), (3, 2), (7, 3), (4, 1), (100, 2)] {
            let stream = ImageBatches::new_in_pool(
                paths.clone(),
                p.clone(),
                batch_size,
                false,
                pool(threads),
            )
            .unwrap();
            let (all, got_paths, sizes) = collect(stream);
            assert_eq!(got_paths, paths, "order, batch size {batch_size}");
            assert!(sizes[..sizes.len() - 1].iter().all(|&s| s == batch_size));
            let same_bits = all
                .iter()
                .zip(&expected)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same_bits,
                "{mode}: batch size {batch_size}, {threads} threads"
            );
        }
    }
}

fn mixed_folder() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = temp_dir();
    let fixtures = Path::new(fixture("images"));
    let files = [
        ("src/rgb_17x23.png", "a.png"),
        ("bad/zero.png", "b.png"),
        ("src/l_13x11.png", "c.png"),
        ("bad/text.png", "d.png"),
        ("src/rgb_17x23.bmp", "e.bmp"),
        ("bad/truncated.png", "f.png"),
        ("src/jpeg_420_40x31.jpg", "g.jpg"),
    ];
    for (from, to) in files {
        std::fs::copy(fixtures.join(from), dir.path().join(to)).unwrap();
    }
    let paths = list_images(dir.path()).unwrap();
    (dir, paths)
}

#[test]
fn skip_bad_leaves_out_unreadable_files_and_keeps_batches_full() {
    let (dir, paths) = mixed_folder();
    let mut stream = ImageBatches::new(paths, preprocess(ResizeMode::Clean), 2, true).unwrap();
    let mut batches = Vec::new();
    for batch in stream.by_ref() {
        batches.push(batch.unwrap());
    }
    let names = |ps: &[PathBuf]| -> Vec<String> {
        ps.iter()
            .map(|p| {
                p.strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    let kept: Vec<Vec<String>> = batches.iter().map(|b| names(&b.paths)).collect();
    assert_eq!(kept, [vec!["a.png", "c.png"], vec!["e.bmp", "g.jpg"]]);
    let skipped: Vec<PathBuf> = stream.skipped().iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(names(&skipped), ["b.png", "d.png", "f.png"]);
    assert!(
        stream
            .skipped()
            .iter()
            .all(|(_, reason)| !reason.is_empty())
    );
}

#[test]
fn without_skip_bad_the_first_bad_file_ends_the_stream() {
    let (dir, paths) = mixed_folder();
    let mut stream = ImageBatches::new(paths, preprocess(ResizeMode::Clean), 1, false).unwrap();
    assert!(stream.next().unwrap().is_ok());
    let err = stream.next().unwrap().unwrap_err();
    assert!(matches!(err, ImageError::Unreadable { .. }));
    assert!(
        err.to_string()
            .contains(&dir.path().join("b.png").display().to_string())
    );
    assert!(stream.next().is_none());
}

#[test]
fn zero_batch_size_is_rejected() {
    let err = ImageBatches::new(fixture_images(), Preprocess::pytorch_fid(), 0, false)
        .err()
        .unwrap();
    assert!(err.to_string().contains("--batch-size"));
}

#[test]
fn dropping_the_stream_early_stops_cleanly() {
    let mut stream =
        ImageBatches::new(fixture_images(), preprocess(ResizeMode::LegacyTf), 2, false).unwrap();
    let first = stream.next().unwrap().unwrap();
    let single = {
        let mut out = Array3::zeros((3, 19, 13));
        preprocess_into(
            &decode_rgb(&first.paths[0]).unwrap(),
            &preprocess(ResizeMode::LegacyTf),
            out.view_mut(),
        );
        out
    };
    assert_eq!(first.tensor.index_axis(Axis(0), 0), single);
    drop(stream);
}
