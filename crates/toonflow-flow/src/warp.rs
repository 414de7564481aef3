//! Bilinear sampling and backward warping.

use crate::Flow;
use rayon::prelude::*;
use toonflow_imgproc::Plane;

/// Bilinear sample at real coordinates, clamped to the border.
#[inline]
pub fn sample(p: &Plane, x: f32, y: f32) -> f32 {
    let (w, h) = (p.width(), p.height());
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = p.get(x0, y0) + (p.get(x1, y0) - p.get(x0, y0)) * fx;
    let bottom = p.get(x0, y1) + (p.get(x1, y1) - p.get(x0, y1)) * fx;
    top + (bottom - top) * fy
}

/// `floor` through an integer conversion: without SSE4.1 (the x86-64 baseline) `f32::floor` is
/// a library call, which showed up in profiles of the flow.
#[inline]
fn floor_i(x: f32) -> isize {
    let t = x as isize;
    if (t as f32) > x {
        t - 1
    } else {
        t
    }
}

/// Catmull–Rom weights for the four taps around a sample at fraction `t` past the second tap.
#[inline]
fn cubic_weights(t: f32) -> [f32; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [0.5 * (-t3 + 2.0 * t2 - t), 0.5 * (3.0 * t3 - 5.0 * t2 + 2.0), 0.5 * (-3.0 * t3 + 4.0 * t2 + t), 0.5 * (t3 - t2)]
}

/// Bicubic samples of several planes at one real position: the weights are computed once.
#[inline]
pub fn sample_cubic_n<const N: usize>(planes: [&Plane; N], x: f32, y: f32) -> [f32; N] {
    let p0 = planes[0];
    let (w, h) = (p0.width() as isize, p0.height() as isize);
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (xi, yi) = (floor_i(x), floor_i(y));
    let (wx, wy) = (cubic_weights(x - xi as f32), cubic_weights(y - yi as f32));
    let (x0, y0) = (xi - 1, yi - 1);
    let inside = x0 >= 0 && y0 >= 0 && x0 + 3 < w && y0 + 3 < h;
    std::array::from_fn(|c| {
        let p = planes[c];
        let mut acc = 0.0;
        for (j, wyj) in wy.iter().enumerate() {
            let r = if inside {
                let r = &p.row((y0 + j as isize) as usize)[x0 as usize..x0 as usize + 4];
                wx[0] * r[0] + wx[1] * r[1] + wx[2] * r[2] + wx[3] * r[3]
            } else {
                let row = p.row((y0 + j as isize).clamp(0, h - 1) as usize);
                (0..4).map(|i| wx[i] * row[(x0 + i as isize).clamp(0, w - 1) as usize]).sum()
            };
            acc += wyj * r;
        }
        acc
    })
}

/// Bicubic (Catmull–Rom) sample at real coordinates, clamped to the border. Sharper than
/// bilinear and free of its pull toward whole-pixel positions, which matters for sub-pixel flow.
#[inline]
pub fn sample_cubic(p: &Plane, x: f32, y: f32) -> f32 {
    sample_cubic_n([p], x, y)[0]
}

/// Largest block [`sample_block_cubic`] samples with its row buffer on the stack.
const MAX_BLOCK: usize = 64;

/// Samples a `size x size` block whose top-left corner sits at the real position `(x, y)` into
/// `out` (row-major), bicubic, clamped to the border. One displacement for the whole block means
/// one set of weights: each sample is a vertical then a horizontal 4-tap pass over contiguous
/// rows. Blocks over the border read clamped rows and columns the same way (a quarter of the
/// patches of a small pyramid level touch it, so they must not take a slow path).
pub fn sample_block_cubic(p: &Plane, x: f32, y: f32, size: usize, out: &mut [f32]) {
    let (w, h) = (p.width() as isize, p.height() as isize);
    // Far outside, every tap is the clamped border: the clamped position samples the same (and
    // the indices below stay small).
    let lo = -(size as f32) - 4.0;
    let (x, y) = (x.clamp(lo, w as f32 + 4.0), y.clamp(lo, h as f32 + 4.0));
    let (xi, yi) = (floor_i(x), floor_i(y));
    let (wx, wy) = (cubic_weights(x - xi as f32), cubic_weights(y - yi as f32));
    let (x0, y0) = (xi - 1, yi - 1);
    let span = size + 3;
    let columns_inside = x0 >= 0 && x0 + span as isize <= w;
    // Per output row: vertical pass into a (size + 3)-wide row, then horizontal. One small
    // row buffer on the stack instead of a whole (size + 3) x size block to clear per call.
    let (mut stack, mut heap) = ([0f32; MAX_BLOCK + 3], Vec::new());
    let v = if span <= stack.len() {
        &mut stack[..span]
    } else {
        heap.resize(span, 0.0);
        &mut heap[..]
    };
    for j in 0..size {
        let rows: [&[f32]; 4] = std::array::from_fn(|r| p.row((y0 + (j + r) as isize).clamp(0, h - 1) as usize));
        if columns_inside {
            let rows: [&[f32]; 4] = std::array::from_fn(|r| &rows[r][x0 as usize..x0 as usize + span]);
            for (i, vi) in v.iter_mut().enumerate() {
                *vi = wy[0] * rows[0][i] + wy[1] * rows[1][i] + wy[2] * rows[2][i] + wy[3] * rows[3][i];
            }
        } else {
            for (i, vi) in v.iter_mut().enumerate() {
                let c = (x0 + i as isize).clamp(0, w - 1) as usize;
                *vi = wy[0] * rows[0][c] + wy[1] * rows[1][c] + wy[2] * rows[2][c] + wy[3] * rows[3][c];
            }
        }
        let o = &mut out[j * size..(j + 1) * size];
        for (i, oi) in o.iter_mut().enumerate() {
            *oi = wx[0] * v[i] + wx[1] * v[i + 1] + wx[2] * v[i + 2] + wx[3] * v[i + 3];
        }
    }
}

