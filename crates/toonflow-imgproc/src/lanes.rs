//! Reductions in eight independent accumulators. A float sum in one accumulator is a chain of
//! dependent additions that the compiler may not reorder (it would change the rounding), so it
//! runs at one addition per cycle at best; eight lanes fill a vector register and vectorize.
//! Every kernel that sums long slices (optical flow, the generators' layer norm and
//! convolutions) uses these, so the summation order is decided here once.

/// Sum of `a * b` over the common length of the two slices.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Sum of a slice.
#[inline(always)]
pub fn sum(a: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = a.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for x in chunks {
        for l in 0..8 {
            lanes[l] += x[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Sum and sum of squares of a slice, accumulated in `f64` (a 256x256 plane summed in `f32`
/// loses digits, and variances are differences of such sums).
#[inline]
pub fn sum_and_squares(a: &[f32]) -> (f64, f64) {
    let (mut s, mut q) = ([0f64; 8], [0f64; 8]);
    let chunks = a.chunks_exact(8);
    let (mut ts, mut tq) = (0f64, 0f64);
    for &v in chunks.remainder() {
        ts += v as f64;
        tq += v as f64 * v as f64;
    }
    for x in chunks {
        for l in 0..8 {
            let v = x[l] as f64;
            s[l] += v;
            q[l] += v * v;
        }
    }
    (s.iter().sum::<f64>() + ts, q.iter().sum::<f64>() + tq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_reductions_match_plain_ones() {
        for n in [0, 1, 7, 8, 9, 31, 100] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain_dot: f64 = a.iter().zip(&b).map(|(x, y)| (x * y) as f64).sum();
            let plain_sum: f64 = a.iter().map(|&x| x as f64).sum();
            let plain_sq: f64 = a.iter().map(|&x| x as f64 * x as f64).sum();
            assert!((dot(&a, &b) as f64 - plain_dot).abs() < 1e-5, "dot of {n}");
            assert!((sum(&a) as f64 - plain_sum).abs() < 1e-5, "sum of {n}");
            let (s, q) = sum_and_squares(&a);
            assert!((s - plain_sum).abs() < 1e-9 && (q - plain_sq).abs() < 1e-9, "moments of {n}");
        }
    }
}
