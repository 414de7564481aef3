//! `toonflow video`: the streaming video pipeline with the built-in styles.

use crate::cli::{StyleArgs, TemporalArg, VideoArgs};
use crate::stylize::style_config;
use crate::UsageError;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use toonflow_flow::scenecut::DEFAULT_CUT_THRESHOLD;
use toonflow_imgproc::resize::ResizeFilter;
use toonflow_video::ffmpeg::{probe, Span, VideoError, VideoFormat, VideoInfo};
use toonflow_video::pipeline::{run, VideoJob, VideoReport};
use toonflow_video::stylizer::{ComicStylizer, FrameStylizer, ModelStylizer};
use toonflow_video::temporal::{TemporalConfig, TemporalMode};

/// Probes a video input and the part of it `--start` and `--duration` ask for; a start past the
/// end is a usage error. Shared by `video` and `webtoon`.
pub fn probe_span(input: &Path, start: Option<f32>, duration: Option<f32>) -> Result<(VideoInfo, Span)> {
    let info = probe(input)?;
    let span = Span { start: start.map(f64::from), duration: duration.map(f64::from) };
    if let (Some(start), Some(length)) = (span.start, info.duration) {
        if start >= length {
            return Err(UsageError(format!("--start {start}: {} is {length:.2} s long", input.display())).into());
        }
    }
    Ok((info, span))
}

/// The style flags as a frame stylizer: a trained model (`--model`) or a built-in style, each
/// holding its palette through a shot. Shared by `video` and `webtoon`.
pub fn frame_stylizer(style: &StyleArgs) -> Result<Box<dyn FrameStylizer>> {
    Ok(match crate::model::load_optional(style)? {
        Some(model) => Box::new(ModelStylizer::new(model)),
        None => Box::new(ComicStylizer::new(style_config(style), style.tone)),
    })
}

/// The job the video flags describe, over `span` of an input `info` describes.
pub fn video_job(args: &VideoArgs, info: &VideoInfo, span: Span) -> VideoJob {
    let resize = args.resize.map(|r| {
        let (w, h) = r.target(info.width, info.height);
        (w, h, ResizeFilter::Area)
    });
    let temporal = TemporalConfig {
        mode: match args.temporal {
            TemporalArg::Off => TemporalMode::Off,
            TemporalArg::Blend => TemporalMode::Blend,
        },
        strength: args.temporal_strength,
        ..TemporalConfig::default()
    };
    VideoJob {
        input: args.input.clone(),
        output: args.output.clone(),
        span,
        resize,
        crf: args.crf,
        x264_preset: args.x264_preset.clone(),
        temporal,
        cut_threshold: DEFAULT_CUT_THRESHOLD,
        tags: Vec::new(),
        segment: None,
    }
}

/// A progress bar of frames, hidden with `quiet`.
pub fn frame_bar(quiet: bool, expected: Option<u64>) -> ProgressBar {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(expected.unwrap_or(0)) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} frames, {per_sec}, ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// Runs the pipeline on `job`; the errors that are the user's flags are usage errors.
pub fn run_job(
    job: &VideoJob,
    info: &VideoInfo,
    style: &StyleArgs,
    bar: &ProgressBar,
    cancel: &AtomicBool,
) -> Result<VideoReport> {
    let progress = |done: u64, expected: Option<u64>| {
        if let Some(n) = expected {
            bar.set_length(n.max(done));
        }
        bar.set_position(done);
        crate::progress::report("frames", done, expected);
    };
    let report = match run(job, info, frame_stylizer(style)?, &progress, cancel) {
        Err(e @ (VideoError::WouldOverwriteInput { .. } | VideoError::FrameTooLarge { resized: true, .. })) => {
            return Err(UsageError(e.to_string()).into())
        }
        other => other.with_context(|| format!("{}", job.input.display()))?,
    };
    bar.finish_and_clear();
    for warning in &report.warnings {
        tracing::warn!("{warning}");
    }
    Ok(report)
}

/// Runs `toonflow video`.
pub fn video(args: &VideoArgs, quiet: bool, cancel: &AtomicBool) -> Result<()> {
    let (info, span) = probe_span(&args.input, args.start, args.duration)?;
    let job = video_job(args, &info, span);
    let resize = job.resize;
    let bar = frame_bar(quiet, info.expected_frames());
    let report = run_job(&job, &info, &args.style, &bar, cancel)?;
    if !quiet {
        let stages: Vec<String> = report
            .stage_times
            .iter()
            .map(|(name, d)| format!("{name} {:.1} ms", d.as_secs_f64() * 1e3 / report.frames.max(1) as f64))
            .collect();
        eprintln!(
            "toonflow: {} frames to {} at {:.1} fps ({} per frame; {} scene cuts)",
            report.frames,
            args.output.display(),
            report.fps(),
            stages.join(", "),
            report.scene_cuts
        );
        let (w, h) = resize.map_or((info.width, info.height), |(w, h, _)| (w, h));
        let encoded = VideoFormat::from_path(&args.output).ok().map(|f| f.encoded_size(w, h));
        if let Some((ew, eh)) = encoded.filter(|&size| size != (w, h)) {
            eprintln!("toonflow: {w}x{h} was padded to {ew}x{eh}: H.264 video (yuv420p) needs even sides; .webm keeps odd ones");
        }
    }
    if args.report {
        let measured = crate::eval::warping_error(&args.input, &args.output, span).with_context(|| {
            format!("{} was written, but its warping error cannot be measured", args.output.display())
        })?;
        let pairs = measured.frames.saturating_sub(1) as u64;
        if crate::progress::enabled() {
            crate::progress::warping_error(measured.report.mean as f64, pairs);
        } else {
            println!("warping error: {:.6} over {pairs} frame pairs", measured.report.mean);
        }
    }
    Ok(())
}
