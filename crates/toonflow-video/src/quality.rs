//! The warping error of a stylized video against its source, both streamed from files (videos
//! or folders of frames): `toonflow eval temporal` and `toonflow video --report`.

use std::path::Path;

use toonflow_eval::temporal::{WarpingError, WarpingErrorReport};
use toonflow_flow::dis::DisConfig;
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};

use crate::ffmpeg::{Span, VideoError};
use crate::frames::FrameSource;

/// What [`warping_error`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct FileWarpingError {
    /// The figures.
    pub report: WarpingErrorReport,
    /// Frames compared.
    pub frames: u64,
    /// Non-fatal problems: a truncated input, or frame counts that differ.
    pub warnings: Vec<String>,
}

/// Warping error of `output` against the `span` of `input` it was made from, streaming both
/// (input frames are resized to the output's size when they differ; flow at the medium preset,
/// so the measure is more accurate than the stabilizer it measures).
pub fn warping_error(input: &Path, output: &Path, span: Span) -> Result<FileWarpingError, VideoError> {
    let mut inputs = FrameSource::open(input, span)?;
    let mut outputs = FrameSource::open(output, Span::default())?;
    let mut acc = WarpingError::new(DisConfig::medium());
    let (mut frames, mut warnings) = (0u64, Vec::new());
    loop {
        let (a, b) = match (inputs.next_frame()?, outputs.next_frame()?) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => break,
            (a, _) => {
                warnings.push(format!(
                    "{} has {} frames than {}; compared the first {frames}",
                    output.display(),
                    if a.is_some() { "fewer" } else { "more" },
                    input.display()
                ));
                break;
            }
        };
        let a = if (a.width(), a.height()) != (b.width(), b.height()) {
            resize_frame(&a, b.width(), b.height(), ResizeFilter::Area)
        } else {
            a
        };
        acc.push(&a, &b);
        frames += 1;
    }
    warnings.extend([inputs.finish()?, outputs.finish()?].into_iter().flatten());
    if frames < 2 {
        return Err(VideoError::TooFewFrames { path: output.into() });
    }
    Ok(FileWarpingError { report: acc.report(), frames, warnings })
}
