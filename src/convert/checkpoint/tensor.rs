//! Storages and the tensors that view them, as a checkpoint describes them,
//! and their values read out of a storage's bytes.
//!
//! A tensor is a view: a storage (one flat array of one dtype, possibly
//! shared by several tensors), an element offset, a size and a stride per
//! dimension. Every view is checked to lie inside its storage when it is
//! rebuilt, so reading the values needs no further bounds; reading gathers
//! the elements in row-major order (non-contiguous views, offsets and shared
//! storages as torch sees them) and widens them to float32 or int64.

use crate::convert::TensorData;

/// The element types checkpoints hold, by their storage class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    Float32,
    Float64,
    Float16,
    BFloat16,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}

impl Dtype {
    /// The dtype of `torch.<class>` (or `torch.cuda.<class>`), if it is one this reader knows.
    pub fn of_storage_class(class: &str) -> Option<Dtype> {
        Some(match class {
            "FloatStorage" => Dtype::Float32,
            "DoubleStorage" => Dtype::Float64,
            "HalfStorage" => Dtype::Float16,
            "BFloat16Storage" => Dtype::BFloat16,
            "LongStorage" => Dtype::Int64,
            "IntStorage" => Dtype::Int32,
            "ShortStorage" => Dtype::Int16,
            "CharStorage" => Dtype::Int8,
            "ByteStorage" => Dtype::UInt8,
            "BoolStorage" => Dtype::Bool,
            _ => return None,
        })
    }

    /// torch's name of the dtype (`Tensor::stored_as`).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Float32 => "float32",
            Dtype::Float64 => "float64",
            Dtype::Float16 => "float16",
            Dtype::BFloat16 => "bfloat16",
            Dtype::Int64 => "int64",
            Dtype::Int32 => "int32",
            Dtype::Int16 => "int16",
            Dtype::Int8 => "int8",
            Dtype::UInt8 => "uint8",
            Dtype::Bool => "bool",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            Dtype::Float64 | Dtype::Int64 => 8,
            Dtype::Float32 | Dtype::Int32 => 4,
            Dtype::Float16 | Dtype::BFloat16 | Dtype::Int16 => 2,
            Dtype::Int8 | Dtype::UInt8 | Dtype::Bool => 1,
        }
    }
}

/// The byte order of a storage's elements: legacy files are always little
/// endian; a zip archive says which in its `byteorder` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

/// One storage as a persistent id declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageInfo {
    /// Its key: the record `data/<key>` of a zip archive, or an entry of the
    /// legacy stream's list of storages.
    pub key: String,
    pub dtype: Dtype,
    /// Elements it holds.
    pub numel: u64,
}

impl StorageInfo {
    /// Its length in bytes (declared sizes are checked against the file before use).
    pub fn bytes(&self) -> Option<u64> {
        self.numel.checked_mul(self.dtype.size())
    }
}

/// A storage or a part of one (torch < 0.4 pickled views of storages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageView {
    /// Index into the machine's storages.
    pub root: usize,
    /// First element of the root storage that the view holds.
    pub offset: u64,
    /// Elements the view holds.
    pub len: u64,
}

/// Tensors have at most this many dimensions (torch's own limit is lower).
const MAX_DIMS: usize = 64;

/// A bound on one tensor's element count that keeps the extent arithmetic
/// below in 128 bits; what may really be allocated is the caller's budget.
const MAX_ELEMENTS: u64 = 1 << 40;

/// One tensor as rebuilt from a checkpoint: a checked view of a storage.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    pub storage: StorageView,
    /// First element, counted from the start of the root storage.
    pub offset: u64,
    pub shape: Vec<usize>,
    pub stride: Vec<u64>,
}

