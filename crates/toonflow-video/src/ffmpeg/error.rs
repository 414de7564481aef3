//! What can go wrong with video files or FFmpeg.

use std::path::{Path, PathBuf};

/// How to get FFmpeg, for error messages.
pub const INSTALL_HINT: &str = "install FFmpeg (Debian/Ubuntu: `apt-get install ffmpeg`, macOS: `brew install ffmpeg`)";

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
    #[error("{path}: unknown video format '{extension}' (use mp4, webm, gif, webp, apng, or a folder for PNG frames)")]
    UnsupportedOutput {
        /// The file.
        path: PathBuf,
        /// Its extension.
        extension: String,
    },
    /// A measure over frame pairs got fewer than two frames.
    #[error("{path}: need at least two frames to measure temporal stability")]
    TooFewFrames {
        /// The video.
        path: PathBuf,
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
