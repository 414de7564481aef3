//! Resampling: separable Lanczos-3, area (exact pixel-coverage averaging, the right filter for
//! shrinking) and bilinear, plus a fast integer box downsample used by the guided filter.

use crate::frame::{Frame, Plane};
use rayon::prelude::*;
use std::f32::consts::PI;

/// Resampling filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ResizeFilter {
    /// Windowed sinc with three lobes: sharp, slight ringing at hard edges.
    #[default]
    Lanczos3,
    /// Average of the source area each output pixel covers (shrinking); bilinear when enlarging.
    Area,
    /// Linear interpolation (tent filter widened when shrinking).
    Bilinear,
}

/// Taps for one output sample: the first source index and the normalised weights that follow.
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

fn sinc(x: f32) -> f32 {
    if x.abs() < 1e-6 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    }
}

fn compute_taps(src_len: usize, dst_len: usize, filter: ResizeFilter) -> Vec<Taps> {
    let scale = src_len as f32 / dst_len as f32;
    let stretch = scale.max(1.0);
    (0..dst_len)
        .map(|i| {
            let centre = (i as f32 + 0.5) * scale;
            let (lo, hi, weight): (f32, f32, Box<dyn Fn(f32) -> f32>) = match filter {
                ResizeFilter::Area if scale > 1.0 => {
                    // Exact overlap of the source pixel [j, j+1) with the footprint.
                    let (a, b) = (centre - scale / 2.0, centre + scale / 2.0);
                    (a, b, Box::new(move |j: f32| (b.min(j + 1.0) - a.max(j)).max(0.0)))
                }
                ResizeFilter::Lanczos3 => {
                    let support = 3.0 * stretch;
                    let f = move |j: f32| {
                        let x = (j + 0.5 - centre) / stretch;
                        if x.abs() < 3.0 {
                            sinc(x) * sinc(x / 3.0)
                        } else {
                            0.0
                        }
                    };
                    (centre - support, centre + support, Box::new(f))
                }
                _ => {
                    let f = move |j: f32| (1.0 - ((j + 0.5 - centre) / stretch).abs()).max(0.0);
                    (centre - stretch, centre + stretch, Box::new(f))
                }
            };
            // Samples past the border are clamped onto the edge sample.
            let clamp = |j: isize| j.clamp(0, src_len as isize - 1) as usize;
            let (first, last) = (lo.floor() as isize, hi.ceil() as isize);
            let start = clamp(first);
            let mut weights = vec![0f32; clamp(last) - start + 1];
            for j in first..=last {
                weights[clamp(j) - start] += weight(j as f32);
            }
            let total: f32 = weights.iter().sum();
            if total <= 0.0 {
                weights.fill(0.0);
                weights[clamp(centre as isize) - start] = 1.0;
            } else {
                weights.iter_mut().for_each(|v| *v /= total);
            }
            Taps { start, weights }
        })
        .collect()
}

/// Resizes a plane to `dst_w x dst_h` (both at least 1).
pub fn resize_plane(src: &Plane, dst_w: usize, dst_h: usize, filter: ResizeFilter) -> Plane {
    assert!(dst_w > 0 && dst_h > 0, "resize target must be at least 1x1");
    let (w, h) = (src.width(), src.height());
    if (w, h) == (dst_w, dst_h) {
        return src.clone();
    }
    let xtaps = compute_taps(w, dst_w, filter);
    let ytaps = compute_taps(h, dst_h, filter);
    let mut tmp = Plane::new(dst_w, h);
    tmp.par_rows_mut().enumerate().for_each(|(y, out)| {
        let row = src.row(y);
        for (o, t) in out.iter_mut().zip(&xtaps) {
            *o = t.weights.iter().zip(&row[t.start..]).map(|(w, v)| w * v).sum();
        }
    });
    let mut out = Plane::new(dst_w, dst_h);
    out.par_rows_mut().enumerate().for_each(|(y, out_row)| {
        let t = &ytaps[y];
        for (k, &wk) in t.weights.iter().enumerate() {
            for (o, v) in out_row.iter_mut().zip(tmp.row(t.start + k)) {
                *o += wk * v;
            }
        }
    });
    out
}

