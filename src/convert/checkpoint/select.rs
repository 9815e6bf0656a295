//! Which object of an unpickled checkpoint is the state dict, and reading
//! its tensors out of their storages within a memory budget.

use std::collections::BTreeMap;

use super::pickle::{Machine, Object, Value};
use super::quoted;
use super::tensor::{ByteOrder, StorageInfo, TensorRef, WholeStorage};
use crate::convert::{Tensor, TensorData};

/// Keys under which training scripts nest the weights (`{'state_dict': …,
/// 'epoch': …}`), looked into in this order, as models/export_stackgan.py does.
const NESTING_KEYS: [&str; 3] = ["state_dict", "netG", "model"];

/// The tensors may hold at most this many times the elements their storages
/// hold, plus [`BUDGET_SLACK`]: a tensor shared under two keys (tied
/// weights) or a small broadcast view is fine; a file that names one storage
/// under thousands of keys is refused before it fills memory. Each tensor
/// also counts as [`TENSOR_COST`] elements (plus two per dimension) for its
/// key, shape and bookkeeping.
const BUDGET_FACTOR: u64 = 4;
const BUDGET_SLACK: u64 = 1 << 24;
const TENSOR_COST: u64 = 16;

/// The tensors of the state dict (views into the machine's arena), by key
/// and by the storage they view.
#[derive(Debug)]
pub struct Selection<'m> {
    tensors: BTreeMap<String, &'m TensorRef>,
    /// The keys of the tensors that view each storage (by root index).
    users: BTreeMap<usize, Vec<String>>,
}

/// The items of `value` if it is a dict.
fn dict_items(machine: &Machine, value: Value) -> Option<&[(Value, Value)]> {
    match machine.object(value) {
        Some(Object::Dict(items)) => Some(items),
        _ => None,
    }
}

impl<'m> Selection<'m> {
    /// Finds the state dict in `root`: the object itself, or one nested under
    /// `state_dict`, `netG` or `model`. Every key must be a string and every
    /// value a tensor.
    pub fn find(machine: &'m Machine, root: Value) -> Result<Selection<'m>, String> {
        let mut items = dict_items(machine, root).ok_or_else(|| {
            format!(
                "holds {}, not a state dict (a dict of tensors); save `model.state_dict()`",
                machine.type_name(root)
            )
        })?;
        for nesting in NESTING_KEYS {
            let nested = items
                .iter()
                .rev()
                .find(|(key, _)| machine.text(*key) == Some(nesting))
                .and_then(|&(_, value)| dict_items(machine, value));
            if let Some(nested) = nested {
                items = nested;
            }
        }
        let mut tensors = BTreeMap::new();
        for &(key, value) in items {
            let key = machine.text(key).ok_or_else(|| {
                format!(
                    "has a key that is {}, where a state dict's keys are names",
                    machine.type_name(key)
                )
            })?;
            match machine.object(value) {
                Some(Object::Tensor(tensor)) => {
                    tensors.insert(key.to_string(), tensor);
                }
                _ => {
                    return Err(format!(
                        "holds {} under {}, where a state dict holds tensors",
                        machine.type_name(value),
                        quoted(key)
                    ));
                }
            }
        }
        if tensors.is_empty() {
            return Err("holds no tensors (an empty state dict)".into());
        }
        let mut users: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (key, tensor) in &tensors {
            users
                .entry(tensor.storage.root)
                .or_default()
                .push(key.clone());
        }
        Ok(Selection { tensors, users })
    }

    /// The storages the tensors view (indices into the machine's storages).
    pub fn storages(&self) -> impl Iterator<Item = usize> + '_ {
        self.users.keys().copied()
    }

    /// Whether a tensor views storage `root`.
    pub fn uses(&self, root: usize) -> bool {
        self.users.contains_key(&root)
    }

