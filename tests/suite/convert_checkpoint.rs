//! The PyTorch checkpoint reader (`convert::read_checkpoint`) against torch
//! 2.15: tests/fixtures/checkpoints/make.py wrote each checkpoint with
//! torch.save (zip and legacy serialisations, pickle protocols 2 and 4, a
//! big-endian archive, a torch 0.3 / Python 2 stream, a StackGAN release zip,
//! nested checkpoints, `module.` prefixes) and recorded what torch.load reads
//! back: per tensor its shape, stored dtype and the SHA-256 of its values as
//! float32 or int64 little-endian (`reference.json`), and for the dtype zoo
//! the values themselves (`dtypes.npz`, `torch03.npz`). Tolerance: none —
//! values agree bit for bit. Refusals: each hostile or wrong file gets one
//! line naming the file and what is wrong (`reference.json` → `refused`).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use ndarray::ArrayD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use stackgan_eval::convert::{StateDict, TensorData, read_checkpoint};

use crate::util::{fixture, json, npz_array, temp_dir};

fn reference() -> Value {
    json(fixture("checkpoints/reference.json"))
}

fn read(file: &str) -> StateDict {
    read_checkpoint(Path::new(fixture(&format!("checkpoints/{file}"))))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// SHA-256 of the values as make.py hashes them: float32 or int64, little-endian.
fn values_sha256(data: &TensorData) -> String {
    let mut hasher = Sha256::new();
    match data {
        TensorData::Float(values) => values.iter().for_each(|v| hasher.update(v.to_le_bytes())),
        TensorData::Int(values) => values.iter().for_each(|v| hasher.update(v.to_le_bytes())),
    }
    format!("{:x}", hasher.finalize())
}

/// Keys, shapes, stored dtypes and value hashes of `dict` equal `listing`'s.
fn assert_matches_listing(dict: &StateDict, listing: &Value, what: &str) {
    let listing = listing.as_object().expect("a listing is an object");
    let expected: BTreeSet<&str> = listing.keys().map(String::as_str).collect();
    let got: BTreeSet<&str> = dict.tensors.keys().map(String::as_str).collect();
    assert_eq!(got, expected, "{what}: keys");
    for (key, spec) in listing {
        let tensor = &dict.tensors[key];
        let shape: Vec<usize> = serde_json::from_value(spec["shape"].clone()).unwrap();
        assert_eq!(tensor.shape, shape, "{what} `{key}`: shape");
        assert_eq!(
            tensor.stored_as,
            spec["dtype"].as_str().unwrap(),
            "{what} `{key}`: dtype"
        );
        let count = match &tensor.data {
            TensorData::Float(values) => values.len(),
            TensorData::Int(values) => values.len(),
        };
        assert_eq!(count, tensor.len(), "{what} `{key}`: values");
        assert_eq!(
            values_sha256(&tensor.data),
            spec["sha256"].as_str().unwrap(),
            "{what} `{key}`: values differ from torch.load's"
        );
    }
}

/// Every tensor equals the one in `npz`, value by value (bits; NaN payloads too).
fn assert_matches_values(dict: &StateDict, npz: &str, what: &str) {
    for (key, tensor) in &dict.tensors {
        match &tensor.data {
            TensorData::Float(values) => {
                let expected: ArrayD<f32> = npz_array(npz, key);
                assert_eq!(expected.shape(), tensor.shape.as_slice(), "{what} `{key}`");
                for (i, (got, want)) in values.iter().zip(expected.iter()).enumerate() {
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{what} `{key}`[{i}]: {got} vs {want}"
                    );
                }
            }
            TensorData::Int(values) => {
                let expected: ArrayD<i64> = npz_array(npz, key);
                assert_eq!(expected.shape(), tensor.shape.as_slice(), "{what} `{key}`");
                assert_eq!(
                    values.as_slice(),
                    expected.as_slice().unwrap(),
                    "{what} `{key}`"
                );
            }
        }
    }
}

#[test]
fn every_serialisation_reads_what_torch_reads() {
    let reference = reference();
    let read_list = reference["read"].as_object().unwrap();
    assert!(read_list.len() >= 9, "{read_list:?}");
    for (file, spec) in read_list {
        let dict = read(file);
        let listing = &reference["listings"][spec["listing"].as_str().unwrap()];
        assert_matches_listing(&dict, listing, file);
        if let Some(npz) = spec["values"].as_str() {
            assert_matches_values(&dict, fixture(&format!("checkpoints/{npz}")), file);
        }
    }
}

#[test]
fn the_dtype_zoo_covers_what_it_claims() {
    // Guards the fixture itself: views, offsets, shared storages, scalars and every dtype.
    let dict = read("dtypes-legacy.pth");
    let stored: BTreeSet<&str> = dict
        .tensors
        .values()
        .map(|t| t.stored_as.as_str())
        .collect();
    let all = [
        "bfloat16", "bool", "float16", "float32", "float64", "int16", "int32", "int64", "int8",
        "uint8",
    ];
    assert_eq!(stored, all.into_iter().collect());
    assert_eq!(dict.tensors["scalar"].shape, Vec::<usize>::new());
    assert_eq!(dict.tensors["transposed"].shape, [4, 3]);
    assert_eq!(dict.tensors["empty_2d"].shape, [2, 0]);
    let transposed = dict.floats("transposed", &[4, 3]).unwrap();
    let matrix = dict.floats("matrix", &[3, 4]).unwrap();
    // transposed[1][2] is matrix[2][1].
    assert_eq!(transposed[5], matrix[9]);
}

