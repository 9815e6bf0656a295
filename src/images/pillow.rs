//! Pillow's separable, antialiased resampling (`Image.resize` with a
//! filter), reimplemented: the filter support grows with the downscale
//! factor, each output pixel's weights are normalised to sum to one, rows
//! are resampled first and columns second, and a pass whose size does not
//! change is skipped. Float images (mode `F`) accumulate in f64 and store
//! f32; 8-bit images use 22-bit fixed-point weights and round after each
//! pass, as Pillow does.

/// A Pillow resampling filter: its kernel and its support at scale 1.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Filter {
    /// Triangle filter, support 1 (`Image.BILINEAR`).
    Bilinear,
    /// Keys cubic with a = −0.5, support 2 (`Image.BICUBIC`).
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bilinear => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

/// The source taps of every output index along one axis.
pub(crate) struct Taps {
    /// First source index of each output index.
    starts: Vec<usize>,
    /// Number of taps of each output index.
    lens: Vec<usize>,
    /// Weights, `stride` per output index.
    weights: Vec<f64>,
    stride: usize,
}

impl Taps {
    /// Pillow's coefficients for resampling `in_size` samples to `out_size`.
    ///
    /// Equal sizes give identity taps (one tap of weight 1): Pillow skips
    /// that pass, and a single unit tap reproduces the skip exactly.
    pub(crate) fn new(in_size: usize, out_size: usize, filter: Filter) -> Self {
        if in_size == out_size {
            return Taps {
                starts: (0..out_size).collect(),
                lens: vec![1; out_size],
                weights: vec![1.0; out_size],
                stride: 1,
            };
        }
        let scale = in_size as f64 / out_size as f64;
        let filter_scale = scale.max(1.0);
        let support = filter.support() * filter_scale;
        let stride = support.ceil() as usize * 2 + 1;
        let inv = 1.0 / filter_scale;
        let mut taps = Taps {
            starts: Vec::with_capacity(out_size),
            lens: Vec::with_capacity(out_size),
            weights: vec![0.0; stride * out_size],
            stride,
        };
        for out in 0..out_size {
            let center = (out as f64 + 0.5) * scale;
            // Pillow rounds the box bounds by truncating `x + 0.5`.
            let first = ((center - support + 0.5) as i64).max(0) as usize;
            let last = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let len = last - first;
            let w = &mut taps.weights[out * stride..out * stride + len];
            let mut sum = 0.0;
            for (k, wk) in w.iter_mut().enumerate() {
                *wk = filter.weight(((k + first) as f64 - center + 0.5) * inv);
                sum += *wk;
            }
            if sum != 0.0 {
                w.iter_mut().for_each(|wk| *wk /= sum);
            }
            taps.starts.push(first);
            taps.lens.push(len);
        }
        taps
    }

    fn get(&self, out: usize) -> (usize, &[f64]) {
        let w = &self.weights[out * self.stride..out * self.stride + self.lens[out]];
        (self.starts[out], w)
    }

    /// The source indices `first..last` that any output index reads.
    fn source_range(&self) -> (usize, usize) {
        let first = self.starts.iter().copied().min().unwrap_or(0);
        let last = (0..self.starts.len())
            .map(|o| self.starts[o] + self.lens[o])
            .max()
            .unwrap_or(0);
        (first, last.max(first))
    }

    /// Like [`Taps::get`], on the weights of [`Taps::fixed_point`].
    fn get_fixed<'a>(&self, fixed: &'a [i32], out: usize) -> (usize, &'a [i32]) {
        let at = out * self.stride;
        (self.starts[out], &fixed[at..at + self.lens[out]])
    }

    /// The weights as Pillow's 8-bit fixed point (22 fractional bits).
    fn fixed_point(&self) -> Vec<i32> {
        self.weights
            .iter()
            .map(|&w| {
                let scaled = w * FIXED_ONE as f64;
                if w < 0.0 {
                    (scaled - 0.5) as i32
                } else {
                    (scaled + 0.5) as i32
                }
            })
            .collect()
    }
}

const PRECISION_BITS: u32 = 32 - 8 - 2;
const FIXED_ONE: i32 = 1 << PRECISION_BITS;

