//! Image features: the extractor model run over image batches, and the files
//! that keep features for later runs.

mod file;
mod store;

pub use file::{FeatureFile, FeatureFileError};
pub(crate) use file::{MatrixError, matrix};
pub use store::{FeatureStore, Features, SPILL_BYTES, StoreError, spill_bytes};
mod extractor;

pub use extractor::{
    ExtractError, Extractor, IsSetup, OnDevice, PassSummary, ProtocolSetup, run_over_images,
};
