//! Frame stylizers for video: anything that turns one frame into its stylized version. The
//! built-in comic style keeps its palette across the frames of a shot (refitting it where the
//! pipeline's analysis says so), so colours do not flicker; trained generators plug in through
//! the same trait.

use toonflow_imgproc::comic::{screen_monochrome, stylize_with_palette, ComicConfig, ToneConfig};
use toonflow_imgproc::quantize::Palette;
use toonflow_imgproc::Frame;
use toonflow_infer::model_style::ModelStyle;

/// A last step applied after temporal stabilization.
pub type Finisher = Box<dyn Fn(&Frame) -> Frame + Send>;

/// Turns frames into stylized frames, in order.
pub trait FrameStylizer: Send {
    /// Stylizes the next frame of the stream. `refit_look` comes from the frame's analysis
    /// ([`crate::analysis::FrameAnalysis::refit_look`]): a stylizer that fits its look to the
    /// picture (a palette) refits it there and keeps it otherwise.
    fn stylize(&mut self, frame: &Frame, refit_look: bool) -> Frame;

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
    palette: Option<Palette>,
}

impl ComicStylizer {
    /// The built-in style `cfg` for video. Screentone dots sit on a fixed screen grid while the
    /// picture moves under them: in colour styles they shimmer, so they stay off unless
    /// `tone_requested` (the user asked for them); a monochrome style needs them for its mid
    /// tones and gets them after stabilization instead, screened on the steadied greys, so the
    /// dots stay crisp.
    pub fn new(mut cfg: ComicConfig, tone_requested: bool) -> Self {
        let deferred_tone = if cfg.monochrome { cfg.tone.take() } else { None };
        if !tone_requested {
            cfg.tone = None;
        }
        Self { cfg, deferred_tone, palette: None }
    }
}

impl FrameStylizer for ComicStylizer {
    fn stylize(&mut self, frame: &Frame, refit_look: bool) -> Frame {
        let keep = if refit_look { None } else { self.palette.as_ref() };
        let styled = stylize_with_palette(frame, &self.cfg, keep);
        if keep.is_none() {
            self.palette = Some(styled.palette);
        }
        styled.frame
    }

    fn finisher(&self) -> Option<Finisher> {
        let tone = self.deferred_tone?;
        Some(Box::new(move |frame: &Frame| screen_monochrome(frame, &tone)))
    }
}

/// A trained generator: each frame on its own (the stabilizer steadies the result), except
/// that a model drawing over a base style keeps that style's palette for the shot, as
/// [`ComicStylizer`] does.
pub struct ModelStylizer {
    model: ModelStyle,
    palette: Option<Palette>,
}

impl ModelStylizer {
    /// The model for video.
    pub fn new(model: ModelStyle) -> Self {
        Self { model, palette: None }
    }
}

impl FrameStylizer for ModelStylizer {
    fn stylize(&mut self, frame: &Frame, refit_look: bool) -> Frame {
        let keep = if refit_look { None } else { self.palette.as_ref() };
        let (styled, palette) = self.model.apply_with_palette(frame, keep);
        if keep.is_none() {
            self.palette = palette;
        }
        styled
    }
}
