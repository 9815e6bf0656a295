//! Images: folder walk, decoding as Pillow does, the resize modes of the
//! reference FID/IS implementations (the Pillow ones as Pillow ≤ 12), and
//! streaming batches of network input. Which mode and input mapping a run
//! uses is the scoring protocol's choice ([`crate::models::Protocol`]).
//!
//! The pipeline for one image is [`decode_rgb`] (8-bit RGB, exactly Pillow's
//! `Image.open(p).convert('RGB')`) → [`preprocess_into`] (resize with a
//! [`ResizeMode`], then `(pixel/255 − mean) / std`, CHW float32).
//! [`ImageBatches`] runs that pipeline over a path list with rayon and
//! prepares the next batch in the background while the caller runs the
//! network on the current one.

mod batches;
mod bilinear;
mod decode;
mod list;
mod pillow;
mod preprocess;
mod resize;
mod walk;

pub use batches::{ImageBatch, ImageBatches};
pub use decode::decode_rgb;
pub use image::RgbImage;
pub use list::ImageList;
pub use preprocess::{Preprocess, preprocess_batch, preprocess_into};
pub use resize::{ResizeMode, pil_bilinear_rgb8, resize_rgb};
pub use walk::{IMAGE_EXTENSIONS, image_list, list_images};

use std::path::PathBuf;

/// Errors of the image stage; each names the path or parameter and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The image folder does not exist.
    #[error("image folder {path} does not exist; check the path")]
    FolderMissing { path: PathBuf },
    /// The path given as an image folder is a file.
    #[error("{path} is not a folder; pass a folder of images")]
    NotAFolder { path: PathBuf },
    /// A folder could not be listed.
    #[error("cannot read folder {path}: {source}; check its permissions")]
    ReadFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The walk found no file with an image extension.
    #[error("no images found in {path} (searched recursively for {}); point to a folder of images", IMAGE_EXTENSIONS.join(", "))]
    NoImages { path: PathBuf },
    /// A file could not be read or decoded as an image.
    #[error("cannot decode image {path}: {reason}; remove it or pass --skip-bad")]
    Unreadable { path: PathBuf, reason: String },
    /// A resize mode name that is not one of the four.
    #[error(
        "unknown resize mode '{given}'; use one of legacy-pytorch, clean, legacy-tf, pil-bilinear"
    )]
    UnknownResizeMode { given: String },
    /// A preprocessing or batching parameter outside its range.
    #[error("invalid {parameter}: {reason}")]
    InvalidParameter {
        parameter: &'static str,
        reason: String,
    },
}
