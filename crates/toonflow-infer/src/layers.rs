//! The generator's layers on the CPU, without a tensor framework. Activations stay
//! channels-last (NHWC) from the first layer to the last, so a 1x1 convolution is one matrix
//! product and the others gather their patches — reflection padding included — with row copies
//! into a small buffer per band of output rows; layer norm, its scale and shift and LeakyReLU are
//! one pass. (burn's CPU backend spent more than half of a generator run transposing, padding,
//! gathering patches element by element and running the norm as eight tensor operations.)
//!
//! Weights arrive in the layouts the model files store (PyTorch's and burn's `[out, in, kh, kw]`)
//! and are rearranged once at load time.

use rayon::prelude::*;
use toonflow_imgproc::lanes;

use crate::generator::{NormStats, LEAKY_SLOPE, NORM_EPS};
use crate::matmul::{matmul, MatRef, Threads};

/// Bytes of gathered patches per band of output rows: large enough for long matrix products,
/// small enough to stay in cache and to split over the threads.
const BAND_BYTES: usize = 2 << 20;

/// A feature map, channels last: `data[(y * w + x) * c + channel]`.
#[derive(Clone, Debug)]
pub struct FeatureMap {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub data: Vec<f32>,
}

/// A convolution without bias, with reflection padding of `k / 2` ("same" size at stride 1).
#[derive(Clone, Debug)]
pub struct Conv {
    pub k: usize,
    pub stride: usize,
    pub cin: usize,
    pub cout: usize,
    /// `[k * k * cin, cout]`, rows ordered (ky, kx, input channel).
    pub weight: Vec<f32>,
}

impl Conv {
    /// From burn's `[cout, cin, k, k]` weight layout.
    pub fn from_oihw(weight: &[f32], cout: usize, cin: usize, k: usize, stride: usize) -> Self {
        assert_eq!(weight.len(), cout * cin * k * k, "convolution weight size");
        let mut w = vec![0f32; k * k * cin * cout];
        for o in 0..cout {
            for i in 0..cin {
                for t in 0..k * k {
                    w[(t * cin + i) * cout + o] = weight[(o * cin + i) * k * k + t];
                }
            }
        }
        Self { k, stride, cin, cout, weight: w }
    }

    pub fn forward(&self, x: &FeatureMap) -> FeatureMap {
        assert_eq!(x.c, self.cin, "convolution input channels");
        let (k, s, pad) = (self.k, self.stride, self.k / 2);
        let (oh, ow) = ((x.h + 2 * pad - k) / s + 1, (x.w + 2 * pad - k) / s + 1);
        let kdim = k * k * self.cin;
        let mut out = vec![0f32; oh * ow * self.cout];
        // Bands small enough for the cache, and at least two per thread so none idles.
        let by_threads = oh.div_ceil(2 * rayon::current_num_threads());
        let rows_per_band = (BAND_BYTES / (4 * kdim * ow).max(1)).min(by_threads).clamp(1, oh);
        if k == 1 && s == 1 {
            // The input already is the patch matrix.
            out.par_chunks_mut(rows_per_band * ow * self.cout).enumerate().for_each(|(band, dst)| {
                let pixels = dst.len() / self.cout;
                let src = &x.data[band * rows_per_band * ow * self.cin..][..pixels * self.cin];
                product(src, &self.weight, dst, pixels, kdim, self.cout);
            });
            return FeatureMap { h: oh, w: ow, c: self.cout, data: out };
        }
        out.par_chunks_mut(rows_per_band * ow * self.cout).enumerate().for_each_init(
            Vec::new,
            |patches, (band, dst)| {
                let pixels = dst.len() / self.cout;
                patches.resize(pixels * kdim, 0.0);
                let y0 = band * rows_per_band;
                for (p, patch) in patches.chunks_exact_mut(kdim).enumerate() {
                    let (oy, ox) = (y0 + p / ow, p % ow);
                    for ky in 0..k {
                        let iy = reflect((oy * s + ky) as isize - pad as isize, x.h);
                        for kx in 0..k {
                            let ix = reflect((ox * s + kx) as isize - pad as isize, x.w);
                            let src = &x.data[(iy * x.w + ix) * x.c..][..x.c];
                            patch[(ky * k + kx) * x.c..][..x.c].copy_from_slice(src);
                        }
                    }
                }
                product(patches, &self.weight, dst, pixels, kdim, self.cout);
            },
        );
        FeatureMap { h: oh, w: ow, c: self.cout, data: out }
    }
}

