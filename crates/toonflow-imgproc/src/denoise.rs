//! Classic denoising filters: the mean (box) filter and the median filter.

use crate::blur::box_mean;
use crate::frame::{Frame, Plane};
use rayon::prelude::*;

/// A denoising filter with its odd window size (`3` = 3x3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denoise {
    /// Average of the window: removes fine grain, softens edges.
    Mean(usize),
    /// Median of the window: removes salt-and-pepper noise and keeps edges.
    Median(usize),
}

impl Denoise {
    /// Applies the filter to every plane of a frame (alpha included).
    pub fn apply(&self, frame: &Frame) -> Frame {
        frame.map_planes(|p| self.apply_plane(p))
    }

    /// Applies the filter to one plane.
    pub fn apply_plane(&self, plane: &Plane) -> Plane {
        match *self {
            Denoise::Mean(size) => box_mean(plane, size / 2),
            Denoise::Median(size) => median_filter(plane, size / 2),
        }
    }
}

/// Median over the `(2r+1) x (2r+1)` window, edges clamped.
pub fn median_filter(src: &Plane, radius: usize) -> Plane {
    let (w, h) = (src.width(), src.height());
    if radius == 0 || w == 0 || h == 0 {
        return src.clone();
    }
    let side = 2 * radius + 1;
    let mut out = Plane::new(w, h);
    out.par_rows_mut().enumerate().for_each_init(
        || Vec::with_capacity(side * side),
        |window, (y, out_row)| {
            let rows: Vec<&[f32]> = (0..side)
                .map(|k| src.row((y as isize + k as isize - radius as isize).clamp(0, h as isize - 1) as usize))
                .collect();
            for (x, o) in out_row.iter_mut().enumerate() {
                window.clear();
                for row in &rows {
                    for dx in 0..side {
                        let sx = (x as isize + dx as isize - radius as isize).clamp(0, w as isize - 1);
                        window.push(row[sx as usize]);
                    }
                }
                let mid = window.len() / 2;
                *o = *window.select_nth_unstable_by(mid, f32::total_cmp).1;
            }
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn psnr(a: &Plane, b: &Plane) -> f64 {
        let mse: f64 =
            a.data().iter().zip(b.data()).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>() / a.data().len() as f64;
        10.0 * (1.0 / mse).log10()
    }

    #[test]
    fn median_removes_salt_and_pepper_noise() {
        // A smooth image with 10% of its pixels set to 0 or 1.
        let (w, h) = (120, 90);
        let clean = Plane::from_fn(w, h, |x, y| 0.3 + 0.4 * (x as f32 / w as f32) * (y as f32 / h as f32));
        let mut noisy = clean.clone();
        let mut state = 12345u32;
        for v in noisy.data_mut() {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let r = state >> 8;
            if r.is_multiple_of(10) {
                *v = if (r / 10).is_multiple_of(2) { 0.0 } else { 1.0 };
            }
        }
        let before = psnr(&clean, &noisy);
        let median = Denoise::Median(3).apply_plane(&noisy);
        let after = psnr(&clean, &median);
        assert!(after > before + 15.0, "PSNR {before:.1} dB -> {after:.1} dB");
        // The mean filter only spreads the impulses: median must beat it clearly.
        let mean = Denoise::Mean(3).apply_plane(&noisy);
        assert!(after > psnr(&clean, &mean) + 10.0);
    }

    #[test]
    fn median_keeps_a_step_edge() {
        let step = Plane::from_fn(40, 20, |x, _| if x < 20 { 0.0 } else { 1.0 });
        assert_eq!(median_filter(&step, 2), step);
    }
}