/// Resizes an interleaved 8-bit RGB image like Pillow's mode `F` on each
/// channel (the 8-bit values taken as floats), handing each output row,
/// interleaved, to `emit(y, row)`.
///
/// Both passes accumulate in f64 and store f32, as Pillow does; the
/// horizontal pass reads the 8-bit source directly, and a pass whose size
/// does not change uses identity taps, which reproduce the skipped pass.
pub(crate) fn resize_rgb8_as_f32(
    src: &[u8],
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
    filter: Filter,
    mut emit: impl FnMut(usize, &[f32]),
) {
    let cols = Taps::new(w, out_w, filter);
    let rows = Taps::new(h, out_h, filter);
    let row_len = out_w * 3;
    let (first_row, last_row) = rows.source_range();
    let mut horizontal = vec![0.0f32; (last_row - first_row) * row_len];
    for (row_in, row_out) in src[first_row * w * 3..last_row * w * 3]
        .chunks_exact(w * 3)
        .zip(horizontal.chunks_exact_mut(row_len))
    {
        for (x, o) in row_out.chunks_exact_mut(3).enumerate() {
            let (first, weights) = cols.get(x);
            let mut acc = [0.0f64; 3];
            for (px, &k) in row_in[first * 3..].chunks_exact(3).zip(weights) {
                acc[0] += px[0] as f64 * k;
                acc[1] += px[1] as f64 * k;
                acc[2] += px[2] as f64 * k;
            }
            o.copy_from_slice(&acc.map(|a| a as f32));
        }
    }
    let mut acc = vec![0.0f64; row_len];
    let mut row = vec![0.0f32; row_len];
    for y in 0..out_h {
        let (first, weights) = rows.get(y);
        acc.fill(0.0);
        for (j, &k) in weights.iter().enumerate() {
            let start = (first + j - first_row) * row_len;
            for (a, v) in acc.iter_mut().zip(&horizontal[start..start + row_len]) {
                *a += *v as f64 * k;
            }
        }
        row.iter_mut().zip(&acc).for_each(|(r, a)| *r = *a as f32);
        emit(y, &row);
    }
}

/// Resizes an interleaved 8-bit image with `channels` channels like Pillow,
/// handing each output row to `emit(y, row)`.
pub(crate) fn resize_interleaved_u8(
    src: &[u8],
    channels: usize,
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
    filter: Filter,
    mut emit: impl FnMut(usize, &[u8]),
) {
    let cols = Taps::new(w, out_w, filter);
    let rows = Taps::new(h, out_h, filter);
    let (col_k, row_k) = (cols.fixed_point(), rows.fixed_point());
    let row_len = out_w * channels;
    let (first_row, last_row) = rows.source_range();
    let mut horizontal = vec![0u8; (last_row - first_row) * row_len];
    let mut acc = vec![0i32; row_len.max(channels)];
    for (row_in, row_out) in src[first_row * w * channels..last_row * w * channels]
        .chunks_exact(w * channels)
        .zip(horizontal.chunks_exact_mut(row_len))
    {
        for (x, o) in row_out.chunks_exact_mut(channels).enumerate() {
            let (first, k) = cols.get_fixed(&col_k, x);
            let acc = &mut acc[..channels];
            acc.fill(ROUNDING);
            for (px, &kj) in row_in[first * channels..].chunks_exact(channels).zip(k) {
                for (a, &v) in acc.iter_mut().zip(px) {
                    *a += v as i32 * kj;
                }
            }
            o.iter_mut()
                .zip(acc.iter())
                .for_each(|(o, &a)| *o = clip8(a));
        }
    }
    let mut row = vec![0u8; row_len];
    for y in 0..out_h {
        let (first, k) = rows.get_fixed(&row_k, y);
        acc.fill(ROUNDING);
        for (j, &kj) in k.iter().enumerate() {
            let start = (first + j - first_row) * row_len;
            for (a, &v) in acc.iter_mut().zip(&horizontal[start..start + row_len]) {
                *a += v as i32 * kj;
            }
        }
        row.iter_mut().zip(&acc).for_each(|(r, &a)| *r = clip8(a));
        emit(y, &row);
    }
}

/// Pillow's rounding offset: half of one fixed-point unit.
const ROUNDING: i32 = 1 << (PRECISION_BITS - 1);

fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_stay_inside_the_source() {
        for (n_in, n_out) in [(40, 11), (17, 29), (500, 299), (7, 7)] {
            for filter in [Filter::Bilinear, Filter::Bicubic] {
                let taps = Taps::new(n_in, n_out, filter);
                for out in 0..n_out {
                    let (first, w) = taps.get(out);
                    assert!(first + w.len() <= n_in);
                    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                }
            }
        }
    }
}
