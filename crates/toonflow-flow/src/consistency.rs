//! Forward–backward consistency: where following the forward flow and then the backward flow
//! does not come back to the start, the pixel is occluded (or the flow is wrong) and must not be
//! trusted. Test of Sundaram, Brox & Keutzer 2010 ("Dense point trajectories by GPU-accelerated
//! large displacement optical flow"), as used by Ruder et al. 2016 for video style transfer.

use crate::warp::sample_n;
use crate::Flow;
use rayon::prelude::*;
use toonflow_imgproc::Plane;

/// Tolerance of the test: `|f + b|^2 < ALPHA (|f|^2 + |b|^2) + BETA` (values from Sundaram et
/// al. 2010).
const ALPHA: f32 = 0.01;
const BETA: f32 = 0.5;

/// Whether the forward vector `(fu, fv)` and the backward vector `(bu, bv)` found where it
/// points bring a pixel back to where it started, within the test's tolerance.
#[inline]
pub fn vectors_agree(fu: f32, fv: f32, bu: f32, bv: f32) -> bool {
    let (su, sv) = (fu + bu, fv + bv);
    su * su + sv * sv < ALPHA * (fu * fu + fv * fv + bu * bu + bv * bv) + BETA
}

/// `1` where the flow from the first frame to the second (`forward`) is confirmed by the flow
/// from the second back to the first (`backward`), `0` where it is not (occlusions, errors) or
/// leaves the frame.
pub fn consistency_mask(forward: &Flow, backward: &Flow) -> Plane {
    let (w, h) = (forward.width(), forward.height());
    Plane::from_fn(w, h, |x, y| {
        let (fu, fv) = (forward.u.get(x, y), forward.v.get(x, y));
        let (tx, ty) = (x as f32 + fu, y as f32 + fv);
        if tx < 0.0 || ty < 0.0 || tx > (w - 1) as f32 || ty > (h - 1) as f32 {
            return 0.0;
        }
        let [bu, bv] = sample_n([&backward.u, &backward.v], tx, ty);
        if vectors_agree(fu, fv, bu, bv) {
            1.0
        } else {
            0.0
        }
    })
}

/// The stabilizer's reliability test of a flow from a first frame to a second: a pixel's flow
/// is trusted (gets `weight`) where its vector stays inside the frame, agrees with `backward`
/// found where it points ([`vectors_agree`]), and `second` sampled there differs from the first
/// frame's value by at most `max_change`. `second` and `backward` share one size; the bilinear
/// samples are those of [`sample_n`].
pub struct Reliability<'a> {
    /// Flow from the second frame back to the first.
    pub backward: &'a Flow,
    /// The second frame (luma).
    pub second: &'a Plane,
    /// Largest difference between a pixel and the second frame where its vector points.
    pub max_change: f32,
    /// Value a trusted pixel gets.
    pub weight: f32,
}

