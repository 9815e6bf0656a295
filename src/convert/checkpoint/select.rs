//! Which object of an unpickled checkpoint is the state dict, and reading
//! its tensors out of their storages within a memory budget.

use std::collections::{BTreeMap, BTreeSet};

use super::pickle::{Machine, Object, Value};
use super::quoted;
use super::tensor::{ByteOrder, StorageInfo, TensorRef, WholeStorage};
use crate::convert::Tensor;

/// Keys under which training scripts nest the weights (`{'state_dict': …,
/// 'epoch': …}`), looked into in this order, as models/export_stackgan.py does.
const NESTING_KEYS: [&str; 3] = ["state_dict", "netG", "model"];

/// The tensors may hold at most this many times the elements their storages
/// hold, plus [`BUDGET_SLACK`]: a tensor shared under two keys (tied
/// weights) or a small broadcast view is fine; a file that names one storage
/// under thousands of keys is refused before it fills memory.
const BUDGET_FACTOR: u64 = 4;
const BUDGET_SLACK: u64 = 1 << 24;

/// The tensors of the state dict, by key.
#[derive(Debug)]
pub struct Selection {
    pub tensors: BTreeMap<String, TensorRef>,
}

/// The items of `value` if it is a dict.
fn dict_items(machine: &Machine, value: Value) -> Option<&[(Value, Value)]> {
    match machine.object(value) {
        Some(Object::Dict(items)) => Some(items),
        _ => None,
    }
}

impl Selection {
    /// Finds the state dict in `root`: the object itself, or one nested under
    /// `state_dict`, `netG` or `model`. Every key must be a string and every
    /// value a tensor.
    pub fn find(machine: &Machine, root: Value) -> Result<Selection, String> {
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
                    tensors.insert(key.to_string(), tensor.clone());
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
        Ok(Selection { tensors })
    }

    /// The storages the tensors view (indices into the machine's storages).
    pub fn storages(&self) -> BTreeSet<usize> {
        self.tensors.values().map(|t| t.storage.root).collect()
    }

    /// Refuses tensors that together would hold far more values than their storages do.
    pub fn check_budget(&self, storages: &[StorageInfo]) -> Result<(), String> {
        let stored: u64 = self
            .storages()
            .iter()
            .filter_map(|&root| storages.get(root))
            .map(|s| s.numel)
            .sum();
        let wanted: u64 = self.tensors.values().map(|t| t.numel() as u64).sum();
        if wanted
            > stored
                .saturating_mul(BUDGET_FACTOR)
                .saturating_add(BUDGET_SLACK)
        {
            return Err(format!(
                "its tensors would hold {wanted} values read from {stored} stored ones \
                 (one storage under many keys, or broadcast views); refused to bound memory"
            ));
        }
        Ok(())
    }

    /// The key of the tensor that is all of storage `root` and its only user
    /// (the common case), whose values can be read straight from the file.
    pub fn sole_tensor(&self, root: usize, info: &StorageInfo) -> Option<&str> {
        let mut users = self.tensors.iter().filter(|(_, t)| t.storage.root == root);
        let (key, tensor) = users.next()?;
        let whole =
            tensor.offset == 0 && tensor.numel() as u64 == info.numel && tensor.is_contiguous();
        (whole && users.next().is_none()).then_some(key.as_str())
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
        let whole = self.sole_tensor(root, info).and_then(|key| {
            let tensor = &self.tensors[key];
            Some((
                key,
                tensor,
                WholeStorage::new(info.dtype, order, tensor.numel())?,
            ))
        });
        if let Some((key, tensor, mut values)) = whole {
            fill(values.bytes_mut())?;
            out.insert(
                key.to_string(),
                Tensor {
                    shape: tensor.shape.clone(),
                    data: values.into_data(),
                    stored_as: info.dtype.name().to_string(),
                },
            );
            return Ok(());
        }
        let size = info
            .bytes()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| format!("storage {} is larger than memory", quoted(&info.key)))?;
        let mut bytes = vec![0; size];
        fill(&mut bytes)?;
        self.read_storage(root, info, &bytes, order, out)
    }

    /// Reads every tensor that views storage `root` out of its bytes into `out`.
    fn read_storage(
        &self,
        root: usize,
        info: &StorageInfo,
        bytes: &[u8],
        order: ByteOrder,
        out: &mut BTreeMap<String, Tensor>,
    ) -> Result<(), String> {
        for (key, tensor) in self.tensors.iter().filter(|(_, t)| t.storage.root == root) {
            let data = tensor
                .values(bytes, info.dtype, order)
                .map_err(|e| format!("{}: {e}", quoted(key)))?;
            out.insert(
                key.clone(),
                Tensor {
                    shape: tensor.shape.clone(),
                    data,
                    stored_as: info.dtype.name().to_string(),
                },
            );
        }
        Ok(())
    }
}
