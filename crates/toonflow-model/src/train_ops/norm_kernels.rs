//! Layer norm (one group over channels and space, per sample) with a per-channel scale and
//! shift, fused with LeakyReLU, forward and backward, on contiguous NCHW `f32` slices.
//!
//! Composed of burn's elementwise operations the same layer takes about ten passes over the
//! activations forward and twenty backward, each writing a new tensor; here it is two and two.

use rayon::prelude::*;
use toonflow_imgproc::lanes;

/// Epsilon added to the variance, as in `LayerNorm2d` and the CPU inference path.
pub const EPS: f64 = toonflow_infer::generator::NORM_EPS as f64;

/// `[batch, channels, pixels per channel]` and the activation's negative slope (1 = none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormGeometry {
    pub batch: usize,
    pub channels: usize,
    pub plane: usize,
    pub slope: f32,
}

impl NormGeometry {
    fn sample_len(&self) -> usize {
        self.channels * self.plane
    }

    fn activate(&self, z: f32) -> f32 {
        if z > 0.0 {
            z
        } else {
            z * self.slope
        }
    }
}

/// Per sample: mean and 1 / sqrt(variance + eps).
pub type SampleStats = Vec<[f32; 2]>;

/// `y = act((x - mean) * rstd * gamma + beta)`; returns y and each sample's statistics.
pub fn forward(g: &NormGeometry, x: &[f32], gamma: &[f32], beta: &[f32]) -> (Vec<f32>, SampleStats) {
    assert_eq!(x.len(), g.batch * g.sample_len(), "input size");
    assert!(gamma.len() == g.channels && beta.len() == g.channels, "scale and shift sizes");
    // Per-plane sums in `f64` (a 256x256 plane summed in `f32` loses digits).
    let sums: Vec<(f64, f64)> = x.par_chunks(g.plane).map(lanes::sum_and_squares).collect();
    let n = g.sample_len() as f64;
    let stats: SampleStats = sums
        .chunks(g.channels)
        .map(|planes| {
            let (s, s2) = planes.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
            let mean = s / n;
            let var = (s2 / n - mean * mean).max(0.0);
            [mean as f32, (1.0 / (var + EPS).sqrt()) as f32]
        })
        .collect();
    let mut y = vec![0f32; x.len()];
    y.par_chunks_mut(g.plane).zip(x.par_chunks(g.plane)).enumerate().for_each(|(i, (y, x))| {
        let ([mean, rstd], c) = (stats[i / g.channels], i % g.channels);
        let (scale, shift) = (rstd * gamma[c], beta[c] - mean * rstd * gamma[c]);
        y.iter_mut().zip(x).for_each(|(y, &x)| *y = g.activate(x * scale + shift));
    });
    (y, stats)
}

/// Gradients of input, scale and shift from the output gradient `dy`.
pub fn backward(
    g: &NormGeometry,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    stats: &[[f32; 2]],
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert_eq!(dy.len(), x.len(), "output gradient size");
    let slope = g.slope;
    // The gradient before the activation, from the pre-activation value recomputed from x.
    let pre_activation = move |i: usize| {
        let ([mean, rstd], c) = (stats[i / g.channels], i % g.channels);
        let scale = rstd * gamma[c];
        (mean, rstd, scale, beta[c] - mean * scale)
    };
    let dz = move |x: f32, dy: f32, scale: f32, shift: f32| if x * scale + shift > 0.0 { dy } else { dy * slope };
    // Pass 1, per plane: Σ dz (dβ) and Σ dz·x̂ (dγ).
    let sums: Vec<[f64; 2]> = x
        .par_chunks(g.plane)
        .zip(dy.par_chunks(g.plane))
        .enumerate()
        .map(|(i, (x, dy))| {
            let (mean, rstd, scale, shift) = pre_activation(i);
            let mut s = [0f64; 2];
            for (&x, &dy) in x.iter().zip(dy) {
                let d = dz(x, dy, scale, shift) as f64;
                s[0] += d;
                s[1] += d * ((x - mean) * rstd) as f64;
            }
            s
        })
        .collect();
    let (mut dgamma, mut dbeta) = (vec![0f32; g.channels], vec![0f32; g.channels]);
    for (i, s) in sums.iter().enumerate() {
        dbeta[i % g.channels] += s[0] as f32;
        dgamma[i % g.channels] += s[1] as f32;
    }
    // Per sample, with dx̂ = dz·γ: mean(dx̂) and mean(dx̂·x̂).
    let n = g.sample_len() as f64;
    let means: Vec<[f32; 2]> = sums
        .chunks(g.channels)
        .map(|planes| {
            let (a, b) = planes
                .iter()
                .zip(gamma)
                .fold((0.0, 0.0), |(a, b), (s, &gc)| (a + s[0] * gc as f64, b + s[1] * gc as f64));
            [(a / n) as f32, (b / n) as f32]
        })
        .collect();
    // Pass 2: dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂·x̂)).
    let mut dx = vec![0f32; x.len()];
    dx.par_chunks_mut(g.plane).zip(x.par_chunks(g.plane).zip(dy.par_chunks(g.plane))).enumerate().for_each(
        |(i, (dx, (x, dy)))| {
            let (mean, rstd, scale, shift) = pre_activation(i);
            let ([m_dxhat, m_dxhat_xhat], gc) = (means[i / g.channels], gamma[i % g.channels]);
            for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                let xhat = (x - mean) * rstd;
                *dx = rstd * (dz(x, dy, scale, shift) * gc - m_dxhat - xhat * m_dxhat_xhat);
            }
        },
    );
    (dx, dgamma, dbeta)
}
