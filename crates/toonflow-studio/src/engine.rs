//! What the studio asks of toonflow itself: the styles, checking a job's flags, a preview, what
//! an upload is. The `toonflow` binary implements it with the same code as its commands, so the
//! studio and the command line can never disagree on what a flag means or a file is.

use std::path::Path;

/// A job's kind: which `toonflow` command runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// `toonflow stylize`: one image or several.
    Image,
    /// `toonflow video`.
    Video,
    /// `toonflow webtoon`: a video as an episode.
    Webtoon,
}

impl JobKind {
    /// The subcommand.
    pub fn command(self) -> &'static str {
        match self {
            JobKind::Image => "stylize",
            JobKind::Video => "video",
            JobKind::Webtoon => "webtoon",
        }
    }

    /// The name stored in the database and shown by the API.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Image => "image",
            JobKind::Video => "video",
            JobKind::Webtoon => "webtoon",
        }
    }

    /// The kind a stored name names.
    pub fn from_name(name: &str) -> Option<JobKind> {
        [JobKind::Image, JobKind::Video, JobKind::Webtoon].into_iter().find(|k| k.name() == name)
    }
}

/// What an uploaded file is, judged from its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upload {
    /// An image, with the extension its format goes by.
    Image(&'static str),
    /// A video FFmpeg reads.
    Video,
}

/// A built-in style and its knobs' defaults, for the page's controls.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Preset {
    /// Its name (`--style`).
    pub name: String,
    /// One line on the look.
    pub description: String,
    /// Palette size.
    pub colors: usize,
    /// Palette saturation.
    pub saturation: f64,
    /// Smoothing radius (pixels at 720p).
    pub smoothing: usize,
    /// Ink line width, when it draws lines.
    pub line_width: Option<f64>,
    /// Ink line sensitivity, when it draws lines.
    pub line_detail: Option<f64>,
    /// Whether it shades with screentone.
    pub tone: bool,
}

/// The work the studio hands to toonflow. Errors are messages for a person.
pub trait Engine: Send + Sync + 'static {
    /// The built-in styles.
    fn presets(&self) -> Vec<Preset>;
    /// The style names a trained model file holds.
    fn model_styles(&self, model: &Path) -> Result<Vec<String>, String>;
    /// Checks a job's flags (`args` after the inputs and `-o`) as the command would parse them.
    fn check(&self, kind: JobKind, args: &[String]) -> Result<(), String>;
    /// Stylizes an encoded image with style flags, returning a PNG. Large images are previewed
    /// at about `preview_pixels`.
    fn preview(
        &self,
        image: &[u8],
        style_args: &[String],
        max_pixels: u64,
        preview_pixels: u64,
    ) -> Result<Vec<u8>, String>;
    /// What an uploaded file is; an error says why it is neither an image nor a video.
    fn inspect(&self, file: &Path) -> Result<Upload, String>;
}
