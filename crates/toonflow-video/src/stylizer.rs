//! Frame stylizers for video: anything that turns one frame into its stylized version. The
//! built-in comic style keeps its palette across the frames of a shot (refitting it at cuts), so
//! colours do not flicker; GAN generators plug in through the same trait.

use toonflow_flow::luma;
use toonflow_flow::scenecut::{is_scene_cut, DEFAULT_CUT_THRESHOLD};
use toonflow_imgproc::comic::{screen_monochrome, stylize_with_palette, ComicConfig, ToneConfig};
use toonflow_imgproc::quantize::Palette;
use toonflow_imgproc::resize::downsample_box;
use toonflow_imgproc::{Frame, Plane};

/// A last step applied after temporal stabilization.
pub type Finisher = Box<dyn Fn(Frame) -> Frame + Send>;

/// Turns frames into stylized frames, in order.
pub trait FrameStylizer: Send {
    /// Stylizes the next frame of the stream.
    fn stylize(&mut self, frame: &Frame) -> Frame;

    /// A step to run on each frame after stabilization (screening, say: fine patterns would
    /// be smeared by blending across frames). None by default.
    fn finisher(&self) -> Option<Finisher> {
        None
    }
}

/// The built-in comic styles, with one palette per shot.
pub struct ComicStylizer {
    cfg: ComicConfig,
    /// Screentone of a monochrome style, applied after stabilization instead of in the style.
    deferred_tone: Option<ToneConfig>,
    /// The palette and a thumbnail of the frame it was fitted on.
    palette: Option<(Palette, Plane)>,
}

impl ComicStylizer {
    /// A stylizer for a preset or custom settings.
    pub fn new(mut cfg: ComicConfig) -> Self {
        let deferred_tone = if cfg.monochrome { cfg.tone.take() } else { None };
        Self { cfg, deferred_tone, palette: None }
    }
}

impl FrameStylizer for ComicStylizer {
    fn stylize(&mut self, frame: &Frame) -> Frame {
        // Shrink first: the cut test only needs a coarse histogram.
        let thumb = luma(&frame.map_planes(|p| downsample_box(p, 8)));
        let keep = self
            .palette
            .as_ref()
            .filter(|(_, reference)| !is_scene_cut(reference, &thumb, DEFAULT_CUT_THRESHOLD))
            .map(|(p, _)| p.clone());
        let refit = keep.is_none();
        let styled = stylize_with_palette(frame, &self.cfg, keep.as_ref());
        if refit {
            self.palette = Some((styled.palette.clone(), thumb));
        }
        styled.frame
    }

    fn finisher(&self) -> Option<Finisher> {
        let tone = self.deferred_tone?;
        Some(Box::new(move |frame: Frame| screen_monochrome(&frame, &tone)))
    }
}
