//! Recursive, deterministic listing of the images in a folder.

use super::ImageError;
use std::fs;
use std::path::{Path, PathBuf};

/// File extensions treated as images (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "bmp", "webp"];

/// Lists every image under `root`, recursively, sorted by path.
///
/// Hidden entries (names starting with `.`, e.g. `.ipynb_checkpoints/` or
/// macOS `._x.jpg` resource forks, which are not images) are skipped, and
/// symbolic links to folders are not followed (no cycles); links to files
/// are listed. The order is the component-wise order of the paths, so it
/// does not depend on the file system's listing order.
pub fn list_images(root: &Path) -> Result<Vec<PathBuf>, ImageError> {
    let meta = fs::metadata(root).map_err(|_| ImageError::FolderMissing {
        path: root.to_path_buf(),
    })?;
    if !meta.is_dir() {
        return Err(ImageError::NotAFolder {
            path: root.to_path_buf(),
        });
    }
    let mut images = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let read_error = |source| ImageError::ReadFolder {
            path: dir.clone(),
            source,
        };
        for entry in fs::read_dir(&dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let kind = entry.file_type().map_err(read_error)?;
            if kind.is_dir() {
                pending.push(path);
            } else if (kind.is_file() || (kind.is_symlink() && path.is_file()))
                && has_image_extension(&path)
            {
                images.push(path);
            }
        }
    }
    if images.is_empty() {
        return Err(ImageError::NoImages {
            path: root.to_path_buf(),
        });
    }
    images.sort();
    Ok(images)
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}
