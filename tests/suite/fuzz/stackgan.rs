//! The StackGAN converter on whatever a checkpoint reader can give it: the
//! committed stand-in checkpoints of tests/fixtures/convert_stackgan/, read,
//! then edited at the level of keys and shapes (a key dropped, renamed under
//! another prefix or added; a dimension set to 0, 1, one off, doubled or
//! halved; a rank added or removed), converted as every StackGAN kind. Byte
//! mutations of the files themselves are the `checkpoints` target's; these
//! edits reach the width reading and the graph building, which byte flips
//! mostly do not. Each conversion runs under `catch_unwind`: a panic, a
//! refusal that is not one line naming the file, or a file written despite
//! a refusal is a failure. Counts are fixed and seeded (raised by
//! `STACKGAN_FUZZ_INPUTS`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use stackgan_eval::convert::{
    ModelKind, StackganKind, StateDict, Tensor, TensorData, convert, read_checkpoint,
};

use super::engine::Rng;
use super::root;
use crate::util::temp_dir;

const FILES: [&str; 4] = [
    "v2-birds.legacy.pth",
    "v2-uncond.legacy.pth",
    "v1-stage1.legacy.pth",
    "v1-stage2.legacy.pth",
];

/// Prefixes the releases and their wrappers put before keys.
const PREFIXES: [&str; 5] = ["module.", "STAGE1_G.", "h_net4.", "netG.", ""];

fn floats(shape: Vec<usize>) -> Tensor {
    Tensor {
        data: TensorData::Float(vec![0.25; shape.iter().product()]),
        shape,
        stored_as: "float32".into(),
    }
}

/// One to three edits of the keys and shapes of `weights`.
fn edit(rng: &mut Rng, weights: &mut StateDict) {
    for _ in 0..=rng.below(3) {
        let keys: Vec<String> = weights.tensors.keys().cloned().collect();
        let key = keys[rng.below(keys.len())].clone();
        match rng.below(6) {
            0 => {
                weights.tensors.remove(&key);
            }
            1 => {
                let tensor = weights.tensors.remove(&key).unwrap();
                let prefix = PREFIXES[rng.below(PREFIXES.len())];
                let bare = key.split_once('.').map_or(key.as_str(), |(_, rest)| rest);
                let renamed = if rng.below(2) == 0 { bare } else { &key };
                weights.tensors.insert(format!("{prefix}{renamed}"), tensor);
            }
            2 => {
                let shape = vec![1 + rng.below(9); 1 + rng.below(4)];
                weights.tensors.insert(format!("{key}x"), floats(shape));
            }
            3 => {
                let mut shape = weights.tensors[&key].shape.clone();
                match (rng.below(2), shape.is_empty()) {
                    (0, _) | (_, true) => shape.push(1 + rng.below(3)),
                    _ => {
                        shape.pop();
                    }
                }
                weights.tensors.insert(key, floats(shape));
            }
            _ => {
                let mut shape = weights.tensors[&key].shape.clone();
                if shape.is_empty() {
                    continue;
                }
                let axis = rng.below(shape.len());
                let d = shape[axis];
                shape[axis] = [0, 1, d + 1, d.saturating_sub(1), 2 * d, d / 2][rng.below(6)];
                weights.tensors.insert(key, floats(shape));
            }
        }
    }
}

#[test]
fn edited_stackgan_checkpoints_are_converted_or_refused_in_one_line() {
    let inputs = std::env::var("STACKGAN_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(200);
    let originals: Vec<StateDict> = FILES
        .iter()
        .map(|file| {
            let path = root().join("tests/fixtures/convert_stackgan").join(file);
            read_checkpoint(&path).unwrap()
        })
        .collect();
    let dir = temp_dir();
    let mut rng = Rng::new(9);
    let (mut accepted, mut refused) = (0, 0);
    for input in 0..inputs {
        let mut weights = originals[rng.below(originals.len())].clone();
        weights.source = Path::new("edited-netG.pth").to_path_buf();
        edit(&mut rng, &mut weights);
        for kind in StackganKind::ALL {
            let out = dir.path().join(format!("{input}-{kind}.onnx"));
            let kind = ModelKind::Stackgan(*kind);
            let result = catch_unwind(AssertUnwindSafe(|| convert(&weights, &kind, &out)));
            let Ok(result) = result else {
                panic!(
                    "input {input} as {kind:?} panicked; keys {:?}",
                    weights.tensors.keys()
                )
            };
            match result {
                Ok(_) => accepted += 1,
                Err(error) => {
                    refused += 1;
                    let line = error.to_string();
                    assert!(
                        line.lines().count() == 1 && line.starts_with("edited-netG.pth: "),
                        "input {input} as {kind:?}: {line}"
                    );
                    assert!(
                        !out.exists(),
                        "input {input} as {kind:?}: written despite {line}"
                    );
                }
            }
        }
    }
    eprintln!(
        "fuzz stackgan: {inputs} edited checkpoints × 4 kinds: {accepted} converted, {refused} refused"
    );
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} converted, {refused} refused"
    );
}