#[test]
fn refusals_are_one_line_naming_the_file_and_the_cause() {
    let refused = reference()["refused"].as_array().unwrap().clone();
    assert!(refused.len() >= 12);
    for case in refused {
        let file = case["file"].as_str().unwrap();
        let message = read_checkpoint(Path::new(fixture(&format!("checkpoints/{file}"))))
            .expect_err(file)
            .to_string();
        assert!(message.contains(file), "{message}");
        assert!(
            message.contains(case["says"].as_str().unwrap()),
            "{file}: {message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }
}

/// Cuts `file` at `cuts` points (every byte when it is small) and expects a
/// refusal naming the copy each time.
fn assert_truncations_refused(file: &str, cuts: usize) {
    let bytes = std::fs::read(fixture(&format!("checkpoints/{file}"))).unwrap();
    let dir = temp_dir();
    let path = dir.path().join(file);
    let step = (bytes.len() / cuts).max(1);
    for end in (0..bytes.len()).step_by(step) {
        std::fs::write(&path, &bytes[..end]).unwrap();
        match read_checkpoint(&path) {
            Ok(_) => panic!("{file} cut at {end} of {} bytes was read", bytes.len()),
            Err(e) => {
                let message = e.to_string();
                assert!(
                    message.contains(file) && !message.contains('\n'),
                    "{message}"
                );
            }
        }
    }
}

#[test]
fn every_truncation_is_refused() {
    assert_truncations_refused("dtypes-legacy.pth", usize::MAX);
    assert_truncations_refused("torch03-legacy.pth", usize::MAX);
    assert_truncations_refused("dtypes-zip.pth", usize::MAX);
    assert_truncations_refused("birds_3stages.zip", 200);
    assert_truncations_refused("nested-legacy.pth", 200);
}

#[test]
fn the_full_size_fid_inception_stand_in_reads_as_torch_reads_it() {
    let mut gz = flate2::read::GzDecoder::new(
        std::fs::File::open(fixture("checkpoints/fid-inception-legacy.pth.gz")).unwrap(),
    );
    let mut bytes = Vec::new();
    gz.read_to_end(&mut bytes).unwrap();
    let listing = json(fixture("checkpoints/fid-inception.json"));
    assert_eq!(bytes.len() as u64, listing["bytes"].as_u64().unwrap());
    let dir = temp_dir();
    let path = dir.path().join("pt_inception-2015-12-05-6726825d.pth");
    std::fs::write(&path, bytes).unwrap();
    let dict = read_checkpoint(&path).unwrap();
    assert_eq!(dict.tensors.len(), 566);
    assert_matches_listing(&dict, &listing["tensors"], "FID Inception");
}

#[test]
fn tiny_stackgan_fixtures_carry_the_released_key_names() {
    let keys = json(fixture("checkpoints/stackgan-keys.json"));
    let names = |architecture: &str| -> BTreeSet<String> {
        keys[architecture]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let v2: BTreeSet<String> = read("birds_3stages.zip").tensors.into_keys().collect();
    assert_eq!(v2, names("v2-birds"));
    let v1: BTreeSet<String> = read("nested-zip.pth").tensors.into_keys().collect();
    assert_eq!(v1, names("v1-stage2"));
    assert!(v1.iter().any(|k| k.starts_with("STAGE1_G.")));
}

#[test]
fn files_that_are_no_checkpoint_at_all_are_refused() {
    let dir = temp_dir();
    let cases: [(&str, &[u8], &str); 5] = [
        ("empty.pth", b"", "is empty"),
        (
            "page.pth",
            b"<!DOCTYPE html><html><body>404</body></html>",
            "HTML page",
        ),
        ("text.pth", b"weights", "starts with bytes 77 65 69 67"),
        (
            "plain.pkl",
            b"\x80\x02}q\x00.",
            "no torch.save magic number",
        ),
        (
            "no-checkpoint.zip",
            b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            "neither",
        ),
    ];
    for (name, bytes, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let message = read_checkpoint(&path).expect_err(name).to_string();
        assert!(
            message.contains(name) && message.contains(says),
            "{message}"
        );
    }
    let missing = read_checkpoint(&dir.path().join("absent.pth"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("absent.pth") && missing.contains("does not exist"),
        "{missing}"
    );
}

#[test]
fn a_damaged_storage_record_fails_its_checksum() {
    let mut bytes = std::fs::read(fixture("checkpoints/dtypes-zip.pth")).unwrap();
    let start = zip::ZipArchive::new(std::io::Cursor::new(&bytes))
        .unwrap()
        .by_name("dtypes-zip/data/0")
        .unwrap()
        .data_start();
    bytes[start as usize + 3] ^= 0x40;
    let dir = temp_dir();
    let path = dir.path().join("damaged.pth");
    std::fs::write(&path, bytes).unwrap();
    let message = read_checkpoint(&path).unwrap_err().to_string();
    assert!(
        message.contains("damaged.pth") && message.contains("checksum"),
        "{message}"
    );
}
