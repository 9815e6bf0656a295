//! Procedurally drawn image sets with a fixed seed (the demo's data): `real`
//! (varied shapes, colours and backgrounds), `diverse` (the same kinds of
//! picture, blurred and noisier — a decent generator) and `collapsed` (a
//! handful of pictures repeated with small noise — a mode-collapsed
//! generator). The same seed draws the same PNGs on every machine.

use std::path::Path;

use image::{Rgb, RgbImage};

/// Which kind of set to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    Real,
    Diverse,
    Collapsed,
}

/// Why a set could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error("cannot clear {path}: {source}; choose a writable --out")]
    Clear {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {reason}; choose a writable --out")]
    Write {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// Draws `count` PNGs of varying size into `folder`, replacing what was there.
pub fn draw_set(folder: &Path, kind: SetKind, seed: u64, count: usize) -> Result<(), DrawError> {
    if folder.exists() {
        std::fs::remove_dir_all(folder).map_err(|source| DrawError::Clear {
            path: folder.to_path_buf(),
            source,
        })?;
    }
    std::fs::create_dir_all(folder).map_err(|e| DrawError::Write {
        path: folder.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut rng = SplitMix64(seed ^ (kind as u64) << 32);
    for index in 0..count {
        let picture_seed = match kind {
            SetKind::Collapsed => rng.below(4),
            _ => rng.next(),
        };
        let mut picture = Picture::random(&mut SplitMix64(picture_seed));
        if kind == SetKind::Diverse {
            picture.blur = 1;
        }
        let noise = if kind == SetKind::Real { 0.0 } else { 12.0 };
        let image = picture.draw(&mut rng, noise);
        let path = folder.join(format!("{index:04}.png"));
        image.save(&path).map_err(|e| DrawError::Write {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}
/// One procedural picture: a shape on a two-colour gradient.
struct Picture {
    size: (u32, u32),
    background: [[f32; 3]; 2],
    colour: [f32; 3],
    shape: u64,
    centre: (f32, f32),
    radius: f32,
    blur: u32,
}

impl Picture {
    fn random(rng: &mut SplitMix64) -> Picture {
        let mut colour = || [rng.unit() * 255.0, rng.unit() * 255.0, rng.unit() * 255.0];
        let background = [colour(), colour()];
        let shape_colour = colour();
        Picture {
            size: (64 + 8 * rng.below(3) as u32, 64 + 8 * rng.below(3) as u32),
            background,
            colour: shape_colour,
            shape: rng.below(3),
            centre: (0.3 + 0.4 * rng.unit(), 0.3 + 0.4 * rng.unit()),
            radius: 0.12 + 0.2 * rng.unit(),
            blur: 0,
        }
    }

    fn draw(&self, rng: &mut SplitMix64, noise: f32) -> RgbImage {
        let (w, h) = self.size;
        let mut image = RgbImage::from_fn(w, h, |x, y| {
            let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
            let (dx, dy) = (u - self.centre.0, v - self.centre.1);
            let inside = match self.shape {
                0 => dx * dx + dy * dy < self.radius * self.radius,
                1 => dx.abs() < self.radius && dy.abs() < self.radius,
                _ => dy < self.radius && dy > -self.radius && dx.abs() < (self.radius - dy) * 0.6,
            };
            let pixel: [f32; 3] = if inside {
                self.colour
            } else {
                std::array::from_fn(|c| {
                    self.background[0][c] * (1.0 - v) + self.background[1][c] * v
                })
            };
            Rgb(pixel.map(|p| p.round() as u8))
        });
        if self.blur > 0 {
            image = image::imageops::blur(&image, self.blur as f32);
        }
        if noise > 0.0 {
            for pixel in image.pixels_mut() {
                for channel in pixel.0.iter_mut() {
                    let jitter = (rng.unit() - 0.5) * 2.0 * noise;
                    *channel = (*channel as f32 + jitter).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        image
    }
}

/// A small, fixed, seedable generator so the demo draws the same sets everywhere.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
