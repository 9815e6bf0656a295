//! Float32 tensors rewritten as float16: the values read from `raw_data`
//! or `float_data`, rounded to nearest-even (numpy's `astype(float16)`),
//! finite values beyond ±65504 clipped first, written little-endian to
//! `raw_data` as onnx's own `numpy_helper` writes them.

use half::f16;

use crate::convert::onnx::proto::{AttributeProto, AttributeType, DataType, TensorProto};

/// The largest finite float16.
const F16_MAX: f32 = 65504.0;

/// What clipping found over a model's tensors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Clipped {
    /// Finite values beyond ±65504, now ±65504.
    pub values: usize,
    /// The largest magnitude among them.
    pub largest: f32,
    /// The tensors (or constants' output names) that held them.
    pub tensors: Vec<String>,
}

/// `value` in float16: finite values beyond the range clipped to ±65504,
/// infinities and NaN kept, the rest rounded to nearest-even. Whether it
/// clipped comes with it.
pub fn f32_to_f16_clipped(value: f32) -> (f16, bool) {
    if value.is_finite() && value.abs() > F16_MAX {
        (f16::from_f32(F16_MAX.copysign(value)), true)
    } else {
        (f16::from_f32(value), false)
    }
}

/// Rewrites a FLOAT tensor as FLOAT16 in place; `what` names it for the
/// clip record and for errors.
pub(super) fn tensor_to_half(
    tensor: &mut TensorProto,
    what: &str,
    clipped: &mut Clipped,
) -> Result<(), String> {
    let count = element_count(&tensor.dims)
        .ok_or_else(|| format!("tensor `{what}` has a negative or too large shape"))?;
    let floats: Vec<f32> = match &tensor.raw_data {
        Some(raw) => {
            if raw.len() != count.saturating_mul(4) {
                return Err(format!(
                    "tensor `{what}` holds {} bytes of raw data for {count} float32 values",
                    raw.len()
                ));
            }
            raw.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        None => {
            if tensor.float_data.len() != count {
                return Err(format!(
                    "tensor `{what}` holds {} float32 values for a shape of {count}",
                    tensor.float_data.len()
                ));
            }
            std::mem::take(&mut tensor.float_data)
        }
    };
    let mut raw = Vec::with_capacity(floats.len() * 2);
    let mut clipped_here = 0;
    for value in floats {
        let (half, clip) = f32_to_f16_clipped(value);
        if clip {
            clipped_here += 1;
            clipped.largest = clipped.largest.max(value.abs());
        }
        raw.extend_from_slice(&half.to_le_bytes());
    }
    if clipped_here > 0 {
        clipped.values += clipped_here;
        clipped.tensors.push(what.to_string());
    }
    tensor.raw_data = Some(raw);
    tensor.float_data.clear();
    tensor.data_type = Some(DataType::Float16 as i32);
    Ok(())
}

/// The number of elements of `dims` (1 for a scalar), if it is a real count.
fn element_count(dims: &[i64]) -> Option<usize> {
    dims.iter().try_fold(1usize, |n, &d| {
        usize::try_from(d).ok().and_then(|d| n.checked_mul(d))
    })
}

/// Whether `tensor` holds float32 values.
pub(super) fn is_float32(tensor: &TensorProto) -> bool {
    tensor.data_type == Some(DataType::Float as i32)
}

/// Turns a `Constant`'s float32 attribute (`value`, `value_float` or
/// `value_floats`) into a float16 `value` tensor; other attributes stay.
pub(super) fn constant_to_half(
    attribute: &mut AttributeProto,
    what: &str,
    clipped: &mut Clipped,
) -> Result<bool, String> {
    let name = attribute.name.as_deref().unwrap_or("");
    let mut tensor = match name {
        "value" => match attribute.t.take() {
            Some(t) if is_float32(&t) => t,
            other => {
                attribute.t = other;
                return Ok(false);
            }
        },
        "value_float" => {
            let Some(f) = attribute.f.take() else {
                return Ok(false);
            };
            TensorProto {
                data_type: Some(DataType::Float as i32),
                float_data: vec![f],
                ..TensorProto::default()
            }
        }
        "value_floats" => {
            let floats = std::mem::take(&mut attribute.floats);
            TensorProto {
                dims: vec![floats.len() as i64],
                data_type: Some(DataType::Float as i32),
                float_data: floats,
                ..TensorProto::default()
            }
        }
        _ => return Ok(false),
    };
    tensor_to_half(&mut tensor, what, clipped)?;
    attribute.name = Some("value".into());
    attribute.r#type = Some(AttributeType::Tensor as i32);
    attribute.t = Some(tensor);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_nearest_even_and_out_of_range_values_are_clipped() {
        let bits = |v: f32| f32_to_f16_clipped(v).0.to_bits();
        // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to even (1).
        assert_eq!(bits(1.0 + 2f32.powi(-11)), 0x3c00);
        // 1 + 3·2^-11 lies halfway between 1 + 2^-10 and 1 + 2^-9: even is 1 + 2^-9.
        assert_eq!(bits(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(bits(2f32.powi(-24)), 0x0001, "the smallest subnormal");
        assert_eq!(bits(2f32.powi(-26)), 0x0000, "below half of it: zero");
        assert_eq!(bits(-0.0), 0x8000);
        assert_eq!(f32_to_f16_clipped(65504.0), (f16::MAX, false));
        assert_eq!(f32_to_f16_clipped(1e9), (f16::MAX, true));
        assert_eq!(f32_to_f16_clipped(-1e9), (f16::MIN, true));
        assert_eq!(f32_to_f16_clipped(f32::INFINITY).0, f16::INFINITY);
        assert!(f32_to_f16_clipped(f32::NAN).0.is_nan());
    }

    #[test]
    fn float_data_and_raw_data_convert_alike_and_bad_sizes_are_refused() {
        let values = [0.5f32, -3.25, 1e6];
        let mut from_floats = TensorProto {
            dims: vec![3],
            data_type: Some(DataType::Float as i32),
            float_data: values.to_vec(),
            ..TensorProto::default()
        };
        let mut from_raw = TensorProto::float32("w", &[3], &values);
        from_raw.name = None;
        let mut clipped = Clipped::default();
        tensor_to_half(&mut from_floats, "a", &mut clipped).unwrap();
        tensor_to_half(&mut from_raw, "b", &mut clipped).unwrap();
        assert_eq!(from_floats, from_raw);
        assert_eq!(from_raw.data_type, Some(DataType::Float16 as i32));
        assert_eq!(
            from_raw.raw_data.as_deref(),
            Some(&[0x00, 0x38, 0x80, 0xc2, 0xff, 0x7b][..])
        );
        assert_eq!(clipped.values, 2);
        assert_eq!(clipped.largest, 1e6);
        assert_eq!(clipped.tensors, ["a", "b"]);

        let mut short = TensorProto::float32("w", &[4], &values);
        let error = tensor_to_half(&mut short, "w", &mut clipped).unwrap_err();
        assert!(error.contains("12 bytes of raw data for 4"), "{error}");
    }
}
