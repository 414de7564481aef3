//! Separable linear filters: the box mean (running sums, O(1) per sample whatever the radius)
//! and the Gaussian. Both treat the border by clamping coordinates to the edge, except the box
//! mean, which averages only the samples inside the image (what the guided filter needs).

use crate::frame::Plane;
use rayon::prelude::*;

/// Rows per parallel task in the vertical passes: enough to amortise the window set-up.
const ROW_BLOCK: usize = 32;

/// Mean over the `(2r+1) x (2r+1)` window around each sample, counting only samples inside the
/// image.
pub fn box_mean(src: &Plane, radius: usize) -> Plane {
    let (w, h) = (src.width(), src.height());
    if radius == 0 || w == 0 || h == 0 {
        return src.clone();
    }
    if radius <= DIRECT_RADIUS {
        return box_mean_direct(src, radius);
    }
    // Horizontal: running sums along the rows, eight rows in lockstep so the eight dependency
    // chains overlap, and one multiply by a precomputed 1/count instead of a divide.
    const LANES: usize = 8;
    let inv_count: Vec<f64> =
        (0..w).map(|x| 1.0 / ((x + radius).min(w - 1) - x.saturating_sub(radius) + 1) as f64).collect();
    let mut tmp = Plane::new(w, h);
    tmp.data_mut().par_chunks_mut(w * LANES).enumerate().for_each(|(block, chunk)| {
        let rows: Vec<&[f32]> = (block * LANES..(block * LANES + LANES).min(h)).map(|y| src.row(y)).collect();
        let mut sum = [0f64; LANES];
        for (s, row) in sum.iter_mut().zip(&rows) {
            *s = row[..radius.min(w - 1) + 1].iter().map(|&v| v as f64).sum();
        }
        for x in 0..w {
            let (add, sub) = (x + radius + 1 < w, x >= radius);
            for (lane, row) in rows.iter().enumerate() {
                chunk[lane * w + x] = (sum[lane] * inv_count[x]) as f32;
                if add {
                    sum[lane] += row[x + radius + 1] as f64;
                }
                if sub {
                    sum[lane] -= row[x - radius] as f64;
                }
            }
        }
    });
    // Vertical: a running row of sums per block of output rows.
    let mut out = Plane::new(w, h);
    out.data_mut().par_chunks_mut(w * ROW_BLOCK).enumerate().for_each(|(block, chunk)| {
        let y0 = block * ROW_BLOCK;
        let mut sum = vec![0f32; w];
        for y in y0.saturating_sub(radius)..=(y0 + radius).min(h - 1) {
            add_row(&mut sum, tmp.row(y), 1.0);
        }
        for (i, out_row) in chunk.chunks_exact_mut(w).enumerate() {
            let y = y0 + i;
            let count = ((y + radius).min(h - 1) - y.saturating_sub(radius) + 1) as f32;
            let inv = 1.0 / count;
            for (o, s) in out_row.iter_mut().zip(&sum) {
                *o = s * inv;
            }
            if y + radius + 1 < h {
                add_row(&mut sum, tmp.row(y + radius + 1), 1.0);
            }
            if y >= radius {
                add_row(&mut sum, tmp.row(y - radius), -1.0);
            }
        }
    });
    out
}

/// Radius up to which [`box_mean`] adds the window's samples directly: `2 r + 1` additions per
/// sample, vectorized across the row, beat running sums (a serial chain per row, kept in `f64`
/// for accuracy) for the small windows of the guided filter's low-resolution fit.
const DIRECT_RADIUS: usize = 8;

/// [`box_mean`] by summing each window: horizontally over a zero-padded copy of the row, then
/// vertically over the rows in reach.
fn box_mean_direct(src: &Plane, r: usize) -> Plane {
    let (w, h) = (src.width(), src.height());
    let inv_count = window_inv_counts(w, r);
    let mut tmp = Plane::new(w, h);
    tmp.par_rows_mut().enumerate().for_each_init(
        || vec![0f32; w + 2 * r],
        |padded, (y, out)| {
            padded[r..r + w].copy_from_slice(src.row(y));
            crate::simd::dispatch(|| window_mean_row(padded, r, &inv_count, out))
        },
    );
    let mut out = Plane::new(w, h);
    out.par_rows_mut().enumerate().for_each(|(y, out_row)| {
        let (rows, inv) = window_rows(y, r, h);
        crate::simd::dispatch(|| stack_mean_row(rows.map(|yy| tmp.row(yy)), inv, out_row))
    });
    out
}

/// `1 / (samples of the window of radius r around i inside 0..n)`, for every `i` in `0..n`.
pub(crate) fn window_inv_counts(n: usize, r: usize) -> Vec<f32> {
    (0..n).map(|i| window_rows(i, r, n).1).collect()
}

