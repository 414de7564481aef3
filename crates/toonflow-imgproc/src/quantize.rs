//! Colour quantization: a k-means palette fitted on a sample of pixels (k-means++ seeding, Lloyd
//! iterations), then every pixel mapped to its nearest palette entry. Run it on Oklab planes so
//! that "nearest" means perceptually nearest.

use crate::frame::Plane;
use rayon::prelude::*;

/// Settings of [`kmeans_palette`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KMeansConfig {
    /// Number of palette entries (1 to 256).
    pub k: usize,
    /// Pixels sampled for fitting; assignment still covers every pixel.
    pub samples: usize,
    /// Upper bound on Lloyd iterations (it stops earlier once no sample changes cluster).
    pub iterations: usize,
    /// Seed of the sampling and seeding; same seed, same palette.
    pub seed: u64,
}

impl Default for KMeansConfig {
    fn default() -> Self {
        Self { k: 12, samples: 8_192, iterations: 16, seed: 0x70_0f_10_c0 }
    }
}

/// Palette entries in the space of the planes they were fitted on, sorted by the first channel
/// (lightness, for Oklab), darkest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Palette {
    /// The entries.
    pub colours: Vec<[f32; 3]>,
}

/// A small, fast, seedable generator (xorshift64*), enough for sampling.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[inline]
fn dist2(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    let (d0, d1, d2) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    d0 * d0 + d1 * d1 + d2 * d2
}

#[inline]
fn nearest(c: &[f32; 3], palette: &[[f32; 3]]) -> (usize, f32) {
    let mut best = (0, f32::INFINITY);
    for (i, p) in palette.iter().enumerate() {
        let d = dist2(c, p);
        if d < best.1 {
            best = (i, d);
        }
    }
    best
}

