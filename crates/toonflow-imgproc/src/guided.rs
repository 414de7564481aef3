//! The fast colour guided filter (He, Sun & Tang 2013, "Guided Image Filtering"; the subsampled
//! "fast" variant from He & Sun 2015, arXiv:1505.00996), self-guided on a 3-channel image.
//!
//! Each output pixel is a local affine function of the guide colour, `q = A^T I + b`, fitted over
//! a box window. Where the window holds an edge (high covariance) `A` stays near identity and the
//! edge survives; in flat or weakly textured areas (`cov << eps`) `A` goes to zero and `q` to the
//! local mean. The fit runs at `1/subsample` resolution; the coefficients are upsampled
//! bilinearly and applied to the full-resolution guide, so edges stay sharp at a fraction of the
//! cost (`subsample = 4` does the box filters on 1/16 of the pixels).

use crate::blur::{stack_mean_row, window_inv_counts, window_mean_row, window_rows};
use crate::frame::{Plane, MIN_TASK_SAMPLES};
use crate::resize::downsample_box;
use rayon::prelude::*;

/// Settings of [`guided_filter_self`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GuidedConfig {
    /// Window radius in full-resolution pixels; larger flattens bigger regions.
    pub radius: usize,
    /// Regulariser: variances (in squared channel units) below this are smoothed away.
    pub eps: f32,
    /// Fit the coefficients at `1/subsample` resolution (1 = exact filter).
    pub subsample: usize,
    /// Filter passes; each flattens more. Passes after the first run at the fitting resolution,
    /// so they cost little: the full-resolution image is touched once.
    pub passes: usize,
}

impl Default for GuidedConfig {
    fn default() -> Self {
        Self { radius: 8, eps: 0.004, subsample: 4, passes: 1 }
    }
}

/// Edge-preserving smoothing of a 3-channel image guided by itself.
///
/// With one pass this is the fast guided filter. With more, the low-resolution copy is filtered
/// again by itself, and the final coefficients map the original low-resolution guide onto that
/// result, then are applied at full resolution.
pub fn guided_filter_self(src: &[Plane; 3], cfg: &GuidedConfig) -> [Plane; 3] {
    let (w, h) = (src[0].width(), src[0].height());
    if w == 0 || h == 0 || cfg.passes == 0 {
        return src.clone();
    }
    let s = cfg.subsample.clamp(1, w.min(h).max(1));
    let r = (cfg.radius / s).max(1);
    let low: [Plane; 3] = {
        let v: Vec<Plane> = src.par_iter().map(|p| downsample_box(p, s)).collect();
        v.try_into().expect("three planes")
    };
    let mut target = low.clone();
    for _ in 1..cfg.passes {
        target = apply_upsampled(&target, &fit_coefficients(&target, &target, r, cfg.eps), [1.0; 2]);
    }
    apply_upsampled(src, &fit_coefficients(&low, &target, r, cfg.eps), [s as f32; 2])
}

/// Joint upsampling: brings `low_target`, computed from `low_guide` (a shrunk copy of `guide`),
/// to `guide`'s size with `guide`'s edges.
///
/// The local affine map from guide colour to target colour is fitted at low resolution over
/// `(2 radius + 1)²` windows, its coefficients are interpolated, and it is applied to the
/// full-resolution guide (the fast guided filter as He & Sun 2015 and Wu et al., CVPR 2018,
/// use it to upsample a network's output). Where the target follows the guide's edges, those
/// edges come back sharp; plain interpolation would blur them. `eps` is in squared channel units.
///
/// # Panics
/// If `low_guide` and `low_target` differ in size, or either is larger than `guide`.
pub fn guided_upsample(
    guide: &[Plane; 3],
    low_guide: &[Plane; 3],
    low_target: &[Plane; 3],
    radius: usize,
    eps: f32,
) -> [Plane; 3] {
    let size = |p: &[Plane; 3]| (p[0].width(), p[0].height());
    let ((w, h), (lw, lh)) = (size(guide), size(low_guide));
    assert_eq!(size(low_target), (lw, lh), "the low-resolution guide and target differ in size");
    assert!(lw <= w && lh <= h && lw > 0 && lh > 0, "{lw}x{lh} is not a shrunk copy of {w}x{h}");
    let mut coeffs = fit_coefficients(low_guide, low_target, radius.max(1), eps);
    // What the affine maps miss (thin lines drawn where the guide has no edge) goes into their
    // offsets, so it is interpolated with them and such lines keep their place.
    let fitted = apply_upsampled(low_guide, &coeffs, [1.0; 2]);
    for (k, (t, f)) in low_target.iter().zip(&fitted).enumerate() {
        let b = coeffs[9 + k].data_mut();
        b.iter_mut().zip(t.data().iter().zip(f.data())).for_each(|(b, (t, f))| *b += t - f);
    }
    apply_upsampled(guide, &coeffs, [w as f32 / lw as f32, h as f32 / lh as f32])
}

