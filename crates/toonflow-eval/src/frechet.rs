//! Fréchet distance between two sets of feature vectors, each summarised by a Gaussian (the
//! formula of FID, Heusel et al. 2017): `|μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½)`.
//!
//! The trace of the matrix square root is computed as the sum of the square roots of the
//! eigenvalues of `Σa^½ Σb Σa^½`, a symmetric positive semi-definite matrix with the same
//! eigenvalues as `Σa Σb`; this avoids a non-symmetric square root and its complex round-off.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Mean and covariance of a set of feature vectors.
#[derive(Clone, Debug)]
pub struct GaussianStats {
    /// Per-dimension mean.
    pub mean: DVector<f64>,
    /// Covariance (divided by n − 1).
    pub covariance: DMatrix<f64>,
    /// How many vectors went in.
    pub count: usize,
}

impl GaussianStats {
    /// Statistics of `vectors`, all of one length; at least two are needed for a covariance.
    ///
    /// # Panics
    /// With fewer than two vectors or vectors of different lengths.
    pub fn from_vectors(vectors: &[Vec<f32>]) -> Self {
        assert!(vectors.len() >= 2, "a covariance needs at least two vectors");
        let dim = vectors[0].len();
        assert!(vectors.iter().all(|v| v.len() == dim), "feature vectors differ in length");
        let n = vectors.len();
        let data = DMatrix::from_fn(n, dim, |i, j| vectors[i][j] as f64);
        let mean = data.row_mean().transpose();
        let centered = DMatrix::from_fn(n, dim, |i, j| data[(i, j)] - mean[j]);
        let covariance = centered.tr_mul(&centered) / (n - 1) as f64;
        Self { mean, covariance, count: n }
    }
}

/// Square root of a symmetric positive semi-definite matrix; round-off negatives count as 0.
fn sqrt_psd(m: &DMatrix<f64>) -> DMatrix<f64> {
    let eigen = SymmetricEigen::new(m.clone());
    let roots = eigen.eigenvalues.map(|v| v.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

/// The Fréchet distance between the Gaussians of `a` and `b` (0 for identical statistics).
///
/// # Panics
/// If the two have different dimensions.
pub fn frechet_distance(a: &GaussianStats, b: &GaussianStats) -> f64 {
    assert_eq!(a.mean.len(), b.mean.len(), "feature dimensions differ");
    let mean_term = (&a.mean - &b.mean).norm_squared();
    let root_a = sqrt_psd(&a.covariance);
    let middle = &root_a * &b.covariance * &root_a;
    // Symmetrize against round-off before the symmetric eigen-solver.
    let middle = (&middle + middle.transpose()) * 0.5;
    let trace_root: f64 = SymmetricEigen::new(middle).eigenvalues.iter().map(|v| v.max(0.0).sqrt()).sum();
    // Tiny negative values are round-off of equal statistics.
    (mean_term + a.covariance.trace() + b.covariance.trace() - 2.0 * trace_root).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(mean: &[f64], cov: DMatrix<f64>) -> GaussianStats {
        GaussianStats { mean: DVector::from_column_slice(mean), covariance: cov, count: 0 }
    }

    #[test]
    fn diagonal_gaussians_match_the_closed_form() {
        // For diagonal covariances the distance is |μa − μb|² + Σ (σa − σb)².
        let a = stats(&[0.0, 1.0, 2.0], DMatrix::from_diagonal(&DVector::from_column_slice(&[1.0, 4.0, 9.0])));
        let b = stats(&[1.0, 1.0, 0.0], DMatrix::from_diagonal(&DVector::from_column_slice(&[4.0, 4.0, 1.0])));
        let expected = (1.0 + 0.0 + 4.0) + (1.0 + 0.0 + 4.0);
        assert!((frechet_distance(&a, &b) - expected).abs() < 1e-9, "{}", frechet_distance(&a, &b));
        assert!((frechet_distance(&b, &a) - expected).abs() < 1e-9);
    }

    #[test]
    fn rotated_covariance_matches_the_closed_form_in_its_eigenbasis() {
        // Same covariance rotated by 45°: the distance equals the unrotated case, which for
        // commuting diagonal matrices is Σ (σa − σb)².
        let (c, s) = (0.5f64.sqrt(), 0.5f64.sqrt());
        let r = DMatrix::from_row_slice(2, 2, &[c, -s, s, c]);
        let d = DMatrix::from_diagonal(&DVector::from_column_slice(&[9.0, 1.0]));
        let a = stats(&[0.0, 0.0], &r * &d * r.transpose());
        let b = stats(&[0.0, 0.0], DMatrix::identity(2, 2));
        // tr(A) + tr(I) − 2 tr(A^½) = 10 + 2 − 2 (3 + 1) = 4
        assert!((frechet_distance(&a, &b) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn identical_sets_are_at_distance_zero_and_shifted_sets_at_the_shift() {
        let vectors: Vec<Vec<f32>> =
            (0..50).map(|i| vec![(i as f32).sin(), (i as f32 * 0.7).cos(), i as f32 / 50.0]).collect();
        let a = GaussianStats::from_vectors(&vectors);
        assert!(frechet_distance(&a, &a) < 1e-9);
        let shifted: Vec<Vec<f32>> = vectors.iter().map(|v| vec![v[0] + 0.5, v[1], v[2] - 0.5]).collect();
        let b = GaussianStats::from_vectors(&shifted);
        assert!((frechet_distance(&a, &b) - 0.5).abs() < 1e-5, "{}", frechet_distance(&a, &b));
    }
}
