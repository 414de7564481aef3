//! A video's facts, read with `ffprobe`, and the part of it to use.

use std::path::Path;
use std::process::Command;

use super::error::{spawn_error, VideoError};

/// A rational frame rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Numerator.
    pub num: u32,
    /// Denominator.
    pub den: u32,
}

impl Rate {
    fn parse(s: &str) -> Option<Rate> {
        let (n, d) = s.split_once('/').unwrap_or((s, "1"));
        let (num, den) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
        (num > 0 && den > 0).then_some(Rate { num, den })
    }

    /// Frames per second.
    pub fn fps(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// Facts about a video file's first video stream (and whether it has audio).
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// Displayed width (after the rotation FFmpeg applies when decoding).
    pub width: usize,
    /// Displayed height.
    pub height: usize,
    /// The stream's frame rate (`r_frame_rate`).
    pub rate: Rate,
    /// The average frame rate; differs from `rate` for variable-frame-rate video.
    pub avg_rate: Rate,
    /// Duration in seconds, when known.
    pub duration: Option<f64>,
    /// Frame count from the container, when it says.
    pub frames: Option<u64>,
    /// Rotation in degrees stored in the file's display matrix.
    pub rotation: i32,
    /// Codec of the first audio stream, `None` without audio.
    pub audio_codec: Option<String>,
}

impl VideoInfo {
    /// Whether the frame rate varies.
    pub fn is_variable_rate(&self) -> bool {
        let (a, b) = (self.rate.fps(), self.avg_rate.fps());
        (a - b).abs() > 0.01 * a
    }

    /// Frames to expect, from the count or from duration times rate.
    pub fn expected_frames(&self) -> Option<u64> {
        self.frames.or_else(|| self.duration.map(|d| (d * self.avg_rate.fps()).round() as u64))
    }
}

/// Reads a video's facts with `ffprobe`.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    if !path.is_file() {
        return Err(VideoError::Unreadable { path: path.into(), reason: "no such file".into() });
    }
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .arg("stream=width,height,r_frame_rate,avg_frame_rate,nb_frames,duration:stream_side_data=rotation:format=duration")
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .output()
        .map_err(|e| spawn_error("ffprobe", path, e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.trim())
            .find(|v| *v != "N/A")
    };
    let unreadable = |reason: String| VideoError::Unreadable { path: path.into(), reason };
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let (Some(width), Some(height)) =
        (field("width").and_then(|v| v.parse::<usize>().ok()), field("height").and_then(|v| v.parse::<usize>().ok()))
    else {
        return Err(unreadable(if stderr.is_empty() { "no video stream".into() } else { stderr }));
    };
    if width == 0 || height == 0 {
        // FFmpeg reports a stream it cannot decode (an animated WebP; bytes that only look like a
        // format) as 0x0.
        let why = if stderr.is_empty() { String::new() } else { format!(": {stderr}") };
        return Err(unreadable(format!("FFmpeg cannot decode its pictures (it reports {width}x{height}){why}")));
    }
    let rate = field("r_frame_rate").and_then(Rate::parse).ok_or_else(|| unreadable("no frame rate".into()))?;
    let avg_rate = field("avg_frame_rate").and_then(Rate::parse).unwrap_or(rate);
    let rotation = field("rotation").and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0).round() as i32;
    let (width, height) = if rotation.rem_euclid(180) == 90 { (height, width) } else { (width, height) };
    let audio = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .map_err(|e| spawn_error("ffprobe", path, e))?;
    let audio_codec = Some(String::from_utf8_lossy(&audio.stdout).trim().to_string()).filter(|c| !c.is_empty());
    Ok(VideoInfo {
        width,
        height,
        rate,
        avg_rate,
        duration: field("duration").and_then(|v| v.parse().ok()),
        frames: field("nb_frames").and_then(|v| v.parse().ok()),
        rotation,
        audio_codec,
    })
}

/// A container tag of a file (`None` when it has none of that name).
pub fn probe_tag(path: &Path, key: &str) -> Result<Option<String>, VideoError> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", &format!("format_tags={key}"), "-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .map_err(|e| spawn_error("ffprobe", path, e))?;
    if !out.status.success() {
        let reason = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(VideoError::Unreadable { path: path.into(), reason });
    }
    Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|v| !v.is_empty()))
}

/// Which part of the input to use.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Span {
    /// Start time in seconds.
    pub start: Option<f64>,
    /// Length in seconds.
    pub duration: Option<f64>,
}

impl Span {
    pub(crate) fn input_args(&self) -> Vec<String> {
        self.start.map(|s| vec!["-ss".into(), format!("{s}")]).unwrap_or_default()
    }

    pub(crate) fn output_args(&self) -> Vec<String> {
        self.duration.map(|d| vec!["-t".into(), format!("{d}")]).unwrap_or_default()
    }
}
