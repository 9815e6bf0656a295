//! A pickle machine that can build a state dict and nothing else.
//!
//! Python's unpickler is a small stack machine whose `GLOBAL` + `REDUCE`
//! opcodes import and call any function named in the file; that is why a
//! checkpoint must never meet a general unpickler. This one knows the
//! opcodes of protocols 2–5 that carry data (numbers, strings, tuples,
//! lists, dicts, the memo, persistent ids) and a fixed list of globals
//! ([`torch`]) — the `OrderedDict` a state dict is, the `torch._utils`
//! functions that rebuild a tensor from a storage, and the storage classes —
//! which it *interprets* (never imports, never calls). Any other global, a
//! call of a storage class, and every other opcode (the text opcodes of
//! protocols 0–1, `INST`, `OBJ`, `NEWOBJ`, the extension registry, sets,
//! out-of-band buffers) stop the machine with a message naming what was
//! found and at which byte.
//!
//! Objects live in an arena and values refer to them by index, so sharing
//! through the memo (and even cycles) costs nothing and nothing recurses: a
//! hostile file cannot exhaust the stack. The only opcodes that copy a
//! container (a call's arguments, a persistent id, an `OrderedDict` built
//! from pairs) draw on a budget proportional to the input's length, so
//! time and memory stay proportional to the file too.
//!
//! Why not `serde-pickle`: it has no persistent ids (how every tensor refers
//! to its storage), no `BUILD` (how `state_dict()` attaches its `_metadata`),
//! and no way to admit exactly the globals a checkpoint uses — it knows a
//! handful of builtins and replaces or rejects the rest — so the parts a
//! checkpoint needs would all have been written here anyway.

mod input;
mod op;
mod torch;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io::Read;

pub use input::Input;
use input::decode_text;
pub use torch::Global;

use super::tensor::{StorageInfo, StorageView, TensorRef};

/// Index of an object in the machine's arena.
pub type ObjectId = usize;

/// A value on the stack or in a container: small, copied freely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    /// Python ints up to 128 bits (the legacy magic number has 80).
    Int(i128),
    Float(f64),
    Object(ObjectId),
}

/// What lives in the arena.
#[derive(Debug)]
pub enum Object {
    /// `str` of Python 3, or Python 2's `str`/`unicode`.
    Str(String),
    /// Python 3 `bytes` (a state dict has none; their contents are skipped).
    Bytes,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A dict or `OrderedDict`, items in pickle order (a repeated key: the last wins).
    Dict(Vec<(Value, Value)>),
    Global(Global),
    /// A storage (or a legacy view of one), as a persistent id names it.
    Storage(StorageView),
    Tensor(TensorRef),
}

/// Values a pickle may copy per byte of its input (see the module doc); a
/// state dict's pickle copies well under one.
const WORK_PER_BYTE: u64 = 1;
const WORK_BASE: u64 = 1 << 16;

/// The state of one unpickling: arena, stack, marks, memo, and the storages
/// the persistent ids named (kept across the pickles of one file).
#[derive(Default)]
pub struct Machine {
    pub objects: Vec<Object>,
    /// Every storage a persistent id named; `StorageView::root` indexes this.
    pub storages: Vec<StorageInfo>,
    storage_index: HashMap<String, usize>,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    work_left: u64,
}

impl Machine {
    pub fn new() -> Machine {
        Machine::default()
    }

    pub fn object(&self, value: Value) -> Option<&Object> {
        match value {
            Value::Object(id) => self.objects.get(id),
            _ => None,
        }
    }

    /// The string `value` holds, if it is one.
    pub fn text(&self, value: Value) -> Option<&str> {
        match self.object(value) {
            Some(Object::Str(text)) => Some(text),
            _ => None,
        }
    }