/// Index of channel pair `(c, d)`, `c <= d`, in the 6 second moments of the guide.
const PAIRS: [(usize, usize); 6] = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];

/// The quantities a fit box-filters, one row at a time: the guide's three channels and their six
/// products (all a self-guided fit needs), then, for another target, its three channels and
/// their nine products with the guide's (`I_c p_k` at `12 + 3c + k`).
struct Moments<'a> {
    guide: &'a [Plane; 3],
    /// `None` when the target is the guide itself.
    target: Option<&'a [Plane; 3]>,
}

impl Moments<'_> {
    fn count(&self) -> usize {
        if self.target.is_some() {
            21
        } else {
            9
        }
    }

    /// Row `y` of quantity `q` into `dst`.
    #[inline(always)]
    fn row(&self, q: usize, y: usize, dst: &mut [f32]) {
        let product = |a: &[f32], b: &[f32], dst: &mut [f32]| {
            for ((o, &a), &b) in dst.iter_mut().zip(a).zip(b) {
                *o = a * b;
            }
        };
        let g = |c: usize| self.guide[c].row(y);
        match (q, self.target) {
            (0..3, _) => dst.copy_from_slice(g(q)),
            (3..9, _) => product(g(PAIRS[q - 3].0), g(PAIRS[q - 3].1), dst),
            (9..12, Some(t)) => dst.copy_from_slice(t[q - 9].row(y)),
            (_, Some(t)) => product(g((q - 12) / 3), t[(q - 12) % 3].row(y), dst),
            (_, None) => unreachable!("a self-guided fit has 9 moments"),
        }
    }

    /// Where the solve finds its inputs among the box means of [`Self::row`]'s quantities:
    /// `mean(I_c)`, `mean(I_c I_d)` by pair, `mean(p_k)` and `mean(I_c p_k)` (row-major).
    fn layout(&self) -> ([usize; 3], [usize; 6], [usize; 3], [usize; 9]) {
        let pair = |c: usize, k: usize| 3 + PAIRS.iter().position(|&p| p == (c.min(k), c.max(k))).expect("a pair");
        let cross = std::array::from_fn(|j| if self.target.is_some() { 12 + j } else { pair(j / 3, j % 3) });
        let target_mean = std::array::from_fn(|k| if self.target.is_some() { 9 + k } else { k });
        ([0, 1, 2], std::array::from_fn(|j| 3 + j), target_mean, cross)
    }
}