impl Reliability<'_> {
    /// Per pixel of the first frame: `weight` where `forward` is trusted, 0 elsewhere.
    pub fn plane(&self, forward: &Flow, first: &Plane) -> Plane {
        let mut out = Plane::new(first.width(), first.height());
        out.par_rows_mut()
            .enumerate()
            .for_each(|(y, row)| self.row(y, (forward.u.row(y), forward.v.row(y)), first.row(y), row));
        out
    }

    /// Row `y`: `out[x] = weight` where the vector `(forward.0[x], forward.1[x])` is trusted;
    /// `out[x]` is left as it is elsewhere.
    pub fn row(&self, y: usize, forward: (&[f32], &[f32]), first: &[f32], out: &mut [f32]) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if toonflow_imgproc::simd::level() == toonflow_imgproc::simd::Level::Avx2 {
            // SAFETY: the CPU supports AVX2 (the level says so).
            done = unsafe { self.row_avx2(y, forward, first, out) };
        }
        let inputs = forward.0.iter().zip(forward.1).zip(first);
        for (x, (o, ((&fu, &fv), &cur))) in out.iter_mut().zip(inputs).enumerate().skip(done) {
            if self.trusts(x, y, fu, fv, cur) {
                *o = self.weight;
            }
        }
    }

    /// The test of one pixel `(x, y)` of the first frame, its vector `(fu, fv)` and value `cur`.
    #[inline]
    fn trusts(&self, x: usize, y: usize, fu: f32, fv: f32, cur: f32) -> bool {
        let (xmax, ymax) = ((self.second.width() - 1) as f32, (self.second.height() - 1) as f32);
        let (tx, ty) = (x as f32 + fu, y as f32 + fv);
        // Vectors leaving the frame have nothing to agree with.
        if !(0.0..=xmax).contains(&tx) || !(0.0..=ymax).contains(&ty) {
            return false;
        }
        let [bu, bv, predicted] = sample_n([&self.backward.u, &self.backward.v, self.second], tx, ty);
        vectors_agree(fu, fv, bu, bv) && (predicted - cur).abs() <= self.max_change
    }

    /// [`Self::row`] eight pixels at a time with AVX2: the same operations in the same order, so
    /// the same bits. The taps are read by [`bilinear8`] (AVX2 gathers of single samples took
    /// longer); groups with a tap past the last row or column go through [`Self::trusts`].
    /// Returns how many leading pixels it did.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn row_avx2(&self, y: usize, (fu_row, fv_row): (&[f32], &[f32]), first: &[f32], out: &mut [f32]) -> usize {
        use std::arch::x86_64::*;
        let (w, h) = (self.second.width(), self.second.height());
        let n = out.len().min(fu_row.len()).min(fv_row.len()).min(first.len()) / 8 * 8;
        // Indices are i32: larger planes take the scalar path.
        if w * h > i32::MAX as usize || w < 2 || h < 2 {
            return 0;
        }
        let planes = [self.backward.u.data(), self.backward.v.data(), self.second.data()];
        let zero = _mm256_setzero_ps();
        let (xmax, ymax) = (_mm256_set1_ps((w - 1) as f32), _mm256_set1_ps((h - 1) as f32));
        let (xlast, ylast) = (_mm256_set1_epi32(w as i32 - 2), _mm256_set1_epi32(h as i32 - 2));
        let width = _mm256_set1_epi32(w as i32);
        let lanes = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
        let yf = _mm256_set1_ps(y as f32);
        let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
        let (alpha, beta) = (_mm256_set1_ps(ALPHA), _mm256_set1_ps(BETA));
        let (limit, value) = (_mm256_set1_ps(self.max_change), _mm256_set1_ps(self.weight));
        for x0 in (0..n).step_by(8) {
            // SAFETY: x0 + 8 <= n, within every row slice.
            let (fu, fv, cur) = unsafe {
                (
                    _mm256_loadu_ps(fu_row.as_ptr().add(x0)),
                    _mm256_loadu_ps(fv_row.as_ptr().add(x0)),
                    _mm256_loadu_ps(first.as_ptr().add(x0)),
                )
            };
            let tx = _mm256_add_ps(_mm256_add_ps(_mm256_set1_ps(x0 as f32), lanes), fu);
            let ty = _mm256_add_ps(yf, fv);
            // Ordered comparisons: NaN is outside, as `contains` says.
            let inside = _mm256_and_ps(
                _mm256_and_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(tx, zero), _mm256_cmp_ps::<_CMP_LE_OQ>(tx, xmax)),
                _mm256_and_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(ty, zero), _mm256_cmp_ps::<_CMP_LE_OQ>(ty, ymax)),
            );
            // Clamped as sample_n clamps (max returns its second operand for NaN, so lanes outside
            // get valid addresses too).
            let sx = _mm256_min_ps(_mm256_max_ps(tx, zero), xmax);
            let sy = _mm256_min_ps(_mm256_max_ps(ty, zero), ymax);
            let (xi, yi) = (_mm256_cvttps_epi32(sx), _mm256_cvttps_epi32(sy));
            let past = _mm256_or_si256(_mm256_cmpgt_epi32(xi, xlast), _mm256_cmpgt_epi32(yi, ylast));
            if _mm256_movemask_ps(_mm256_castsi256_ps(past)) != 0 {
                // A tap in the last column or row is clamped onto its neighbour: per pixel.
                for (k, o) in out[x0..x0 + 8].iter_mut().enumerate() {
                    let x = x0 + k;
                    if self.trusts(x, y, fu_row[x], fv_row[x], first[x]) {
                        *o = self.weight;
                    }
                }
                continue;
            }
            let (fx, fy) = (_mm256_sub_ps(sx, _mm256_cvtepi32_ps(xi)), _mm256_sub_ps(sy, _mm256_cvtepi32_ps(yi)));
            let mut top_left = [0i32; 8];
            // SAFETY: 8 i32.
            unsafe {
                _mm256_storeu_si256(top_left.as_mut_ptr().cast(), _mm256_add_epi32(_mm256_mullo_epi32(yi, width), xi))
            };
            // SAFETY: xi <= w - 2 and yi <= h - 2 (checked above): every tap lies in the planes.
            // (Three calls, not `planes.map`: the closure was not inlined into this function.)
            let (bu, bv, predicted) = unsafe {
                (
                    bilinear8(planes[0], w, &top_left, fx, fy),
                    bilinear8(planes[1], w, &top_left, fx, fy),
                    bilinear8(planes[2], w, &top_left, fx, fy),
                )
            };
            let (su, sv) = (_mm256_add_ps(fu, bu), _mm256_add_ps(fv, bv));
            let lhs = _mm256_add_ps(_mm256_mul_ps(su, su), _mm256_mul_ps(sv, sv));
            let norms = _mm256_add_ps(
                _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(fu, fu), _mm256_mul_ps(fv, fv)), _mm256_mul_ps(bu, bu)),
                _mm256_mul_ps(bv, bv),
            );
            let agree = _mm256_cmp_ps::<_CMP_LT_OQ>(lhs, _mm256_add_ps(_mm256_mul_ps(alpha, norms), beta));
            let change = _mm256_and_ps(_mm256_sub_ps(predicted, cur), abs_mask);
            let matches = _mm256_cmp_ps::<_CMP_LE_OQ>(change, limit);
            let pass = _mm256_and_ps(inside, _mm256_and_ps(agree, matches));
            // SAFETY: as for the loads.
            unsafe {
                let old = _mm256_loadu_ps(out.as_ptr().add(x0));
                _mm256_storeu_ps(out.as_mut_ptr().add(x0), _mm256_blendv_ps(old, value, pass));
            }
        }
        n
    }
}

