//! Scene-cut detection: a cut changes the distribution of brightness at once, motion within a
//! shot mostly moves it around. Compares luma histograms of consecutive frames.

use toonflow_imgproc::Plane;

/// Histogram bins; coarse on purpose so noise and small shifts do not move mass between bins.
const BINS: usize = 32;

/// Default threshold on [`histogram_distance`] above which two frames are a cut.
pub const DEFAULT_CUT_THRESHOLD: f32 = 0.35;

/// A normalised histogram of a luma plane, kept per frame so each frame is binned once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LumaHistogram([f32; BINS]);

impl LumaHistogram {
    /// The histogram of a luma plane (values in `[0, 1]`).
    pub fn of(p: &Plane) -> Self {
        let mut h = [0f32; BINS];
        for &v in p.data() {
            h[((v.clamp(0.0, 1.0) * BINS as f32) as usize).min(BINS - 1)] += 1.0;
        }
        let n = p.data().len().max(1) as f32;
        Self(h.map(|c| c / n))
    }

    /// Half the L1 distance between the two histograms: 0 identical, 1 disjoint (bins of 1/n
    /// that do not sum to exactly 1 in floating point are held to that bound).
    pub fn distance(&self, other: &LumaHistogram) -> f32 {
        (0.5 * self.0.iter().zip(&other.0).map(|(x, y)| (x - y).abs()).sum::<f32>()).min(1.0)
    }
}

/// Half the L1 distance between the normalised luma histograms: 0 identical, 1 disjoint.
pub fn histogram_distance(a: &Plane, b: &Plane) -> f32 {
    let (ha, hb) = rayon::join(|| LumaHistogram::of(a), || LumaHistogram::of(b));
    ha.distance(&hb)
}

/// Whether `b` starts a new shot after `a`.
pub fn is_scene_cut(a: &Plane, b: &Plane, threshold: f32) -> bool {
    histogram_distance(a, b) > threshold
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dis::tests::{moved, photo};

    #[test]
    fn a_pan_is_not_a_cut_and_a_new_shot_is() {
        let cat = photo("chelsea.jpg");
        let (panned, _) = moved(&cat, |x, y| (x + 6.0, y), |x, y| (x - 6.0, y));
        assert!(!is_scene_cut(&cat, &panned, DEFAULT_CUT_THRESHOLD), "{}", histogram_distance(&cat, &panned));
        let rocket = photo("rocket.jpg");
        let rocket = toonflow_imgproc::resize::resize_plane(&rocket, cat.width(), cat.height(), Default::default());
        assert!(is_scene_cut(&cat, &rocket, DEFAULT_CUT_THRESHOLD), "{}", histogram_distance(&cat, &rocket));
    }
}