/// Box-averaged coefficients of the local affine fit from `guide` to `target`: 9 planes of `A`
/// (row-major, `A[c][k]` maps guide channel `c` to output channel `k`) then 3 planes of `b`.
///
/// Three passes over the rows instead of a plane per box mean: the moments' horizontal window
/// means; their vertical means, the solve and the coefficients' horizontal means, row by row;
/// the coefficients' vertical means. Windows are summed sample by sample, as [`box_mean`] sums
/// them up to radius 8 (the presets fit with radius 2), so the same bits as a box mean per
/// moment (tested against that reference) for half the time: the fit runs at low resolution,
/// where a pass over a small plane costs little beside allocating, clearing and handing it
/// between threads.
///
/// [`box_mean`]: crate::blur::box_mean
fn fit_coefficients(guide: &[Plane; 3], target: &[Plane; 3], r: usize, eps: f32) -> Vec<Plane> {
    let (w, h) = (guide[0].width(), guide[0].height());
    // A window wider than the row only adds zeros beyond it: the sums, and their cost, stop at
    // the row's width whatever radius a user asks for. (Vertical windows stop at the image.)
    let (rx, ry) = (r.min(w.saturating_sub(1)), r);
    // A self-guided fit (each smoothing pass) has its cross moments among the guide's own.
    let moments = Moments { guide, target: (!std::ptr::eq(guide, target)).then_some(target) };
    let nq = moments.count();
    let inv_x = window_inv_counts(w, rx);
    let rows_per_task = MIN_TASK_SAMPLES.div_ceil(w * nq).max(1);
    let padded_row = || vec![0f32; w + 2 * rx];
    // Pass 1: row y holds the horizontal window means of the nq quantities, side by side.
    let mut across = vec![0f32; h * nq * w];
    across.par_chunks_mut(nq * w).with_min_len(rows_per_task).enumerate().for_each_init(
        padded_row,
        |padded, (y, out)| {
            crate::simd::dispatch(|| {
                for (q, out) in out.chunks_exact_mut(w).enumerate() {
                    moments.row(q, y, &mut padded[rx..rx + w]);
                    window_mean_row(padded, rx, &inv_x, out);
                }
            })
        },
    );
    // Pass 2: per row, the box means of the moments, the solve, and the horizontal window
    // means of the 12 coefficients.
    let (mi, ii, mp, ip) = moments.layout();
    let mut coeffs_across = vec![0f32; h * 12 * w];
    coeffs_across.par_chunks_mut(12 * w).with_min_len(rows_per_task).enumerate().for_each_init(
        || (vec![0f32; nq * w], vec![0f32; 12 * (w + 2 * rx)]),
        |(means, solved), (y, out)| {
            let (rows, inv_y) = window_rows(y, ry, h);
            crate::simd::dispatch(|| {
                for (q, mean) in means.chunks_exact_mut(w).enumerate() {
                    stack_mean_row(rows.clone().map(|yy| &across[(yy * nq + q) * w..][..w]), inv_y, mean);
                }
                let mean = |q: usize| &means[q * w..(q + 1) * w];
                let mut padded_rows = solved.chunks_exact_mut(w + 2 * rx);
                let outs: [&mut [f32]; 12] =
                    std::array::from_fn(|_| &mut padded_rows.next().expect("12 coefficient rows")[rx..rx + w]);
                solve_row(mi.map(mean), ii.map(mean), mp.map(mean), ip.map(mean), eps, outs);
                for (padded, out) in solved.chunks_exact(w + 2 * rx).zip(out.chunks_exact_mut(w)) {
                    window_mean_row(padded, rx, &inv_x, out);
                }
            })
        },
    );
    // Pass 3: the coefficients' vertical window means.
    let mut coeffs: [Plane; 12] = std::array::from_fn(|_| Plane::new(w, h));
    Plane::par_rows_mut_n(&mut coeffs).enumerate().for_each(|(y, outs)| {
        let (rows, inv_y) = window_rows(y, ry, h);
        crate::simd::dispatch(|| {
            for (j, out) in outs.into_iter().enumerate() {
                stack_mean_row(rows.clone().map(|yy| &coeffs_across[(yy * 12 + j) * w..][..w]), inv_y, out);
            }
        })
    });
    coeffs.into()
}

