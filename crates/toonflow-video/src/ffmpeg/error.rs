//! What can go wrong with video files or FFmpeg.

use std::path::{Path, PathBuf};

/// How to get FFmpeg, for error messages.
pub const INSTALL_HINT: &str = "install FFmpeg (Debian/Ubuntu: `apt-get install ffmpeg`, macOS: `brew install ffmpeg`)";

/// Largest frame the pipeline takes, in pixels: 64M, as `stylize`'s default limit (an 8K frame
/// is 33M). Each stage holds a few frames of 12 bytes a pixel.
pub const MAX_FRAME_PIXELS: usize = 64_000_000;

/// What can go wrong with video files or FFmpeg.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// `ffmpeg` or `ffprobe` is not on the PATH.
    #[error("{program} not found: {INSTALL_HINT}")]
    MissingFfmpeg {
        /// The program looked for.
        program: &'static str,
    },
    /// FFmpeg could not read the input at all.
    #[error("{path}: cannot read video: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// FFmpeg's words.
        reason: String,
    },
    /// The output could not be written.
    #[error("{path}: cannot write video: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The reason.
        reason: String,
    },
    /// The output extension names no video format toonflow writes.
    #[error(
        "{path}: unknown video format '{extension}' (use mp4, mkv, webm, gif, webp, apng, or a folder for PNG frames)"
    )]
    UnsupportedOutput {
        /// The file.
        path: PathBuf,
        /// Its extension.
        extension: String,
    },
    /// The output is one of the inputs (the same file through any path or link), or a frames
    /// folder that holds the input: writing it would destroy the input.
    #[error("-o {path}: the output would overwrite the input ({input}); choose another -o")]
    WouldOverwriteInput {
        /// The output.
        path: PathBuf,
        /// The input.
        input: PathBuf,
    },
    /// A frame (the input's, or the size `--resize` asks for) over [`MAX_FRAME_PIXELS`]: its
    /// stages would need tens of gigabytes.
    #[error("{path}: {width}x{height} frames are over the {}M-pixel limit of a video frame{}", MAX_FRAME_PIXELS / 1_000_000, if *.resized { " (lower --resize)" } else { "" })]
    FrameTooLarge {
        /// The input.
        path: PathBuf,
        /// The frame's width.
        width: usize,
        /// The frame's height.
        height: usize,
        /// Whether the size is the one a resize asked for, rather than the input's.
        resized: bool,
    },
    /// A measure over frame pairs got fewer than two frames.
    #[error("{path}: need at least two frames to measure temporal stability")]
    TooFewFrames {
        /// The video.
        path: PathBuf,
    },
    /// A distributed run's plan, part or input does not fit the rest.
    #[error("{path}: {reason}")]
    Plan {
        /// The plan, part or input concerned.
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
    /// Stopped by the user (Ctrl-C); nothing was written.
    #[error("{path}: interrupted, no output written")]
    Interrupted {
        /// The output that was not written.
        path: PathBuf,
    },
    /// Reading or writing a pipe failed.
    #[error("{path}: {source}")]
    Io {
        /// The file the pipe belongs to.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn spawn_error(program: &'static str, path: &Path, e: std::io::Error) -> VideoError {
    if e.kind() == std::io::ErrorKind::NotFound {
        VideoError::MissingFfmpeg { program }
    } else {
        VideoError::Io { path: path.into(), source: e }
    }
}