/// Resizes every plane of a frame, alpha included.
pub fn resize_frame(src: &Frame, dst_w: usize, dst_h: usize, filter: ResizeFilter) -> Frame {
    src.map_planes(|p| resize_plane(p, dst_w, dst_h, filter))
}

/// Scales to cover `dst_w x dst_h` keeping the aspect ratio, then crops the centre.
pub fn resize_cover(src: &Frame, dst_w: usize, dst_h: usize, filter: ResizeFilter) -> Frame {
    let scale = (dst_w as f64 / src.width() as f64).max(dst_h as f64 / src.height() as f64);
    let sw = ((src.width() as f64 * scale).ceil() as usize).max(dst_w);
    let sh = ((src.height() as f64 * scale).ceil() as usize).max(dst_h);
    let big = resize_frame(src, sw, sh, filter);
    let (x0, y0) = ((sw - dst_w) / 2, (sh - dst_h) / 2);
    big.map_planes(|p| Plane::from_fn(dst_w, dst_h, |x, y| p.get(x + x0, y + y0)))
}

/// Averages `factor x factor` blocks (partial blocks at the right and bottom edges average what
/// they hold). Output size is `ceil(w / factor) x ceil(h / factor)`.
pub fn downsample_box(src: &Plane, factor: usize) -> Plane {
    let factor = factor.max(1);
    if factor == 1 {
        return src.clone();
    }
    let (w, h) = (src.width(), src.height());
    let (lw, lh) = (w.div_ceil(factor), h.div_ceil(factor));
    let mut out = Plane::new(lw, lh);
    // Per output row: the block's rows summed first (whole rows, vectorized), then each
    // column group of that one sum row, so the per-block work runs once instead of per row.
    out.par_rows_mut().enumerate().for_each_init(
        || vec![0f32; w],
        |column_sums, (ly, out_row)| {
            let ys = ly * factor..((ly + 1) * factor).min(h);
            let inv_rows = 1.0 / ys.len() as f32;
            crate::simd::dispatch(|| {
                column_sums.copy_from_slice(src.row(ys.start));
                for y in ys.start + 1..ys.end {
                    crate::blur::add_row(column_sums, src.row(y), 1.0);
                }
            });
            for (o, group) in out_row.iter_mut().zip(column_sums.chunks(factor)) {
                *o = group.iter().sum::<f32>() * inv_rows / group.len() as f32;
            }
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(w: usize, h: usize) -> Plane {
        Plane::from_fn(w, h, |x, y| 0.5 + 0.4 * ((x as f32 * 0.37).sin() * (y as f32 * 0.23).cos()))
    }

    #[test]
    fn resizing_keeps_the_mean() {
        let src = textured(301, 177);
        for filter in [ResizeFilter::Lanczos3, ResizeFilter::Area, ResizeFilter::Bilinear] {
            for (w, h) in [(150, 88), (97, 200), (640, 360), (301, 60)] {
                let out = resize_plane(&src, w, h, filter);
                assert_eq!((out.width(), out.height()), (w, h));
                let (a, b) = (src.mean(), out.mean());
                assert!((a - b).abs() < 0.01, "{filter:?} {w}x{h}: mean {a} -> {b}");
            }
        }
    }

    #[test]
    fn area_shrink_by_two_is_the_block_average() {
        let src = textured(64, 40);
        let area = resize_plane(&src, 32, 20, ResizeFilter::Area);
        let boxed = downsample_box(&src, 2);
        for (a, b) in area.data().iter().zip(boxed.data()) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn constant_stays_constant() {
        let src = Plane::filled(33, 17, 0.3);
        let out = resize_plane(&src, 100, 9, ResizeFilter::Lanczos3);
        assert!(out.data().iter().all(|v| (v - 0.3).abs() < 1e-5));
    }
}
