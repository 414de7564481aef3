//! A job's options as the page and the API send them (JSON), and the `toonflow` flags they
//! become. Every value is typed here and its range checked by the command's own parser
//! ([`crate::engine::Engine::check`]); a model is named, never given as a path.

use crate::engine::JobKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The options of one job or preview. Unknown fields are refused, so a misspelt knob is an
/// error rather than silently ignored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobOptions {
    /// image, video or webtoon; by default what the upload is (images, or one video).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<JobKind>,
    /// A built-in style: comic, webtoon or manga.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// A trained model, by the name `GET /api/styles` lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// One of the model's styles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style_id: Option<String>,
    /// 1 full style, 0 the photo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strength: Option<f32>,
    /// Palette size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colors: Option<u32>,
    /// Palette saturation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saturation: Option<f32>,
    /// Smoothing radius, pixels at 720p.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoothing: Option<u32>,
    /// Ink line width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_width: Option<f32>,
    /// Ink line sensitivity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_detail: Option<f32>,
    /// false: no ink lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<bool>,
    /// Screentone on or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tone: Option<bool>,
    /// Screentone dot spacing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tone_size: Option<f32>,
    /// With a model: keep the photo's colours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_colors: Option<bool>,
    /// Images: output format (png, jpg, webp, bmp, tiff).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Video: how strongly frames are held together (0 to 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporal_strength: Option<f32>,
    /// Webtoon: scroll or page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// Webtoon: read right to left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtl: Option<bool>,
    /// Webtoon: at most this many panels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panels: Option<u32>,
}

/// Why options cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OptionsError {
    /// The JSON does not parse or names an unknown option.
    #[error("options: {0}")]
    Json(String),
    /// A model name that is not in the list.
    #[error("options: no model named {0:?} (GET /api/styles lists them)")]
    UnknownModel(String),
    /// An option of another kind of job.
    #[error("options: {option} applies to {applies} jobs, not to {kind} jobs")]
    WrongKind {
        /// The option.
        option: &'static str,
        /// The kinds it is for.
        applies: &'static str,
        /// The job's kind.
        kind: &'static str,
    },
}

impl JobOptions {
    /// Parses the JSON the client sent (empty means all defaults).
    pub fn parse(text: &str) -> Result<JobOptions, OptionsError> {
        if text.trim().is_empty() {
            return Ok(JobOptions::default());
        }
        serde_json::from_str(text).map_err(|e| OptionsError::Json(e.to_string()))
    }

    /// The style flags (shared by every kind and by the preview). `models` maps the names
    /// clients may use to the files on this machine.
    pub fn style_args(&self, models: &BTreeMap<String, PathBuf>) -> Result<Vec<String>, OptionsError> {
        let mut args = Vec::new();
        // `--flag=value`, so that no value is ever read as a flag of its own.
        let mut put = |flag: &str, value: String| args.push(format!("--{flag}={value}"));
        if let Some(style) = &self.style {
            put("style", style.clone());
        }
        if let Some(name) = &self.model {
            let path = models.get(name).ok_or_else(|| OptionsError::UnknownModel(name.clone()))?;
            put("model", path.display().to_string());
        }
        if let Some(id) = &self.style_id {
            put("style-id", id.clone());
        }
        if let Some(v) = self.strength {
            put("strength", v.to_string());
        }
        if let Some(v) = self.colors {
            put("colors", v.to_string());
        }
        if let Some(v) = self.saturation {
            put("saturation", v.to_string());
        }
        if let Some(v) = self.smoothing {
            put("smoothing", v.to_string());
        }
        if let Some(v) = self.line_width {
            put("line-width", v.to_string());
        }
        if let Some(v) = self.line_detail {
            put("line-detail", v.to_string());
        }
        if let Some(v) = self.tone_size {
            put("tone-size", v.to_string());
        }
        if self.lines == Some(false) {
            args.push("--no-lines".into());
        }
        match self.tone {
            Some(true) => args.push("--tone".into()),
            Some(false) => args.push("--no-tone".into()),
            None => {}
        }
        if self.keep_colors == Some(true) {
            args.push("--keep-colors".into());
        }
        Ok(args)
    }

    /// All flags of a job of `kind`: the style flags and the kind's own.
    pub fn job_args(&self, kind: JobKind, models: &BTreeMap<String, PathBuf>) -> Result<Vec<String>, OptionsError> {
        let mut args = self.style_args(models)?;
        let wrong = |option: &'static str, applies: &'static str| OptionsError::WrongKind {
            option,
            applies,
            kind: kind.name(),
        };
        if let Some(format) = &self.format {
            if kind != JobKind::Image {
                return Err(wrong("format", "image"));
            }
            args.push(format!("--format={format}"));
        }
        if let Some(v) = self.temporal_strength {
            if kind != JobKind::Video {
                return Err(wrong("temporal_strength", "video"));
            }
            args.push(format!("--temporal-strength={v}"));
        }
        let webtoon_only =
            [("layout", self.layout.is_some()), ("rtl", self.rtl.is_some()), ("panels", self.panels.is_some())];
        if kind != JobKind::Webtoon {
            if let Some((option, _)) = webtoon_only.iter().find(|(_, given)| *given) {
                return Err(wrong(option, "webtoon"));
            }
        }
        if let Some(layout) = &self.layout {
            args.push(format!("--layout={layout}"));
        }
        if self.rtl == Some(true) {
            args.push("--rtl".into());
        }
        if let Some(n) = self.panels {
            args.push(format!("--panels={n}"));
        }
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_options_are_refused_and_values_never_become_flags() {
        assert!(matches!(JobOptions::parse(r#"{"colour": 3}"#), Err(OptionsError::Json(_))));
        let options = JobOptions::parse(r#"{"style_id": "--model=/etc/passwd", "strength": 0.5}"#).unwrap();
        let args = options.style_args(&BTreeMap::new()).unwrap();
        assert_eq!(args, ["--style-id=--model=/etc/passwd", "--strength=0.5"]);
    }

    #[test]
    fn models_are_named_not_given_as_paths() {
        let options = JobOptions { model: Some("../../secret.safetensors".into()), ..JobOptions::default() };
        assert_eq!(
            options.style_args(&BTreeMap::new()),
            Err(OptionsError::UnknownModel("../../secret.safetensors".into()))
        );
        let models = BTreeMap::from([("demo".to_string(), PathBuf::from("/m/demo.safetensors"))]);
        let options = JobOptions { model: Some("demo".into()), ..JobOptions::default() };
        assert_eq!(options.style_args(&models).unwrap(), ["--model=/m/demo.safetensors"]);
    }

    #[test]
    fn options_of_another_kind_are_errors() {
        let options = JobOptions { layout: Some("page".into()), ..JobOptions::default() };
        assert!(matches!(options.job_args(JobKind::Video, &BTreeMap::new()), Err(OptionsError::WrongKind { .. })));
        assert_eq!(options.job_args(JobKind::Webtoon, &BTreeMap::new()).unwrap(), ["--layout=page"]);
    }
}
