//! What the pipeline decides about each frame once, before any stage uses it: its luma, whether
//! a scene cut comes before it, whether the picture has moved far enough from the one a
//! stylizer's look was fitted on to refit it, and the image pyramid the optical flow needs. The
//! stylizer (palette per shot) and the stabilizer (history, flow) read these decisions; neither
//! computes its own.

use toonflow_flow::dis::{DisConfig, Pyramid};
use toonflow_flow::scenecut::LumaHistogram;
use toonflow_imgproc::color::luma;
use toonflow_imgproc::resize::downsample_box;
use toonflow_imgproc::{Frame, Plane};

/// The shot decisions read a luma histogram of the frame shrunk by this factor: the 32 coarse
/// bins of a 720p frame's 1/64 thumbnail hold the same distribution, at a sixtieth of the cost
/// of a full-resolution luma (which only the optical flow needs).
const THUMBNAIL_FACTOR: usize = 8;

/// The decisions about one frame.
#[derive(Clone, Debug)]
pub struct FrameAnalysis {
    /// The frame's full-resolution luma and its reductions ([`Pyramid::base`] is the luma
    /// itself), for the optical flow; `None` when no flow is computed.
    pub luma: Option<Pyramid>,
    /// The frame starts a new shot (its luma histogram jumped from the previous frame's). Never
    /// set on the first frame.
    pub scene_cut: bool,
    /// A stylizer that fits its look to a frame (the comic palette) should refit it here: the
    /// first frame, a scene cut, or a slow change within a shot that has moved the histogram as
    /// far from the frame of the last refit as a cut would.
    pub refit_look: bool,
}

/// Makes the decisions, frame after frame.
#[derive(Debug)]
pub struct FrameAnalyzer {
    cut_threshold: f32,
    flow: Option<DisConfig>,
    previous: Option<LumaHistogram>,
    fitted_on: Option<LumaHistogram>,
}

impl FrameAnalyzer {
    /// An analyzer for a new stream: `cut_threshold` on the luma histogram distance (see
    /// [`toonflow_flow::scenecut`]); with `flow`, pyramids for that optical flow are built.
    pub fn new(cut_threshold: f32, flow: Option<DisConfig>) -> Self {
        Self { cut_threshold, flow, previous: None, fitted_on: None }
    }

    /// The next frame's decisions.
    pub fn analyze(&mut self, frame: &Frame) -> FrameAnalysis {
        self.analyze_with_luma(frame, || luma(frame))
    }

    /// [`Self::analyze`] with the frame's full-resolution luma from the caller (the decoder
    /// computes it from the 8-bit samples it has, cheaper than from the linear frame), asked for
    /// only when the flow needs it.
    pub fn analyze_with_luma(&mut self, frame: &Frame, full_luma: impl FnOnce() -> Plane) -> FrameAnalysis {
        let histogram = LumaHistogram::of(&luma(&frame.map_planes(|p| downsample_box(p, THUMBNAIL_FACTOR))));
        let beyond =
            |reference: Option<LumaHistogram>| reference.is_none_or(|r| r.distance(&histogram) > self.cut_threshold);
        let scene_cut = self.previous.is_some() && beyond(self.previous);
        let refit_look = scene_cut || beyond(self.fitted_on);
        self.previous = Some(histogram);
        if refit_look {
            self.fitted_on = Some(histogram);
        }
        let luma = self.flow.map(|cfg| Pyramid::new(full_luma(), &cfg));
        FrameAnalysis { luma, scene_cut, refit_look }
    }
}
