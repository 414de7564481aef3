//! Kernel distance between two sets of feature vectors: the KID of Bińkowski et al. 2018 (the
//! unbiased estimate of the squared maximum mean discrepancy with the cubic polynomial kernel
//! `k(x, y) = (x·y / d + 1)³`), which, unlike the Fréchet distance, is unbiased for small sets.
//!
//! Features are first scaled together, both sets by one factor, to a mean square of 1 per
//! dimension: the cubic kernel is not scale-free, and Inception's pooled features, which KID
//! was defined on, are of that order, while VGG activations are hundreds of times larger.
//!
//! The vectors come in groups, one group per image (the VGG measures take several regions of
//! each image, which are not independent of one another). The standard error is the two-sample
//! jackknife over those groups (Arvesen 1969): each image's vectors are left out together, one
//! image at a time, and the spread of the leave-one-out estimates gives the variance. Only row
//! sums of the kernel matrix are kept, so memory stays linear in the number of vectors.

use rayon::prelude::*;
use toonflow_imgproc::lanes;

/// What [`kernel_distance`] measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KernelDistance {
    /// The unbiased squared MMD: near 0 (either sign) for sets from one distribution.
    pub kid: f64,
    /// Its jackknife standard error over images.
    pub standard_error: f64,
}

/// The kernel on vectors already scaled by [`unit_scale`].
fn kernel(x: &[f32], y: &[f32]) -> f64 {
    (lanes::dot(x, y) as f64 / x.len() as f64 + 1.0).powi(3)
}

/// The factor that gives the vectors of both sets together a mean square of 1 per dimension.
fn unit_scale(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    let (squares, count) =
        a.iter().chain(b).fold((0.0f64, 0usize), |(s, n), v| (s + lanes::dot(v, v) as f64, n + v.len()));
    if squares > 0.0 {
        (count as f64 / squares).sqrt() as f32
    } else {
        1.0
    }
}

/// Kernel sums of one set against itself and against the other set.
struct Sums {
    /// Per vector: the sum of k over the other vectors of its own set.
    own: Vec<f64>,
    /// Per vector: the sum of k over the other set.
    cross: Vec<f64>,
    /// Per group: the sum of k over ordered pairs of distinct vectors within the group.
    within: Vec<f64>,
}

fn sums(set: &[Vec<f32>], other: &[Vec<f32>], group: usize) -> Sums {
    let rows: Vec<(f64, f64)> = set
        .par_iter()
        .enumerate()
        .map(|(i, x)| {
            let own = set.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, y)| kernel(x, y)).sum();
            (own, other.iter().map(|y| kernel(x, y)).sum())
        })
        .collect();
    let within = set
        .chunks(group)
        .map(|g| {
            let pairs = g.iter().enumerate().flat_map(|(i, x)| g.iter().enumerate().map(move |(j, y)| (i, j, x, y)));
            pairs.filter(|&(i, j, _, _)| i != j).map(|(_, _, x, y)| kernel(x, y)).sum()
        })
        .collect();
    let (own, cross) = rows.into_iter().unzip();
    Sums { own, cross, within }
}

/// The estimate from the kernel sums of sets of `m` and `n` vectors.
fn mmd2(within_a: f64, within_b: f64, across: f64, m: usize, n: usize) -> f64 {
    let (m, n) = (m as f64, n as f64);
    within_a / (m * (m - 1.0)) + within_b / (n * (n - 1.0)) - 2.0 * across / (m * n)
}

/// The jackknife variance of one side: the estimates with each of its groups left out.
fn side_variance(s: &Sums, total_own: f64, other_own: f64, across: f64, sizes: (usize, usize), group: usize) -> f64 {
    let (m, n) = sizes;
    let groups = s.within.len();
    let estimates: Vec<f64> = (0..groups)
        .map(|g| {
            let rows = g * group..((g + 1) * group).min(m);
            let removed = rows.len();
            let own: f64 = s.own[rows.clone()].iter().sum();
            let cross: f64 = s.cross[rows].iter().sum();
            // Pairs with one end in the group are counted twice in the ordered sum; pairs with
            // both ends in it were subtracted twice by that.
            let kept_own = total_own - 2.0 * own + s.within[g];
            mmd2(kept_own, other_own, across - cross, m - removed, n)
        })
        .collect();
    let mean = estimates.iter().sum::<f64>() / groups as f64;
    (groups as f64 - 1.0) / groups as f64 * estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>()
}

