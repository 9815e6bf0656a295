//! What the globals, calls and persistent ids of a state dict mean — the
//! only part of a pickle that names Python code, interpreted here and
//! never run: `OrderedDict`, torch's tensor rebuilders, storage classes.

use std::io::Read;

use super::input::Input;
use super::{Machine, Object, Value, op};
use crate::convert::checkpoint::quoted;
use crate::convert::checkpoint::tensor::{Dtype, StorageInfo, StorageView, TensorRef};

/// The globals a state dict is made of; anything else is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    OrderedDict,
    /// `torch._utils._rebuild_tensor(storage, offset, size, stride)`: torch < 0.4.
    RebuildTensor,
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    RebuildTensorV2,
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`.
    RebuildParameter,
    /// `torch._utils._rebuild_parameter_with_state(tensor, requires_grad, hooks, state)`.
    RebuildParameterWithState,
    /// `torch.FloatStorage`, `torch.cuda.HalfStorage`, …: named by persistent ids only.
    StorageType(Dtype),
}

impl Global {
    /// The global `module.name`, if it is one a state dict uses.
    fn resolve(module: &str, name: &str) -> Option<Global> {
        match (module, name) {
            ("collections", "OrderedDict") => Some(Global::OrderedDict),
            ("torch._utils", "_rebuild_tensor") => Some(Global::RebuildTensor),
            ("torch._utils", "_rebuild_tensor_v2") => Some(Global::RebuildTensorV2),
            ("torch._utils", "_rebuild_parameter") => Some(Global::RebuildParameter),
            ("torch._utils", "_rebuild_parameter_with_state") => {
                Some(Global::RebuildParameterWithState)
            }
            ("torch" | "torch.cuda", class) => {
                Dtype::of_storage_class(class).map(Global::StorageType)
            }
            _ => None,
        }
    }
}

impl Machine {
    pub(super) fn torch_op<R: Read>(
        &mut self,
        code: u8,
        input: &mut Input<R>,
    ) -> Result<(), String> {
        match code {
            op::GLOBAL => {
                let module = input.line()?;
                let name = input.line()?;
                self.global(&module, &name)
            }
            op::STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Some(module), Some(name)) = (self.text(module), self.text(name)) else {
                    return Err("the module and name are not strings".into());
                };
                let (module, name) = (module.to_string(), name.to_string());
                self.global(&module, &name)
            }
            op::REDUCE => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let result = self.reduce(callable, args)?;
                self.stack.push(result);
                Ok(())
            }
            op::BUILD => {
                self.pop()?;
                let target = self.top()?;
                match self.object(target) {
                    // An OrderedDict's state is its `_metadata` (module versions): not needed.
                    Some(Object::Dict(_)) => Ok(()),
                    _ => Err(format!(
                        "sets the state of {}, which a state dict never does",
                        self.type_name(target)
                    )),
                }
            }
            _ => {
                let id = self.pop()?;
                let storage = self.persistent(id)?;
                self.push_object(Object::Storage(storage));
                Ok(())
            }
        }
    }

    fn global(&mut self, module: &str, name: &str) -> Result<(), String> {
        let global = Global::resolve(module, name).ok_or_else(|| {
            let model = module.starts_with("torch.nn")
                || module == "__main__"
                || module.starts_with("__torch__");
            format!(
                "names {}, which a state dict never holds{}; refused without running it",
                quoted(&format!("{module}.{name}")),
                if model {
                    " (a whole pickled model? save `model.state_dict()` instead)"
                } else {
                    ""
                }
            )
        })?;
        self.push_object(Object::Global(global));
        Ok(())
    }

    /// REDUCE: a call, allowed only for the globals a state dict is built with.
    fn reduce(&mut self, callable: Value, args: Value) -> Result<Value, String> {
        let global = match self.object(callable) {
            Some(Object::Global(global)) => *global,
            _ => return Err(format!("calls {}", self.type_name(callable))),
        };
        let args = self.tuple(args, "the argument list")?;
        match global {
            Global::OrderedDict => self.ordered_dict(&args),
            Global::RebuildTensor | Global::RebuildTensorV2 => {
                let arity = if global == Global::RebuildTensor {
                    4..=4
                } else {
                    6..=7
                };
                if !arity.contains(&args.len()) {
                    return Err(format!("rebuilds a tensor from {} arguments", args.len()));
                }
                let tensor = self.rebuild_tensor(&args)?;
                Ok(self.alloc(Object::Tensor(tensor)))
            }
            Global::RebuildParameter | Global::RebuildParameterWithState => {
                let arity = if global == Global::RebuildParameter {
                    3
                } else {
                    4
                };
                match args.first() {
                    Some(&data)
                        if args.len() == arity
                            && matches!(self.object(data), Some(Object::Tensor(_))) =>
                    {
                        Ok(data)
                    }
                    _ => Err("rebuilds a parameter from something other than a tensor".into()),
                }
            }
            Global::StorageType(dtype) => Err(format!(
                "calls the storage class of {}, which only persistent ids may name",
                dtype.name()
            )),
        }
    }

    /// `OrderedDict()` or `OrderedDict([[key, value], …])` (Python 2's reduce).
    fn ordered_dict(&mut self, args: &[Value]) -> Result<Value, String> {
        let entries = match args {
            [] => Vec::new(),
            [list] => match self.object(*list) {
                Some(Object::List(items) | Object::Tuple(items)) => items.clone(),
                _ => return Err("builds an OrderedDict from something other than a list".into()),
            },
            _ => {
                return Err(format!(
                    "builds an OrderedDict from {} arguments",
                    args.len()
                ));
            }
        };
        self.charge(entries.len())?;
        let mut items = Vec::with_capacity(entries.len());
        for entry in entries {
            match self.object(entry) {
                Some(Object::List(pair) | Object::Tuple(pair)) if pair.len() == 2 => {
                    items.push((pair[0], pair[1]));
                }
                _ => return Err("builds an OrderedDict from an item that is not a pair".into()),
            }
        }
        Ok(self.alloc(Object::Dict(items)))
    }

    fn rebuild_tensor(&mut self, args: &[Value]) -> Result<TensorRef, String> {
        let storage = match self.object(args[0]) {
            Some(Object::Storage(storage)) => *storage,
            _ => {
                return Err(format!(
                    "rebuilds a tensor from {}, not a storage",
                    self.type_name(args[0])
                ));
            }
        };
        let offset = self.count(args[1], "the storage offset")?;
        let shape = self.counts(args[2], "the size")?;
        let stride = self.counts(args[3], "the stride")?;
        let info = self
            .storages
            .get(storage.root)
            .ok_or("a tensor refers to a storage that was never declared")?;
        TensorRef::new(storage, info, offset, shape, stride)
    }

    fn counts(&mut self, value: Value, what: &str) -> Result<Vec<u64>, String> {
        self.tuple(value, what)?
            .into_iter()
            .map(|v| self.count(v, what))
            .collect()
    }

    /// BINPERSID: `('storage', storage_type, key, location, numel)` in the zip
    /// format, with a sixth item in the legacy one (`None`, or torch < 0.4's
    /// storage view `(view_key, offset, size)`).
    fn persistent(&mut self, id: Value) -> Result<StorageView, String> {
        let items = self.tuple(id, "the persistent id")?;
        match items.first().and_then(|&v| self.text(v)) {
            Some("storage") => {}
            Some("module") => {
                return Err(
                    "holds a whole pickled module (the legacy `torch.save(model)`); \
                            save `model.state_dict()` instead"
                        .into(),
                );
            }
            _ => return Err("a persistent id that is not a storage".into()),
        }
        let [_, class, key, location, numel, rest @ ..] = items.as_slice() else {
            return Err(format!("a storage id of {} items", items.len()));
        };
        let dtype = match self.object(*class) {
            Some(Object::Global(Global::StorageType(dtype))) => *dtype,
            _ => return Err("a storage id whose type is not a storage class".into()),
        };
        let (Some(key), Some(_location)) = (self.text(*key), self.text(*location)) else {
            return Err("a storage id whose key or location is not a string".into());
        };
        let key = key.to_string();
        let numel = self.count(*numel, "a storage's element count")?;
        let root = self.declare_storage(key, dtype, numel)?;
        let mut view = StorageView {
            root,
            offset: 0,
            len: numel,
        };
        match rest {
            [] | [Value::None] => {}
            [metadata] => {
                let parts = self.tuple(*metadata, "a storage view")?;
                let [_view_key, offset, size] = parts.as_slice() else {
                    return Err(format!("a storage view of {} items", parts.len()));
                };
                view.offset = self.count(*offset, "a storage view's offset")?;
                view.len = self.count(*size, "a storage view's size")?;
                if view
                    .offset
                    .checked_add(view.len)
                    .is_none_or(|end| end > numel)
                {
                    return Err(format!(
                        "a view of elements {}..+{} of a storage of {numel}",
                        view.offset, view.len
                    ));
                }
            }
            _ => return Err(format!("a storage id of {} items", items.len())),
        }
        Ok(view)
    }

    /// The index of storage `key`, declared now or earlier with the same type and size.
    fn declare_storage(&mut self, key: String, dtype: Dtype, numel: u64) -> Result<usize, String> {
        if let Some(&index) = self.storage_index.get(&key) {
            let known = &self.storages[index];
            if known.dtype != dtype || known.numel != numel {
                return Err(format!(
                    "storage {} is declared as {} {} and as {numel} {}",
                    quoted(&key),
                    known.numel,
                    known.dtype.name(),
                    dtype.name()
                ));
            }
            return Ok(index);
        }
        self.storages.push(StorageInfo {
            key: key.clone(),
            dtype,
            numel,
        });
        self.storage_index.insert(key, self.storages.len() - 1);
        Ok(self.storages.len() - 1)
    }

    /// The index of storage `key`, if a persistent id declared it.
    pub fn storage(&self, key: &str) -> Option<usize> {
        self.storage_index.get(key).copied()
    }
}