/// Index `i` of an axis of length `n` reflected at the borders, edge not repeated (`-1 -> 1`).
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let i = if i < 0 { -i } else { i };
    (if i >= n { 2 * (n - 1) - i } else { i }).clamp(0, n - 1) as usize
}

/// `c = a b` for packed row-major `a: [m, k]`, `b: [k, n]`, `c: [m, n]`, on the calling thread
/// (the bands already run in parallel).
fn product(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    matmul(c, n, MatRef::rows(a, m, k, k), MatRef::rows(b, k, n, n), false, Threads::One);
}

/// A 3x3 depthwise convolution (one filter per channel) with reflection padding.
#[derive(Clone, Debug)]
pub struct Depthwise {
    /// `[9, c]`: tap-major, so each tap scales a contiguous channel vector.
    pub weight: Vec<f32>,
}

impl Depthwise {
    /// From burn's `[c, 1, 3, 3]` layout.
    pub fn from_oihw(weight: &[f32], c: usize) -> Self {
        assert_eq!(weight.len(), 9 * c, "depthwise weight size");
        Self { weight: (0..9 * c).map(|i| weight[(i % c) * 9 + i / c]).collect() }
    }

    pub fn forward(&self, x: &FeatureMap) -> FeatureMap {
        let c = x.c;
        let mut out = vec![0f32; x.data.len()];
        out.par_chunks_mut(x.w * c).enumerate().for_each(|(y, row)| {
            for (xo, acc) in row.chunks_exact_mut(c).enumerate() {
                for ky in 0..3 {
                    let iy = reflect(y as isize + ky as isize - 1, x.h);
                    for kx in 0..3 {
                        let ix = reflect(xo as isize + kx as isize - 1, x.w);
                        let src = &x.data[(iy * x.w + ix) * c..][..c];
                        let w = &self.weight[(ky * 3 + kx) * c..][..c];
                        for ((a, &v), &wt) in acc.iter_mut().zip(src).zip(w) {
                            *a += wt * v;
                        }
                    }
                }
            }
        });
        FeatureMap { data: out, ..*x }
    }
}

/// Layer norm over the whole map (GroupNorm with one group) with per-channel scale and shift,
/// optionally followed by LeakyReLU(0.2), in place.
#[derive(Clone, Debug)]
pub struct Norm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

impl Norm {
    pub fn apply(&self, x: &mut FeatureMap, stats: &mut NormStats, leaky: bool) {
        let (mean, var) = match stats {
            NormStats::Compute => moments(&x.data),
            NormStats::Record(list) => {
                let (m, v) = moments(&x.data);
                list.push([m, v]);
                (m, v)
            }
            NormStats::Replay(list, next) => {
                let [m, v] = list[*next];
                *next += 1;
                (m, v)
            }
        };
        // (v - mean) / sd * gamma + beta as one multiply-add per value.
        let inv_sd = 1.0 / (var + NORM_EPS).sqrt();
        let scale: Vec<f32> = self.gamma.iter().map(|g| g * inv_sd).collect();
        let shift: Vec<f32> = self.beta.iter().zip(&scale).map(|(b, s)| b - mean * s).collect();
        let c = x.c;
        x.data.par_chunks_mut(c * 1024).for_each(|chunk| {
            for px in chunk.chunks_exact_mut(c) {
                for ((v, &s), &b) in px.iter_mut().zip(&scale).zip(&shift) {
                    let y = *v * s + b;
                    *v = if leaky && y < 0.0 { y * LEAKY_SLOPE } else { y };
                }
            }
        });
    }
}