/// The kernel distance between `a` and `b`, whose vectors come `group` at a time from one
/// image. Each set needs at least two groups (for the jackknife) and more than `group` vectors.
///
/// # Panics
/// With fewer than two groups in a set, vectors of different lengths or a `group` of 0.
pub fn kernel_distance(a: &[Vec<f32>], b: &[Vec<f32>], group: usize) -> KernelDistance {
    assert!(group > 0, "a group holds at least one vector");
    assert!(a.len() >= 2 * group && b.len() >= 2 * group, "each set needs at least two images");
    let dim = a[0].len();
    assert!(a.iter().chain(b).all(|v| v.len() == dim), "feature vectors differ in length");
    let scale = unit_scale(a, b);
    let scaled =
        |set: &[Vec<f32>]| -> Vec<Vec<f32>> { set.iter().map(|v| v.iter().map(|x| x * scale).collect()).collect() };
    let (a, b) = (&scaled(a), &scaled(b));
    let (sa, sb) = (sums(a, b, group), sums(b, a, group));
    let (total_a, total_b): (f64, f64) = (sa.own.iter().sum(), sb.own.iter().sum());
    let across: f64 = sa.cross.iter().sum();
    let (m, n) = (a.len(), b.len());
    let variance = side_variance(&sa, total_a, total_b, across, (m, n), group)
        + side_variance(&sb, total_b, total_a, across, (n, m), group);
    KernelDistance { kid: mmd2(total_a, total_b, across, m, n), standard_error: variance.sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from a tiny deterministic generator: `count` of them, around `offset`.
    fn gaussian_like(count: usize, dim: usize, offset: f32, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // The sum of four uniforms: close enough to a normal for this purpose.
            (0..4).map(|k| ((state >> (16 + 8 * k)) & 0xff) as f32 / 255.0).sum::<f32>() - 2.0
        };
        (0..count).map(|_| (0..dim).map(|_| next() + offset).collect()).collect()
    }

    /// The estimate computed straight from its definition.
    fn direct(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
        let pairs = |s: &[Vec<f32>]| -> f64 {
            let mut sum = 0.0;
            for (i, x) in s.iter().enumerate() {
                for (j, y) in s.iter().enumerate() {
                    if i != j {
                        sum += kernel(x, y);
                    }
                }
            }
            sum
        };
        let across: f64 = a.iter().flat_map(|x| b.iter().map(move |y| kernel(x, y))).sum();
        mmd2(pairs(a), pairs(b), across, a.len(), b.len())
    }

    #[test]
    fn matches_the_definition_and_a_jackknife_recomputed_from_scratch() {
        let (a, b) = (gaussian_like(12, 5, 0.0, 1), gaussian_like(9, 5, 0.3, 2));
        let group = 3;
        let got = kernel_distance(&a, &b, group);
        // The definition on the vectors scaled as the function scales them.
        let scale = unit_scale(&a, &b);
        let scaled =
            |s: &[Vec<f32>]| -> Vec<Vec<f32>> { s.iter().map(|v| v.iter().map(|x| x * scale).collect()).collect() };
        let (a, b) = (scaled(&a), scaled(&b));
        assert!((got.kid - direct(&a, &b)).abs() < 1e-9 * direct(&a, &b).abs().max(1.0));
        let side = |set: &[Vec<f32>], left_out: &dyn Fn(&[Vec<f32>]) -> f64| {
            let estimates: Vec<f64> = (0..set.len() / group)
                .map(|g| {
                    let kept: Vec<Vec<f32>> =
                        set.iter().enumerate().filter(|(i, _)| i / group != g).map(|(_, v)| v.clone()).collect();
                    left_out(&kept)
                })
                .collect();
            let k = estimates.len() as f64;
            let mean = estimates.iter().sum::<f64>() / k;
            (k - 1.0) / k * estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>()
        };
        let variance = side(&a, &|kept| direct(kept, &b)) + side(&b, &|kept| direct(&a, kept));
        assert!((got.standard_error - variance.sqrt()).abs() < 1e-9, "{got:?} vs {}", variance.sqrt());
    }

    #[test]
    fn the_measure_does_not_depend_on_the_features_scale() {
        let (a, b) = (gaussian_like(18, 8, 0.0, 6), gaussian_like(18, 8, 0.5, 7));
        let times =
            |s: &[Vec<f32>], k: f32| -> Vec<Vec<f32>> { s.iter().map(|v| v.iter().map(|x| x * k).collect()).collect() };
        let (one, many) = (kernel_distance(&a, &b, 3), kernel_distance(&times(&a, 300.0), &times(&b, 300.0), 3));
        assert!((one.kid - many.kid).abs() < 1e-4 * one.kid.abs(), "{one:?} vs {many:?}");
    }

    #[test]
    fn one_distribution_is_within_noise_and_a_shift_is_not() {
        let dim = 16;
        let a = gaussian_like(90, dim, 0.0, 3);
        let same = kernel_distance(&a, &gaussian_like(90, dim, 0.0, 4), 9);
        assert!(same.kid.abs() < 3.0 * same.standard_error, "{same:?}");
        let shifts: Vec<KernelDistance> =
            [0.4, 0.8, 1.6].iter().map(|&s| kernel_distance(&a, &gaussian_like(90, dim, s, 5), 9)).collect();
        assert!(shifts[0].kid > 3.0 * shifts[0].standard_error, "{shifts:?}");
        assert!(shifts.windows(2).all(|w| w[1].kid > w[0].kid), "{shifts:?}");
    }
}