impl TensorRef {
    /// A view of `storage` (declared as `info`), refused unless every element it
    /// addresses lies inside the storage.
    pub fn new(
        storage: StorageView,
        info: &StorageInfo,
        offset: u64,
        shape: Vec<u64>,
        stride: Vec<u64>,
    ) -> Result<TensorRef, String> {
        if shape.len() != stride.len() {
            return Err(format!(
                "a tensor of {} dimensions with {} strides",
                shape.len(),
                stride.len()
            ));
        }
        if shape.len() > MAX_DIMS {
            return Err(format!("a tensor of {} dimensions", shape.len()));
        }
        let numel = shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| {
                format!("a tensor of size {shape:?}, more elements than any file holds")
            })?;
        if numel > 0 {
            // The last element addressed: offset + Σ (size − 1) · stride, in 128 bits.
            let last = shape
                .iter()
                .zip(&stride)
                .fold(u128::from(offset), |sum, (&d, &s)| {
                    sum + u128::from(d - 1) * u128::from(s)
                });
            if last >= u128::from(storage.len) {
                return Err(format!(
                    "a tensor of size {shape:?}, stride {stride:?} and offset {offset} reaches \
                     element {last} of a storage of {} elements ({})",
                    storage.len,
                    super::quoted(&info.key)
                ));
            }
        }
        let shape = shape
            .into_iter()
            .map(usize::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| "a tensor dimension beyond this machine's address space".to_string())?;
        Ok(TensorRef {
            storage,
            offset: storage.offset + offset,
            shape,
            stride,
        })
    }

    /// Elements the tensor holds.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether its elements are consecutive in the storage, in row-major order.
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1u64;
        for (&d, &s) in self.shape.iter().zip(&self.stride).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected = expected.saturating_mul(d as u64);
        }
        true
    }

    /// Storage positions of the elements, in row-major order.
    fn positions(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        let offset = self.offset as usize;
        if self.is_contiguous() {
            return Box::new(offset..offset + self.numel());
        }
        Box::new(Strided::new(self))
    }

    /// Its values, read from `bytes` (the whole root storage, `dtype` elements in `order`).
    pub fn values(
        &self,
        bytes: &[u8],
        dtype: Dtype,
        order: ByteOrder,
    ) -> Result<TensorData, String> {
        let needed = self
            .storage
            .offset
            .checked_add(self.storage.len)
            .and_then(|n| n.checked_mul(dtype.size()))
            .filter(|&n| n <= bytes.len() as u64);
        if needed.is_none() {
            return Err("a storage holds fewer bytes than its tensors address".into());
        }
        let big = order == ByteOrder::Big;
        Ok(match dtype {
            Dtype::Float32 => TensorData::Float(self.gather(bytes, |b: [u8; 4]| {
                if big {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                }
            })),
            Dtype::Float64 => TensorData::Float(self.gather(bytes, |b: [u8; 8]| {
                (if big {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }) as f32
            })),
            Dtype::Float16 => TensorData::Float(self.gather(bytes, |b: [u8; 2]| {
                half::f16::from_bits(if big {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                })
                .to_f32()
            })),
            Dtype::BFloat16 => TensorData::Float(self.gather(bytes, |b: [u8; 2]| {
                half::bf16::from_bits(if big {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                })
                .to_f32()
            })),
            Dtype::Int64 => TensorData::Int(self.gather(bytes, |b: [u8; 8]| {
                if big {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                }
            })),
            Dtype::Int32 => TensorData::Int(self.gather(bytes, |b: [u8; 4]| {
                i64::from(if big {
                    i32::from_be_bytes(b)
                } else {
                    i32::from_le_bytes(b)
                })
            })),
            Dtype::Int16 => TensorData::Int(self.gather(bytes, |b: [u8; 2]| {
                i64::from(if big {
                    i16::from_be_bytes(b)
                } else {
                    i16::from_le_bytes(b)
                })
            })),
            Dtype::Int8 => TensorData::Int(self.gather(bytes, |[b]: [u8; 1]| i64::from(b as i8))),
            Dtype::UInt8 => TensorData::Int(self.gather(bytes, |[b]: [u8; 1]| i64::from(b))),
            Dtype::Bool => TensorData::Int(self.gather(bytes, |[b]: [u8; 1]| i64::from(b != 0))),
        })
    }

    /// The elements at [`Self::positions`], each decoded by `decode`.
    fn gather<T, const N: usize>(&self, bytes: &[u8], decode: impl Fn([u8; N]) -> T) -> Vec<T> {
        let (elements, _) = bytes.as_chunks::<N>();
        let mut out = Vec::with_capacity(self.numel());
        out.extend(self.positions().map(|i| decode(elements[i])));
        out
    }
}

/// Tensor values that a storage's bytes can be read straight into — one
/// copy, no intermediate buffer: float32 or int64 elements in the machine's
/// own byte order (little-endian files on a little-endian machine).
pub enum WholeStorage {
    Float(Vec<f32>),
    Int(Vec<i64>),
}

impl WholeStorage {
    /// Room for `numel` elements of `dtype` in `order`, if they can be read straight in.
    pub fn new(dtype: Dtype, order: ByteOrder, numel: usize) -> Option<WholeStorage> {
        if order != ByteOrder::Little || !cfg!(target_endian = "little") {
            return None;
        }
        match dtype {
            Dtype::Float32 => Some(WholeStorage::Float(vec![0.0; numel])),
            Dtype::Int64 => Some(WholeStorage::Int(vec![0; numel])),
            _ => None,
        }
    }

    /// The bytes to read the storage into.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            WholeStorage::Float(values) => bytemuck::cast_slice_mut(values),
            WholeStorage::Int(values) => bytemuck::cast_slice_mut(values),
        }
    }

    pub fn into_data(self) -> TensorData {
        match self {
            WholeStorage::Float(values) => TensorData::Float(values),
            WholeStorage::Int(values) => TensorData::Int(values),
        }
    }
}