/// One row of the fit: per pixel, `A = (S + eps I)^-1 C` with `S` the guide's covariance and
/// `C` its covariance with the target, and `b = mean(p) - A^T mean(I)`, from the box means of
/// the guide (`mi`), its pair products (`ii`, by [`PAIRS`]), the target (`mp`) and the
/// guide-target products (`ip`, row-major `I_c p_k`). Straight-line code per pixel, so the loop
/// over the row vectorizes; call it inside [`crate::simd::dispatch`].
#[inline(always)]
fn solve_row(mi: [&[f32]; 3], ii: [&[f32]; 6], mp: [&[f32]; 3], ip: [&[f32]; 9], eps: f32, outs: [&mut [f32]; 12]) {
    let w = outs[0].len();
    let mi = mi.map(|r| &r[..w]);
    let ii = ii.map(|r| &r[..w]);
    let mp = mp.map(|r| &r[..w]);
    let ip = ip.map(|r| &r[..w]);
    let outs = outs.map(|r| &mut r[..w]);
    for x in 0..w {
        let m = [mi[0][x], mi[1][x], mi[2][x]];
        let mut sigma = [[0f32; 3]; 3];
        for (j, &(a, b)) in PAIRS.iter().enumerate() {
            let v = ii[j][x] - m[a] * m[b];
            sigma[a][b] = v;
            sigma[b][a] = v;
        }
        for (d, row) in sigma.iter_mut().enumerate() {
            row[d] += eps;
        }
        let inv = invert3(&sigma);
        let mut cov = [[0f32; 3]; 3];
        for (j, c) in ip.iter().enumerate() {
            cov[j / 3][j % 3] = c[x] - m[j / 3] * mp[j % 3][x];
        }
        for k in 0..3 {
            let mut bk = mp[k][x];
            for c in 0..3 {
                let a = inv[c][0] * cov[0][k] + inv[c][1] * cov[1][k] + inv[c][2] * cov[2][k];
                outs[c * 3 + k][x] = a;
                bk -= a * m[c];
            }
            outs[9 + k][x] = bk;
        }
    }
}

/// Inverse of a symmetric positive-definite 3x3 matrix by its adjugate.
fn invert3(m: &[[f32; 3]; 3]) -> [[f32; 3]; 3] {
    let c00 = m[1][1] * m[2][2] - m[1][2] * m[2][1];
    let c01 = m[1][2] * m[2][0] - m[1][0] * m[2][2];
    let c02 = m[1][0] * m[2][1] - m[1][1] * m[2][0];
    let det = m[0][0] * c00 + m[0][1] * c01 + m[0][2] * c02;
    let inv_det = 1.0 / det;
    let c11 = m[0][0] * m[2][2] - m[0][2] * m[2][0];
    let c12 = m[0][1] * m[2][0] - m[0][0] * m[2][1];
    let c22 = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    let c10 = m[0][2] * m[2][1] - m[0][1] * m[2][2];
    let c20 = m[0][1] * m[1][2] - m[0][2] * m[1][1];
    let c21 = m[0][2] * m[1][0] - m[0][0] * m[1][2];
    [
        [c00 * inv_det, c10 * inv_det, c20 * inv_det],
        [c01 * inv_det, c11 * inv_det, c21 * inv_det],
        [c02 * inv_det, c12 * inv_det, c22 * inv_det],
    ]
}

/// Where full-resolution sample `i` falls between low-resolution samples, `scale` full samples
/// to a low one: `(i0, i1, t)`.
fn upsample_taps(full: usize, low: usize, scale: f32) -> Vec<(usize, usize, f32)> {
    (0..full)
        .map(|i| {
            let u = ((i as f32 + 0.5) / scale - 0.5).max(0.0);
            let i0 = (u as usize).min(low - 1);
            let i1 = (i0 + 1).min(low - 1);
            (i0, i1, u - i0 as f32)
        })
        .collect()
}

/// A row's horizontal upsampling as runs of consecutive outputs between the same two low
/// samples `(i0, i1)`, with each output's weight `t`: the two samples are read once per run
/// (about `scale` outputs) instead of gathered per output.
struct RowTaps {
    runs: Vec<(usize, usize, std::ops::Range<usize>)>,
    t: Vec<f32>,
}

impl RowTaps {
    fn new(full: usize, low: usize, scale: f32) -> Self {
        let taps = upsample_taps(full, low, scale);
        let mut runs: Vec<(usize, usize, std::ops::Range<usize>)> = Vec::new();
        for (x, &(i0, i1, _)) in taps.iter().enumerate() {
            match runs.last_mut() {
                Some((a, b, xs)) if (*a, *b) == (i0, i1) => xs.end = x + 1,
                _ => runs.push((i0, i1, x..x + 1)),
            }
        }
        Self { runs, t: taps.iter().map(|&(_, _, t)| t).collect() }
    }