/// `out(x) = src(map(x))` for any coordinate map (bicubic): synthesises known motion.
pub fn warp_with(src: &Plane, map: impl Fn(f32, f32) -> (f32, f32) + Sync) -> Plane {
    Plane::from_fn(src.width(), src.height(), |x, y| {
        let (sx, sy) = map(x as f32, y as f32);
        sample_cubic(src, sx, sy)
    })
}

/// `out(x) = src(x + flow(x))`: brings `src` (the second frame) back onto the first frame's grid.
/// Bicubic, so a warp does not blur the image by up to half a pixel as bilinear does.
pub fn warp_backward(src: &Plane, flow: &Flow) -> Plane {
    let (w, h) = (src.width(), src.height());
    let mut out = Plane::new(w, h);
    out.par_rows_mut().enumerate().for_each(|(y, row)| {
        for (x, ((o, &u), &v)) in row.iter_mut().zip(flow.u.row(y)).zip(flow.v.row(y)).enumerate() {
            *o = sample_cubic(src, x as f32 + u, y as f32 + v);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warping_by_a_shift_moves_the_image() {
        let src = Plane::from_fn(20, 10, |x, y| (x * 3 + y) as f32);
        let flow = Flow { u: Plane::filled(20, 10, 2.0), v: Plane::filled(20, 10, 1.0) };
        let out = warp_backward(&src, &flow);
        assert_eq!(out.get(5, 5), src.get(7, 6));
        assert!((sample(&src, 2.5, 3.0) - (src.get(2, 3) + src.get(3, 3)) / 2.0).abs() < 1e-6);
    }

    #[test]
    fn block_sampling_matches_per_sample_cubic() {
        let src = Plane::from_fn(40, 30, |x, y| ((x * 7 + y * 13) % 11) as f32 / 10.0);
        // Per-sample reference with the block's border rule: taps beyond the border repeat it.
        let tap = |x: isize, y: isize| src.get(x.clamp(0, 39) as usize, y.clamp(0, 29) as usize);
        let reference = |x: f32, y: f32| {
            let (xi, yi) = (x.floor() as isize, y.floor() as isize);
            let (wx, wy) = (cubic_weights(x - xi as f32), cubic_weights(y - yi as f32));
            (0..4)
                .flat_map(|j| (0..4).map(move |i| (i, j)))
                .map(|(i, j)| wx[i] * wy[j] * tap(xi - 1 + i as isize, yi - 1 + j as isize))
                .sum::<f32>()
        };
        for size in [8, 70] {
            let mut block = vec![0f32; size * size];
            for (x, y) in
                [(5.3f32, 7.8f32), (0.2, 0.1), (33.5, 22.25), (-3.0, 4.0), (-60.5, 2.25), (30.7, 25.1), (99.0, -80.0)]
            {
                sample_block_cubic(&src, x, y, size, &mut block);
                for j in 0..size {
                    for i in 0..size {
                        let want = reference(x + i as f32, y + j as f32);
                        assert!((block[j * size + i] - want).abs() < 1e-5, "({x},{y}) +({i},{j})");
                        if (x + i as f32) >= 0.0
                            && (x + i as f32) <= 39.0
                            && (y + j as f32) >= 0.0
                            && (y + j as f32) <= 29.0
                        {
                            // Inside the image the border rule does not matter.
                            let cubic = sample_cubic(&src, x + i as f32, y + j as f32);
                            assert!((block[j * size + i] - cubic).abs() < 1e-5);
                        }
                    }
                }
            }
        }
    }
}
