//! The fast colour guided filter (He, Sun & Tang 2013, "Guided Image Filtering"; the subsampled
//! "fast" variant from He & Sun 2015, arXiv:1505.00996), self-guided on a 3-channel image.
//!
//! Each output pixel is a local affine function of the guide colour, `q = A^T I + b`, fitted over
//! a box window. Where the window holds an edge (high covariance) `A` stays near identity and the
//! edge survives; in flat or weakly textured areas (`cov << eps`) `A` goes to zero and `q` to the
//! local mean. The fit runs at `1/subsample` resolution; the coefficients are upsampled
//! bilinearly and applied to the full-resolution guide, so edges stay sharp at a fraction of the
//! cost (`subsample = 4` does the box filters on 1/16 of the pixels).

use crate::blur::box_mean;
use crate::frame::Plane;
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

fn box_of_product(a: &Plane, b: &Plane, r: usize) -> Plane {
    let prod = Plane::from_vec(a.width(), a.height(), a.data().iter().zip(b.data()).map(|(x, y)| x * y).collect());
    box_mean(&prod, r)
}

/// Box-averaged coefficients of the local affine fit from `guide` to `target`: 9 planes of `A`
/// (row-major, `A[c][k]` maps guide channel `c` to output channel `k`) then 3 planes of `b`.
fn fit_coefficients(guide: &[Plane; 3], target: &[Plane; 3], r: usize, eps: f32) -> Vec<Plane> {
    let (w, h) = (guide[0].width(), guide[0].height());
    // A self-guided fit (each smoothing pass) has its cross moments among the guide's own.
    let self_guided = std::ptr::eq(guide, target);
    let mean_i: Vec<Plane> = guide.par_iter().map(|p| box_mean(p, r)).collect();
    let ii: Vec<Plane> = PAIRS.par_iter().map(|&(c, d)| box_of_product(&guide[c], &guide[d], r)).collect();
    let (mean_p, ip): (Vec<Plane>, Vec<Plane>) = if self_guided {
        (Vec::new(), Vec::new())
    } else {
        rayon::join(
            || target.par_iter().map(|p| box_mean(p, r)).collect(),
            || (0..9).into_par_iter().map(|j| box_of_product(&guide[j / 3], &target[j % 3], r)).collect(),
        )
    };
    let mean_p: [&Plane; 3] = std::array::from_fn(|k| if self_guided { &mean_i[k] } else { &mean_p[k] });
    let ip: [&Plane; 9] = std::array::from_fn(|j| {
        let (c, k) = (j / 3, j % 3);
        if self_guided {
            &ii[PAIRS.iter().position(|&p| p == (c.min(k), c.max(k))).expect("a pair")]
        } else {
            &ip[j]
        }
    });
    // Per pixel: A = (S + eps I)^-1 C with S the guide's covariance and C its covariance with
    // the target; b = mean(p) - A^T mean(I). Row by row, parallel over rows, in straight-line
    // loops over x that vectorize.
    let mut solved: [Plane; 12] = std::array::from_fn(|_| Plane::new(w, h));
    Plane::par_rows_mut_n(&mut solved).enumerate().for_each(|(y, outs)| {
        let mi: [&[f32]; 3] = std::array::from_fn(|c| &mean_i[c].row(y)[..w]);
        let mp: [&[f32]; 3] = std::array::from_fn(|k| &mean_p[k].row(y)[..w]);
        let s: [&[f32]; 6] = std::array::from_fn(|j| &ii[j].row(y)[..w]);
        let cp: [&[f32]; 9] = std::array::from_fn(|j| &ip[j].row(y)[..w]);
        let outs = outs.map(|row| &mut row[..w]);
        crate::simd::dispatch(|| {
            for x in 0..w {
                let m = [mi[0][x], mi[1][x], mi[2][x]];
                let mut sigma = [[0f32; 3]; 3];
                for (j, &(a, b)) in PAIRS.iter().enumerate() {
                    let v = s[j][x] - m[a] * m[b];
                    sigma[a][b] = v;
                    sigma[b][a] = v;
                }
                for (d, row) in sigma.iter_mut().enumerate() {
                    row[d] += eps;
                }
                let inv = invert3(&sigma);
                let mut cov = [[0f32; 3]; 3];
                for (j, c) in cp.iter().enumerate() {
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
        })
    });
    solved.par_iter().map(|plane| box_mean(plane, r)).collect()
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

/// Two low-resolution rows of the 12 coefficient planes, widened to full resolution, and which
/// rows they are: consecutive output rows mostly read the same pair, so each low row is widened
/// about once per thread instead of once per output row.
struct WidenedRows {
    rows: [Option<usize>; 2],
    data: [Vec<f32>; 2],
}

/// Bilinearly upsamples the coefficients (`[x, y]` full samples to a low one) and applies
/// `q_k = sum_c A[c][k] I_c + b_k`.
fn apply_upsampled(guide: &[Plane; 3], coeffs: &[Plane], [sx, sy]: [f32; 2]) -> [Plane; 3] {
    let (w, h) = (guide[0].width(), guide[0].height());
    let lw = coeffs[0].width();
    let xt = upsample_taps(w, lw, sx);
    let yt = upsample_taps(h, coeffs[0].height(), sy);
    let widen = |ly: usize, dst: &mut [f32]| {
        for (plane, dst) in coeffs.iter().zip(dst.chunks_exact_mut(w)) {
            let row = plane.row(ly);
            for (d, &(x0, x1, tx)) in dst.iter_mut().zip(&xt) {
                let v0 = row[x0];
                *d = v0 + (row[x1] - v0) * tx;
            }
        }
    };
    let mut out = [Plane::new(w, h), Plane::new(w, h), Plane::new(w, h)];
    let [o0, o1, o2] = &mut out;
    // Per row: the two widened low rows around it (from the cache), then per output channel
    // the vertical interpolation of its four coefficients fused with their application, in
    // straight-line loops that vectorize.
    o0.par_rows_mut().zip(o1.par_rows_mut()).zip(o2.par_rows_mut()).enumerate().for_each_init(
        || WidenedRows { rows: [None; 2], data: [vec![0f32; 12 * w], vec![0f32; 12 * w]] },
        |cache, (y, ((r0, r1), r2))| {
            let (y0, y1, ty) = yt[y];
            if cache.rows[1] == Some(y0) && cache.rows[0] != Some(y0) {
                cache.rows.swap(0, 1);
                cache.data.swap(0, 1);
            }
            for (slot, ly) in [y0, y1].into_iter().enumerate() {
                if cache.rows[slot] != Some(ly) {
                    widen(ly, &mut cache.data[slot]);
                    cache.rows[slot] = Some(ly);
                }
            }
            let (top, bottom) = (&cache.data[0], &cache.data[1]);
            let (g0, g1, g2) = (&guide[0].row(y)[..w], &guide[1].row(y)[..w], &guide[2].row(y)[..w]);
            crate::simd::dispatch(|| {
                for (k, out_row) in [r0, r1, r2].into_iter().enumerate() {
                    // Every slice re-cut to exactly `w` so the loop runs without bounds checks.
                    let [t0, t1, t2, tb] = [k, 3 + k, 6 + k, 9 + k].map(|j| &top[j * w..(j + 1) * w]);
                    let [u0, u1, u2, ub] = [k, 3 + k, 6 + k, 9 + k].map(|j| &bottom[j * w..(j + 1) * w]);
                    let out_row = &mut out_row[..w];
                    for x in 0..w {
                        let a0 = t0[x] + (u0[x] - t0[x]) * ty;
                        let a1 = t1[x] + (u1[x] - t1[x]) * ty;
                        let a2 = t2[x] + (u2[x] - t2[x]) * ty;
                        let b = tb[x] + (ub[x] - tb[x]) * ty;
                        out_row[x] = a0 * g0[x] + a1 * g1[x] + a2 * g2[x] + b;
                    }
                }
            })
        },
    );
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