    /// `dst[x] = row[i0] + (row[i1] - row[i0]) * t[x]`.
    fn widen(&self, row: &[f32], dst: &mut [f32]) {
        for &(i0, i1, ref xs) in &self.runs {
            let (v0, v1) = (row[i0], row[i1]);
            for (d, &t) in dst[xs.clone()].iter_mut().zip(&self.t[xs.clone()]) {
                *d = v0 + (v1 - v0) * t;
            }
        }
    }
}

/// Two low-resolution rows of the 12 coefficient planes, widened to full resolution, and which
/// rows they are: consecutive output rows mostly read the same pair, so each low row is widened
/// about once per band of output rows instead of once per output row.
struct WidenedRows {
    rows: [Option<usize>; 2],
    data: [Vec<f32>; 2],
}

/// `q_k = sum_c A[c][k] I_c + b_k` for one pixel row, the 12 coefficient rows interpolated
/// vertically between `top` and `bottom` by `ty`. Call it inside [`crate::simd::dispatch`].
#[inline(always)]
fn apply_row(guide: [&[f32]; 3], top: [&[f32]; 12], bottom: [&[f32]; 12], ty: f32, out: [&mut [f32]; 3]) {
    let w = guide[0].len();
    let g = guide.map(|r| &r[..w]);
    for (k, out_row) in out.into_iter().enumerate() {
        // Every slice re-cut to exactly `w` so the loop runs without bounds checks.
        let [t0, t1, t2, tb] = [k, 3 + k, 6 + k, 9 + k].map(|j| &top[j][..w]);
        let [u0, u1, u2, ub] = [k, 3 + k, 6 + k, 9 + k].map(|j| &bottom[j][..w]);
        let out_row = &mut out_row[..w];
        for x in 0..w {
            let a0 = t0[x] + (u0[x] - t0[x]) * ty;
            let a1 = t1[x] + (u1[x] - t1[x]) * ty;
            let a2 = t2[x] + (u2[x] - t2[x]) * ty;
            let b = tb[x] + (ub[x] - tb[x]) * ty;
            out_row[x] = a0 * g[0][x] + a1 * g[1][x] + a2 * g[2][x] + b;
        }
    }
}

