//! Making an episode: subtitles, the measuring pass, panels, layout (with lines that do not fit
//! moved to continuation panels), the drawing pass (stylize, balloons, moving panels), and the
//! episode's files written into a staging folder that replaces the output folder whole.

use crate::balloons::{self, Balloon, BalloonStyle, Fit, Line, PanelScene};
use crate::canvas::{Canvas, BLACK, WHITE};
use crate::geom::Rect;
use crate::layout::{self, Layout, LayoutConfig, PanelShape};
use crate::lettering::Lettering;
use crate::output::{self, PanelRecord};
use crate::panels::{self, PanelConfig, PanelPlan};
use crate::saliency::{self, Saliency};
use crate::scan::{self, FrameStats};
use crate::subtitles::{self, Cue, SubtitleError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};
use toonflow_imgproc::Frame;
use toonflow_video::analysis::FrameAnalyzer;
use toonflow_video::ffmpeg::{Decoder, Span, VideoError, VideoInfo};
use toonflow_video::stylizer::FrameStylizer;
use toonflow_video::temporal::{Stabilizer, TemporalConfig};

/// Where the lines come from.
#[derive(Clone, Debug)]
pub enum SubtitleSource {
    /// An `.srt` or `.vtt` file.
    File(PathBuf),
    /// The video's own subtitle stream, if it has one.
    FromVideo,
}

/// One episode to make.
#[derive(Clone, Debug)]
pub struct EpisodeJob {
    /// The video.
    pub input: PathBuf,
    /// The episode's folder (replaced whole).
    pub output: PathBuf,
    /// Part of the video to use.
    pub span: Span,
    /// The lines.
    pub subtitles: SubtitleSource,
    /// Panel choice.
    pub panels: PanelConfig,
    /// Layout.
    pub layout: LayoutConfig,
    /// Tallest slice of the strip (the usual upload limit is 1280 px).
    pub slice_height: usize,
    /// Scene-cut threshold (see `toonflow_flow::scenecut`).
    pub cut_threshold: f32,
    /// Temporal stabilization of moving panels.
    pub temporal: TemporalConfig,
}