    /// Refuses tensors that together would hold far more values than their storages do.
    pub fn check_budget(&self, storages: &[StorageInfo]) -> Result<(), String> {
        let stored: u64 = self
            .storages()
            .filter_map(|root| storages.get(root))
            .map(|s| s.numel)
            .sum();
        let wanted: u64 = self
            .tensors
            .values()
            .map(|t| t.numel() as u64 + TENSOR_COST + 2 * t.shape.len() as u64)
            .sum();
        if wanted
            > stored
                .saturating_mul(BUDGET_FACTOR)
                .saturating_add(BUDGET_SLACK)
        {
            return Err(format!(
                "its {} tensors would hold {wanted} values read from {stored} stored ones \
                 (one storage under many keys, or broadcast views); refused to bound memory",
                self.tensors.len()
            ));
        }
        Ok(())
    }

    /// The tensors that view storage `root`, with their keys.
    fn users_of(&self, root: usize) -> impl Iterator<Item = (&str, &'m TensorRef)> + '_ {
        self.users
            .get(&root)
            .into_iter()
            .flatten()
            .filter_map(|key| Some((key.as_str(), *self.tensors.get(key)?)))
    }

    /// The tensor that is all of storage `root` and its only user (the common
    /// case), whose values can be read straight from the file.
    fn sole_tensor(&self, root: usize, info: &StorageInfo) -> Option<(&str, &'m TensorRef)> {
        let mut users = self.users_of(root);
        let (key, tensor) = users.next()?;
        let whole =
            tensor.offset == 0 && tensor.numel() as u64 == info.numel && tensor.is_contiguous();
        (whole && users.next().is_none()).then_some((key, tensor))
    }

    /// Reads storage `root` into `out`: straight into the values of its sole
    /// tensor where that is one copy ([`WholeStorage`]), else through its
    /// bytes. `fill` writes the storage's bytes into the buffer it is given.
    pub fn read_storage_with(
        &self,
        root: usize,
        info: &StorageInfo,
        order: ByteOrder,
        fill: impl FnOnce(&mut [u8]) -> Result<(), String>,
        out: &mut BTreeMap<String, Tensor>,
    ) -> Result<(), String> {
        let whole = self.sole_tensor(root, info).and_then(|(key, tensor)| {
            Some((
                key,
                tensor,
                WholeStorage::new(info.dtype, order, tensor.numel())?,
            ))
        });
        if let Some((key, tensor, mut values)) = whole {
            fill(values.bytes_mut())?;
            out.insert(key.to_string(), tensor_of(tensor, values.into_data(), info));
            return Ok(());
        }
        let size = info
            .bytes()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| format!("storage {} is larger than memory", quoted(&info.key)))?;
        let mut bytes = vec![0; size];
        fill(&mut bytes)?;
        for (key, tensor) in self.users_of(root) {
            let data = tensor
                .values(&bytes, info.dtype, order)
                .map_err(|e| format!("{}: {e}", quoted(key)))?;
            out.insert(key.to_string(), tensor_of(tensor, data, info));
        }
        Ok(())
    }
}

fn tensor_of(tensor: &TensorRef, data: TensorData, info: &StorageInfo) -> Tensor {
    Tensor {
        shape: tensor.shape.clone(),
        data,
        stored_as: info.dtype.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::checkpoint::pickle::Input;

    /// A state dict naming one scalar tensor under `keys` keys.
    fn one_tensor_under(keys: usize) -> Vec<u8> {
        let mut p = b"\x80\x02ctorch._utils\n_rebuild_tensor\n((X\x07\x00\x00\x00storage".to_vec();
        p.extend(
            b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQK\x00))tRq\x00}(",
        );
        for i in 0..keys {
            let key = format!("k{i}");
            p.push(0x8c);
            p.push(key.len() as u8);
            p.extend(key.as_bytes());
            p.extend(b"h\x00");
        }
        p.extend(b"u.");
        p
    }

    fn selected(pickle: &[u8]) -> Result<(), String> {
        let mut machine = Machine::new();
        let root = machine.load(&mut Input::new(pickle, pickle.len() as u64))?;
        let selection = Selection::find(&machine, root)?;
        selection.check_budget(&machine.storages)
    }

    #[test]
    fn one_storage_under_a_million_keys_is_refused_before_reading() {
        assert_eq!(selected(&one_tensor_under(3)), Ok(()));
        let message = selected(&one_tensor_under(1_100_000)).unwrap_err();
        assert!(message.contains("1100000 tensors"), "{message}");
    }
}
