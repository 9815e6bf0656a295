//! The files a page links: an image already inside the page's folder is
//! linked where it is; any other is copied (or, for thumbnails, decoded and
//! downscaled) into `DIR/assets/`, so the folder is self-contained. Names
//! follow the order of the calls, so the same page gives the same files.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use image::{ImageFormat, RgbImage};

use super::esc;
use crate::atomic::{write_atomically, write_bytes_atomically};
use crate::images::{decode_rgb, pil_bilinear_rgb8};

/// Where copied images go, under the page's folder.
pub const ASSETS: &str = "assets";

/// An image the page shows: its address relative to the page and its size in pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub src: String,
    pub width: u32,
    pub height: u32,
}

impl ImageRef {
    /// `<img>` at its native size (the style sheet lets wide ones shrink).
    pub fn img_tag(&self, alt: &str) -> String {
        format!(
            "<img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{}\">",
            esc(&self.src),
            self.width,
            self.height,
            esc(alt)
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error(
        "cannot read image {path}: {reason}; check that the run's files are where its report says"
    )]
    Read { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}; check that the folder is writable")]
    Write { path: PathBuf, reason: String },
}

/// The page's folder and the asset names given out so far.
#[derive(Debug)]
pub struct Assets {
    out: PathBuf,
    /// `out` made absolute and free of `..`, to tell what lies inside it.
    root: PathBuf,
    names: BTreeSet<String>,
}

impl Assets {
    pub fn new(out: &Path) -> Assets {
        Assets {
            out: out.to_path_buf(),
            root: normalized(out),
            names: BTreeSet::new(),
        }
    }

    /// The page's folder.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// An image at its native size: linked in place when it lies inside the
    /// page's folder, else copied byte for byte into `assets/` as `name`.
    pub fn image(&mut self, source: &Path, name: &str) -> Result<ImageRef, AssetError> {
        self.place(source, name, false)
    }

    /// An image at its native size, always copied into `assets/`: for
    /// samples, whose folders a report does not keep (the demo's images are
    /// not committed).
    pub fn copy(&mut self, source: &Path, name: &str) -> Result<ImageRef, AssetError> {
        self.place(source, name, true)
    }

    fn place(&mut self, source: &Path, name: &str, copy: bool) -> Result<ImageRef, AssetError> {
        let (width, height) = image::image_dimensions(source).map_err(|e| read(source, e))?;
        let inside = normalized(source)
            .strip_prefix(&self.root)
            .ok()
            .filter(|_| !copy)
            .map(Path::to_path_buf);
        let src = match inside {
            Some(inside) => url(&inside),
            None => {
                let bytes = std::fs::read(source).map_err(|e| read(source, e))?;
                let extension = source
                    .extension()
                    .map(|e| e.to_string_lossy().to_lowercase())
                    .unwrap_or_else(|| "png".into());
                let relative = self.claim(name, &extension);
                let target = self.out.join(&relative);
                write_bytes_atomically(&target, &bytes).map_err(|e| write(&target, e))?;
                url(Path::new(&relative))
            }
        };
        Ok(ImageRef { src, width, height })
    }

    /// A thumbnail no larger than `side` pixels either way (Pillow's
    /// bilinear, as the t-SNE maps draw theirs), written into `assets/` as PNG.
    pub fn thumbnail(
        &mut self,
        source: &Path,
        side: u32,
        name: &str,
    ) -> Result<ImageRef, AssetError> {
        let image = decode_rgb(source).map_err(|e| read(source, e))?;
        let (w, h) = (image.width(), image.height());
        let scale = f64::from(side) / f64::from(w.max(h));
        let image: RgbImage = if scale < 1.0 {
            let tw = ((f64::from(w) * scale).round() as usize).max(1);
            let th = ((f64::from(h) * scale).round() as usize).max(1);
            pil_bilinear_rgb8(&image, th, tw)
        } else {
            image
        };
        let relative = self.claim(name, "png");
        let target = self.out.join(&relative);
        write_atomically(&target, |out| {
            let mut bytes = std::io::Cursor::new(Vec::new());
            image
                .write_to(&mut bytes, ImageFormat::Png)
                .map_err(std::io::Error::other)?;
            out.write_all(bytes.get_ref())
        })
        .map_err(|e| write(&target, e))?;
        Ok(ImageRef {
            src: url(Path::new(&relative)),
            width: image.width(),
            height: image.height(),
        })
    }

    /// A fresh `assets/<name>.<extension>`, its folder created.
    fn claim(&mut self, name: &str, extension: &str) -> String {
        let stem = slug(name);
        let mut candidate = format!("{ASSETS}/{stem}.{extension}");
        let mut n = 2;
        while self.names.contains(&candidate) {
            candidate = format!("{ASSETS}/{stem}-{n}.{extension}");
            n += 1;
        }
        self.names.insert(candidate.clone());
        let _ = std::fs::create_dir_all(self.out.join(ASSETS));
        candidate
    }
}

fn read(path: &Path, e: impl std::fmt::Display) -> AssetError {
    AssetError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn write(path: &Path, e: impl std::fmt::Display) -> AssetError {
    AssetError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// `path` absolute, with `.` and `..` resolved by name (not through links).
fn normalized(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A relative path as a URL path: `/`-separated, every byte outside the
/// unreserved set percent-encoded.
fn url(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .map(|c| {
            let text = c.as_os_str().to_string_lossy();
            text.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        })
        .collect();
    parts.join("/")
}

/// A label as part of a file name.
fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if slug.is_empty() {
        "image".into()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_inside_the_folder_are_linked_others_copied_under_fresh_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("page");
        std::fs::create_dir_all(out.join("charts")).unwrap();
        let png = |path: &Path| {
            RgbImage::from_pixel(40, 20, image::Rgb([200, 10, 10]))
                .save(path)
                .unwrap()
        };
        png(&out.join("charts/a b.png"));
        let outside = dir.path().join("x.png");
        png(&outside);
        let mut assets = Assets::new(&out);
        let inside = assets.image(&out.join("charts/a b.png"), "a").unwrap();
        assert_eq!(inside.src, "charts/a%20b.png");
        assert_eq!((inside.width, inside.height), (40, 20));
        let first = assets.image(&outside, "x<y").unwrap();
        let second = assets.image(&outside, "x<y").unwrap();
        assert_eq!(first.src, "assets/x-y.png");
        assert_eq!(second.src, "assets/x-y-2.png");
        assert_eq!(
            std::fs::read(&outside).unwrap(),
            std::fs::read(out.join("assets/x-y.png")).unwrap()
        );
        let thumb = assets.thumbnail(&outside, 10, "t").unwrap();
        assert_eq!((thumb.width, thumb.height), (10, 5));
        assert!(matches!(
            assets.image(&dir.path().join("missing.png"), "m"),
            Err(AssetError::Read { .. })
        ));
    }
}