/// Row-major walk over a strided view (an odometer over the dimensions).
struct Strided<'a> {
    shape: &'a [usize],
    stride: &'a [u64],
    index: Vec<usize>,
    position: u64,
    left: usize,
}

impl<'a> Strided<'a> {
    fn new(tensor: &'a TensorRef) -> Strided<'a> {
        Strided {
            shape: &tensor.shape,
            stride: &tensor.stride,
            index: vec![0; tensor.shape.len()],
            position: tensor.offset,
            left: tensor.numel(),
        }
    }
}

impl Iterator for Strided<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let current = self.position as usize;
        // Wrapping: past the last element the odometer may step beyond 2^64
        // before it wraps back; every position it yields is a real one.
        for axis in (0..self.shape.len()).rev() {
            self.index[axis] += 1;
            self.position = self.position.wrapping_add(self.stride[axis]);
            if self.index[axis] < self.shape[axis] {
                break;
            }
            let span = self.stride[axis].wrapping_mul(self.shape[axis] as u64);
            self.position = self.position.wrapping_sub(span);
            self.index[axis] = 0;
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(numel: u64) -> (StorageView, StorageInfo) {
        let view = StorageView {
            root: 0,
            offset: 0,
            len: numel,
        };
        let info = StorageInfo {
            key: "0".into(),
            dtype: Dtype::Float32,
            numel,
        };
        (view, info)
    }

    fn floats(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn strided_views_read_in_row_major_order() {
        let (view, info) = storage(12);
        let bytes = floats(&(0..12).map(|i| i as f32).collect::<Vec<_>>());
        // The transpose of a 3×4 matrix stored from element 0, and a 2×2 block at offset 5.
        let t = TensorRef::new(view, &info, 0, vec![4, 3], vec![1, 4]).unwrap();
        let block = TensorRef::new(view, &info, 5, vec![2, 2], vec![4, 1]).unwrap();
        let expand = TensorRef::new(view, &info, 2, vec![3, 2], vec![0, 1]).unwrap();
        let read =
            |t: &TensorRef| match t.values(&bytes, Dtype::Float32, ByteOrder::Little).unwrap() {
                TensorData::Float(v) => v,
                TensorData::Int(_) => unreachable!(),
            };
        assert_eq!(read(&t), [0., 4., 8., 1., 5., 9., 2., 6., 10., 3., 7., 11.]);
        assert_eq!(read(&block), [5., 6., 9., 10.]);
        assert_eq!(read(&expand), [2., 3., 2., 3., 2., 3.]);
    }

    #[test]
    fn views_outside_their_storage_are_refused() {
        let (view, info) = storage(12);
        assert!(TensorRef::new(view, &info, 0, vec![4, 3], vec![1, 5]).is_err());
        assert!(TensorRef::new(view, &info, 12, vec![1], vec![1]).is_err());
        assert!(TensorRef::new(view, &info, 0, vec![1 << 60], vec![1]).is_err());
        assert!(TensorRef::new(view, &info, 0, vec![1 << 40, 1 << 40], vec![0, 0]).is_err());
        assert!(TensorRef::new(view, &info, 0, vec![2], vec![1, 1]).is_err());
        // Empty tensors address nothing, wherever they point.
        assert!(TensorRef::new(view, &info, 99, vec![0, 3], vec![3, 1]).is_ok());
    }

    #[test]
    fn every_dtype_widens_as_torch_does() {
        let (view, mut info) = storage(2);
        let t = TensorRef::new(view, &info, 0, vec![2], vec![1]).unwrap();
        let cases: [(Dtype, Vec<u8>, TensorData); 6] = [
            (
                Dtype::Float16,
                vec![0x00, 0x3c, 0x01, 0x00],
                TensorData::Float(vec![1.0, 5.960_464_5e-8]),
            ),
            (
                Dtype::BFloat16,
                vec![0x80, 0x3f, 0x80, 0xbf],
                TensorData::Float(vec![1.0, -1.0]),
            ),
            (
                Dtype::Int8,
                vec![0xff, 0x7f],
                TensorData::Int(vec![-1, 127]),
            ),
            (
                Dtype::UInt8,
                vec![0xff, 0x7f],
                TensorData::Int(vec![255, 127]),
            ),
            (Dtype::Bool, vec![0x00, 0x01], TensorData::Int(vec![0, 1])),
            (
                Dtype::Int16,
                vec![0x00, 0x80, 0xff, 0x7f],
                TensorData::Int(vec![-32768, 32767]),
            ),
        ];
        for (dtype, bytes, expected) in cases {
            info.dtype = dtype;
            assert_eq!(
                t.values(&bytes, dtype, ByteOrder::Little).unwrap(),
                expected,
                "{dtype:?}"
            );
        }
        let big = [0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0];
        assert_eq!(
            t.values(&big, Dtype::Float32, ByteOrder::Big).unwrap(),
            TensorData::Float(vec![1.0, -2.0])
        );
    }
}
