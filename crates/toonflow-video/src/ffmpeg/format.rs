//! The output formats and what each asks of the encoder: video codec, pixel format, audio.

use std::path::Path;

use super::error::VideoError;

/// Output formats for video.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoFormat {
    /// H.264 in MP4, yuv420p.
    Mp4,
    /// VP9 in WebM.
    WebM,
    /// GIF with a palette generated for the clip.
    Gif,
    /// Animated WebP.
    WebP,
    /// Animated PNG.
    Apng,
    /// FFV1 in Matroska, RGB: lossless (the distributed parts, and footage for an editor).
    Mkv,
    /// A folder of numbered PNG frames.
    PngFrames,
}

/// x264's presets, fastest first: each trades encoding time for file size at the same quality.
pub const X264_PRESETS: [&str; 10] =
    ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"];

/// The preset MP4 output uses unless told otherwise. On a stylized 720p clip (bench/video.sh's
/// bikes, CRF 18) `veryfast` took 44 % of `medium`'s CPU time for a file 1 % larger and 0.7 dB
/// lower PSNR (SSIM 0.9935 vs 0.9943); `medium` used as much CPU as the whole comic style, and
/// the two compete for the same cores. (`superfast` drops CABAC: files nearly twice as large.)
pub const DEFAULT_X264_PRESET: &str = "veryfast";

impl VideoFormat {
    /// The format an output path asks for: by extension, a folder for no extension.
    pub fn from_path(path: &Path) -> Result<VideoFormat, VideoError> {
        let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            None => Ok(VideoFormat::PngFrames),
            Some(_) if path.is_dir() => Ok(VideoFormat::PngFrames),
            Some("mp4" | "m4v" | "mov") => Ok(VideoFormat::Mp4),
            Some("webm") => Ok(VideoFormat::WebM),
            Some("gif") => Ok(VideoFormat::Gif),
            Some("webp") => Ok(VideoFormat::WebP),
            Some("apng") => Ok(VideoFormat::Apng),
            Some("mkv") => Ok(VideoFormat::Mkv),
            Some(other) => Err(VideoError::UnsupportedOutput { path: path.into(), extension: other.into() }),
        }
    }

    /// Whether the container carries audio.
    pub fn has_audio(self) -> bool {
        matches!(self, VideoFormat::Mp4 | VideoFormat::WebM | VideoFormat::Mkv)
    }

    /// The audio codec to write for a source whose audio is `source_codec`: a stream copy when
    /// the container takes that codec (no generation loss), otherwise the container's usual one.
    pub fn audio_codec(self, source_codec: &str) -> &'static str {
        let copy = match self {
            VideoFormat::Mp4 => matches!(source_codec, "aac" | "mp3" | "alac" | "ac3" | "opus"),
            // Matroska takes nearly any codec, but not an MP4 edit list's trim of an encoder's
            // priming samples: AAC or MP3 copied from an MP4 would start 23 ms early (FFmpeg then
            // shifts the video to match). Codecs without priming, or with Matroska's own field
            // for it (Opus), are copied; the rest become FLAC, lossless from the decoded samples.
            VideoFormat::Mkv => matches!(source_codec, "opus" | "vorbis" | "flac") || source_codec.starts_with("pcm_"),
            _ => matches!(source_codec, "opus" | "vorbis"),
        };
        match (copy, self) {
            (true, _) => "copy",
            (false, VideoFormat::Mp4) => "aac",
            (false, VideoFormat::Mkv) => "flac",
            (false, _) => "libopus",
        }
    }

    /// The size a `width x height` picture has in this format: H.264 in yuv420p needs even
    /// sides (its cropping works in steps of two pixels), so MP4 pads an odd side by one pixel;
    /// every other format, VP9 included, keeps the size exactly.
    pub fn encoded_size(self, width: usize, height: usize) -> (usize, usize) {
        match self {
            VideoFormat::Mp4 => (width.next_multiple_of(2), height.next_multiple_of(2)),
            _ => (width, height),
        }
    }

    /// FFmpeg's video encoding arguments; `crf` is the quality of MP4 (x264, default 18) and
    /// WebM (VP9, default 31), `x264_preset` MP4's speed (one of [`X264_PRESETS`], default
    /// [`DEFAULT_X264_PRESET`]). Empty for PNG frames, which FFmpeg does not write.
    pub fn video_args(self, crf: Option<u8>, x264_preset: Option<&str>) -> Vec<String> {
        // What `encoded_size` says: odd sides padded by a pixel rather than cropped.
        const EVEN: &str = "pad=ceil(iw/2)*2:ceil(ih/2)*2";
        let args: Vec<String> = match self {
            VideoFormat::Mp4 => {
                let crf = crf.unwrap_or(18).to_string();
                let preset = x264_preset.unwrap_or(DEFAULT_X264_PRESET);
                let a = ["-vf", EVEN, "-c:v", "libx264", "-preset", preset, "-crf", &crf, "-pix_fmt", "yuv420p"];
                a.iter().chain(&["-movflags", "+faststart"]).map(|s| s.to_string()).collect()
            }
            VideoFormat::WebM => {
                let crf = crf.unwrap_or(31).to_string();
                let a = ["-c:v", "libvpx-vp9", "-crf", &crf, "-b:v", "0", "-pix_fmt", "yuv420p"];
                a.iter().chain(&["-row-mt", "1"]).map(|s| s.to_string()).collect()
            }
            // One palette for the clip, from the pixels that change (stats_mode=diff).
            VideoFormat::Gif => [
                "-filter_complex",
                "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=3",
                "-loop",
                "0",
            ]
            .map(String::from)
            .to_vec(),
            VideoFormat::WebP => ["-c:v", "libwebp_anim", "-quality", "85", "-loop", "0"].map(String::from).to_vec(),
            VideoFormat::Apng => ["-c:v", "apng", "-plays", "0"].map(String::from).to_vec(),
            // Level 3 with slice checksums: damage is detected when decoding.
            VideoFormat::Mkv => {
                ["-c:v", "ffv1", "-level", "3", "-slicecrc", "1", "-pix_fmt", "bgr0"].map(String::from).to_vec()
            }
            VideoFormat::PngFrames => Vec::new(),
        };
        args
    }

    pub(crate) fn muxer(self) -> &'static str {
        match self {
            VideoFormat::Mp4 => "mp4",
            VideoFormat::WebM => "webm",
            VideoFormat::Gif => "gif",
            VideoFormat::WebP => "webp",
            VideoFormat::Apng => "apng",
            VideoFormat::Mkv => "matroska",
            VideoFormat::PngFrames => "image2",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mp4_encodes_with_the_default_x264_preset_unless_told_another() {
        let preset = |args: Vec<String>| args.iter().position(|a| a == "-preset").map(|i| args[i + 1].clone());
        assert_eq!(preset(VideoFormat::Mp4.video_args(None, None)).as_deref(), Some(DEFAULT_X264_PRESET));
        assert_eq!(preset(VideoFormat::Mp4.video_args(Some(20), Some("slow"))).as_deref(), Some("slow"));
        assert!(X264_PRESETS.contains(&DEFAULT_X264_PRESET));
        assert_eq!(preset(VideoFormat::WebM.video_args(None, Some("slow"))), None, "VP9 has no x264 preset");
    }
}
