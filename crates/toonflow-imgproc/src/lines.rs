//! Ink lines: the extended difference of Gaussians (XDoG; Winnemöller, Kyprianidis & Olsen 2012,
//! "XDoG: An eXtended difference-of-Gaussians compendium") and a clean-up that erases ink specks
//! too small to be drawn lines (what turns foliage into squiggle noise in naive cartoonizers).

use crate::blur::{box_mean, gaussian_blur};
use crate::frame::Plane;
use crate::resize::downsample_box;
use rayon::prelude::*;

/// XDoG settings; distances are in pixels, tones in Oklab lightness units (`0` black, `1` white).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct XdogConfig {
    /// Scale of the finer Gaussian: line width grows with it.
    pub sigma: f32,
    /// Ratio of the coarser Gaussian's scale to `sigma` (1.6 approximates a Laplacian of Gaussian).
    pub k: f32,
    /// Edge emphasis `p` in `(1 + p) G_sigma - p G_{k sigma}`: higher finds fainter edges.
    pub p: f32,
    /// Threshold: the sharpened tone must fall below this to become ink.
    pub epsilon: f32,
    /// Steepness of the ink ramp below the threshold; large values give hard, binary ink.
    pub phi: f32,
}

impl Default for XdogConfig {
    fn default() -> Self {
        Self { sigma: 1.5, k: 1.6, p: 40.0, epsilon: 0.12, phi: 40.0 }
    }
}

impl XdogConfig {
    /// The same settings at `scale` times the resolution (sigma scales; tones do not).
    pub fn scaled(&self, scale: f32) -> Self {
        Self { sigma: self.sigma * scale, ..*self }
    }
}

/// Ink coverage in `[0, 1]` (1 = solid black ink) from a lightness plane.
pub fn xdog(lightness: &Plane, cfg: &XdogConfig) -> Plane {
    let (fine, coarse) =
        rayon::join(|| gaussian_blur(lightness, cfg.sigma), || gaussian_blur(lightness, cfg.sigma * cfg.k));
    let mut ink = fine;
    ink.data_mut().par_iter_mut().zip(coarse.data()).for_each(|(f, &c)| {
        let u = (1.0 + cfg.p) * *f - cfg.p * c;
        *f = if u >= cfg.epsilon { 0.0 } else { (cfg.phi * (cfg.epsilon - u)).tanh() };
    });
    ink
}

/// Fades ink out where it is dense: texture (grass, foliage, gravel) makes many short strokes
/// close together, an outline makes one stroke with paper around it. `density` is the fraction of
/// a `(2 radius + 1)^2` window covered by ink; ink is kept whole below `density_lo`, gone above
/// `density_hi`, faded between. The density is measured at quarter resolution: it only needs to
/// be smooth.
pub fn suppress_texture(ink: &mut Plane, radius: usize, density_lo: f32, density_hi: f32) {
    let (w, h) = (ink.width(), ink.height());
    if w == 0 || h == 0 || density_hi <= density_lo {
        return;
    }
    let factor = 4.min(radius.max(1));
    let low = downsample_box(ink, factor);
    let density = box_mean(&low, (radius / factor).max(1));
    let (lw, lh) = (density.width(), density.height());
    let span = density_hi - density_lo;
    ink.par_rows_mut().enumerate().for_each(|(y, row)| {
        let drow = density.row((y / factor).min(lh - 1));
        for (x, v) in row.iter_mut().enumerate() {
            if *v > 0.0 {
                let d = drow[(x / factor).min(lw - 1)];
                *v *= ((density_hi - d) / span).clamp(0.0, 1.0);
            }
        }
    });
}

