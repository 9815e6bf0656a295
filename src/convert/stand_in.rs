//! Stand-in weights: seeded values in a real checkpoint's layout. The real
//! weight files cannot ship with the tests (pytorch-fid's is 96 MB), so the
//! tests and benches fill the layout from numpy's `RandomState`, exactly as
//! the fixture scripts (`tests/fixtures/convert/make.py`) fill it in Python,
//! and the two sides then convert the same weights.
//!
//! Keys are filled in sorted order, each tensor row-major, from one
//! `RandomState(seed)` stream (`n`: `standard_normal`, `u`: `random_sample`,
//! computed in float64 and rounded to float32):
//!
//! | key ends with | rank | value |
//! |---|---|---|
//! | `num_batches_tracked` | any | int64 0 (no draw) |
//! | `running_var` | any | `0.5 + u` |
//! | `running_mean`, `bias` | any | `0.1 · n` |
//! | `weight` | 1 (batch norm) | `0.8 + 0.4 · u` |
//! | `weight` | 4 (convolution) | `n · √(2 / fan_in)` |
//! | `weight` | other (linear) | `n · √(1 / fan_in)` |
//! | anything else | any | `n` |
//!
//! With these, activations keep their scale through Inception's ~95 layers
//! (He initialisation before each ReLU, batch norm near the identity).

use std::path::Path;

use super::{StateDict, Tensor, TensorData};
use crate::rng::NumpyRandomState;

/// A state dict with `layout`'s keys and shapes, filled from `RandomState(seed)`
/// by the rules above; `source` names it in messages and manifests.
pub fn stand_in_weights(layout: &[(String, Vec<usize>)], seed: u32, source: &Path) -> StateDict {
    let mut sorted: Vec<&(String, Vec<usize>)> = layout.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rng = NumpyRandomState::new(seed);
    let mut weights = StateDict::new(source);
    for (key, shape) in sorted {
        let len: usize = shape.iter().product();
        let (data, stored_as) = if key.ends_with("num_batches_tracked") {
            (TensorData::Int(vec![0; len]), "int64")
        } else {
            let draw = rule(key, shape);
            (
                TensorData::Float((0..len).map(|_| draw(&mut rng) as f32).collect()),
                "float32",
            )
        };
        let tensor = Tensor {
            shape: shape.clone(),
            data,
            stored_as: stored_as.into(),
        };
        weights.tensors.insert(key.clone(), tensor);
    }
    weights
}

/// The draw of one value of `key` (see the module's table).
fn rule(key: &str, shape: &[usize]) -> Box<dyn Fn(&mut NumpyRandomState) -> f64> {
    let fan_in: usize = shape.iter().skip(1).product();
    if key.ends_with("running_var") {
        Box::new(|rng| 0.5 + rng.random_sample())
    } else if key.ends_with("running_mean") || key.ends_with("bias") {
        Box::new(|rng| rng.standard_normal() * 0.1)
    } else if key.ends_with("weight") {
        match shape.len() {
            1 => Box::new(|rng| 0.8 + 0.4 * rng.random_sample()),
            rank => {
                let gain = if rank == 4 { 2.0 } else { 1.0 };
                let scale = (gain / fan_in.max(1) as f64).sqrt();
                Box::new(move |rng| rng.standard_normal() * scale)
            }
        }
    } else {
        Box::new(|rng| rng.standard_normal())
    }
}
