//! ONNX models written natively: a protobuf writer for the subset of
//! `onnx.proto` a converted network needs, and a graph builder whose layer
//! helpers mirror PyTorch's modules.
//!
//! The messages (`proto.rs`) are hand-written `#[derive(prost::Message)]`
//! structs: `prost` is the well-kept pure-Rust protobuf library, and writing
//! the dozen messages by hand needs neither `protoc` nor a build script
//! (prost-build would need both for the full `onnx.proto`, of which a
//! converter uses a small part). prost writes fields in tag order and
//! repeated fields in the order given, and the builder names everything from
//! the order of construction, so the same weights give byte-identical files.
//!
//! ```no_run
//! use stackgan_eval::convert::StateDict;
//! use stackgan_eval::convert::onnx::{Conv2d, GraphBuilder, PaddedZeros, Pool2d};
//!
//! # fn demo(weights: &StateDict) -> Result<Vec<u8>, stackgan_eval::convert::ConvertError> {
//! let mut graph = GraphBuilder::new(weights);
//! let x = graph.input("images", &[3, 32, 32]);
//! let x = graph.conv2d(&x, "conv", Conv2d::new(8, 3).padding(1).without_bias());
//! let x = graph.batch_norm(&x, "bn", 1e-5);
//! let x = graph.relu(&x);
//! let x = graph.avg_pool2d(&x, Pool2d::new(3).stride(1).padding(1), PaddedZeros::Ignored);
//! let x = graph.global_avg_pool(&x);
//! let pool = graph.flatten(&x);
//! graph.output(&pool, "pool");
//! let model = graph.finish("example", |key| key.ends_with("num_batches_tracked"))?;
//! Ok(model.to_bytes())
//! # }
//! ```

mod builder;
pub mod float16;
mod layers;
mod proto;
mod tensor_ops;

pub use builder::{GraphBuilder, OPSET, OnnxModel, Value};
pub use layers::{Conv2d, PaddedZeros, Pair, Pool2d};
