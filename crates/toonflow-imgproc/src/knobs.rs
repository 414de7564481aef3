//! The adjustments a user makes over a built-in preset — `stylize`'s flags, the Python
//! package's keywords — with their limits, checked here once, and what they mean, a
//! [`ComicConfig`].

use crate::comic::{ComicConfig, Preset, ToneConfig};
use crate::tone::Screen;

/// The widest ink line (XDoG sigma at 720p): 10 px is a marker pen; wider blurs the picture into
/// blots, and the time of the blur grows with it.
pub const MAX_LINE_WIDTH: f32 = 10.0;
/// The largest palette.
pub const MAX_COLORS: usize = 256;

/// What a user changes over a preset; `None` keeps the preset's setting.
#[derive(Clone, Debug, PartialEq)]
pub struct StyleKnobs {
    /// Blend with the photo: 1 the full style, 0 the photo (0 to 1).
    pub strength: f32,
    /// Palette size (1 to [`MAX_COLORS`]).
    pub colors: Option<usize>,
    /// Palette chroma factor (>= 0).
    pub saturation: Option<f32>,
    /// Smoothing radius in pixels at 720p; 0 turns smoothing off.
    pub smoothing: Option<usize>,
    /// Ink line width (> 0, up to [`MAX_LINE_WIDTH`]).
    pub line_width: Option<f32>,
    /// Ink line sensitivity, XDoG p (>= 0).
    pub line_detail: Option<f32>,
    /// Ink blobs smaller than this (pixels at 720p) are erased.
    pub min_line_area: Option<usize>,
    /// Ink lines on (the preset's) or off.
    pub lines: bool,
    /// Screentone forced on (`Some(true)`) or off (`Some(false)`).
    pub tone: Option<bool>,
    /// Screentone dot spacing in pixels at 720p (> 0).
    pub tone_size: Option<f32>,
}

impl Default for StyleKnobs {
    fn default() -> Self {
        Self {
            strength: 1.0,
            colors: None,
            saturation: None,
            smoothing: None,
            line_width: None,
            line_detail: None,
            min_line_area: None,
            lines: true,
            tone: None,
            tone_size: None,
        }
    }
}

/// `v` if `ok(v)`, else what was expected of the knob `name`.
fn within(name: &str, v: f32, ok: bool, expected: &str) -> Result<f32, String> {
    if ok && v.is_finite() {
        Ok(v)
    } else {
        Err(format!("{name} {v}: expected {expected}"))
    }
}

/// Checks a strength (also the video's temporal strength): 0 to 1.
pub fn check_unit(name: &str, v: f32) -> Result<f32, String> {
    within(name, v, (0.0..=1.0).contains(&v), "a number from 0 to 1")
}

/// Checks a factor or threshold: a number >= 0.
pub fn check_non_negative(name: &str, v: f32) -> Result<f32, String> {
    within(name, v, v >= 0.0, "a number >= 0")
}

/// Checks a size: a number > 0.
pub fn check_positive(name: &str, v: f32) -> Result<f32, String> {
    within(name, v, v > 0.0, "a number > 0")
}

/// Checks an ink line width.
pub fn check_line_width(name: &str, v: f32) -> Result<f32, String> {
    within(name, v, v > 0.0 && v <= MAX_LINE_WIDTH, &format!("a line width above 0, up to {MAX_LINE_WIDTH}"))
}

impl StyleKnobs {
    /// Refuses values outside their limits, naming the knob as its Python keyword.
    pub fn check(&self) -> Result<(), String> {
        check_unit("strength", self.strength)?;
        if let Some(n) = self.colors.filter(|n| !(1..=MAX_COLORS).contains(n)) {
            return Err(format!("colors {n}: expected 1 to {MAX_COLORS}"));
        }
        self.saturation.map(|v| check_non_negative("saturation", v)).transpose()?;
        self.line_width.map(|v| check_line_width("line_width", v)).transpose()?;
        self.line_detail.map(|v| check_non_negative("line_detail", v)).transpose()?;
        self.tone_size.map(|v| check_positive("tone_size", v)).transpose()?;
        Ok(())
    }

    /// The preset's settings with these changes.
    pub fn config(&self, preset: Preset) -> ComicConfig {
        let mut cfg = ComicConfig::preset(preset);
        cfg.strength = self.strength;
        if let Some(n) = self.colors {
            cfg.colours = n;
        }
        if let Some(s) = self.saturation {
            cfg.saturation = s;
        }
        if let Some(r) = self.smoothing {
            cfg.smoothing.radius = r;
            if r == 0 {
                cfg.smoothing.passes = 0;
            }
        }
        if let Some(lines) = cfg.lines.as_mut() {
            lines.sigma = self.line_width.unwrap_or(lines.sigma);
            lines.p = self.line_detail.unwrap_or(lines.p);
        }
        if !self.lines {
            cfg.lines = None;
        }
        if let Some(a) = self.min_line_area {
            cfg.min_line_area = a;
        }
        match self.tone {
            Some(true) if cfg.tone.is_none() => cfg.tone = ComicConfig::preset(Preset::Comic).tone,
            Some(false) => cfg.tone = None,
            _ => {}
        }
        if let (Some(size), Some(tone)) = (self.tone_size, cfg.tone.as_mut()) {
            *tone = ToneConfig { screen: Screen { cell: size, ..tone.screen }, ..*tone };
        }
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_knobs_is_the_preset_and_each_knob_changes_its_setting() {
        for preset in Preset::ALL {
            assert_eq!(StyleKnobs::default().config(preset), ComicConfig::preset(preset));
        }
        let knobs = StyleKnobs { colors: Some(4), lines: false, tone: Some(false), ..StyleKnobs::default() };
        let cfg = knobs.config(Preset::Comic);
        assert_eq!((cfg.colours, cfg.lines, cfg.tone), (4, None, None));
        let webtoon =
            StyleKnobs { tone: Some(true), tone_size: Some(9.0), ..StyleKnobs::default() }.config(Preset::Webtoon);
        assert_eq!(webtoon.tone.map(|t| t.screen.cell), Some(9.0));
    }

    #[test]
    fn values_outside_their_limits_are_refused_by_name() {
        let bad = [
            StyleKnobs { strength: 1.5, ..StyleKnobs::default() },
            StyleKnobs { colors: Some(0), ..StyleKnobs::default() },
            StyleKnobs { line_width: Some(11.0), ..StyleKnobs::default() },
            StyleKnobs { saturation: Some(f32::NAN), ..StyleKnobs::default() },
        ];
        for (knobs, name) in bad.iter().zip(["strength", "colors", "line_width", "saturation"]) {
            assert!(knobs.check().unwrap_err().starts_with(name), "{knobs:?}");
        }
        assert_eq!(StyleKnobs::default().check(), Ok(()));
    }
}
