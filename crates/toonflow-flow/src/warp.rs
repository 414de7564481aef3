//! Bilinear sampling and backward warping.

use crate::Flow;
use rayon::prelude::*;
use toonflow_imgproc::Plane;

/// Bilinear sample at real coordinates, clamped to the border.
#[inline]
pub fn sample(p: &Plane, x: f32, y: f32) -> f32 {
    sample_n([p], x, y)[0]
}

/// Bilinear samples of several planes of one size at one real position (clamped to the
/// border): the weights and addresses are computed once.
#[inline]
pub fn sample_n<const N: usize>(planes: [&Plane; N], x: f32, y: f32) -> [f32; N] {
    let (w, h) = (planes[0].width(), planes[0].height());
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let (i00, i01, i10, i11) = (y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1);
    planes.map(|p| {
        let d = p.data();
        let top = d[i00] + (d[i01] - d[i00]) * fx;
        let bottom = d[i10] + (d[i11] - d[i10]) * fx;
        top + (bottom - top) * fy
    })
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
#[inline(always)]
fn cubic_weights(t: f32) -> [f32; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [0.5 * (-t3 + 2.0 * t2 - t), 0.5 * (3.0 * t3 - 5.0 * t2 + 2.0), 0.5 * (-3.0 * t3 + 4.0 * t2 + t), 0.5 * (t3 - t2)]
}

/// Bicubic (Catmull–Rom) sample at real coordinates, clamped to the border. Sharper than
/// bilinear and free of its pull toward whole-pixel positions, which matters for sub-pixel flow.
#[inline]
pub fn sample_cubic(p: &Plane, x: f32, y: f32) -> f32 {
    let (w, h) = (p.width() as isize, p.height() as isize);
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (xi, yi) = (floor_i(x), floor_i(y));
    let (wx, wy) = (cubic_weights(x - xi as f32), cubic_weights(y - yi as f32));
    let (x0, y0) = (xi - 1, yi - 1);
    let inside = x0 >= 0 && y0 >= 0 && x0 + 3 < w && y0 + 3 < h;
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
}

/// Largest block [`sample_block_cubic`] samples with its row buffer on the stack.
const MAX_BLOCK: usize = 64;

/// Samples a `size x size` block whose top-left corner sits at the real position `(x, y)` into
/// `out` (row-major), bicubic, clamped to the border. One displacement for the whole block means
/// one set of weights: each sample is a vertical then a horizontal 4-tap pass over contiguous
/// rows. Blocks over the border read clamped rows and columns the same way (a quarter of the
/// patches of a small pyramid level touch it, so they must not take a slow path).
#[inline(always)]
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
            // Zipped slices, not indices: indexing four rows kept this loop scalar.
            let x0 = x0 as usize;
            let taps = rows[0][x0..x0 + span]
                .iter()
                .zip(&rows[1][x0..x0 + span])
                .zip(&rows[2][x0..x0 + span])
                .zip(&rows[3][x0..x0 + span]);
            for (vi, (((a, b), c), d)) in v.iter_mut().zip(taps) {
                *vi = wy[0] * a + wy[1] * b + wy[2] * c + wy[3] * d;
            }
        } else {
            for (i, vi) in v.iter_mut().enumerate() {
                let c = (x0 + i as isize).clamp(0, w - 1) as usize;
                *vi = wy[0] * rows[0][c] + wy[1] * rows[1][c] + wy[2] * rows[2][c] + wy[3] * rows[3][c];
            }
        }
        let o = &mut out[j * size..(j + 1) * size];
        let taps = v.iter().zip(&v[1..]).zip(&v[2..]).zip(&v[3..]);
        for (oi, (((a, b), c), d)) in o.iter_mut().zip(taps) {
            *oi = wx[0] * a + wx[1] * b + wx[2] * c + wx[3] * d;
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
    let [out] = warp_backward_n([src], flow);
    out
}

