//! Multi-scale sliced Wasserstein distance between two image sets (Karras et al. 2018,
//! "Progressive Growing of GANs", section 5): how far apart the distributions of small patches
//! are, scale by scale.
//!
//! Each image (sRGB in `[0, 1]`, all the same size) is split into a Laplacian pyramid down to
//! `smallest_level` pixels; from every level `patches_per_level` random 7×7×3 neighbourhoods are
//! drawn. Per level, the descriptors of both sets are normalized per channel with the mean and
//! standard deviation of the two sets together (the paper normalizes each set by its own, which
//! would hide a global colour change: palette is part of a comic style), projected onto random
//! unit directions, and the 1-D Wasserstein distances of the sorted projections are averaged.
//! Reported ×10³ like the paper; the coarsest level (a low-pass image) sees colour and layout,
//! the finer ones edges and texture.

use rayon::prelude::*;
use toonflow_imgproc::blur::convolve_separable;
use toonflow_imgproc::Plane;

/// Settings of [`sliced_wasserstein`]; the defaults are the paper's.
#[derive(Clone, Debug, PartialEq)]
pub struct SwdConfig {
    /// Random neighbourhoods per image and level.
    pub patches_per_level: usize,
    /// Side of a neighbourhood.
    pub patch_size: usize,
    /// Side below which the pyramid stops.
    pub smallest_level: usize,
    /// Random projection directions.
    pub directions: usize,
    /// Seed of the patch positions and directions (the same for both sets).
    pub seed: u64,
}

impl Default for SwdConfig {
    fn default() -> Self {
        Self { patches_per_level: 128, patch_size: 7, smallest_level: 16, directions: 512, seed: 1 }
    }
}

/// The distance at each pyramid level (finest first) and their mean, ×10³.
#[derive(Clone, Debug, PartialEq)]
pub struct SwdReport {
    /// Side of each level's image, finest first.
    pub level_sizes: Vec<usize>,
    /// Distance per level, ×10³.
    pub per_level: Vec<f64>,
    /// Mean over levels, ×10³.
    pub mean: f64,
}

/// SplitMix64: a small, good generator for positions and directions.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

const BINOMIAL: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];

fn pyramid_down(p: &Plane) -> Plane {
    let blurred = convolve_separable(p, &BINOMIAL);
    Plane::from_fn(p.width().div_ceil(2), p.height().div_ceil(2), |x, y| blurred.get(2 * x, 2 * y))
}

/// Back up to `w x h`: zeros between the samples, then the binomial filter (doubled per axis).
fn pyramid_up(p: &Plane, w: usize, h: usize) -> Plane {
    let spread = Plane::from_fn(w, h, |x, y| if x % 2 == 0 && y % 2 == 0 { 4.0 * p.get(x / 2, y / 2) } else { 0.0 });
    convolve_separable(&spread, &BINOMIAL)
}

/// Laplacian pyramid of an RGB image, finest level first; the last level is the low-pass rest.
pub fn laplacian_pyramid(image: &[Plane; 3], smallest: usize) -> Vec<[Plane; 3]> {
    let mut levels = Vec::new();
    let mut current = image.clone();
    while current[0].width().min(current[0].height()) / 2 >= smallest {
        let down = current.each_ref().map(pyramid_down);
        let detail: [Plane; 3] = std::array::from_fn(|c| {
            let (w, h) = (current[c].width(), current[c].height());
            let up = pyramid_up(&down[c], w, h);
            Plane::from_fn(w, h, |x, y| current[c].get(x, y) - up.get(x, y))
        });
        levels.push(detail);
        current = down;
    }
    levels.push(current);
    levels
}

/// `count` random `size x size x 3` neighbourhoods of one level, channel-major.
fn descriptors(level: &[Plane; 3], size: usize, count: usize, rng: &mut SplitMix) -> Vec<Vec<f32>> {
    let (w, h) = (level[0].width(), level[0].height());
    assert!(w >= size && h >= size, "pyramid level {w}x{h} is smaller than a {size}x{size} patch");
    (0..count)
        .map(|_| {
            let (x0, y0) = (rng.below(w - size + 1), rng.below(h - size + 1));
            let mut d = Vec::with_capacity(3 * size * size);
            for plane in level {
                for y in y0..y0 + size {
                    d.extend_from_slice(&plane.row(y)[x0..x0 + size]);
                }
            }
            d
        })
        .collect()
}

