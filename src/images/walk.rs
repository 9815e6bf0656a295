//! Recursive, deterministic listing of the images in a folder.

use super::ImageError;
use super::list::{ImageList, ImageListBuilder};
use std::fs;
use std::path::{Path, PathBuf};

/// File extensions treated as images (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "bmp", "webp"];

/// Lists every image under `root`, recursively, sorted by path.
///
/// Hidden entries (names starting with `.`, e.g. `.ipynb_checkpoints/` or
/// macOS `._x.jpg` resource forks, which are not images) are skipped.
/// Symbolic links are followed, to files and to folders. A link that cannot
/// be followed — one that loops, one whose target is missing (when its name
/// is an image's), or one that leads back to a folder containing it — is
/// listed like an image, so that reading it fails with an error naming the
/// link (or `--skip-bad` skips and counts it) instead of it vanishing from
/// the set unnoticed. The order is the component-wise order of the paths,
/// so it does not depend on the file system's listing order.
pub fn list_images(root: &Path) -> Result<Vec<PathBuf>, ImageError> {
    Ok(image_list(root)?.to_paths())
}

/// [`list_images`] kept compactly, for folders of any size.
pub fn image_list(root: &Path) -> Result<ImageList, ImageError> {
    let meta = fs::metadata(root).map_err(|_| ImageError::FolderMissing {
        path: root.to_path_buf(),
    })?;
    if !meta.is_dir() {
        return Err(ImageError::NotAFolder {
            path: root.to_path_buf(),
        });
    }
    let mut images = ImageListBuilder::new(root);
    let canonical_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    // Each folder still to list, with the real paths of it and the folders above it.
    let mut pending = vec![(root.to_path_buf(), vec![canonical_root])];
    while let Some((dir, ancestors)) = pending.pop() {
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
            let within = |real: PathBuf| {
                let mut chain = ancestors.clone();
                chain.push(real);
                chain
            };
            if kind.is_dir() {
                let real = ancestors
                    .last()
                    .map_or(path.clone(), |parent| parent.join(entry.file_name()));
                pending.push((path, within(real)));
            } else if kind.is_file() {
                if has_image_extension(&path) {
                    images.push(&path);
                }
            } else if kind.is_symlink() {
                match (fs::metadata(&path), fs::canonicalize(&path)) {
                    (Ok(target), Ok(real)) if target.is_dir() => {
                        // A folder that holds this one, or one already on the
                        // way here (links that lead to each other).
                        let inside = ancestors.last().is_some_and(|here| here.starts_with(&real));
                        if inside || ancestors.contains(&real) {
                            images.push(&path);
                        } else {
                            pending.push((path, within(real)));
                        }
                    }
                    (Ok(target), _) if !target.is_file() => {}
                    _ if has_image_extension(&path) => images.push(&path),
                    _ => {}
                }
            }
        }
    }
    if images.is_empty() {
        return Err(ImageError::NoImages {
            path: root.to_path_buf(),
        });
    }
    Ok(images.finish_sorted())
}

/// Why the symbolic link `path` cannot be read as an image, when it is one.
pub(super) fn link_problem(path: &Path) -> Option<String> {
    if !fs::symlink_metadata(path).ok()?.file_type().is_symlink() {
        return None;
    }
    let target = fs::read_link(path)
        .map(|t| t.display().to_string())
        .unwrap_or_else(|_| "?".into());
    Some(match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => format!(
            "it is a symbolic link to the folder {target}, which leads back to the link, so following it would never end"
        ),
        Ok(_) => return None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("it is a broken symbolic link: its target {target} does not exist")
        }
        Err(_) if link_loops(path) => {
            format!("it is a symbolic link that loops (its target {target} leads back to it)")
        }
        Err(e) => format!("it is a symbolic link to {target} that cannot be followed ({e})"),
    })
}

/// Whether following `path` link by link comes back to a link already seen.
fn link_loops(path: &Path) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut current = path.to_path_buf();
    while seen.insert(current.clone()) {
        match fs::read_link(&current) {
            Ok(target) => {
                current = match current.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                };
            }
            Err(_) => return false,
        }
        if seen.len() > 64 {
            return true;
        }
    }
    true
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}