/// What a run made.
#[derive(Clone, Debug, Default)]
pub struct EpisodeReport {
    /// Frames measured.
    pub frames: usize,
    /// Seconds of video.
    pub seconds: f64,
    /// Panels drawn (continuations included).
    pub panels: usize,
    /// Moving panels.
    pub moving: usize,
    /// Balloons and narration boxes.
    pub balloons: usize,
    /// Balloons over the moving subject, and as many for the naive top-left placement.
    pub on_subject: (usize, usize),
    /// Balloons in panels where a subject was found.
    pub with_subject: usize,
    /// Mean importance of the picture the balloons hide (motion, skin, detail; 0 to 1), placed
    /// and with the naive top-left placement.
    pub hidden_importance: (f32, f32),
    /// Files written, relative to the folder.
    pub files: Vec<String>,
    /// Problems that did not stop the run.
    pub warnings: Vec<String>,
    /// Time per stage.
    pub stage_times: Vec<(&'static str, Duration)>,
}

/// Why no episode was made.
#[derive(Debug, thiserror::Error)]
pub enum EpisodeError {
    /// The video could not be read.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// The subtitle file could not be read.
    #[error(transparent)]
    Subtitles(#[from] SubtitleError),
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// What was written.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The output folder holds the input.
    #[error("{path}: the episode folder would replace {input}, the input; choose another folder")]
    WouldOverwriteInput {
        /// The output.
        path: PathBuf,
        /// The input.
        input: PathBuf,
    },
    /// The output path holds something that is not an episode.
    #[error("{path}: {reason}; give a new or empty folder, or an earlier episode's")]
    WouldReplace {
        /// The output.
        path: PathBuf,
        /// What is there.
        reason: String,
    },
    /// Stopped by the user: nothing written.
    #[error("{path}: interrupted, nothing written")]
    Interrupted {
        /// The output.
        path: PathBuf,
    },
}

/// Progress: a stage's name, units done and expected.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, Option<u64>) + Sync);

/// Makes the episode.
pub fn make_episode(
    job: &EpisodeJob,
    info: &VideoInfo,
    stylizer: &mut dyn FrameStylizer,
    progress: Progress,
    cancel: &AtomicBool,
) -> Result<EpisodeReport, EpisodeError> {
    // Every input: the video and a subtitle file (the folder is replaced whole).
    let subtitle_file = match &job.subtitles {
        SubtitleSource::File(path) => Some(path),
        SubtitleSource::FromVideo => None,
    };
    if let Some(input) =
        std::iter::once(&job.input).chain(subtitle_file).find(|p| toonflow_fs::is_within(p, &job.output))
    {
        return Err(EpisodeError::WouldOverwriteInput { path: job.output.clone(), input: input.clone() });
    }
    let would_replace = |reason: String| EpisodeError::WouldReplace { path: job.output.clone(), reason };
    match toonflow_fs::foreign_entry(&job.output, output::is_episode_entry) {
        Ok(None) => {}
        Ok(Some(name)) => return Err(would_replace(format!("the folder holds {name}, which no episode writes"))),
        Err(e) => return Err(would_replace(e.to_string())),
    }
    let mut report = EpisodeReport::default();
    let interrupted = || EpisodeError::Interrupted { path: job.output.clone() };

    let subs = match &job.subtitles {
        SubtitleSource::File(path) => Some(subtitles::read(path)?),
        SubtitleSource::FromVideo => subtitles::from_video(&job.input),
    };
    let mut cues: Vec<Cue> = Vec::new();
    match subs {
        Some(s) => {
            report.warnings.extend(s.warnings);
            if s.cues.is_empty() {
                let from = subtitle_file.map_or(job.input.display(), |p| p.display());
                report.warnings.push(format!("{from}: no usable subtitle cues: panels without balloons"));
            }
            let offset = job.span.start.unwrap_or(0.0);
            cues = s.cues.into_iter().map(|c| Cue { start: c.start - offset, end: c.end - offset, ..c }).collect();
        }
        None => report.warnings.push(format!(
            "{}: no subtitles (no --subtitles file and no subtitle stream): panels without balloons",
            job.input.display()
        )),
    }

    let t = Instant::now();
    let expected = info.expected_frames();
    let stats =
        scan::scan(&job.input, info, job.span, job.cut_threshold, &|n| progress("measuring", n, expected), cancel)?;
    report.stage_times.push(("measure", t.elapsed()));
    if cancel.load(Ordering::Relaxed) {
        return Err(interrupted());
    }
    let fps = if info.is_variable_rate() { info.avg_rate.fps() } else { info.rate.fps() };
    report.frames = stats.len();
    report.seconds = stats.len() as f64 / fps;
    let before = cues.len();
    cues.retain(|c| c.end > 0.0 && c.start < report.seconds);
    if cues.len() < before {
        report.warnings.push(format!(
            "{} subtitle cues lie outside the {:.1} s of video used and are left out",
            before - cues.len(),
            report.seconds
        ));
    }

    let t = Instant::now();
    let plans = panels::plan(&stats, &cues, fps, &job.panels);
    let lettering = Lettering::new();
    let style = BalloonStyle::for_width(job.layout.width);
    let (plans, lines, layout) = fit_lines(plans, &cues, &stats, info, &job.layout, &lettering, &style);
    report.stage_times.push(("plan", t.elapsed()));

    let t = Instant::now();
    let staged = toonflow_fs::StagedDir::new(&job.output).map_err(|e| io(&job.output, e))?;
    let drawn =
        draw_panels(job, info, &plans, &lines, &layout, &lettering, &style, stylizer, &staged, progress, cancel)?;
    report.stage_times.push(("draw", t.elapsed()));
    if cancel.load(Ordering::Relaxed) {
        return Err(interrupted());
    }

    let t = Instant::now();
    let records: Vec<PanelRecord> = plans
        .iter()
        .zip(&drawn)
        .zip(&layout.boxes)
        .enumerate()
        .map(|(i, ((plan, d), &(canvas, rect)))| PanelRecord {
            index: i,
            shot: plan.shot,
            canvas,
            rect,
            start: stats[plan.frames.0].time,
            end: stats.get(plan.frames.1).map_or(report.seconds, |s| s.time),
            time: stats[plan.frame].time,
            frame: plan.frame,
            continuation: plan.continuation,
            crop: d.crop,
            subject: d.subject,
            balloons: d.balloons.clone(),
            moving: d.moving.clone(),
        })
        .collect();
    for (d, r) in drawn.iter().zip(&records) {
        report.balloons += d.balloons.len();
        report.hidden_importance.0 += d.hidden.0;
        report.hidden_importance.1 += d.hidden.1;
        if d.subject.is_some() {
            report.with_subject += d.balloons.len();
            report.on_subject.0 += d.on_subject.0;
            report.on_subject.1 += d.on_subject.1;
        }
        report.moving += r.moving.is_some() as usize;
    }
    report.panels = records.len();
    let n = report.balloons.max(1) as f32;
    report.hidden_importance = (report.hidden_importance.0 / n, report.hidden_importance.1 / n);
    let pictures: Vec<Canvas> = drawn.into_iter().map(|d| d.picture).collect();
    report.files = output::write_episode(&staged, job, &layout, &records, &pictures, &cues, &report)?;
    // The last moment to stop with nothing written (the staging folder goes with `staged`).
    if cancel.load(Ordering::Relaxed) {
        return Err(interrupted());
    }
    staged.commit().map_err(|e| io(&job.output, e))?;
    report.stage_times.push(("write", t.elapsed()));
    Ok(report)
}

fn io(path: &Path, source: std::io::Error) -> EpisodeError {
    EpisodeError::Io { path: path.into(), source }
}

/// The layout for these panels, after moving the lines a panel cannot hold to continuation
/// panels (same moment, closer framing) until every panel's lines fit.
fn fit_lines(
    mut plans: Vec<PanelPlan>,
    cues: &[Cue],
    stats: &[FrameStats],
    info: &VideoInfo,
    cfg: &LayoutConfig,
    lettering: &Lettering,
    style: &BalloonStyle,
) -> (Vec<PanelPlan>, Vec<Vec<Line>>, Layout) {
    let mut lines: Vec<Vec<Line>> = plans
        .iter()
        .map(|p| {
            p.cues.iter().map(|&c| Line { cue: c, text: cues[c].text.clone(), narration: cues[c].narration }).collect()
        })
        .collect();
    loop {
        let shapes: Vec<PanelShape> = plans
            .iter()
            .zip(&lines)
            .enumerate()
            .map(|(i, (p, l))| PanelShape {
                aspect: info.width as f32 / info.height as f32,
                shot_start: p.shot_start && !p.continuation,
                shot: p.shot,
                gap_seconds: if i == 0 { 0.0 } else { stats[p.frame].time - stats[plans[i - 1].frame].time },
                importance: (p.frames.1 - p.frames.0) as f32 / stats.len().max(1) as f32 * plans.len() as f32
                    + l.len() as f32,
                lines: l.len(),
                continuation: p.continuation,
            })
            .collect();
        let layout = layout::layout(&shapes, cfg);
        let overfull = (0..plans.len()).find_map(|i| {
            let panel = Rect::new(0.0, 0.0, layout.boxes[i].1.w, layout.boxes[i].1.h);
            match balloons::fit(lettering, &panel, &lines[i], style) {
                Fit::Lines(n) if n == lines[i].len() => None,
                fit => Some((i, fit)),
            }
        });
        let Some((i, fit)) = overfull else { return (plans, lines, layout) };
        let rest: Vec<Line> = match fit {
            Fit::Lines(n) => lines[i].split_off(n),
            Fit::Words(n) => {
                let first = &mut lines[i][0];
                let words: Vec<String> = first.text.split_whitespace().map(String::from).collect();
                let tail = Line { text: words[n..].join(" "), ..first.clone() };
                first.text = words[..n].join(" ");
                let mut rest = vec![tail];
                rest.extend(lines[i].split_off(1));
                rest
            }
        };
        let continuation = PanelPlan { continuation: true, shot_start: false, moving: None, ..plans[i].clone() };
        plans.insert(i + 1, continuation);
        lines.insert(i + 1, rest);
    }
}

/// A panel as drawn.
struct Drawn {
    /// The panel's picture with border and balloons, at its box's size.
    picture: Canvas,
    /// Its balloons, in canvas coordinates.
    balloons: Vec<Balloon>,
    /// The part of the frame shown, in fractions of the frame.
    crop: Rect,
    /// The moving subject on the canvas.
    subject: Option<Rect>,
    /// Balloons over the subject, placed and naive.
    on_subject: (usize, usize),
    /// Summed importance under the balloons, placed and naive.
    hidden: (f32, f32),
    /// The moving panel's file, relative to the folder.
    moving: Option<String>,
}

/// Frames one panel needs, gathered during the drawing pass.
#[derive(Default)]
struct Gathered {
    frame: Option<Frame>,
    neighbour: Option<Frame>,
    loop_frames: Vec<Canvas>,
}

/// The frame a panel's motion is measured against: a few frames on, within its moment.
fn neighbour_of(plan: &PanelPlan) -> Option<usize> {
    let (first, end) = plan.frames;
    [plan.frame + 3, plan.frame.wrapping_sub(3), plan.frame + 1, plan.frame.wrapping_sub(1)]
        .into_iter()
        .find(|&f| f >= first && f < end && f != plan.frame)
}

/// The crop's size in fractions of the frame for a box of this aspect (the largest such
/// rectangle, smaller for a continuation: a closer look at the same moment).
fn crop_size(box_aspect: f32, frame_aspect: f32, continuation: bool) -> (f32, f32) {
    let (w, h) =
        if box_aspect > frame_aspect { (1.0, frame_aspect / box_aspect) } else { (box_aspect / frame_aspect, 1.0) };
    let zoom = if continuation { 0.75 } else { 1.0 };
    (w * zoom, h * zoom)
}

#[allow(clippy::too_many_arguments)]
fn draw_panels(
    job: &EpisodeJob,
    info: &VideoInfo,
    plans: &[PanelPlan],
    lines: &[Vec<Line>],
    layout: &Layout,
    lettering: &Lettering,
    style: &BalloonStyle,
    stylizer: &mut dyn FrameStylizer,
    staged: &toonflow_fs::StagedDir,
    progress: Progress,
    cancel: &AtomicBool,
) -> Result<Vec<Drawn>, EpisodeError> {
    let frame_aspect = info.width as f32 / info.height as f32;
    // Which panels need which frame, and for what.
    let mut wanted: HashMap<usize, Vec<(usize, Use)>> = HashMap::new();
    for (i, p) in plans.iter().enumerate() {
        wanted.entry(p.frame).or_default().push((i, Use::Frame));
        if let Some(n) = neighbour_of(p) {
            wanted.entry(n).or_default().push((i, Use::Neighbour));
        }
        for f in p.moving.iter().flat_map(|l| l.indices()) {
            wanted.entry(f).or_default().push((i, Use::Loop));
        }
    }
    let last_needed: Vec<usize> = plans
        .iter()
        .map(|p| [Some(p.frame), neighbour_of(p), p.moving.map(|l| l.end - 1)].into_iter().flatten().max().unwrap_or(0))
        .collect();
    let scale_of = |i: usize| {
        let b = layout.boxes[i].1;
        let (cw, _) = crop_size(b.w / b.h, frame_aspect, plans[i].continuation);
        b.w / (cw * info.width as f32)
    };
    let mut gathered: Vec<Gathered> = (0..plans.len()).map(|_| Gathered::default()).collect();
    let mut drawn: Vec<Drawn> = Vec::with_capacity(plans.len());
    let mut decoder = Decoder::open(&job.input, info, job.span, false)?;
    let mut index = 0usize;
    let total = plans.len() as u64;
    while drawn.len() < plans.len() {
        if cancel.load(Ordering::Relaxed) {
            return Ok(drawn);
        }
        // Draw every panel whose frames have all gone past, in order (the palette carries
        // through a shot's panels).
        while drawn.len() < plans.len() && last_needed[drawn.len()] < index {
            let i = drawn.len();
            let g = std::mem::take(&mut gathered[i]);
            let d =
                draw_panel(i, &plans[i], &lines[i], layout, g, frame_aspect, lettering, style, job, stylizer, staged)?;
            drawn.push(d);
            progress("drawing", drawn.len() as u64, Some(total));
        }
        if drawn.len() == plans.len() {
            break;
        }
        let Some((frame, _)) = decoder.next_frame()? else {
            // The video ended before a measured frame (it changed, or decodes differently
            // the second time): draw what was gathered.
            let i = drawn.len();
            let g = std::mem::take(&mut gathered[i]);
            if g.frame.is_none() {
                return Err(VideoError::Unreadable {
                    path: job.input.clone(),
                    reason: format!("frame {} was measured but cannot be decoded again", plans[i].frame),
                }
                .into());
            }
            let d =
                draw_panel(i, &plans[i], &lines[i], layout, g, frame_aspect, lettering, style, job, stylizer, staged)?;
            drawn.push(d);
            continue;
        };
        if let Some(uses) = wanted.get(&index) {
            for &(i, what) in uses {
                match what {
                    Use::Frame => gathered[i].frame = Some(frame.clone()),
                    Use::Neighbour => gathered[i].neighbour = Some(frame.clone()),
                    Use::Loop => {
                        let s = scale_of(i);
                        let (w, h) =
                            ((info.width as f32 * s).round().max(1.0), (info.height as f32 * s).round().max(1.0));
                        gathered[i].loop_frames.push(Canvas::from_frame(&resize_frame(
                            &frame,
                            w as usize,
                            h as usize,
                            ResizeFilter::Area,
                        )));
                    }
                }
            }
        }
        index += 1;
    }
    drop(decoder);
    Ok(drawn)
}

#[derive(Clone, Copy)]
enum Use {
    Frame,
    Neighbour,
    Loop,
}

#[allow(clippy::too_many_arguments)]
fn draw_panel(
    i: usize,
    plan: &PanelPlan,
    lines: &[Line],
    layout: &Layout,
    g: Gathered,
    frame_aspect: f32,
    lettering: &Lettering,
    style: &BalloonStyle,
    job: &EpisodeJob,
    stylizer: &mut dyn FrameStylizer,
    staged: &toonflow_fs::StagedDir,
) -> Result<Drawn, EpisodeError> {
    let frame = g.frame.expect("the panel's frame was gathered");
    let b = layout.boxes[i].1;
    let (bw, bh) = (b.w.round().max(1.0) as usize, b.h.round().max(1.0) as usize);
    let sal = saliency::analyze(&frame, g.neighbour.as_ref());
    let crop = place_crop(&sal, crop_size(b.w / b.h, frame_aspect, plan.continuation));
    let local = Rect::new(0.0, 0.0, bw as f32, bh as f32);
    let to_local = |r: &Rect| r.map(&crop, &local);
    let to_frame = |r: &Rect| r.map(&local, &crop);
    let subject = sal.subject.map(|s| to_local(&s)).and_then(|s| {
        // The part of the subject the crop shows.
        let (x0, y0) = (s.x.max(0.0), s.y.max(0.0));
        let (x1, y1) = (s.right().min(local.w), s.bottom().min(local.h));
        (x1 > x0 && y1 > y0).then(|| Rect::new(x0, y0, x1 - x0, y1 - y0))
    });
    let speaker = sal.speaker.map(|(x, y)| {
        let p = to_local(&Rect::new(x, y, 0.0, 0.0));
        (p.x, p.y)
    });
    let importance = |r: &Rect| sal.mean_over(&to_frame(r));
    let scene = PanelScene { panel: local, importance: &importance, subject, speaker };
    let rtl = job.layout.rtl;
    let placed = balloons::place(lettering, &scene, lines, style, rtl);
    let on = |r: &Rect| subject.is_some_and(|s| s.overlap(r) > 0.05 * r.area()) as usize;
    let naive = balloons::shelf(&local, &placed.iter().map(|p| (p.body.w, p.body.h)).collect::<Vec<_>>(), rtl)
        .unwrap_or_default();
    let on_subject = (placed.iter().map(|p| on(&p.body)).sum(), naive.iter().map(on).sum());
    let hidden = (placed.iter().map(|p| importance(&p.body)).sum(), naive.iter().map(&importance).sum());

    let styled = stylizer.stylize(&framed(&frame, &crop, bw, bh), plan.shot_start && !plan.continuation);
    let mut picture = Canvas::from_frame(&styled);
    finish_panel(&mut picture, &placed, lettering);
    drop(frame);

    let moving = if g.loop_frames.len() >= 8 {
        let name = format!("moving/{:03}.webp", i + 1);
        let bounce = plan.moving.is_some_and(|l| l.bounce);
        let frames = loop_frames(&g.loop_frames, &crop, (bw, bh), bounce, stylizer, &job.temporal, &placed, lettering);
        let rate = plan.moving.map_or(job.panels.loop_fps, |l| l.rate);
        output::write_loop(staged, &name, &frames, rate)?;
        Some(name)
    } else {
        None
    };
    let offset = |mut bl: Balloon| {
        bl.body.x += b.x;
        bl.body.y += b.y;
        bl.tail = bl.tail.map(|(x, y)| (x + b.x, y + b.y));
        bl
    };
    Ok(Drawn {
        picture,
        balloons: placed.into_iter().map(offset).collect(),
        crop,
        subject: subject.map(|s| Rect::new(s.x + b.x, s.y + b.y, s.w, s.h)),
        on_subject,
        hidden,
        moving,
    })
}

/// A crop of this size centred on the speaker or subject (the picture's centre otherwise),
/// inside the frame.
fn place_crop(sal: &Saliency, (w, h): (f32, f32)) -> Rect {
    let focus = sal.speaker.or(sal.subject.map(|s| s.center())).unwrap_or((0.5, 0.5));
    let x = (focus.0 - w / 2.0).clamp(0.0, 1.0 - w);
    let y = (focus.1 - h / 2.0).clamp(0.0, 1.0 - h);
    Rect::new(x, y, w, h)
}

/// The part `crop` (fractions of the frame) of a frame, at the panel's size: what a panel's
/// still and each frame of its loop show.
fn framed(frame: &Frame, crop: &Rect, bw: usize, bh: usize) -> Frame {
    let whole = Rect::new(0.0, 0.0, frame.width() as f32, frame.height() as f32);
    let pixels = crop.map(&Rect::new(0.0, 0.0, 1.0, 1.0), &whole);
    resize_frame(&crop_frame(frame, &pixels), bw, bh, ResizeFilter::Area)
}

fn crop_frame(frame: &Frame, r: &Rect) -> Frame {
    let x0 = (r.x.round().max(0.0) as usize).min(frame.width() - 1);
    let y0 = (r.y.round().max(0.0) as usize).min(frame.height() - 1);
    let w = (r.w.round() as usize).clamp(1, frame.width() - x0);
    let h = (r.h.round() as usize).clamp(1, frame.height() - y0);
    frame.map_planes(|p| toonflow_imgproc::Plane::from_fn(w, h, |x, y| p.get(x0 + x, y0 + y)))
}

/// The border and balloons over a panel's picture.
fn finish_panel(canvas: &mut Canvas, placed: &[Balloon], lettering: &Lettering) {
    let local = Rect::new(0.0, 0.0, canvas.width as f32, canvas.height as f32);
    for b in placed {
        balloons::draw(canvas, lettering, b);
    }
    canvas.stroke_rect(&local, (canvas.width as f32 / 260.0).clamp(2.0, 5.0), BLACK);
}

/// A moving panel's frames: cropped, stylized with the shot's palette, stabilized, and looped
/// seamlessly: the last frames crossfade into the first ([`panels::crossfade_frames`]; the
/// window was chosen so the two look alike), or, where nothing looks alike, it bounces.
#[allow(clippy::too_many_arguments)]
fn loop_frames(
    sources: &[Canvas],
    crop: &Rect,
    (bw, bh): (usize, usize),
    bounce: bool,
    stylizer: &mut dyn FrameStylizer,
    temporal: &TemporalConfig,
    placed: &[Balloon],
    lettering: &Lettering,
) -> Vec<Canvas> {
    let mut analyzer = FrameAnalyzer::new(f32::INFINITY, temporal.flow());
    let mut stabilizer = Stabilizer::new(temporal.clone());
    let finisher = stylizer.finisher();
    let styled: Vec<Frame> = sources
        .iter()
        .map(|c| {
            let frame = framed(&c.to_frame(), crop, bw, bh);
            let styled = stylizer.stylize(&frame, false);
            let (out, _) = stabilizer.process(analyzer.analyze(&frame), styled);
            match &finisher {
                Some(f) => f(&out),
                None => Arc::unwrap_or_clone(out),
            }
        })
        .collect();
    let finish = |frame: &Frame| {
        let mut canvas = Canvas::from_frame(frame);
        finish_panel(&mut canvas, placed, lettering);
        canvas
    };
    let n = styled.len();
    if bounce {
        // Forward, then back without repeating either end.
        return styled.iter().chain(styled[1..n - 1].iter().rev()).map(finish).collect();
    }
    let fade = panels::crossfade_frames(n);
    let kept = n - fade;
    (0..kept)
        .map(|i| {
            if i >= fade {
                return finish(&styled[i]);
            }
            let w = (i + 1) as f32 / (fade + 1) as f32;
            let (a, b) = (&styled[kept + i], &styled[i]);
            let mix = |p: &toonflow_imgproc::Plane, q: &toonflow_imgproc::Plane| {
                toonflow_imgproc::Plane::from_fn(p.width(), p.height(), |x, y| {
                    p.get(x, y) * (1.0 - w) + q.get(x, y) * w
                })
            };
            finish(&Frame::new([mix(&a.rgb[0], &b.rgb[0]), mix(&a.rgb[1], &b.rgb[1]), mix(&a.rgb[2], &b.rgb[2])], None))
        })
        .collect()
}

/// Paints the episode's canvases (strip or pages) from the panel pictures.
pub fn compose(layout: &Layout, pictures: &[Canvas]) -> Vec<Canvas> {
    let mut canvases: Vec<Canvas> = layout.canvases.iter().map(|&(w, h)| Canvas::new(w, h, WHITE)).collect();
    for (&(c, r), picture) in layout.boxes.iter().zip(pictures) {
        canvases[c].paste(picture, r.x.round() as usize, r.y.round() as usize);
    }
    canvases
}
