//! The folder-of-PNG-frames output: written into a staging folder beside it and swapped in
//! whole when the video is complete, so an error, Ctrl-C or a kill leaves the folder as it was,
//! and frames of an earlier run never mix with new ones.

use std::path::{Path, PathBuf};
use toonflow_fs::StagedDir;
use toonflow_imgproc::Frame;

use crate::ffmpeg::VideoError;

/// Whether a file name is one this writer writes (`frame_000001.png`).
fn is_frame_name(name: &str) -> bool {
    name.strip_prefix("frame_")
        .and_then(|rest| rest.strip_suffix(".png"))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Frames `frame_000001.png`, `frame_000002.png`, ... of one video.
pub struct PngFrameWriter {
    dir: PathBuf,
    staged: StagedDir,
    /// Frames written so far.
    pub frames_written: u64,
}

impl PngFrameWriter {
    /// Starts a new version of the folder `dir`. An existing folder is replaced only if it
    /// holds nothing but frames (an earlier run's output); a folder with other files is refused,
    /// so a mistyped `-o` cannot swap away someone's pictures.
    pub fn open(dir: &Path) -> Result<PngFrameWriter, VideoError> {
        let io = |e: std::io::Error| VideoError::Io { path: dir.into(), source: e };
        if let Some(name) = toonflow_fs::foreign_entry(dir, is_frame_name).map_err(io)? {
            return Err(VideoError::Write {
                path: dir.into(),
                reason: format!("the folder holds other files than frames ({name}); give a new or empty folder"),
            });
        }
        let staged = StagedDir::new(dir).map_err(io)?;
        Ok(PngFrameWriter { dir: dir.into(), staged, frames_written: 0 })
    }

    /// Writes the next frame (into the staging folder).
    pub fn write_frame(&mut self, frame: &Frame) -> Result<(), VideoError> {
        let name = format!("frame_{:06}.png", self.frames_written + 1);
        let bytes = toonflow_imageio::encode_image(frame, toonflow_imageio::OutputFormat::Png)
            .map_err(|e| VideoError::Write { path: self.dir.join(&name), reason: e.to_string() })?;
        self.staged.write_file(&name, &bytes).map_err(|e| VideoError::Io { path: self.dir.join(&name), source: e })?;
        self.frames_written += 1;
        Ok(())
    }

    /// Swaps the complete folder in.
    pub fn finish(self) -> Result<(), VideoError> {
        self.staged.commit().map_err(|e| VideoError::Io { path: self.dir.clone(), source: e })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_frame_names_count_as_frames() {
        assert!(is_frame_name("frame_000001.png") && is_frame_name("frame_1234567.png"));
        for other in ["frame_.png", "frame_01.jpg", "frame_0a.png", "photo.png", ".frame_000001.png"] {
            assert!(!is_frame_name(other), "{other}");
        }
    }

    #[test]
    fn a_folder_with_other_files_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("frames");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("holiday.jpg"), b"precious").unwrap();
        assert!(PngFrameWriter::open(&out).is_err());
        assert_eq!(std::fs::read(out.join("holiday.jpg")).unwrap(), b"precious");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing beside the folder");
    }
}
