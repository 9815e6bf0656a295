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
    pub(crate) fn new(in_size: usize, out_size: usize, filter: Filter) -> Self {
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

/// Resizes one float plane (row-major, `h × w`) like Pillow's mode `F`.
pub(crate) fn resize_plane_f32(
    src: &[f32],
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
    filter: Filter,
) -> Vec<f32> {
    let mut plane = src.to_vec();
    let mut width = w;
    if out_w != w {
        let taps = Taps::new(w, out_w, filter);
        let mut next = vec![0.0f32; h * out_w];
        for (row_in, row_out) in plane.chunks_exact(w).zip(next.chunks_exact_mut(out_w)) {
            for (x, o) in row_out.iter_mut().enumerate() {
                let (first, weights) = taps.get(x);
                let mut acc = 0.0f64;
                for (v, k) in row_in[first..].iter().zip(weights) {
                    acc += *v as f64 * k;
                }
                *o = acc as f32;
            }
        }
        plane = next;
        width = out_w;
    }
    if out_h != h {
        let taps = Taps::new(h, out_h, filter);
        let mut next = vec![0.0f32; out_h * width];
        // Row-wise accumulation: each output value still sums its taps in
        // order, as Pillow does, but memory is read row by row.
        let mut acc = vec![0.0f64; width];
        for (y, row_out) in next.chunks_exact_mut(width).enumerate() {
            let (first, weights) = taps.get(y);
            acc.iter_mut().for_each(|a| *a = 0.0);
            for (j, k) in weights.iter().enumerate() {
                let row_in = &plane[(first + j) * width..(first + j + 1) * width];
                for (a, v) in acc.iter_mut().zip(row_in) {
                    *a += *v as f64 * k;
                }
            }
            for (o, a) in row_out.iter_mut().zip(&acc) {
                *o = *a as f32;
            }
        }
        plane = next;
    }
    plane
}

/// Resizes an interleaved 8-bit image with `channels` channels like Pillow.
pub(crate) fn resize_interleaved_u8(
    src: &[u8],
    channels: usize,
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
    filter: Filter,
) -> Vec<u8> {
    let mut img = src.to_vec();
    let mut width = w;
    if out_w != w {
        let taps = Taps::new(w, out_w, filter);
        let fixed = taps.fixed_point();
        let mut next = vec![0u8; h * out_w * channels];
        for (row_in, row_out) in img
            .chunks_exact(w * channels)
            .zip(next.chunks_exact_mut(out_w * channels))
        {
            for x in 0..out_w {
                let first = taps.starts[x];
                let k = &fixed[x * taps.stride..x * taps.stride + taps.lens[x]];
                for c in 0..channels {
                    let mut acc = 1i32 << (PRECISION_BITS - 1);
                    for (j, kj) in k.iter().enumerate() {
                        acc += row_in[(first + j) * channels + c] as i32 * kj;
                    }
                    row_out[x * channels + c] = clip8(acc);
                }
            }
        }
        img = next;
        width = out_w;
    }
    if out_h != h {
        let taps = Taps::new(h, out_h, filter);
        let fixed = taps.fixed_point();
        let row_len = width * channels;
        let mut next = vec![0u8; out_h * row_len];
        let mut acc = vec![0i32; row_len];
        for (y, row_out) in next.chunks_exact_mut(row_len).enumerate() {
            let first = taps.starts[y];
            let k = &fixed[y * taps.stride..y * taps.stride + taps.lens[y]];
            acc.iter_mut().for_each(|a| *a = 1 << (PRECISION_BITS - 1));
            for (j, kj) in k.iter().enumerate() {
                let row_in = &img[(first + j) * row_len..(first + j + 1) * row_len];
                for (a, v) in acc.iter_mut().zip(row_in) {
                    *a += *v as i32 * kj;
                }
            }
            for (o, a) in row_out.iter_mut().zip(&acc) {
                *o = clip8(*a);
            }
        }
        img = next;
    }
    img
}

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
