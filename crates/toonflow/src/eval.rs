//! `toonflow eval`: quality figures.

use crate::cli::EvalTemporalArgs;
use anyhow::{bail, Result};
use std::path::Path;
use toonflow_eval::temporal::{WarpingError, WarpingErrorReport};
use toonflow_flow::dis::DisConfig;
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};
use toonflow_video::ffmpeg::Span;
use toonflow_video::frames::FrameSource;

/// Warping error of `output` against `input`, streaming both (input frames are resized to the
/// output's size when they differ). Warnings (truncated inputs) are logged.
pub fn warping_error(input: &Path, output: &Path, span: Span) -> Result<(WarpingErrorReport, u64)> {
    let mut inputs = FrameSource::open(input, span)?;
    let mut outputs = FrameSource::open(output, Span::default())?;
    let mut acc = WarpingError::new(DisConfig::medium());
    let mut frames = 0u64;
    loop {
        let (a, b) = match (inputs.next_frame()?, outputs.next_frame()?) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => break,
            (a, _) => {
                tracing::warn!(
                    "{} has {} frames than {}; compared the first {frames}",
                    output.display(),
                    if a.is_some() { "fewer" } else { "more" },
                    input.display()
                );
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
    for warning in [inputs.finish()?, outputs.finish()?].into_iter().flatten() {
        tracing::warn!("{warning}");
    }
    if frames < 2 {
        bail!("{}: need at least two frames to measure temporal stability", output.display());
    }
    Ok((acc.report(), frames))
}

/// `toonflow eval temporal`.
pub fn temporal(args: &EvalTemporalArgs) -> Result<()> {
    let (report, frames) = warping_error(&args.input, &args.output, Span::default())?;
    if args.json {
        let pairs: Vec<String> = report.per_pair.iter().map(|v| format!("{v:.6e}")).collect();
        println!(
            "{{\"warping_error\": {:.6e}, \"frames\": {frames}, \"per_pair\": [{}]}}",
            report.mean,
            pairs.join(", ")
        );
    } else {
        println!(
            "warping error: {:.6} over {} frame pairs (sRGB 0..1 squared; lower is steadier)",
            report.mean,
            frames - 1
        );
    }
    Ok(())
}