/// Fits a palette of `cfg.k` entries. Pixels whose `mask` value is below 0.5 (transparent ones,
/// say) are not sampled. Deterministic for a given seed.
pub fn kmeans_palette(planes: &[Plane; 3], mask: Option<&Plane>, cfg: &KMeansConfig) -> Palette {
    let k = cfg.k.clamp(1, 256);
    let mut rng = Rng(cfg.seed | 1);
    let samples = sample_pixels(planes, mask, cfg.samples, &mut rng);
    if samples.is_empty() {
        return Palette { colours: vec![[0.0; 3]] };
    }
    let mut centres = seed_plus_plus(&samples, k, &mut rng);
    let mut labels = vec![usize::MAX; samples.len()];
    for _ in 0..cfg.iterations.max(1) {
        let assigned: Vec<(usize, f32)> = samples.par_iter().map(|s| nearest(s, &centres)).collect();
        let mut changed = false;
        for (l, (a, _)) in labels.iter_mut().zip(&assigned) {
            changed |= *l != *a;
            *l = *a;
        }
        let mut sums = vec![[0f64; 4]; centres.len()];
        for (s, &l) in samples.iter().zip(&labels) {
            for c in 0..3 {
                sums[l][c] += s[c] as f64;
            }
            sums[l][3] += 1.0;
        }
        for (i, sum) in sums.iter().enumerate() {
            if sum[3] > 0.0 {
                centres[i] = [(sum[0] / sum[3]) as f32, (sum[1] / sum[3]) as f32, (sum[2] / sum[3]) as f32];
            } else {
                // An empty cluster moves to the sample worst served by the others.
                let far = assigned.iter().enumerate().max_by(|a, b| a.1 .1.total_cmp(&b.1 .1)).map_or(0, |(j, _)| j);
                centres[i] = samples[far];
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    centres.sort_by(|a, b| a[0].total_cmp(&b[0]));
    centres.dedup();
    Palette { colours: centres }
}

/// Up to `n` pixels on a jittered grid, skipping masked-out ones.
fn sample_pixels(planes: &[Plane; 3], mask: Option<&Plane>, n: usize, rng: &mut Rng) -> Vec<[f32; 3]> {
    let (w, h) = (planes[0].width(), planes[0].height());
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let step = ((w * h) as f32 / n.max(1) as f32).sqrt().max(1.0);
    let mut out = Vec::with_capacity(n);
    let mut y = rng.unit() * step;
    while (y as usize) < h {
        let mut x = rng.unit() * step;
        while (x as usize) < w {
            let (px, py) = (x as usize, y as usize);
            if mask.is_none_or(|m| m.get(px, py) >= 0.5) {
                out.push([planes[0].get(px, py), planes[1].get(px, py), planes[2].get(px, py)]);
            }
            x += step;
        }
        y += step;
    }
    out
}

/// k-means++ seeding (Arthur & Vassilvitskii 2007): each new centre drawn with probability
/// proportional to its squared distance from the nearest centre so far.
fn seed_plus_plus(samples: &[[f32; 3]], k: usize, rng: &mut Rng) -> Vec<[f32; 3]> {
    let mut centres = vec![samples[rng.below(samples.len())]];
    let mut d2: Vec<f32> = samples.iter().map(|s| dist2(s, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = d2.iter().map(|&d| d as f64).sum();
        if total <= 0.0 {
            break; // fewer distinct colours than k
        }
        let mut target = rng.unit() as f64 * total;
        let mut pick = samples.len() - 1;
        for (i, &d) in d2.iter().enumerate() {
            target -= d as f64;
            if target <= 0.0 {
                pick = i;
                break;
            }
        }
        let c = samples[pick];
        centres.push(c);
        for (d, s) in d2.iter_mut().zip(samples) {
            *d = d.min(dist2(s, &c));
        }
    }
    centres
}

/// Index of the nearest palette entry for every pixel, row-major.
pub fn assign_labels(planes: &[Plane; 3], palette: &Palette) -> Vec<u8> {
    let (w, h) = (planes[0].width(), planes[0].height());
    assert!(palette.colours.len() <= 256, "palette has more than 256 entries");
    let mut labels = vec![0u8; w * h];
    // Eight pixels at a time with the palette loop inside, the eight nearest distances and
    // indices kept in registers: each lane runs the per-pixel comparisons in palette order, as
    // the remainder's `nearest` does, so both give the same labels. The index is kept as f32 so
    // both selects work on lanes of one width, and is read back through `ROUNDING_BIAS`.
    const LANES: usize = 8;
    labels.par_chunks_mut(w.max(1)).enumerate().for_each(|(y, row)| {
        let (p0, p1, p2) = (planes[0].row(y), planes[1].row(y), planes[2].row(y));
        crate::simd::dispatch(|| {
            let whole = w / LANES * LANES;
            for x0 in (0..whole).step_by(LANES) {
                let lanes = |p: &[f32]| -> [f32; LANES] { p[x0..x0 + LANES].try_into().expect("eight samples") };
                let (v0, v1, v2) = (lanes(p0), lanes(p1), lanes(p2));
                let (mut best, mut index) = ([f32::INFINITY; LANES], [0.0f32; LANES]);
                for (k, c) in palette.colours.iter().enumerate() {
                    let k = k as f32;
                    for l in 0..LANES {
                        let (d0, d1, d2) = (v0[l] - c[0], v1[l] - c[1], v2[l] - c[2]);
                        let d = d0 * d0 + d1 * d1 + d2 * d2;
                        let closer = d < best[l];
                        best[l] = if closer { d } else { best[l] };
                        index[l] = if closer { k } else { index[l] };
                    }
                }
                for (l, out) in row[x0..x0 + LANES].iter_mut().enumerate() {
                    *out = (index[l] + crate::simd::ROUNDING_BIAS).to_bits() as u8;
                }
            }
            for x in whole..w {
                row[x] = nearest(&[p0[x], p1[x], p2[x]], &palette.colours).0 as u8;
            }
        })
    });
    labels
}

/// Replaces each label by the most frequent one in its 3x3 neighbourhood when that one holds a
/// strict majority (5 of 9): removes single-pixel speckle along region borders, keeps corners.
pub fn majority_filter(labels: &[u8], width: usize, height: usize) -> Vec<u8> {
    let mut out = labels.to_vec();
    if width < 3 || height < 3 {
        return out;
    }
    out.par_chunks_mut(width).enumerate().skip(1).take(height - 2).for_each(|(y, row)| {
        let (up, mid, down) = (
            &labels[(y - 1) * width..y * width],
            &labels[y * width..(y + 1) * width],
            &labels[(y + 1) * width..(y + 2) * width],
        );
        for x in 1..width - 1 {
            let c = mid[x];
            let window = [up[x - 1], up[x], up[x + 1], mid[x - 1], mid[x + 1], down[x - 1], down[x], down[x + 1]];
            if window.iter().filter(|&&v| v == c).count() >= 2 {
                continue; // the centre is not isolated: keep it
            }
            for &cand in &window {
                if window.iter().filter(|&&v| v == cand).count() >= 5 {
                    row[x] = cand;
                    break;
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn gradient_image(w: usize, h: usize) -> [Plane; 3] {
        [
            Plane::from_fn(w, h, |x, _| x as f32 / w as f32),
            Plane::from_fn(w, h, |_, y| y as f32 / h as f32 - 0.5),
            Plane::from_fn(w, h, |x, y| ((x * y) % 7) as f32 / 20.0),
        ]
    }

    #[test]
    fn quantization_leaves_at_most_k_colours() {
        let img = gradient_image(123, 77);
        for k in [1, 2, 5, 16] {
            let palette = kmeans_palette(&img, None, &KMeansConfig { k, ..Default::default() });
            assert!(palette.colours.len() <= k);
            let labels = assign_labels(&img, &palette);
            let distinct: HashSet<u8> = labels.iter().copied().collect();
            assert!(distinct.len() <= k, "k={k}: {} colours", distinct.len());
        }
    }

    #[test]
    fn finds_the_clusters_of_a_three_colour_image() {
        let colours = [[0.2, 0.1, -0.1], [0.5, -0.1, 0.1], [0.9, 0.0, 0.0]];
        let img: [Plane; 3] = std::array::from_fn(|c| Plane::from_fn(90, 60, |x, _| colours[x / 30][c]));
        let palette = kmeans_palette(&img, None, &KMeansConfig { k: 3, ..Default::default() });
        assert_eq!(palette.colours.len(), 3);
        for (found, want) in palette.colours.iter().zip(&colours) {
            assert!(dist2(found, want) < 1e-8, "{found:?} vs {want:?}");
        }
    }

    #[test]
    fn masked_pixels_do_not_get_palette_entries() {
        // Left half opaque grey, right half transparent red: red must not be in the palette.
        let img: [Plane; 3] = [
            Plane::from_fn(40, 20, |x, _| if x < 20 { 0.5 } else { 0.6 }),
            Plane::from_fn(40, 20, |x, _| if x < 20 { 0.0 } else { 0.2 }),
            Plane::filled(40, 20, 0.0),
        ];
        let mask = Plane::from_fn(40, 20, |x, _| if x < 20 { 1.0 } else { 0.0 });
        let palette = kmeans_palette(&img, Some(&mask), &KMeansConfig { k: 4, ..Default::default() });
        assert!(palette.colours.iter().all(|c| c[1].abs() < 1e-6), "{palette:?}");
    }

    #[test]
    fn every_label_is_the_first_nearest_palette_entry() {
        // Odd width: the eight-pixel groups and the remainder; colours sweeping across every
        // entry's cell and the borders between them.
        let (w, h) = (203, 9);
        let planes = [0.0, 0.3, 0.6]
            .map(|o: f32| Plane::from_fn(w, h, |x, y| ((x * 37 + y * 11) as f32 * 0.013 + o).sin() * 0.5 + 0.5));
        let colours = vec![[0.2, 0.5, 0.5], [0.8, 0.5, 0.5], [0.5, 0.2, 0.8], [0.5, 0.8, 0.2], [0.5, 0.5, 0.5]];
        let palette = Palette { colours: colours.clone() };
        let (baseline, best) = crate::simd::both_levels(|| assign_labels(&planes, &palette));
        assert_eq!(baseline, best);
        for (i, &label) in best.iter().enumerate() {
            let v = [0, 1, 2].map(|c| planes[c].data()[i]);
            assert_eq!(label as usize, nearest(&v, &colours).0, "pixel {i}");
        }
    }

    #[test]
    fn majority_filter_removes_isolated_label() {
        let mut labels = vec![1u8; 25];
        labels[12] = 3;
        let out = majority_filter(&labels, 5, 5);
        assert!(out.iter().all(|&l| l == 1));
    }
}
