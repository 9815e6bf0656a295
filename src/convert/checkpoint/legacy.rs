//! torch.save's legacy stream: what torch < 1.6 wrote (pytorch-fid's
//! Inception weights, StackGAN's `netG_*.pth`), and what
//! `_use_new_zipfile_serialization=False` still writes.
//!
//! Five pickles, then the raw storages: the magic number
//! `0x1950a86a20f9469cfc6c`, the format version 1001, a dict of system
//! facts (ignored: torch always wrote storages little-endian), the object
//! itself — tensors referring to storages by persistent id — and the list of
//! storage keys; then, for each key of that list in turn, the storage's
//! element count as 8 little-endian bytes and its elements. The storages are
//! read in that order, one at a time, and each tensor is read out of its
//! storage as soon as it is there, so memory holds the tensors plus one storage.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use super::pickle::{Input, Machine, Object, Value};
use super::quoted;
use super::select::Selection;
use super::tensor::ByteOrder;
use crate::convert::Tensor;

const MAGIC_NUMBER: i128 = 0x1950_a86a_20f9_469c_fc6c;
const PROTOCOL_VERSION: i128 = 1001;

/// Reads the state dict of a legacy stream.
pub fn read<R: Read>(input: &mut Input<R>) -> Result<BTreeMap<String, Tensor>, String> {
    let mut machine = Machine::new();
    let magic = machine
        .load(input)
        .map_err(|e| format!("is not a PyTorch checkpoint: {e}"))?;
    if magic != Value::Int(MAGIC_NUMBER) {
        return Err(
            "is a pickle but not a PyTorch checkpoint (no torch.save magic number); \
                    expected a file written by torch.save"
                .into(),
        );
    }
    let version = machine.load(input)?;
    if version != Value::Int(PROTOCOL_VERSION) {
        return Err(format!(
            "has legacy format version {}, not {PROTOCOL_VERSION}",
            match version {
                Value::Int(v) => v.to_string(),
                other => machine.type_name(other).to_string(),
            }
        ));
    }
    machine.load(input)?;
    let root = machine.load(input)?;
    let listed = machine.load(input)?;
    let selection = Selection::find(&machine, root)?;
    selection.check_budget(&machine.storages)?;
    let keys = storage_keys(&machine, listed)?;

    let needed: u64 = keys
        .iter()
        .map(|&root| {
            machine.storages[root]
                .bytes()
                .and_then(|b| b.checked_add(8))
        })
        .try_fold(0u64, |sum, bytes| bytes.and_then(|b| sum.checked_add(b)))
        .unwrap_or(u64::MAX);
    if needed > input.remaining() {
        return Err(format!(
            "is truncated: its storages need {needed} bytes after byte {} but only {} follow",
            input.pos,
            input.remaining()
        ));
    }
    let mut tensors = BTreeMap::new();
    for root in keys {
        let info = &machine.storages[root];
        let count = u64::from_le_bytes(input.array()?);
        if count != info.numel {
            return Err(format!(
                "storage {} at byte {} holds {count} elements where its tensors declared {}",
                quoted(&info.key),
                input.pos - 8,
                info.numel
            ));
        }
        if selection.uses(root) {
            let fill = |dest: &mut [u8]| input.fill(dest);
            selection.read_storage_with(root, info, ByteOrder::Little, fill, &mut tensors)?;
        } else {
            input.skip(info.numel * info.dtype.size())?;
        }
    }
    Ok(tensors)
}

/// The storages in the order the file stores them, each declared by a
/// persistent id, each once, and all of them.
fn storage_keys(machine: &Machine, listed: Value) -> Result<Vec<usize>, String> {
    let Some(Object::List(items)) = machine.object(listed) else {
        return Err(format!(
            "has {} where the list of storage keys belongs",
            machine.type_name(listed)
        ));
    };
    let mut seen = HashSet::new();
    let mut roots = Vec::with_capacity(items.len());
    for &item in items {
        let key = machine
            .text(item)
            .ok_or("has a storage key that is not a string")?;
        let root = machine
            .storage(key)
            .ok_or_else(|| format!("lists storage {}, which no tensor refers to", quoted(key)))?;
        if !seen.insert(root) {
            return Err(format!("lists storage {} twice", quoted(key)));
        }
        roots.push(root);
    }
    if let Some(missing) = (0..machine.storages.len()).find(|root| !seen.contains(root)) {
        return Err(format!(
            "does not store storage {}, which its tensors refer to",
            quoted(&machine.storages[missing].key)
        ));
    }
    Ok(roots)
}