/// The rows of the window of radius `r` around row `y` of `h` that are inside the image, and
/// one over their count.
pub(crate) fn window_rows(y: usize, r: usize, h: usize) -> (std::ops::RangeInclusive<usize>, f32) {
    let (y0, y1) = (y.saturating_sub(r), (y + r).min(h - 1));
    (y0..=y1, 1.0 / (y1 - y0 + 1) as f32)
}

/// The horizontal half of the direct box mean: `out[x] = (padded[x] + ... + padded[x + 2r]) *
/// inv[x]`, added in that order, over a row with `r` zeros before and after it (`padded` is
/// `out.len() + 2r` long). Call it inside [`crate::simd::dispatch`].
#[inline(always)]
pub(crate) fn window_mean_row(padded: &[f32], r: usize, inv: &[f32], out: &mut [f32]) {
    let w = out.len();
    out.copy_from_slice(&padded[..w]);
    for d in 1..=2 * r {
        for (o, &v) in out.iter_mut().zip(&padded[d..d + w]) {
            *o += v;
        }
    }
    for (o, &k) in out.iter_mut().zip(inv) {
        *o *= k;
    }
}

/// The vertical half of the direct box mean: `out = (rows[0] + rows[1] + ...) * inv`, added in
/// that order. Call it inside [`crate::simd::dispatch`].
#[inline(always)]
pub(crate) fn stack_mean_row<'a>(mut rows: impl Iterator<Item = &'a [f32]>, inv: f32, out: &mut [f32]) {
    out.copy_from_slice(rows.next().expect("a window holds its own row"));
    for row in rows {
        add_row(out, row, 1.0);
    }
    for o in out.iter_mut() {
        *o *= inv;
    }
}

/// `acc += sign * row`, sample by sample.
#[inline]
pub(crate) fn add_row(acc: &mut [f32], row: &[f32], sign: f32) {
    for (a, v) in acc.iter_mut().zip(row) {
        *a += sign * v;
    }
}

/// Normalised Gaussian weights for offsets `-r..=r`, `r = ceil(3 sigma)`.
pub fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil().max(1.0) as i32;
    let w: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let total: f32 = w.iter().sum();
    w.into_iter().map(|v| v / total).collect()
}

/// Gaussian blur with standard deviation `sigma` (in samples), edges clamped.
pub fn gaussian_blur(src: &Plane, sigma: f32) -> Plane {
    if sigma <= 0.0 {
        return src.clone();
    }
    convolve_separable(src, &gaussian_kernel(sigma))
}

/// Convolves rows then columns with the same odd-length symmetric kernel, edges clamped.
pub fn convolve_separable(src: &Plane, kernel: &[f32]) -> Plane {
    let (w, h) = (src.width(), src.height());
    let r = kernel.len() / 2;
    if w == 0 || h == 0 {
        return src.clone();
    }
    let mut tmp = Plane::new(w, h);
    tmp.par_rows_mut().enumerate().for_each_init(
        || vec![0f32; w + 2 * r],
        |padded, (y, out)| {
            let row = src.row(y);
            for (i, p) in padded.iter_mut().enumerate() {
                *p = row[(i as isize - r as isize).clamp(0, w as isize - 1) as usize];
            }
            let inputs: Vec<&[f32]> = (0..kernel.len()).map(|k| &padded[k..k + w]).collect();
            crate::simd::dispatch(|| convolve_row(kernel, &inputs, out))
        },
    );
    let mut out = Plane::new(w, h);
    out.par_rows_mut().enumerate().for_each(|(y, out_row)| {
        let inputs: Vec<&[f32]> = (0..kernel.len())
            .map(|k| tmp.row((y as isize + k as isize - r as isize).clamp(0, h as isize - 1) as usize))
            .collect();
        crate::simd::dispatch(|| convolve_row(kernel, &inputs, out_row))
    });
    out
}

/// `out[x] = sum over k of weights[k] * inputs[k][x]` (each input as long as `out`), summed
/// from tap 0 up (the order fixes the rounding). A block of 64 outputs stays in registers
/// across all the taps instead of the row being loaded and stored once per tap, which made the
/// blur bound by memory operations (eight accumulators also hide the additions' latency; 16
/// outputs gained half as much). Call it inside [`crate::simd::dispatch`].
#[inline(always)]
fn convolve_row(weights: &[f32], inputs: &[&[f32]], out: &mut [f32]) {
    const BLOCK: usize = 64;
    let w = out.len();
    let mut blocks = out.chunks_exact_mut(BLOCK);
    for (b, block) in (&mut blocks).enumerate() {
        let x0 = b * BLOCK;
        let mut acc = [0f32; BLOCK];
        for (&wk, row) in weights.iter().zip(inputs) {
            let row: &[f32; BLOCK] = row[x0..x0 + BLOCK].try_into().expect("a block");
            for i in 0..BLOCK {
                acc[i] += wk * row[i];
            }
        }
        block.copy_from_slice(&acc);
    }
    let tail = blocks.into_remainder();
    let x0 = w - tail.len();
    tail.fill(0.0);
    for (&wk, row) in weights.iter().zip(inputs) {
        for (o, &v) in tail.iter_mut().zip(&row[x0..w]) {
            *o += wk * v;
        }
    }
}