/// Bilinear samples of plane `d` (width `w`) for 8 pixels, each given by the index of its top-left
/// tap and its fractions: the operations of [`sample_n`], in its order. A pixel's two taps in a
/// row are adjacent, so each pair is one 64-bit load, put in lanes by shuffles.
///
/// # Safety
/// The CPU has AVX2, and each index `i` has `i + 1` and `i + w + 1` inside `d`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn bilinear8(
    d: &[f32],
    w: usize,
    top_left: &[i32; 8],
    fx: std::arch::x86_64::__m256,
    fy: std::arch::x86_64::__m256,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // SAFETY: the caller's indices.
    let pair = |k: usize, r: usize| unsafe {
        std::ptr::read_unaligned(d.as_ptr().add(top_left[k] as usize + r * w).cast::<i64>())
    };
    let two = |k: usize, r: usize| _mm_castsi128_ps(_mm_set_epi64x(pair(k + 1, r), pair(k, r)));
    // Lanes: pixels 0, 1 | 4, 5 and 2, 3 | 6, 7, each as (left, right); shuffled into the left
    // taps and the right taps of pixels 0..8.
    let (m0, m1) = (_mm256_set_m128(two(4, 0), two(0, 0)), _mm256_set_m128(two(6, 0), two(2, 0)));
    let (d00, d01) = (_mm256_shuffle_ps::<0x88>(m0, m1), _mm256_shuffle_ps::<0xDD>(m0, m1));
    let (m0, m1) = (_mm256_set_m128(two(4, 1), two(0, 1)), _mm256_set_m128(two(6, 1), two(2, 1)));
    let (d10, d11) = (_mm256_shuffle_ps::<0x88>(m0, m1), _mm256_shuffle_ps::<0xDD>(m0, m1));
    let top = _mm256_add_ps(d00, _mm256_mul_ps(_mm256_sub_ps(d01, d00), fx));
    let bottom = _mm256_add_ps(d10, _mm256_mul_ps(_mm256_sub_ps(d11, d10), fx));
    _mm256_add_ps(top, _mm256_mul_ps(_mm256_sub_ps(bottom, top), fy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reliability_row_gives_the_same_bits_on_every_instruction_set() {
        use toonflow_imgproc::simd::both_levels;
        let (w, h) = (53, 19);
        let wave = |a: f32, b: f32| Plane::from_fn(w, h, move |x, y| (x as f32 * a + y as f32 * b).sin() * 4.0);
        let forward = Flow { u: wave(0.31, 0.7), v: wave(0.53, -0.2) };
        let backward = Flow { u: wave(-0.29, 0.66), v: wave(-0.5, 0.25) };
        let (first, second) = (wave(0.1, 0.05), wave(0.11, 0.045));
        let mut nan = forward.clone();
        nan.u.data_mut()[7] = f32::NAN;
        let test = Reliability { backward: &backward, second: &second, max_change: 2.0, weight: 0.75 };
        let rows = |forward: &Flow| -> Vec<f32> {
            (0..h)
                .flat_map(|y| {
                    let mut out = vec![-1.0; w];
                    test.row(y, (forward.u.row(y), forward.v.row(y)), first.row(y), &mut out);
                    out
                })
                .collect()
        };
        for f in [&forward, &nan] {
            let (baseline, best) = both_levels(|| rows(f));
            assert!(baseline.contains(&0.75) && baseline.contains(&-1.0), "both outcomes occur");
            assert_eq!(
                baseline.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                best.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn consistent_motion_passes_and_contradictions_fail() {
        let (w, h) = (40, 30);
        let forward = Flow { u: Plane::filled(w, h, 3.0), v: Plane::filled(w, h, 0.0) };
        let backward = Flow { u: Plane::filled(w, h, -3.0), v: Plane::filled(w, h, 0.0) };
        let mask = consistency_mask(&forward, &backward);
        assert_eq!(mask.get(10, 10), 1.0);
        assert_eq!(mask.get(38, 10), 0.0, "leaves the frame");
        // Backward flow that disagrees on the right half (an occluding object there).
        let mut bad = backward.clone();
        for y in 0..h {
            for x in 20..w {
                bad.u.data_mut()[y * w + x] = 2.0;
            }
        }
        let mask = consistency_mask(&forward, &bad);
        assert_eq!(mask.get(5, 10), 1.0);
        assert_eq!(mask.get(25, 10), 0.0);
    }
}