/// Normalizes each colour channel of both descriptor sets with their joint mean and deviation.
fn normalize_jointly(a: &mut [Vec<f32>], b: &mut [Vec<f32>], per_channel: usize) {
    for c in 0..3 {
        let range = c * per_channel..(c + 1) * per_channel;
        let values = || a.iter().chain(b.iter()).flat_map(|d| d[range.clone()].iter().map(|&v| v as f64));
        let n = values().count() as f64;
        let mean = values().sum::<f64>() / n;
        let std = (values().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt().max(1e-8);
        for d in a.iter_mut().chain(b.iter_mut()) {
            d[range.clone()].iter_mut().for_each(|v| *v = ((*v as f64 - mean) / std) as f32);
        }
    }
}

/// Value of the sorted sample `s` at quantile `q` in [0, 1] (linear between order statistics).
fn quantile(s: &[f32], q: f64) -> f64 {
    let pos = q * (s.len() - 1) as f64;
    let (i, t) = (pos.floor() as usize, pos.fract());
    let next = s[(i + 1).min(s.len() - 1)] as f64;
    s[i] as f64 * (1.0 - t) + next * t
}

/// Mean over directions of the 1-D Wasserstein-1 distance between the projections of `a` and
/// `b` (sets of different sizes are compared at common quantiles).
fn sliced_distance(a: &[Vec<f32>], b: &[Vec<f32>], directions: &[Vec<f32>]) -> f64 {
    let project = |set: &[Vec<f32>], dir: &[f32]| {
        let mut p: Vec<f32> = set.iter().map(|d| d.iter().zip(dir).map(|(x, y)| x * y).sum()).collect();
        p.sort_unstable_by(f32::total_cmp);
        p
    };
    let total: f64 = directions
        .par_iter()
        .map(|dir| {
            let (pa, pb) = (project(a, dir), project(b, dir));
            if pa.len() == pb.len() {
                pa.iter().zip(&pb).map(|(x, y)| (x - y).abs() as f64).sum::<f64>() / pa.len() as f64
            } else {
                let m = pa.len().max(pb.len());
                (0..m)
                    .map(|i| {
                        let q = (i as f64 + 0.5) / m as f64;
                        (quantile(&pa, q) - quantile(&pb, q)).abs()
                    })
                    .sum::<f64>()
                    / m as f64
            }
        })
        .sum();
    total / directions.len() as f64
}

/// The multi-scale sliced Wasserstein distance between image sets `a` and `b` (sRGB planes in
/// `[0, 1]`, every image the same size).
///
/// # Panics
/// If a set is empty or the images differ in size.
pub fn sliced_wasserstein(a: &[[Plane; 3]], b: &[[Plane; 3]], config: &SwdConfig) -> SwdReport {
    assert!(!a.is_empty() && !b.is_empty(), "both image sets need images");
    let size = (a[0][0].width(), a[0][0].height());
    assert!(
        a.iter().chain(b).all(|im| im.iter().all(|p| (p.width(), p.height()) == size)),
        "all images must have the same size"
    );
    let pyramids = |set: &[[Plane; 3]]| -> Vec<Vec<[Plane; 3]>> {
        set.par_iter().map(|im| laplacian_pyramid(im, config.smallest_level)).collect()
    };
    let (pa, pb) = (pyramids(a), pyramids(b));
    let levels = pa[0].len();
    let k = config.patch_size;
    let dim = 3 * k * k;
    let mut rng = SplitMix(config.seed);
    let directions: Vec<Vec<f32>> = (0..config.directions)
        .map(|_| {
            let v: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter().map(|x| (x / norm) as f32).collect()
        })
        .collect();
    let mut per_level = Vec::with_capacity(levels);
    let mut level_sizes = Vec::with_capacity(levels);
    for level in 0..levels {
        // The same positions for both sets: identical sets give exactly 0.
        let gather = |pyramids: &[Vec<[Plane; 3]>]| -> Vec<Vec<f32>> {
            let mut rng = SplitMix(config.seed ^ (level as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
            pyramids.iter().flat_map(|p| descriptors(&p[level], k, config.patches_per_level, &mut rng)).collect()
        };
        let (mut da, mut db) = (gather(&pa), gather(&pb));
        normalize_jointly(&mut da, &mut db, k * k);
        per_level.push(1e3 * sliced_distance(&da, &db, &directions));
        level_sizes.push(pa[0][level][0].width().min(pa[0][level][0].height()));
    }
    let mean = per_level.iter().sum::<f64>() / levels as f64;
    SwdReport { level_sizes, per_level, mean }
}
