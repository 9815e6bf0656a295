//! PyTorch checkpoints as `convert::read_checkpoint` reads them: the small
//! committed checkpoints of tests/fixtures/checkpoints/ (both serialisations,
//! the torch 0.3 stream, the hostile ones) as seeds, pickle opcodes and
//! torch's globals as tokens; half the inputs mutate one member of a torch
//! archive inside a well-formed zip (so the pickle, not the zip's checksum,
//! is what is tested), or wrap a mutated checkpoint in a release zip.

use std::sync::Arc;

use stackgan_eval::convert::read_checkpoint;

use super::engine::{Rng, Target, mutate};
use super::{root, run, tokens, zip_members, zip_of};

const PICKLE_TOKENS: [&[u8]; 44] = [
    b"\x80\x02",
    b"\x80\x04\x95\x00\x01\x00\x00\x00\x00\x00\x00",
    b"ccollections\nOrderedDict\n",
    b"ctorch._utils\n_rebuild_tensor_v2\n",
    b"ctorch._utils\n_rebuild_tensor\n",
    b"ctorch._utils\n_rebuild_parameter\n",
    b"ctorch\nFloatStorage\n",
    b"ctorch.cuda\nHalfStorage\n",
    b"ctorch\nLongStorage\n",
    b"cposix\nsystem\n",
    b"X\x07\x00\x00\x00storage",
    b"X\x06\x00\x00\x00module",
    b"X\x0a\x00\x00\x00state_dict",
    b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpu",
    b"Q",
    b"R",
    b"b",
    b"(",
    b"t",
    b"u",
    b"e",
    b"s",
    b"a",
    b")",
    b"}",
    b"]",
    b"N",
    b"\x88",
    b"\x85",
    b"\x86",
    b"\x87",
    b"h\x00",
    b"q\x00",
    b"j\xff\xff\xff\xff",
    b"K\x00",
    b"J\xff\xff\xff\x7f",
    b"\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x10",
    b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19",
    b"M\xe9\x03",
    b"X\xff\xff\xff\x7f",
    b"\x93",
    b"\x94",
    b"i",
    b"little",
];

/// The committed checkpoints small enough to mutate quickly.
fn seeds() -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(root().join("tests/fixtures/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let small = p.metadata().is_ok_and(|m| m.len() <= 64 * 1024);
            let kind = p
                .extension()
                .is_some_and(|e| e == "pth" || e == "pt" || e == "zip");
            small && kind
        })
        .collect();
    paths.sort();
    assert!(paths.len() >= 15, "{paths:?}");
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// A torch archive with one member (mostly data.pkl) mutated, a member
/// dropped or doubled; or a mutated checkpoint inside a release zip.
fn checkpoint_with_valid_zip(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[Vec<u8>]) -> Vec<u8> {
    let seed = &seeds[rng.below(seeds.len())];
    let Some(mut members) = zip_members(seed).filter(|m| !m.is_empty()) else {
        let inner = mutate(rng, std::slice::from_ref(seed), tokens);
        let name = ["birds/netG_1.pth", "model.pt", "a/b/netD.pth"][rng.below(3)];
        return zip_of(
            &[(name.to_string(), inner)],
            zip::CompressionMethod::Deflated,
        );
    };
    let pickle = members.iter().position(|(n, _)| n.ends_with("data.pkl"));
    let i = match pickle {
        Some(p) if rng.below(2) == 0 => p,
        _ => rng.below(members.len()),
    };
    match rng.below(10) {
        0 => {
            members.remove(i);
        }
        1 => {
            let copy = members[i].clone();
            members.push(copy);
        }
        _ => members[i].1 = mutate(rng, &[members[i].1.clone()], tokens),
    }
    zip_of(&members, zip::CompressionMethod::Stored)
}

#[test]
fn checkpoints() {
    run(Target {
        name: "checkpoints",
        file_name: "model.pth",
        must_name: "model.pth",
        custom: Some(checkpoint_with_valid_zip),
        inputs: 300,
        seeds: seeds(),
        tokens: tokens(&PICKLE_TOKENS),
        parse: Arc::new(|path| read_checkpoint(path).map(|_| ()).map_err(|e| e.to_string())),
    });
}