/// Gradient magnitude with the 3x3 Sobel kernels, edges clamped.
pub fn sobel_magnitude(src: &Plane) -> Plane {
    let (w, h) = (src.width() as isize, src.height() as isize);
    let at = |x: isize, y: isize| src.get(x.clamp(0, w - 1) as usize, y.clamp(0, h - 1) as usize);
    Plane::from_fn(src.width(), src.height(), |x, y| {
        let (x, y) = (x as isize, y as isize);
        let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
            - at(x - 1, y - 1)
            - 2.0 * at(x - 1, y)
            - at(x - 1, y + 1);
        let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
            - at(x - 1, y - 1)
            - 2.0 * at(x, y - 1)
            - at(x + 1, y - 1);
        (gx * gx + gy * gy).sqrt()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_box(src: &Plane, r: usize) -> Plane {
        let (w, h) = (src.width() as isize, src.height() as isize);
        Plane::from_fn(src.width(), src.height(), |x, y| {
            let (mut s, mut n) = (0.0, 0.0);
            for yy in (y as isize - r as isize).max(0)..=(y as isize + r as isize).min(h - 1) {
                for xx in (x as isize - r as isize).max(0)..=(x as isize + r as isize).min(w - 1) {
                    s += src.get(xx as usize, yy as usize);
                    n += 1.0;
                }
            }
            s / n
        })
    }

    #[test]
    fn box_mean_matches_naive_window_on_odd_sizes() {
        let src = Plane::from_fn(37, 23, |x, y| ((x * 7 + y * 13) % 17) as f32 / 16.0);
        for r in [1, 2, 5, 8, 9, 12, 30] {
            let fast = box_mean(&src, r);
            let slow = naive_box(&src, r);
            for (a, b) in fast.data().iter().zip(slow.data()) {
                assert!((a - b).abs() < 1e-4, "r={r}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn the_separable_convolution_adds_each_output_s_taps_in_order() {
        // Odd sizes: a tail after the 64-sample blocks, rows shorter than a block or the kernel.
        for (w, h) in [(203, 41), (5, 9), (37, 2)] {
            let src = Plane::from_fn(w, h, |x, y| ((x * 7 + y * 13) % 17) as f32 / 16.0 + 0.01 * (x as f32).sin());
            let kernel = gaussian_kernel(2.4);
            let r = kernel.len() as isize / 2;
            let clamp = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
            let across = Plane::from_fn(w, h, |x, y| {
                let mut acc = 0.0;
                for (k, &wk) in kernel.iter().enumerate() {
                    acc += wk * src.get(clamp(x as isize + k as isize - r, w), y);
                }
                acc
            });
            let expected = Plane::from_fn(w, h, |x, y| {
                let mut acc = 0.0;
                for (k, &wk) in kernel.iter().enumerate() {
                    acc += wk * across.get(x, clamp(y as isize + k as isize - r, h));
                }
                acc
            });
            let (baseline, best) = crate::simd::both_levels(|| convolve_separable(&src, &kernel));
            assert_eq!(baseline, expected, "{w}x{h}, baseline instructions");
            assert_eq!(best, expected, "{w}x{h}, best instructions");
        }
    }

    #[test]
    fn box_mean_and_gaussian_give_the_same_bits_on_every_instruction_set() {
        let src = Plane::from_fn(203, 41, |x, y| ((x * 7 + y * 13) % 17) as f32 / 16.0);
        for r in [2, 12] {
            let (baseline, best) = crate::simd::both_levels(|| box_mean(&src, r));
            assert_eq!(baseline, best, "box mean, radius {r}");
        }
        let (baseline, best) = crate::simd::both_levels(|| gaussian_blur(&src, 1.5));
        assert_eq!(baseline, best, "gaussian");
    }

    #[test]
    fn gaussian_preserves_constant_and_mean() {
        let flat = Plane::filled(20, 11, 0.25);
        assert!(gaussian_blur(&flat, 2.0).data().iter().all(|v| (v - 0.25).abs() < 1e-6));
        let src = Plane::from_fn(64, 48, |x, y| if (x / 8 + y / 8) % 2 == 0 { 1.0 } else { 0.0 });
        let blurred = gaussian_blur(&src, 1.5);
        assert!((blurred.mean() - src.mean()).abs() < 0.01);
        assert!(blurred.data().iter().all(|&v| (0.0..=1.0 + 1e-6).contains(&v)));
    }
}
