//! The streaming pipeline: decode, stylize, stabilize and encode run as four threads joined by
//! small bounded queues, so memory holds a handful of frames whatever the video's length, and
//! the stages overlap.

use crate::analysis::{FrameAnalysis, FrameAnalyzer};
use crate::ffmpeg::{
    Decoder, EncodeOptions, Encoder, Rate, Span, VideoError, VideoFormat, VideoInfo, MAX_FRAME_PIXELS,
};
use crate::png_frames::PngFrameWriter;
use crate::stylizer::FrameStylizer;
use crate::temporal::{Stabilizer, TemporalConfig};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant};
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};
use toonflow_imgproc::Frame;

/// Frames buffered between two stages.
const QUEUE: usize = 2;

/// One video to stylize.
#[derive(Clone, Debug)]
pub struct VideoJob {
    /// Input file (anything FFmpeg reads).
    pub input: PathBuf,
    /// Output file (format by extension) or folder (PNG frames).
    pub output: PathBuf,
    /// Part of the input to use.
    pub span: Span,
    /// Output size and filter; `None` keeps the input's size.
    pub resize: Option<(usize, usize, ResizeFilter)>,
    /// Encoder quality (see [`EncodeOptions::crf`]).
    pub crf: Option<u8>,
    /// x264 preset for MP4 (see [`EncodeOptions::x264_preset`]).
    pub x264_preset: Option<String>,
    /// Temporal stabilization.
    pub temporal: TemporalConfig,
    /// Luma histogram distance above which a frame starts a new shot (see
    /// [`toonflow_flow::scenecut`]); decided once per frame, for every stage.
    pub cut_threshold: f32,
    /// Container tags for the output.
    pub tags: Vec<(String, String)>,
    /// Only part of the input, as a distributed part runs it (see [`crate::parts`]); `None`
    /// for the whole span.
    pub segment: Option<Segment>,
}