/// [`warp_backward`] of several planes of one size by one flow (a frame's colour planes): each
/// pixel's position and weights are computed once for all of them. Every output sample is
/// [`sample_cubic`] at `x + flow(x)`, bit for bit.
pub fn warp_backward_n<const N: usize>(src: [&Plane; N], flow: &Flow) -> [Plane; N] {
    let (w, h) = (flow.width(), flow.height());
    for p in src {
        assert_eq!((p.width(), p.height()), (w, h), "plane and flow differ in size");
    }
    let mut out: [Plane; N] = std::array::from_fn(|_| Plane::new(w, h));
    if w == 0 || h == 0 {
        return out;
    }
    // Bands of rows, one task each, holding the matching rows of every output plane.
    let band = toonflow_imgproc::frame::MIN_TASK_SAMPLES.div_ceil(w).max(1);
    let mut chunks = out.each_mut().map(|p| p.data_mut().chunks_mut(band * w));
    let tasks: Vec<[&mut [f32]; N]> =
        (0..h.div_ceil(band)).map(|_| chunks.each_mut().map(|c| c.next().expect("one chunk per band"))).collect();
    tasks.into_par_iter().enumerate().for_each(|(b, mut rows)| {
        for r in 0..rows[0].len() / w {
            let y = b * band + r;
            let mut row_out = rows.each_mut().map(|o| &mut o[r * w..(r + 1) * w]);
            warp_row(src, y, flow.u.row(y), flow.v.row(y), &mut row_out);
        }
    });
    out
}

/// `out[k][x] = sample_cubic(src[k], x + u[x], y + v[x])` along row `y`.
fn warp_row<const N: usize>(src: [&Plane; N], y: usize, u: &[f32], v: &[f32], out: &mut [&mut [f32]; N]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if toonflow_imgproc::simd::level() == toonflow_imgproc::simd::Level::Avx2 {
        // SAFETY: the CPU supports AVX2 (the level says so).
        done = unsafe { warp_row_avx2(src, y, u, v, out) };
    }
    for x in done..u.len() {
        sample_cubic_into(src, out, x, x as f32 + u[x], y as f32 + v[x]);
    }
}

/// `out[k][x] = sample_cubic(src[k], sx, sy)` for every plane.
#[inline(always)]
fn sample_cubic_into<const N: usize>(src: [&Plane; N], out: &mut [&mut [f32]; N], x: usize, sx: f32, sy: f32) {
    for (o, p) in out.iter_mut().zip(src) {
        o[x] = sample_cubic(p, sx, sy);
    }
}

