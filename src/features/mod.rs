//! Image features: the extractor model run over image batches, and the files
//! that keep features for later runs.

mod file;

pub use file::{FeatureFile, FeatureFileError};
pub(crate) use file::{MatrixError, matrix};
mod extractor;

pub use extractor::{
    ExtractError, Extractor, IsSetup, PassSummary, ProtocolSetup, run_over_images,
};