/// Bilinearly upsamples the coefficients (`[x, y]` full samples to a low one) and applies
/// `q_k = sum_c A[c][k] I_c + b_k`.
fn apply_upsampled(guide: &[Plane; 3], coeffs: &[Plane], [sx, sy]: [f32; 2]) -> [Plane; 3] {
    let (w, h) = (guide[0].width(), guide[0].height());
    let (lw, lh) = (coeffs[0].width(), coeffs[0].height());
    let mut out = [Plane::new(w, h), Plane::new(w, h), Plane::new(w, h)];
    if (lw, lh) == (w, h) && [sx, sy] == [1.0; 2] {
        // Same size (the smoothing passes at the fit's resolution): every weight is 0, so the
        // coefficients apply as they are.
        Plane::par_rows_mut_n(&mut out).enumerate().for_each(|(y, outs)| {
            let rows: [&[f32]; 12] = std::array::from_fn(|j| coeffs[j].row(y));
            let g = [guide[0].row(y), guide[1].row(y), guide[2].row(y)];
            crate::simd::dispatch(|| apply_row(g, rows, rows, 0.0, outs))
        });
        return out;
    }
    let xt = RowTaps::new(w, lw, sx);
    let yt = upsample_taps(h, lh, sy);
    // Bands of output rows, each with its own widened rows: within a band the low rows are
    // widened once each (a band spans about `band / sy` of them, plus one).
    let band = MIN_TASK_SAMPLES.div_ceil(w).max(8);
    let [o0, o1, o2] = &mut out;
    let bands = o0.data_mut().par_chunks_mut(band * w).zip(o1.data_mut().par_chunks_mut(band * w));
    bands.zip(o2.data_mut().par_chunks_mut(band * w)).enumerate().for_each(|(bi, ((c0, c1), c2))| {
        let mut cache = WidenedRows { rows: [None; 2], data: [vec![0f32; 12 * w], vec![0f32; 12 * w]] };
        let rows = c0.chunks_exact_mut(w).zip(c1.chunks_exact_mut(w)).zip(c2.chunks_exact_mut(w));
        for (i, ((r0, r1), r2)) in rows.enumerate() {
            let y = bi * band + i;
            let (y0, y1, ty) = yt[y];
            if cache.rows[1] == Some(y0) && cache.rows[0] != Some(y0) {
                cache.rows.swap(0, 1);
                cache.data.swap(0, 1);
            }
            for (slot, ly) in [y0, y1].into_iter().enumerate() {
                if cache.rows[slot] != Some(ly) {
                    for (plane, dst) in coeffs.iter().zip(cache.data[slot].chunks_exact_mut(w)) {
                        xt.widen(plane.row(ly), dst);
                    }
                    cache.rows[slot] = Some(ly);
                }
            }
            let g = [guide[0].row(y), guide[1].row(y), guide[2].row(y)];
            let [top, bottom] = cache.data.each_ref().map(|d| std::array::from_fn(|j| &d[j * w..(j + 1) * w]));
            crate::simd::dispatch(|| apply_row(g, top, bottom, ty, [r0, r1, r2]))
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resize::{resize_plane, ResizeFilter};

    /// Deterministic pseudo-random noise in [-0.5, 0.5].
    fn noise(x: usize, y: usize, seed: u32) -> f32 {
        let mut v = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77) ^ seed;
        v ^= v >> 15;
        v = v.wrapping_mul(0x2C1B_3C6D);
        v ^= v >> 12;
        (v & 0xFFFF) as f32 / 65535.0 - 0.5
    }

    /// A "photo" of a disc and a bar on a backdrop, with texture noise; its "drawing" (the
    /// shapes in flat colours, with dark outlines where the photo has edges if `outlined`); and
    /// which pixels are outline.
    fn photo_and_drawing(w: usize, h: usize, outlined: bool) -> ([Plane; 3], [Plane; 3], Vec<bool>) {
        let region = |x: usize, y: usize| {
            let (dx, dy) = (x as f32 - 0.35 * w as f32, y as f32 - 0.5 * h as f32);
            if dx * dx + dy * dy < (0.25 * h as f32).powi(2) {
                1
            } else if x > 6 * w / 10 && x < 8 * w / 10 {
                2
            } else {
                0
            }
        };
        let colours = [[0.3, 0.5, 0.7], [0.8, 0.4, 0.2], [0.2, 0.7, 0.3]];
        let photo =
            [0, 1, 2].map(|c| Plane::from_fn(w, h, |x, y| colours[region(x, y)][c] + 0.08 * noise(x, y, c as u32)));
        let outline: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let near = |xx: usize, yy: usize| region(xx, yy) != region(x, y);
                outlined
                    && (x.saturating_sub(1)..(x + 2).min(w))
                        .any(|xx| (y.saturating_sub(1)..(y + 2).min(h)).any(|yy| near(xx, yy)))
            })
            .collect();
        let drawing = [0, 1, 2].map(|c| {
            Plane::from_fn(w, h, |x, y| if outline[y * w + x] { 0.05 } else { 0.9 * colours[region(x, y)][c] + 0.05 })
        });
        (photo, drawing, outline)
    }

    /// The fit by its definition: a plane per moment, [`box_mean`] of each, the solve, and a
    /// box mean of each coefficient plane.
    fn fit_by_planes(guide: &[Plane; 3], target: &[Plane; 3], r: usize, eps: f32) -> Vec<Plane> {
        use crate::blur::box_mean;
        let (w, h) = (guide[0].width(), guide[0].height());
        let product =
            |a: &Plane, b: &Plane| Plane::from_vec(w, h, a.data().iter().zip(b.data()).map(|(x, y)| x * y).collect());
        let mi = guide.clone().map(|p| box_mean(&p, r));
        let ii: [Plane; 6] = std::array::from_fn(|j| box_mean(&product(&guide[PAIRS[j].0], &guide[PAIRS[j].1]), r));
        let mp = target.clone().map(|p| box_mean(&p, r));
        let ip: [Plane; 9] = std::array::from_fn(|j| box_mean(&product(&guide[j / 3], &target[j % 3]), r));
        let mut solved: [Plane; 12] = std::array::from_fn(|_| Plane::new(w, h));
        for y in 0..h {
            let outs = solved.each_mut().map(|p| &mut p.data_mut()[y * w..(y + 1) * w]);
            fn rows<const N: usize>(planes: &[Plane; N], y: usize) -> [&[f32]; N] {
                planes.each_ref().map(|p| p.row(y))
            }
            solve_row(rows(&mi, y), rows(&ii, y), rows(&mp, y), rows(&ip, y), eps, outs);
        }
        solved.iter().map(|p| box_mean(p, r)).collect()
    }

    #[test]
    fn the_row_streamed_fit_gives_the_bits_of_a_box_mean_per_moment() {
        let (photo, drawing, _) = photo_and_drawing(67, 41, true);
        for r in [1, 2, 5] {
            for (name, target) in [("self-guided", &photo), ("drawing", &drawing)] {
                let expected = fit_by_planes(&photo, target, r, 0.003);
                let (baseline, best) = crate::simd::both_levels(|| fit_coefficients(&photo, target, r, 0.003));
                assert_eq!(baseline, expected, "{name}, radius {r}, baseline instructions");
                assert_eq!(best, expected, "{name}, radius {r}, best instructions");
            }
        }
        // Past radius 8 box_mean keeps running sums instead: the same means, rounded otherwise.
        let (expected, fused) =
            (fit_by_planes(&photo, &drawing, 100, 0.003), fit_coefficients(&photo, &drawing, 100, 0.003));
        for (e, f) in expected.iter().zip(&fused) {
            for (a, b) in e.data().iter().zip(f.data()) {
                assert!((a - b).abs() <= 1e-3 * (1.0 + a.abs()), "radius 100: {a} vs {b}");
            }
        }
    }

    #[test]
    fn applying_upsampled_coefficients_gives_the_bits_of_per_pixel_bilinear_taps() {
        let (photo, drawing, _) = photo_and_drawing(61, 37, false);
        for (lw, lh) in [(16, 10), (61, 37), (23, 19)] {
            let shrink = |p: &[Plane; 3]| p.clone().map(|q| resize_plane(&q, lw, lh, ResizeFilter::Area));
            let coeffs = fit_coefficients(&shrink(&photo), &shrink(&drawing), 2, 0.01);
            let scale = [61.0 / lw as f32, 37.0 / lh as f32];
            let (xt, yt) = (upsample_taps(61, lw, scale[0]), upsample_taps(37, lh, scale[1]));
            let expected: [Plane; 3] = std::array::from_fn(|k| {
                Plane::from_fn(61, 37, |x, y| {
                    let ((x0, x1, tx), (y0, y1, ty)) = (xt[x], yt[y]);
                    let at = |j: usize, yy: usize| {
                        let v0 = coeffs[j].get(x0, yy);
                        v0 + (coeffs[j].get(x1, yy) - v0) * tx
                    };
                    let c = |j: usize| at(j, y0) + (at(j, y1) - at(j, y0)) * ty;
                    c(k) * photo[0].get(x, y) + c(3 + k) * photo[1].get(x, y) + c(6 + k) * photo[2].get(x, y) + c(9 + k)
                })
            });
            let (baseline, best) = crate::simd::both_levels(|| apply_upsampled(&photo, &coeffs, scale));
            assert_eq!(baseline, expected, "{lw}x{lh}, baseline instructions");
            assert_eq!(best, expected, "{lw}x{lh}, best instructions");
        }
    }

    /// `drawing` computed at `lw x lh` and brought back up, by guided upsampling and bilinearly.
    fn both_upsamplings(photo: &[Plane; 3], drawing: &[Plane; 3], lw: usize, lh: usize) -> [[Plane; 3]; 2] {
        let (w, h) = (photo[0].width(), photo[0].height());
        let shrink = |p: &[Plane; 3]| p.clone().map(|q| resize_plane(&q, lw, lh, ResizeFilter::Area));
        let (low_photo, low_drawing) = (shrink(photo), shrink(drawing));
        let guided = guided_upsample(photo, &low_photo, &low_drawing, 1, 0.01);
        assert_eq!((guided[0].width(), guided[0].height()), (w, h));
        [guided, low_drawing.map(|q| resize_plane(&q, w, h, ResizeFilter::Bilinear))]
    }

    #[test]
    fn guided_upsampling_restores_the_edges_of_flat_regions() {
        let (photo, drawing, _) = photo_and_drawing(300, 200, false);
        let rms = |p: &[Plane; 3]| {
            let sum: f32 = (0..3)
                .map(|c| p[c].data().iter().zip(drawing[c].data()).map(|(a, b)| (a - b).powi(2)).sum::<f32>())
                .sum();
            (sum / (3 * 300 * 200) as f32).sqrt()
        };
        for (lw, lh) in [(150, 100), (107, 71)] {
            let [guided, bilinear] = both_upsamplings(&photo, &drawing, lw, lh);
            let (g, b) = (rms(&guided), rms(&bilinear));
            assert!(g < 0.4 * b, "{lw}x{lh}: guided rms {g} vs bilinear {b}");
        }
    }

    #[test]
    fn guided_upsampling_keeps_lines_the_guide_does_not_have() {
        let (photo, drawing, outline) = photo_and_drawing(300, 200, true);
        let mean_on_lines = |p: &[Plane; 3]| {
            let n = outline.iter().filter(|&&o| o).count();
            let sum: f32 =
                (0..3).map(|c| p[c].data().iter().zip(&outline).filter(|(_, &o)| o).map(|(v, _)| v).sum::<f32>()).sum();
            sum / (3 * n) as f32
        };
        let (lines, paper) = (mean_on_lines(&drawing), 0.9 * 0.2 + 0.05);
        for (lw, lh) in [(150, 100), (107, 71)] {
            let [guided, bilinear] = both_upsamplings(&photo, &drawing, lw, lh);
            let (g, b) = (mean_on_lines(&guided), mean_on_lines(&bilinear));
            // The lines stay darker than the darkest paint, and nearly as dark as interpolated.
            assert!(g < paper && g < b + 0.05, "{lw}x{lh}: lines {lines}, guided {g}, bilinear {b}");
        }
    }

    #[test]
    fn guided_upsampling_of_a_copy_of_the_guide_is_the_guide() {
        let (photo, _, _) = photo_and_drawing(64, 48, false);
        let out = guided_upsample(&photo, &photo, &photo, 2, 1e-6);
        for c in 0..3 {
            for (a, b) in out[c].data().iter().zip(photo[c].data()) {
                assert!((a - b).abs() < 2e-3, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn keeps_a_step_edge_and_flattens_noise() {
        // A vertical step from 0.2 to 0.8 in L with noise of std ~0.03 on both sides.
        let (w, h) = (96, 70);
        let clean = |x: usize| if x < w / 2 { 0.2 } else { 0.8 };
        let l = Plane::from_fn(w, h, |x, y| clean(x) + 0.1 * noise(x, y, 1));
        let a = Plane::from_fn(w, h, |x, y| 0.02 * noise(x, y, 2));
        let b = Plane::from_fn(w, h, |x, y| 0.02 * noise(x, y, 3));
        for subsample in [1, 2, 4] {
            let cfg = GuidedConfig { radius: 6, eps: 0.01, subsample, passes: 1 };
            let [out, _, _] = guided_filter_self(&[l.clone(), a.clone(), b.clone()], &cfg);
            // RMS error more than one window away from the edge.
            let err = |p: &Plane| {
                let (mut s, mut n) = (0.0, 0);
                for y in 0..h {
                    for x in (0..w).filter(|&x| x.abs_diff(w / 2) > 8) {
                        s += (p.get(x, y) - clean(x)).powi(2);
                        n += 1;
                    }
                }
                (s / n as f32).sqrt()
            };
            // Noise falls at least threefold away from the edge...
            let (before, after) = (err(&l), err(&out));
            assert!(after < before / 3.0, "subsample {subsample}: rms error {before} -> {after}");
            // ...and the step stays a step: two pixels either side keep most of the contrast.
            let step: f32 = (0..h).map(|y| out.get(w / 2 + 1, y) - out.get(w / 2 - 2, y)).sum::<f32>() / h as f32;
            assert!(step > 0.5, "subsample {subsample}: step contrast {step} of 0.6");
        }
    }
}