/// [`warp_row`] 8 pixels at a time: the operations of [`sample_cubic`] in the same order (so
/// the same bits). Each tap row of a pixel is 4 contiguous samples, read with one load and
/// transposed into lanes in registers: AVX2 gathers of single samples, 16 per 8 pixels, took
/// twice as long on the machines we measured. Groups with a tap over the border go through
/// [`sample_cubic`]. Returns how many leading pixels of the row it wrote.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn warp_row_avx2<const N: usize>(src: [&Plane; N], y: usize, u: &[f32], v: &[f32], out: &mut [&mut [f32]; N]) -> usize {
    use std::arch::x86_64::*;
    let (w, h) = (src[0].width(), src[0].height());
    let n = u.len().min(v.len()).min(w) / 8 * 8;
    // Indices are i32; planes under 4x4 have no interior.
    if w * h > i32::MAX as usize || w < 4 || h < 4 {
        return 0;
    }
    let zero = _mm256_setzero_ps();
    let (xmax, ymax) = (_mm256_set1_ps((w - 1) as f32), _mm256_set1_ps((h - 1) as f32));
    // A pixel's taps are all inside when 1 <= xi <= w - 3 and 1 <= yi <= h - 3.
    let (one, xhi, yhi) = (_mm256_set1_epi32(1), _mm256_set1_epi32(w as i32 - 3), _mm256_set1_epi32(h as i32 - 3));
    let yf = _mm256_set1_ps(y as f32);
    let lanes = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
    let width = _mm256_set1_epi32(w as i32);
    let weights = |t: __m256| -> [__m256; 4] {
        let (t2, half) = (_mm256_mul_ps(t, t), _mm256_set1_ps(0.5));
        let t3 = _mm256_mul_ps(t2, t);
        let c = |k: f32| _mm256_set1_ps(k);
        let neg_t3 = _mm256_xor_ps(t3, _mm256_set1_ps(-0.0));
        [
            _mm256_mul_ps(half, _mm256_sub_ps(_mm256_add_ps(neg_t3, _mm256_mul_ps(c(2.0), t2)), t)),
            _mm256_mul_ps(
                half,
                _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(c(3.0), t3), _mm256_mul_ps(c(5.0), t2)), c(2.0)),
            ),
            _mm256_mul_ps(half, _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(c(-3.0), t3), _mm256_mul_ps(c(4.0), t2)), t)),
            _mm256_mul_ps(half, _mm256_sub_ps(t3, t2)),
        ]
    };
    for x0 in (0..n).step_by(8) {
        // SAFETY: x0 + 8 <= n <= the length of u and v.
        let (uv, vv) = unsafe { (_mm256_loadu_ps(u.as_ptr().add(x0)), _mm256_loadu_ps(v.as_ptr().add(x0))) };
        let xs = _mm256_add_ps(_mm256_add_ps(_mm256_set1_ps(x0 as f32), lanes), uv);
        let ys = _mm256_add_ps(yf, vv);
        // Clamped as `f32::clamp` clamps, NaN kept (it fails the inside test below: NaN -> 0).
        let sx = _mm256_min_ps(xmax, _mm256_max_ps(zero, xs));
        let sy = _mm256_min_ps(ymax, _mm256_max_ps(zero, ys));
        let (xi, yi) = (_mm256_cvttps_epi32(_mm256_max_ps(sx, zero)), _mm256_cvttps_epi32(_mm256_max_ps(sy, zero)));
        let over_border = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpgt_epi32(one, xi), _mm256_cmpgt_epi32(one, yi)),
            _mm256_or_si256(_mm256_cmpgt_epi32(xi, xhi), _mm256_cmpgt_epi32(yi, yhi)),
        );
        if _mm256_movemask_ps(_mm256_castsi256_ps(over_border)) != 0 {
            let (mut xa, mut ya) = ([0f32; 8], [0f32; 8]);
            // SAFETY: 8 floats each.
            unsafe {
                _mm256_storeu_ps(xa.as_mut_ptr(), xs);
                _mm256_storeu_ps(ya.as_mut_ptr(), ys);
            }
            for (k, (&sx, &sy)) in xa.iter().zip(&ya).enumerate() {
                sample_cubic_into(src, out, x0 + k, sx, sy);
            }
            continue;
        }
        let wx = weights(_mm256_sub_ps(sx, _mm256_cvtepi32_ps(xi)));
        let wy = weights(_mm256_sub_ps(sy, _mm256_cvtepi32_ps(yi)));
        // Index of each pixel's top-left tap (xi - 1, yi - 1).
        let base = _mm256_sub_epi32(
            _mm256_add_epi32(_mm256_mullo_epi32(yi, width), xi),
            _mm256_add_epi32(width, _mm256_set1_epi32(1)),
        );
        let mut starts = [0i32; 8];
        // SAFETY: 8 i32.
        unsafe { _mm256_storeu_si256(starts.as_mut_ptr().cast(), base) };
        for (p, o) in src.iter().zip(out.iter_mut()) {
            let data = p.data().as_ptr();
            let mut acc = zero;
            for (j, wyj) in wy.iter().enumerate() {
                // SAFETY: every pixel is inside (checked above), so its 4 taps of row yi - 1 + j,
                // columns xi - 1 ..= xi + 2, lie in the plane.
                let load = |k: usize| unsafe { _mm_loadu_ps(data.add(starts[k] as usize + j * w)) };
                // Pixels k and k + 4 share a register, one per 128-bit lane; then a 4x4
                // transpose per lane gives tap i of all 8 pixels in one register.
                let m: [__m256; 4] = std::array::from_fn(|k| _mm256_set_m128(load(k + 4), load(k)));
                let (t0, t1) = (_mm256_unpacklo_ps(m[0], m[1]), _mm256_unpackhi_ps(m[0], m[1]));
                let (t2, t3) = (_mm256_unpacklo_ps(m[2], m[3]), _mm256_unpackhi_ps(m[2], m[3]));
                let tap = [
                    _mm256_shuffle_ps::<0x44>(t0, t2),
                    _mm256_shuffle_ps::<0xEE>(t0, t2),
                    _mm256_shuffle_ps::<0x44>(t1, t3),
                    _mm256_shuffle_ps::<0xEE>(t1, t3),
                ];
                let r = _mm256_add_ps(
                    _mm256_add_ps(
                        _mm256_add_ps(_mm256_mul_ps(wx[0], tap[0]), _mm256_mul_ps(wx[1], tap[1])),
                        _mm256_mul_ps(wx[2], tap[2]),
                    ),
                    _mm256_mul_ps(wx[3], tap[3]),
                );
                acc = _mm256_add_ps(acc, _mm256_mul_ps(*wyj, r));
            }
            // SAFETY: x0 + 8 <= n <= the row's length.
            unsafe { _mm256_storeu_ps(o.as_mut_ptr().add(x0), acc) };
        }
    }
    n
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
    fn warping_equals_per_sample_cubic_inside_and_at_the_border() {
        let src = Plane::from_fn(23, 17, |x, y| ((x * 5 + y * 9) % 13) as f32 / 12.0);
        let flow = Flow {
            u: Plane::from_fn(23, 17, |x, y| (x as f32 * 0.7).sin() * 3.0 + y as f32 * 0.1 - 1.0),
            v: Plane::from_fn(23, 17, |x, y| (y as f32 * 0.9).cos() * 4.0 - x as f32 * 0.05),
        };
        let out = warp_backward(&src, &flow);
        for y in 0..17 {
            for x in 0..23 {
                let want = sample_cubic(&src, x as f32 + flow.u.get(x, y), y as f32 + flow.v.get(x, y));
                assert!((out.get(x, y) - want).abs() < 1e-5, "({x}, {y}): {} vs {want}", out.get(x, y));
            }
        }
    }

    #[test]
    fn the_vector_warp_gives_the_bits_of_per_sample_cubic_on_every_instruction_set() {
        // Odd width, vectors that leave the frame, a NaN, and three planes warped at once.
        let (w, h) = (61, 13);
        let planes: [Plane; 3] =
            std::array::from_fn(|c| Plane::from_fn(w, h, |x, y| ((x * 37 + y * 101 + c * 17) % 97) as f32 / 96.0));
        let mut flow = Flow {
            u: Plane::from_fn(w, h, |x, y| ((x * 13 % 29) as f32 - 14.0) * 0.37 + y as f32 * 0.05),
            v: Plane::from_fn(w, h, |x, _| ((x * 7 % 11) as f32 - 5.0) * 0.61),
        };
        flow.v.data_mut()[9] = f32::NAN;
        // Mostly inside: a small shift everywhere but the corners.
        let small = Flow {
            u: Plane::from_fn(w, h, |x, y| 0.3 + 0.01 * x as f32 - 0.02 * y as f32),
            v: Plane::from_fn(w, h, |x, _| -0.4 + 0.005 * x as f32),
        };
        for flow in [&flow, &small] {
            let (baseline, best) =
                toonflow_imgproc::simd::both_levels(|| warp_backward_n([&planes[0], &planes[1], &planes[2]], flow));
            for (c, (a, b)) in baseline.iter().zip(&best).enumerate() {
                for y in 0..h {
                    for x in 0..w {
                        let want = sample_cubic(&planes[c], x as f32 + flow.u.get(x, y), y as f32 + flow.v.get(x, y));
                        for got in [a.get(x, y), b.get(x, y)] {
                            assert!(
                                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                                "({x}, {y}) plane {c}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
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