/// A horizontal run of ink pixels `[x0, x1)` in row `y`.
#[derive(Clone, Copy)]
struct Run {
    y: usize,
    x0: usize,
    x1: usize,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Erases every 8-connected blob of ink (`ink > threshold`) covering fewer than `min_area`
/// pixels. Works on runs, not pixels: ink is sparse, so this stays a small fraction of the
/// frame's cost. Returns how many blobs were erased.
pub fn remove_small_blobs(ink: &mut Plane, threshold: f32, min_area: usize) -> usize {
    let (w, h) = (ink.width(), ink.height());
    if min_area <= 1 || w == 0 {
        return 0;
    }
    let per_row: Vec<Vec<Run>> = (0..h)
        .into_par_iter()
        .map(|y| {
            let row = ink.row(y);
            let mut runs = Vec::new();
            let mut x = 0;
            while x < w {
                if row[x] > threshold {
                    let x0 = x;
                    while x < w && row[x] > threshold {
                        x += 1;
                    }
                    runs.push(Run { y, x0, x1: x });
                } else {
                    x += 1;
                }
            }
            runs
        })
        .collect();
    let runs: Vec<Run> = per_row.iter().flatten().copied().collect();
    let mut parent: Vec<usize> = (0..runs.len()).collect();
    // Union each run with the runs of the row above that touch it (8-connectivity: the
    // ranges overlap once widened by one pixel).
    let mut row_start = 0;
    let mut prev: std::ops::Range<usize> = 0..0;
    for row in &per_row {
        let cur = row_start..row_start + row.len();
        let mut j = prev.start;
        for i in cur.clone() {
            let r = runs[i];
            while j < prev.end && runs[j].x1 < r.x0 {
                j += 1;
            }
            let mut jj = j;
            while jj < prev.end && runs[jj].x0 <= r.x1 {
                let (a, b) = (find(&mut parent, i), find(&mut parent, jj));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
                jj += 1;
            }
        }
        prev = cur.clone();
        row_start = cur.end;
    }
    let mut area = vec![0usize; runs.len()];
    let roots: Vec<usize> = (0..runs.len()).map(|i| find(&mut parent, i)).collect();
    for (r, &root) in runs.iter().zip(&roots) {
        area[root] += r.x1 - r.x0;
    }
    let mut erased = 0;
    for (i, (r, &root)) in runs.iter().zip(&roots).enumerate() {
        if area[root] < min_area {
            ink.data_mut()[r.y * w + r.x0..r.y * w + r.x1].fill(0.0);
            if root == i {
                erased += 1;
            }
        }
    }
    erased
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdog_marks_the_border_of_a_square_not_its_inside() {
        // A dark grey square on white: ink must follow its outline and leave both the paper and
        // the square's interior clean.
        let (w, h) = (80, 64);
        let square = |x: usize, y: usize| (20..60).contains(&x) && (16..48).contains(&y);
        let l = Plane::from_fn(w, h, |x, y| if square(x, y) { 0.4 } else { 0.95 });
        let ink = xdog(&l, &XdogConfig::default());
        let border_ink: f32 = (20..60).map(|x| ink.get(x, 16).max(ink.get(x, 17))).sum::<f32>() / 40.0;
        assert!(border_ink > 0.9, "top edge coverage {border_ink}");
        for y in 0..h {
            for x in 0..w {
                let inside = (26..54).contains(&x) && (22..42).contains(&y);
                let outside = !((14..66).contains(&x) && (10..54).contains(&y));
                if inside || outside {
                    assert!(ink.get(x, y) < 0.01, "ink {} at ({x},{y})", ink.get(x, y));
                }
            }
        }
    }

    #[test]
    fn small_blobs_go_and_long_lines_stay() {
        let (w, h) = (50, 30);
        let mut ink = Plane::new(w, h);
        // A 25-pixel diagonal line (8-connected only), two specks of 1 and 4 pixels.
        for i in 0..25 {
            ink.data_mut()[i * w + i + 5] = 1.0;
        }
        ink.data_mut()[3 * w + 40] = 1.0;
        for (x, y) in [(44, 20), (45, 20), (44, 21), (45, 21)] {
            ink.data_mut()[y * w + x] = 1.0;
        }
        let erased = remove_small_blobs(&mut ink, 0.5, 10);
        assert_eq!(erased, 2);
        assert_eq!(ink.data().iter().filter(|&&v| v > 0.5).count(), 25);
    }

    /// Flood fill reference: keeps pixels whose 8-connected blob has at least `min_area` pixels.
    fn naive_filter(ink: &Plane, min_area: usize) -> Vec<bool> {
        let (w, h) = (ink.width(), ink.height());
        let mut seen = vec![false; w * h];
        let mut keep = vec![false; w * h];
        for start in 0..w * h {
            if seen[start] || ink.data()[start] <= 0.5 {
                continue;
            }
            let (mut stack, mut blob) = (vec![start], vec![]);
            seen[start] = true;
            while let Some(i) = stack.pop() {
                blob.push(i);
                let (x, y) = ((i % w) as isize, (i / w) as isize);
                for (dx, dy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx >= 0 && ny >= 0 && nx < w as isize && ny < h as isize {
                        let j = ny as usize * w + nx as usize;
                        if !seen[j] && ink.data()[j] > 0.5 {
                            seen[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
            if blob.len() >= min_area {
                blob.iter().for_each(|&i| keep[i] = true);
            }
        }
        keep
    }

    #[test]
    fn blob_removal_matches_flood_fill_on_random_ink() {
        let mut state = 7u32;
        for density in [0.2, 0.35, 0.5] {
            let mut ink = Plane::from_fn(61, 43, |_, _| 0.0);
            for v in ink.data_mut() {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *v = if ((state >> 8) as f32 / (1 << 24) as f32) < density { 1.0 } else { 0.0 };
            }
            for min_area in [2, 5, 20] {
                let expected = naive_filter(&ink, min_area);
                let mut fast = ink.clone();
                remove_small_blobs(&mut fast, 0.5, min_area);
                let found: Vec<bool> = fast.data().iter().map(|&v| v > 0.5).collect();
                assert_eq!(found, expected, "density {density}, min_area {min_area}");
            }
        }
    }
}