    /// What `value` is, in Python's words, for messages.
    pub fn type_name(&self, value: Value) -> &'static str {
        match value {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float(_) => "a float",
            Value::Object(_) => match self.object(value) {
                Some(Object::Str(_)) => "a string",
                Some(Object::Bytes) => "bytes",
                Some(Object::Tuple(_)) => "a tuple",
                Some(Object::List(_)) => "a list",
                Some(Object::Dict(_)) => "a dict",
                Some(Object::Global(_)) => "a class or function",
                Some(Object::Storage(_)) => "a storage",
                Some(Object::Tensor(_)) => "a tensor",
                None => "nothing",
            },
        }
    }

    /// Runs one pickle to its STOP and returns the value it built.
    pub fn load<R: Read>(&mut self, input: &mut Input<R>) -> Result<Value, String> {
        self.stack.clear();
        self.marks.clear();
        self.memo.clear();
        self.work_left = input
            .remaining()
            .saturating_mul(WORK_PER_BYTE)
            .saturating_add(WORK_BASE);
        loop {
            let at = input.pos;
            let code = input.byte()?;
            self.step(code, input)
                .map_err(|e| format!("pickle opcode {} at byte {at}: {e}", op::describe(code)))?;
            if code == op::STOP {
                return self
                    .pop()
                    .map_err(|e| format!("pickle STOP at byte {at}: {e}"));
            }
        }
    }

    /// One opcode: those of the subset, by kind; anything else is refused.
    fn step<R: Read>(&mut self, code: u8, input: &mut Input<R>) -> Result<(), String> {
        match code {
            op::PROTO | op::FRAME | op::STOP | op::MARK | op::POP | op::POP_MARK | op::DUP => {
                self.control(code, input)
            }
            op::BINPUT | op::LONG_BINPUT | op::MEMOIZE | op::BINGET | op::LONG_BINGET => {
                self.memo_op(code, input)
            }
            op::NONE
            | op::NEWTRUE
            | op::NEWFALSE
            | op::BININT
            | op::BININT1
            | op::BININT2
            | op::LONG1
            | op::LONG4
            | op::BINFLOAT => self.number(code, input),
            op::SHORT_BINSTRING
            | op::BINSTRING
            | op::BINUNICODE
            | op::SHORT_BINUNICODE
            | op::BINUNICODE8
            | op::SHORT_BINBYTES
            | op::BINBYTES
            | op::BINBYTES8 => self.string(code, input),
            op::EMPTY_TUPLE
            | op::TUPLE
            | op::TUPLE1
            | op::TUPLE2
            | op::TUPLE3
            | op::EMPTY_LIST
            | op::LIST
            | op::APPEND
            | op::APPENDS
            | op::EMPTY_DICT
            | op::DICT
            | op::SETITEM
            | op::SETITEMS => self.container(code),
            op::GLOBAL | op::STACK_GLOBAL | op::REDUCE | op::BUILD | op::BINPERSID => {
                self.torch_op(code, input)
            }
            _ => Err(outside_the_subset()),
        }
    }

    fn control<R: Read>(&mut self, code: u8, input: &mut Input<R>) -> Result<(), String> {
        match code {
            op::PROTO => {
                let version = input.byte()?;
                if version > 5 {
                    return Err(format!("pickle protocol {version} is newer than 5"));
                }
            }
            op::FRAME => {
                input.array::<8>()?;
            }
            op::MARK => self.marks.push(self.stack.len()),
            op::POP => {
                // Python's POP drops a MARK when nothing was pushed after it.
                if self.stack.len() > self.floor() {
                    self.stack.pop();
                } else {
                    self.pop_mark()?;
                }
            }
            op::POP_MARK => {
                self.pop_mark()?;
            }
            op::DUP => {
                let top = self.top()?;
                self.stack.push(top);
            }
            _ => {}
        }
        Ok(())
    }

    fn memo_op<R: Read>(&mut self, code: u8, input: &mut Input<R>) -> Result<(), String> {
        let id = match code {
            op::BINPUT | op::BINGET => u32::from(input.byte()?),
            op::LONG_BINPUT | op::LONG_BINGET => u32::from_le_bytes(input.array()?),
            _ => u32::try_from(self.memo.len()).map_err(|_| "the memo is full")?,
        };
        if matches!(code, op::BINGET | op::LONG_BINGET) {
            let value = *self
                .memo
                .get(&id)
                .ok_or_else(|| format!("memo entry {id} was never stored"))?;
            self.stack.push(value);
        } else {
            let top = self.top()?;
            self.memo.insert(id, top);
        }
        Ok(())
    }

    fn number<R: Read>(&mut self, code: u8, input: &mut Input<R>) -> Result<(), String> {
        let value = match code {
            op::NONE => Value::None,
            op::NEWTRUE => Value::Bool(true),
            op::NEWFALSE => Value::Bool(false),
            op::BININT => Value::Int(i32::from_le_bytes(input.array()?).into()),
            op::BININT1 => Value::Int(input.byte()?.into()),
            op::BININT2 => Value::Int(u16::from_le_bytes(input.array()?).into()),
            op::LONG1 => {
                let n = input.byte()?;
                long(input, n.into())?
            }
            op::LONG4 => {
                let n = length(i32::from_le_bytes(input.array()?))?;
                long(input, n)?
            }
            _ => Value::Float(f64::from_be_bytes(input.array()?)),
        };
        self.stack.push(value);
        Ok(())
    }

    fn string<R: Read>(&mut self, code: u8, input: &mut Input<R>) -> Result<(), String> {
        let n = match code {
            op::SHORT_BINSTRING | op::SHORT_BINUNICODE | op::SHORT_BINBYTES => {
                u64::from(input.byte()?)
            }
            op::BINSTRING => length(i32::from_le_bytes(input.array()?))?,
            op::BINUNICODE | op::BINBYTES => u64::from(u32::from_le_bytes(input.array()?)),
            _ => u64::from_le_bytes(input.array()?),
        };
        let object = if matches!(code, op::SHORT_BINBYTES | op::BINBYTES | op::BINBYTES8) {
            input.skip(n)?;
            Object::Bytes
        } else {
            Object::Str(decode_text(input.bytes(n)?))
        };
        self.push_object(object);
        Ok(())
    }

    fn container(&mut self, code: u8) -> Result<(), String> {
        let object = match code {
            op::EMPTY_TUPLE => Object::Tuple(Vec::new()),
            op::TUPLE => Object::Tuple(self.pop_mark()?),
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(code - op::TUPLE1) + 1;
                let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>, _>>()?;
                items.reverse();
                Object::Tuple(items)
            }
            op::EMPTY_LIST => Object::List(Vec::new()),
            op::LIST => Object::List(self.pop_mark()?),
            op::EMPTY_DICT => Object::Dict(Vec::new()),
            op::DICT => Object::Dict(pairs(self.pop_mark()?)?),
            op::APPEND | op::APPENDS => {
                let items = if code == op::APPEND {
                    vec![self.pop()?]
                } else {
                    self.pop_mark()?
                };
                return self.list_at_top().map(|list| list.extend(items));
            }
            _ => {
                let items = if code == op::SETITEM {
                    let value = self.pop()?;
                    vec![self.pop()?, value]
                } else {
                    self.pop_mark()?
                };
                let items = pairs(items)?;
                return self.dict_at_top().map(|dict| dict.extend(items));
            }
        };
        self.push_object(object);
        Ok(())
    }

    fn alloc(&mut self, object: Object) -> Value {
        self.objects.push(object);
        Value::Object(self.objects.len() - 1)
    }

    fn push_object(&mut self, object: Object) {
        let value = self.alloc(object);
        self.stack.push(value);
    }

    /// Where the values pushed since the last MARK begin.
    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Value, String> {
        if self.stack.len() <= self.floor() {
            return Err("an opcode takes a value from an empty stack".into());
        }
        self.stack.pop().ok_or_else(|| "an empty stack".into())
    }

    fn top(&self) -> Result<Value, String> {
        match self.stack.last() {
            Some(&value) if self.stack.len() > self.floor() => Ok(value),
            _ => Err("an opcode reads the top of an empty stack".into()),
        }
    }

    /// The values pushed since the last MARK, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self
            .marks
            .pop()
            .ok_or("an opcode looks for a MARK that was never set")?;
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn list_at_top(&mut self) -> Result<&mut Vec<Value>, String> {
        let (name, top) = self.top_mut()?;
        match top {
            Some(Object::List(items)) => Ok(items),
            _ => Err(format!("appends to {name}, not a list")),
        }
    }

    fn dict_at_top(&mut self) -> Result<&mut Vec<(Value, Value)>, String> {
        let (name, top) = self.top_mut()?;
        match top {
            Some(Object::Dict(items)) => Ok(items),
            _ => Err(format!("sets items of {name}, not a dict")),
        }
    }

    /// What the top of the stack is (for messages), and the object there to change.
    fn top_mut(&mut self) -> Result<(&'static str, Option<&mut Object>), String> {
        let top = self.top()?;
        let name = self.type_name(top);
        let object = match top {
            Value::Object(id) => self.objects.get_mut(id),
            _ => None,
        };
        Ok((name, object))
    }

    /// The items of tuple `value`, copied (charged to the work budget).
    fn tuple(&mut self, value: Value, what: &str) -> Result<Vec<Value>, String> {
        let items = match self.object(value) {
            Some(Object::Tuple(items)) => items.clone(),
            _ => return Err(format!("{what} is {}, not a tuple", self.type_name(value))),
        };
        self.charge(items.len())?;
        Ok(items)
    }

    /// Draws `n` copied values from the work budget.
    fn charge(&mut self, n: usize) -> Result<(), String> {
        self.work_left = self.work_left.checked_sub(n as u64).ok_or(
            "copies more values than a file of its length can hold (a large container used over and over)",
        )?;
        Ok(())
    }

    /// A non-negative Python int.
    fn count(&self, value: Value, what: &str) -> Result<u64, String> {
        match value {
            Value::Int(n) => u64::try_from(n).map_err(|_| format!("{what} is {n}")),
            other => Err(format!("{what} is {}, not an int", self.type_name(other))),
        }
    }
}

fn outside_the_subset() -> String {
    "is outside the subset a state dict needs (only data, the memo, persistent ids, \
     OrderedDict and torch's tensor rebuilders are read; nothing is ever executed)"
        .into()
}

/// A length field that must not be negative.
fn length(n: i32) -> Result<u64, String> {
    u64::try_from(n).map_err(|_| format!("a negative length {n}"))
}

/// LONG1/LONG4: a little-endian two's-complement integer of `n` bytes.
fn long<R: Read>(input: &mut Input<R>, n: u64) -> Result<Value, String> {
    if n > 16 {
        return Err(format!(
            "an integer of {n} bytes, more than any tensor field needs"
        ));
    }
    let bytes = input.bytes(n)?;
    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
    let mut wide = [if negative { 0xff } else { 0 }; 16];
    wide[..bytes.len()].copy_from_slice(&bytes);
    Ok(Value::Int(i128::from_le_bytes(wide)))
}

/// Alternating keys and values, as DICT, SETITEM and SETITEMS take them.
fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err(format!(
            "{} items where key-value pairs belong",
            items.len()
        ));
    }
    Ok(items.chunks_exact(2).map(|kv| (kv[0], kv[1])).collect())
}
