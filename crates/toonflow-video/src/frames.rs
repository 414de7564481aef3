//! A stream of frames from a video file, an animated WebP or a folder of numbered images.

use crate::ffmpeg::{probe, Decoder, Span, VideoError};
use std::path::{Path, PathBuf};
use toonflow_imgproc::Frame;

/// Frames in order, from a video (decoded by FFmpeg) or a folder of images (sorted by name).
pub enum FrameSource {
    /// A video file.
    Video(Box<Decoder>),
    /// An animated WebP (which FFmpeg does not decode), read from its start.
    Animation(Box<toonflow_imageio::WebpAnimation>),
    /// Image files and the index of the next one.
    Images(Vec<PathBuf>, usize),
}

impl FrameSource {
    /// Opens a video file, or lists a folder's images.
    pub fn open(path: &Path, span: Span) -> Result<FrameSource, VideoError> {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| VideoError::Io { path: path.into(), source: e })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| toonflow_imageio::has_image_extension(p))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(VideoError::Unreadable {
                    path: path.into(),
                    reason: "no image frames in the folder".into(),
                });
            }
            return Ok(FrameSource::Images(files, 0));
        }
        if span == Span::default() {
            if let Some(animation) =
                toonflow_imageio::WebpAnimation::open(path, &Default::default()).map_err(|e| unreadable(path, e))?
            {
                return Ok(FrameSource::Animation(Box::new(animation)));
            }
        }
        let info = probe(path)?;
        // Frames as stored (no resampling of variable frame rate), so two videos made one from the
        // other line up frame by frame.
        Ok(FrameSource::Video(Box::new(Decoder::open(path, &info, span, true)?)))
    }

    /// The next frame, `None` at the end.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, VideoError> {
        match self {
            FrameSource::Video(d) => Ok(d.next_frame()?.map(|(frame, _)| frame)),
            FrameSource::Animation(a) => a.next_frame().map_err(|e| unreadable(a.path(), e)),
            FrameSource::Images(files, next) => {
                let Some(path) = files.get(*next) else { return Ok(None) };
                *next += 1;
                toonflow_imageio::read_image(path, &Default::default()).map(Some).map_err(|e| unreadable(path, e))
            }
        }
    }

    /// Ends the stream; a warning when a video was cut short.
    pub fn finish(self) -> Result<Option<String>, VideoError> {
        match self {
            FrameSource::Video(d) => d.finish(),
            FrameSource::Animation(_) | FrameSource::Images(..) => Ok(None),
        }
    }
}

/// An image decoder's error as the video error that names the file.
fn unreadable(path: &Path, e: toonflow_imageio::ImageError) -> VideoError {
    VideoError::Unreadable { path: path.into(), reason: e.to_string() }
}
