//! The folder-of-PNG-frames output.

use std::path::{Path, PathBuf};
use toonflow_imgproc::Frame;

use crate::ffmpeg::VideoError;

/// The folder-of-PNG-frames output: `frame_000001.png`, ... written atomically one by one.
pub struct PngFrameWriter {
    dir: PathBuf,
    /// Frames written so far.
    pub frames_written: u64,
}

impl PngFrameWriter {
    /// Creates the folder.
    pub fn open(dir: &Path) -> Result<PngFrameWriter, VideoError> {
        std::fs::create_dir_all(dir).map_err(|e| VideoError::Io { path: dir.into(), source: e })?;
        Ok(PngFrameWriter { dir: dir.into(), frames_written: 0 })
    }

    /// Writes the next frame.
    pub fn write_frame(&mut self, frame: &Frame) -> Result<(), VideoError> {
        let path = self.dir.join(format!("frame_{:06}.png", self.frames_written + 1));
        toonflow_imageio::write_image(frame, &path)
            .map_err(|e| VideoError::Write { path: path.clone(), reason: e.to_string() })?;
        self.frames_written += 1;
        Ok(())
    }
}
