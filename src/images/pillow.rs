//! Pillow's separable, antialiased resampling (`Image.resize` with a
//! filter), reimplemented as Pillow ≤ 12 does it: the filter support grows
//! with the downscale factor, each output pixel's weights are normalised to
//! sum to one, rows are resampled first and columns second, and a pass whose
//! size does not change is skipped. Float images (mode `F`) accumulate in
//! f64 and store f32; 8-bit images use 22-bit fixed-point weights and round
//! after each pass, as Pillow does.
//!
//! Pillow 13 (its PR 9549) runs the vertical pass first when the height
//! shrinks much more than the width, which moves tall downscales by one
//! level in some 8-bit values (1.5e-5 of a level in float). The horizontal-
//! first order here is Pillow 12's, the Pillow of the StackGAN IS protocol's
//! era; tests/images_pillow12.rs holds it to Pillow 12.3 on real photographs.

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

    /// The same taps, each widened to the longest tap count with zero
    /// weights (its window shifted left at the end of the axis), so that
    /// every output index has the same number of taps. A zero-weight tap
    /// adds exactly 0 to an accumulator that starts at +0 and so cannot be
    /// −0: the sums are unchanged, bit for bit, and the loops get simpler.
    fn widened(&self) -> Taps {
        let in_size = (0..self.starts.len())
            .map(|o| self.starts[o] + self.lens[o])
            .max()
            .unwrap_or(0);
        let k = self.lens.iter().copied().max().unwrap_or(0);
        let mut widened = Taps {
            starts: Vec::with_capacity(self.starts.len()),
            lens: vec![k; self.starts.len()],
            weights: vec![0.0; k * self.starts.len()],
            stride: k,
        };
        for out in 0..self.starts.len() {
            let (first, w) = self.get(out);
            let start = first.min(in_size.max(k) - k);
            let at = out * k + (first - start);
            widened.weights[at..at + w.len()].copy_from_slice(w);
            widened.starts.push(start);
        }
        widened
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
    if out_h == 0 || out_w == 0 {
        return;
    }
    let cols = Taps::new(w, out_w, filter);
    let rows = Taps::new(h, out_h, filter);
    let row_len = out_w * 3;
    let (first_row, last_row) = rows.source_range();
    let mut horizontal = vec![0.0f32; (last_row - first_row) * row_len];
    let rows_in = &src[first_row * w * 3..last_row * w * 3];
    let cols = cols.widened();
    match cols.stride {
        4 => horizontal_f32::<4>(rows_in, w, &cols, &mut horizontal),
        5 => horizontal_f32::<5>(rows_in, w, &cols, &mut horizontal),
        6 => horizontal_f32::<6>(rows_in, w, &cols, &mut horizontal),
        7 => horizontal_f32::<7>(rows_in, w, &cols, &mut horizontal),
        8 => horizontal_f32::<8>(rows_in, w, &cols, &mut horizontal),
        _ => horizontal_f32::<0>(rows_in, w, &cols, &mut horizontal),
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

/// Resizes an interleaved 8-bit RGB image like Pillow's 8-bit resampling,
/// handing each output row, interleaved, to `emit(y, row)`.
pub(crate) fn resize_rgb8(
    src: &[u8],
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
    filter: Filter,
    mut emit: impl FnMut(usize, &[u8]),
) {
    if out_h == 0 || out_w == 0 {
        return;
    }
    let cols = Taps::new(w, out_w, filter).widened();
    let rows = Taps::new(h, out_h, filter);
    let (col_k, row_k) = (cols.fixed_point(), rows.fixed_point());
    let row_len = out_w * 3;
    let (first_row, last_row) = rows.source_range();
    let mut horizontal = vec![0u8; (last_row - first_row) * row_len];
    let rows_in = &src[first_row * w * 3..last_row * w * 3];
    match cols.stride {
        2 => horizontal_u8::<2>(rows_in, w, &cols, &col_k, &mut horizontal),
        3 => horizontal_u8::<3>(rows_in, w, &cols, &col_k, &mut horizontal),
        4 => horizontal_u8::<4>(rows_in, w, &cols, &col_k, &mut horizontal),
        5 => horizontal_u8::<5>(rows_in, w, &cols, &col_k, &mut horizontal),
        _ => horizontal_u8::<0>(rows_in, w, &cols, &col_k, &mut horizontal),
    }
    let mut acc = vec![0i32; row_len];
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

/// The horizontal pass of [`resize_rgb8_as_f32`] over whole source rows,
/// for widened taps; `K` is their count, or 0 to read it from `cols`
/// (a constant count lets the compiler unroll the loop over taps).
fn horizontal_f32<const K: usize>(rows_in: &[u8], w: usize, cols: &Taps, out: &mut [f32]) {
    let k = if K == 0 { cols.stride } else { K };
    let row_len = cols.starts.len() * 3;
    for (row_in, row_out) in rows_in
        .chunks_exact(w * 3)
        .zip(out.chunks_exact_mut(row_len))
    {
        for ((o, &first), weights) in row_out
            .chunks_exact_mut(3)
            .zip(&cols.starts)
            .zip(cols.weights.chunks_exact(k))
        {
            let px = &row_in[first * 3..first * 3 + 3 * k];
            let mut acc = [0.0f64; 3];
            for j in 0..k {
                acc[0] += px[3 * j] as f64 * weights[j];
                acc[1] += px[3 * j + 1] as f64 * weights[j];
                acc[2] += px[3 * j + 2] as f64 * weights[j];
            }
            o.copy_from_slice(&acc.map(|a| a as f32));
        }
    }
}

/// The horizontal pass of [`resize_rgb8`], as [`horizontal_f32`].
fn horizontal_u8<const K: usize>(
    rows_in: &[u8],
    w: usize,
    cols: &Taps,
    fixed: &[i32],
    out: &mut [u8],
) {
    let k = if K == 0 { cols.stride } else { K };
    let row_len = cols.starts.len() * 3;
    for (row_in, row_out) in rows_in
        .chunks_exact(w * 3)
        .zip(out.chunks_exact_mut(row_len))
    {
        for ((o, &first), weights) in row_out
            .chunks_exact_mut(3)
            .zip(&cols.starts)
            .zip(fixed.chunks_exact(k))
        {
            let px = &row_in[first * 3..first * 3 + 3 * k];
            let mut acc = [ROUNDING; 3];
            for j in 0..k {
                acc[0] += px[3 * j] as i32 * weights[j];
                acc[1] += px[3 * j + 1] as i32 * weights[j];
                acc[2] += px[3 * j + 2] as i32 * weights[j];
            }
            o.copy_from_slice(&acc.map(clip8));
        }
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

    #[test]
    fn widened_taps_give_bit_identical_sums_inside_the_source() {
        let samples: Vec<f64> = (0..500).map(|i| ((i * 7919) % 256) as f64).collect();
        for (n_in, n_out) in [(40, 11), (17, 29), (500, 299), (375, 299), (7, 7), (3, 17)] {
            for filter in [Filter::Bilinear, Filter::Bicubic] {
                let taps = Taps::new(n_in, n_out, filter);
                let wide = taps.widened();
                for out in 0..n_out {
                    let sum = |(first, w): (usize, &[f64])| {
                        assert!(first + w.len() <= n_in);
                        w.iter()
                            .zip(&samples[first..])
                            .fold(0.0f64, |acc, (k, v)| acc + v * k)
                    };
                    let (a, b) = (sum(taps.get(out)), sum(wide.get(out)));
                    assert_eq!(a.to_bits(), b.to_bits(), "{n_in}->{n_out} at {out}");
                }
            }
        }
    }
}
