//! Warping error (Lai et al. 2018, "Learning Blind Video Temporal Consistency"): how much an
//! output video changes between frames beyond what the *input's* motion explains.
//!
//! For each pair of consecutive frames, the flow is computed on the input frames (current to
//! previous), the previous output is warped onto the current frame with it, and the squared
//! difference to the current output is averaged over the pixels where the flow is reliable
//! (forward–backward consistent, i.e. not occluded). The video's figure is the mean over pairs.
//! Colours are sRGB-encoded in `[0, 1]`, so a value of 0.001 is an RMS change of ~0.03 (8 levels
//! of 255). Lower is steadier; a perfectly stable output of a static scene scores 0.

use rayon::prelude::*;
use toonflow_flow::consistency::consistency_mask;
use toonflow_flow::dis::{compute_flow, DisConfig};
use toonflow_flow::warp::warp_backward;
use toonflow_imgproc::color::luma;
use toonflow_imgproc::{Frame, Plane};

use crate::srgb_planes;

/// Streaming warping-error accumulator: push (input, output) frame pairs in order.
pub struct WarpingError {
    flow: DisConfig,
    prev: Option<(Plane, [Plane; 3])>,
    per_pair: Vec<f64>,
}

/// The result.
#[derive(Clone, Debug, PartialEq)]
pub struct WarpingErrorReport {
    /// Mean over frame pairs.
    pub mean: f64,
    /// Each pair's error, in order.
    pub per_pair: Vec<f64>,
}

impl WarpingError {
    /// An accumulator computing flow with `flow` (the medium preset is a good default: the
    /// measure should be more accurate than what it measures).
    pub fn new(flow: DisConfig) -> Self {
        Self { flow, prev: None, per_pair: Vec::new() }
    }

    /// Adds the next input frame and its output frame (same size).
    ///
    /// # Panics
    /// If input and output differ in size.
    pub fn push(&mut self, input: &Frame, output: &Frame) {
        assert_eq!((input.width(), input.height()), (output.width(), output.height()), "input and output sizes differ");
        let (cur_luma, cur_out) = (luma(input), srgb_planes(output));
        if let Some((prev_luma, prev_out)) = self.prev.take() {
            let (to_prev, to_cur) = rayon::join(
                || compute_flow(&cur_luma, &prev_luma, &self.flow),
                || compute_flow(&prev_luma, &cur_luma, &self.flow),
            );
            let mask = consistency_mask(&to_prev, &to_cur);
            let warped: Vec<Plane> = prev_out.par_iter().map(|p| warp_backward(p, &to_prev)).collect();
            let (mut sum, mut n) = (0.0f64, 0.0f64);
            for (i, &m) in mask.data().iter().enumerate() {
                if m > 0.0 {
                    for c in 0..3 {
                        let d = (cur_out[c].data()[i] - warped[c].data()[i]) as f64;
                        sum += d * d;
                    }
                    n += 1.0;
                }
            }
            self.per_pair.push(if n > 0.0 { sum / (3.0 * n) } else { 0.0 });
        }
        self.prev = Some((cur_luma, cur_out));
    }

    /// The figures so far.
    pub fn report(&self) -> WarpingErrorReport {
        let mean =
            if self.per_pair.is_empty() { 0.0 } else { self.per_pair.iter().sum::<f64>() / self.per_pair.len() as f64 };
        WarpingErrorReport { mean, per_pair: self.per_pair.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(w: usize, h: usize, dx: f32) -> Frame {
        let f = |x: usize, y: usize, c: usize| {
            let (x, y) = (x as f32 - dx, y as f32);
            (0.4 + 0.25 * (0.21 * x + 0.13 * y + c as f32).sin() + 0.2 * (0.07 * x - 0.19 * y).cos()).clamp(0.0, 1.0)
        };
        Frame::new(std::array::from_fn(|c| Plane::from_fn(w, h, |x, y| f(x, y, c))), None)
    }

    #[test]
    fn a_video_that_follows_its_input_scores_near_zero_and_flicker_scores_high() {
        let inputs: Vec<Frame> = (0..4).map(|t| textured(160, 120, 1.5 * t as f32)).collect();
        let mut follows = WarpingError::new(DisConfig::medium());
        let mut flickers = WarpingError::new(DisConfig::medium());
        for (t, input) in inputs.iter().enumerate() {
            follows.push(input, input);
            let gain = if t % 2 == 0 { 0.8 } else { 1.0 };
            flickers.push(input, &input.map_planes(|p| Plane::from_fn(160, 120, |x, y| p.get(x, y) * gain)));
        }
        let (a, b) = (follows.report().mean, flickers.report().mean);
        assert_eq!(follows.report().per_pair.len(), 3);
        assert!(a < 1e-3, "output = input: warping error {a}");
        assert!(b > 10.0 * a && b > 1e-3, "flicker {b} vs steady {a}");
    }
}