/// Mean and (population) variance in one pass over the map.
fn moments(data: &[f32]) -> (f32, f32) {
    let n = data.len().max(1) as f64;
    let (sum, sq) =
        data.par_chunks(1 << 14).map(lanes::sum_and_squares).reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    let mean = sum / n;
    // Activations are O(1), so the f64 difference of moments loses nothing that matters.
    (mean as f32, (sq / n - mean * mean).max(0.0) as f32)
}

/// Twice the size, bilinear with half-pixel centres (`align_corners = false`).
pub fn upsample2(map: &FeatureMap) -> FeatureMap {
    let (h, w, c) = (map.h, map.w, map.c);
    let tap = |o: usize, n: usize| {
        let s = ((o as f32 + 0.5) * 0.5 - 0.5).max(0.0);
        let i0 = (s as usize).min(n - 1);
        (i0, (i0 + 1).min(n - 1), s - i0 as f32)
    };
    let mut out = vec![0f32; 4 * h * w * c];
    out.par_chunks_mut(2 * w * c).enumerate().for_each(|(oy, row)| {
        let (y0, y1, fy) = tap(oy, h);
        for (ox, px) in row.chunks_exact_mut(c).enumerate() {
            let (x0, x1, fx) = tap(ox, w);
            let at = |y: usize, x: usize| &map.data[(y * w + x) * c..][..c];
            let (a, b, d, e) = (at(y0, x0), at(y0, x1), at(y1, x0), at(y1, x1));
            for (i, o) in px.iter_mut().enumerate() {
                let top = a[i] + (b[i] - a[i]) * fx;
                let bottom = d[i] + (e[i] - d[i]) * fx;
                *o = top + (bottom - top) * fy;
            }
        }
    });
    FeatureMap { h: 2 * h, w: 2 * w, c, data: out }
}

/// Convolution → layer norm → LeakyReLU.
#[derive(Clone, Debug)]
pub struct ConvNormAct {
    pub conv: Conv,
    pub norm: Norm,
}

impl ConvNormAct {
    pub fn forward(&self, x: &FeatureMap, stats: &mut NormStats) -> FeatureMap {
        let mut y = self.conv.forward(x);
        self.norm.apply(&mut y, stats, true);
        y
    }
}

/// 1x1 expand → depthwise 3x3 → 1x1 project with a skip connection, optionally modulated per
/// style.
#[derive(Clone, Debug)]
pub struct InvertedResidual {
    pub expand: ConvNormAct,
    pub depthwise: Depthwise,
    pub depthwise_norm: Norm,
    pub project: Conv,
    pub project_norm: Norm,
    /// `[styles, 2 * channels]`: (scale - 1, shift) per style.
    pub modulation: Option<Vec<f32>>,
}

impl InvertedResidual {
    pub fn forward(&self, x: &FeatureMap, style: Option<usize>, stats: &mut NormStats) -> FeatureMap {
        let h = self.expand.forward(x, stats);
        let mut h = self.depthwise.forward(&h);
        self.depthwise_norm.apply(&mut h, stats, true);
        let mut h = self.project.forward(&h);
        self.project_norm.apply(&mut h, stats, false);
        let c = h.c;
        // Without a style the table is not used (as in the burn generator).
        let modulation: Option<(Vec<f32>, Vec<f32>)> = match (&self.modulation, style) {
            (Some(table), Some(style)) => {
                let row = &table[style * 2 * c..][..2 * c];
                Some((row[..c].iter().map(|s| s + 1.0).collect(), row[c..].to_vec()))
            }
            _ => None,
        };
        h.data.par_chunks_mut(c * 1024).zip(x.data.par_chunks(c * 1024)).for_each(|(hs, xs)| {
            for (hp, xp) in hs.chunks_exact_mut(c).zip(xs.chunks_exact(c)) {
                for (i, (v, &skip)) in hp.iter_mut().zip(xp).enumerate() {
                    let y = match &modulation {
                        Some((scale, shift)) => *v * scale[i] + shift[i],
                        None => *v,
                    };
                    *v = skip + y;
                }
            }
        });
        h
    }
}
