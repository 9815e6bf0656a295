//! Non-antialiased bilinear resizing as PyTorch's `F.interpolate` and TF1's
//! `resize_bilinear` compute it: two source taps per output index per axis,
//! rows interpolated first, then columns between two interpolated rows.

/// One source tap pair of a linear interpolation: indices and weights.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lerp {
    pub(crate) lo: usize,
    pub(crate) hi: usize,
    pub(crate) w_lo: f32,
    pub(crate) w_hi: f32,
}

/// PyTorch's bilinear source taps (align_corners=False), in float32; the
/// source coordinate `scale·(d + ½) − ½` is rounded once, as PyTorch's
/// vectorised CPU kernels compute it (a fused multiply-add).
pub(crate) fn torch_taps(in_size: usize, out_size: usize) -> Vec<Lerp> {
    let scale = in_size as f32 / out_size as f32;
    (0..out_size)
        .map(|d| {
            let src = scale.mul_add(d as f32 + 0.5, -0.5).max(0.0);
            let lo = src as usize;
            let hi = if lo + 1 < in_size { lo + 1 } else { lo };
            let w_hi = (src - lo as f32).clamp(0.0, 1.0);
            Lerp {
                lo,
                hi,
                w_lo: 1.0 - w_hi,
                w_hi,
            }
        })
        .collect()
}

/// PyTorch's weighted sum of two samples.
#[inline(always)]
pub(crate) fn torch_mix(a: f32, b: f32, t: &Lerp) -> f32 {
    a * t.w_lo + b * t.w_hi
}

/// TF1's source taps (align_corners=False, half_pixel_centers=False):
/// source = destination × in/out, in float32.
pub(crate) fn tf1_taps(in_size: usize, out_size: usize) -> Vec<Lerp> {
    let scale = (in_size as f64 / out_size as f64) as f32;
    (0..out_size)
        .map(|d| {
            let src = d as f32 * scale;
            let lo = src as usize;
            let hi = (lo + 1).min(in_size - 1);
            let frac = src - lo as f32;
            Lerp {
                lo,
                hi,
                w_lo: 1.0 - frac,
                w_hi: frac,
            }
        })
        .collect()
}

/// TF1's `a + (b − a)·t`.
#[inline(always)]
pub(crate) fn tf1_mix(a: f32, b: f32, t: &Lerp) -> f32 {
    a + (b - a) * t.w_hi
}

/// Resizes an interleaved 8-bit RGB image, each byte first mapped through
/// `value`, mixing two samples with `mix` along rows then along columns;
/// hands each output row, interleaved, to `emit(y, row)`.
///
/// Each source row is interpolated once, whatever the number of output
/// rows that read it, so the work is one pass per axis.
pub(crate) fn resize_rgb8_bilinear(
    src: &[u8],
    (h, w): (usize, usize),
    (rows, cols): (&[Lerp], &[Lerp]),
    value: &[f32; 256],
    mix: impl Fn(f32, f32, &Lerp) -> f32,
    mut emit: impl FnMut(usize, &[f32]),
) {
    debug_assert_eq!(src.len(), h * w * 3);
    let row_len = cols.len() * 3;
    let first_row = rows.iter().map(|r| r.lo).min().unwrap_or(0);
    let last_row = rows.iter().map(|r| r.hi + 1).max().unwrap_or(0);
    let mut horizontal = vec![0.0f32; (last_row - first_row) * row_len];
    for (row_in, row_out) in src[first_row * w * 3..last_row * w * 3]
        .chunks_exact(w * 3)
        .zip(horizontal.chunks_exact_mut(row_len))
    {
        for (o, c) in row_out.chunks_exact_mut(3).zip(cols) {
            let (lo, hi) = (
                &row_in[c.lo * 3..c.lo * 3 + 3],
                &row_in[c.hi * 3..c.hi * 3 + 3],
            );
            for k in 0..3 {
                o[k] = mix(value[lo[k] as usize], value[hi[k] as usize], c);
            }
        }
    }
    let mut row = vec![0.0f32; row_len];
    for (y, r) in rows.iter().enumerate() {
        let upper = &horizontal[(r.lo - first_row) * row_len..][..row_len];
        let lower = &horizontal[(r.hi - first_row) * row_len..][..row_len];
        for ((o, &a), &b) in row.iter_mut().zip(upper).zip(lower) {
            *o = mix(a, b, r);
        }
        emit(y, &row);
    }
}