/// A run over a stretch of frames whose shot decisions were made beforehand, over the whole
/// video: how a part of a long video is stylized so that it matches the frames of one run.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Frames to decode from the span's start.
    pub frames: u64,
    /// Of those, the first ones are stylized only to build the stabilizer's history (the
    /// warm-up) and are not written.
    pub warm_up: u64,
    /// The shot decisions, made by a run of the analyzer over the whole video: the decoded
    /// frames (counted from the span's start) that start a shot, and those the look is refitted
    /// on, in order. Lists, not a flag per frame, so a plan's frame count costs no memory.
    pub cuts: Vec<u64>,
    /// See [`Segment::cuts`].
    pub refits: Vec<u64>,
    /// A frame before the segment that the stylizer fits its look (palette) on first: the one
    /// the whole run last refitted on.
    pub look_from: Option<Frame>,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct VideoReport {
    /// Frames written.
    pub frames: u64,
    /// Frames that started a new shot.
    pub scene_cuts: u64,
    /// Non-fatal problems (a truncated input, say).
    pub warnings: Vec<String>,
    /// Busy time per stage.
    pub stage_times: Vec<(&'static str, Duration)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl VideoReport {
    /// Frames per second over the whole run.
    pub fn fps(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

enum Sink {
    Ffmpeg(Encoder),
    Frames(PngFrameWriter),
}

impl Sink {
    fn write(&mut self, f: &Frame, pts: Option<f64>) -> Result<(), VideoError> {
        match self {
            Sink::Ffmpeg(e) => e.write_frame(f, pts),
            Sink::Frames(w) => w.write_frame(f),
        }
    }
}

/// Runs the job on an input whose facts the caller has probed. `progress(frames_done,
/// frames_expected)` is called after each written frame; setting `cancel` stops the run and
/// leaves no output file.
pub fn run(
    job: &VideoJob,
    info: &VideoInfo,
    mut stylizer: Box<dyn FrameStylizer>,
    progress: &(dyn Fn(u64, Option<u64>) + Sync),
    cancel: &AtomicBool,
) -> Result<VideoReport, VideoError> {
    let start = Instant::now();
    let format = VideoFormat::from_path(&job.output)?;
    let replaces_input = match format {
        // The folder is replaced whole: nothing inside it may be an input.
        VideoFormat::PngFrames => toonflow_fs::is_within(&job.input, &job.output),
        _ => toonflow_fs::same_file(&job.input, &job.output),
    };
    if replaces_input {
        return Err(VideoError::WouldOverwriteInput { path: job.output.clone(), input: job.input.clone() });
    }
    toonflow_fs::remove_stale_temporaries(std::slice::from_ref(&job.output));
    let (out_w, out_h) = job.resize.map_or((info.width, info.height), |(w, h, _)| (w, h));
    for (width, height, resized) in [(info.width, info.height, false), (out_w, out_h, job.resize.is_some())] {
        if width.saturating_mul(height) > MAX_FRAME_PIXELS {
            return Err(VideoError::FrameTooLarge { path: job.input.clone(), width, height, resized });
        }
    }
    let rate: Rate = if info.is_variable_rate() { info.avg_rate } else { info.rate };
    let expected = match &job.segment {
        Some(segment) => Some(segment.frames - segment.warm_up),
        None => info.expected_frames().map(|n| match job.span.duration {
            Some(d) => n.min((d * rate.fps()).ceil() as u64),
            None => n,
        }),
    };
    // Variable frame rate passes through with each frame's own timestamp.
    let timed = info.is_variable_rate();
    let mut decoder = Decoder::open(&job.input, info, job.span, timed)?;
    let mut sink = match format {
        VideoFormat::PngFrames => Sink::Frames(PngFrameWriter::open(&job.output)?),
        _ => {
            // A segment's audio is the join's to add, once.
            let audio_from =
                info.audio_codec.clone().filter(|_| job.segment.is_none()).map(|c| (job.input.clone(), job.span, c));
            let opts = EncodeOptions {
                crf: job.crf,
                x264_preset: job.x264_preset.clone(),
                audio_from,
                tags: job.tags.clone(),
            };
            Sink::Ffmpeg(Encoder::open(&job.output, format, out_w, out_h, rate, timed, &opts)?)
        }
    };
    let mut analyzer = FrameAnalyzer::new(job.cut_threshold, job.temporal.flow());
    let mut stabilizer = Stabilizer::new(job.temporal.clone());
    let segment = job.segment.as_ref();
    if let Some(frame) = segment.and_then(|s| s.look_from.as_ref()) {
        stylizer.stylize(frame, true);
    }
    let finisher = stylizer.finisher();
    // Frames travel with their analysis and presentation time (variable frame rate only).
    let (to_stylize, stylize_rx) = sync_channel::<(Frame, FrameAnalysis, Option<f64>)>(QUEUE);
    let (to_stabilize, stabilize_rx) = sync_channel::<(FrameAnalysis, Frame, Option<f64>)>(QUEUE);
    let (to_encode, encode_rx) = sync_channel::<(Arc<Frame>, Option<f64>)>(QUEUE);
    let resize = job.resize;
    let mut report = VideoReport::default();

    let (decode_result, stylize_time, stabilize_result, encode_result) = std::thread::scope(|scope| {
        let decode = scope.spawn(move || {
            let mut busy = Duration::ZERO;
            for index in 0.. {
                if cancel.load(Ordering::Relaxed) || segment.is_some_and(|s| index >= s.frames) {
                    break;
                }
                let t = Instant::now();
                let (frame, pts) = match decoder.next_frame() {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => return (Err(e), busy),
                };
                // The decoder's own samples give the luma, unless the frame was resized since.
                let (frame, analysis) = match resize {
                    Some((w, h, filter)) => {
                        let resized = resize_frame(&frame, w, h, filter);
                        let analysis = analyzer.analyze(&resized);
                        (resized, analysis)
                    }
                    None => {
                        let analysis = analyzer.analyze_with_luma(&frame, || decoder.last_luma());
                        (frame, analysis)
                    }
                };
                // A segment's shot decisions are the whole video's, not those of its first frames.
                let mut analysis = analysis;
                if let Some(s) = segment {
                    analysis.scene_cut = s.cuts.binary_search(&index).is_ok();
                    analysis.refit_look = s.refits.binary_search(&index).is_ok();
                }
                busy += t.elapsed();
                if to_stylize.send((frame, analysis, pts)).is_err() {
                    break; // a later stage stopped
                }
            }
            drop(to_stylize);
            (decoder.finish(), busy)
        });
        let stylize = scope.spawn(move || {
            let mut busy = Duration::ZERO;
            for (frame, analysis, pts) in stylize_rx {
                let t = Instant::now();
                let styled = stylizer.stylize(&frame, analysis.refit_look);
                busy += t.elapsed();
                if to_stabilize.send((analysis, styled, pts)).is_err() {
                    break;
                }
            }
            busy
        });
        let stabilize = scope.spawn(move || {
            let (mut busy, mut cuts) = (Duration::ZERO, 0u64);
            for (analysis, styled, pts) in stabilize_rx {
                let t = Instant::now();
                let (out, step) = stabilizer.process(analysis, styled);
                let out = match &finisher {
                    Some(finish) => Arc::new(finish(&out)),
                    None => out,
                };
                cuts += step.scene_cut as u64;
                busy += t.elapsed();
                if to_encode.send((out, pts)).is_err() {
                    break;
                }
            }
            (cuts, busy)
        });
        let encode = scope.spawn(move || {
            let (mut busy, mut n) = (Duration::ZERO, 0u64);
            let mut warm_up = segment.map_or(0, |s| s.warm_up);
            for (frame, pts) in encode_rx {
                if warm_up > 0 {
                    warm_up -= 1;
                    continue;
                }
                let t = Instant::now();
                sink.write(&frame, pts)?;
                busy += t.elapsed();
                n += 1;
                progress(n, expected);
            }
            Ok::<_, VideoError>((sink, n, busy))
        });
        (
            decode.join().expect("decode thread"),
            stylize.join().expect("stylize thread"),
            stabilize.join().expect("stabilize thread"),
            encode.join().expect("encode thread"),
        )
    });
    let (sink, frames, encode_time) = encode_result?;
    let (decode_status, decode_time) = decode_result;
    let finish_sink = |sink: Sink, keep: bool| match sink {
        Sink::Ffmpeg(e) if keep => e.finish().map(|_| ()),
        Sink::Ffmpeg(e) => {
            e.abort();
            Ok(())
        }
        Sink::Frames(w) if keep => w.finish(),
        // Dropped unfinished: the staging folder goes, the old folder stays.
        Sink::Frames(_) => Ok(()),
    };
    if cancel.load(Ordering::Relaxed) {
        finish_sink(sink, false)?;
        return Err(VideoError::Interrupted { path: job.output.clone() });
    }
    match decode_status {
        Ok(warning) => report.warnings.extend(warning),
        Err(e) => {
            finish_sink(sink, false)?;
            return Err(e);
        }
    }
    if let Some(segment) = segment.filter(|s| frames != s.frames - s.warm_up) {
        finish_sink(sink, false)?;
        let reason =
            format!("the input gave {frames} of the {} frames the plan expects", segment.frames - segment.warm_up);
        return Err(VideoError::Write { path: job.output.clone(), reason });
    }
    // FFmpeg skips damaged frames in some containers without a word: a count well short of
    // what the container announces says so.
    if let (Some(announced), true, None) = (expected, report.warnings.is_empty(), segment) {
        if frames + (announced / 50).max(2) < announced {
            report.warnings.push(format!(
                "{}: decoded {frames} of the {announced} frames the container announces (damaged data?)",
                job.input.display()
            ));
        }
    }
    finish_sink(sink, true)?;
    let (cuts, stabilize_time) = stabilize_result;
    report.frames = frames;
    report.scene_cuts = cuts;
    report.stage_times = vec![
        ("decode", decode_time),
        ("stylize", stylize_time),
        ("stabilize", stabilize_time),
        ("encode", encode_time),
    ];
    report.elapsed = start.elapsed();
    Ok(report)
}
