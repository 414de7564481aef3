//! Long videos across machines: a [`Plan`] cuts a video into parts at its shots, each part is
//! stylized anywhere, on its own ([`part_job`]), and [`join`] puts the parts together.
//!
//! Shots are the natural unit: the stabilizer's history and the palette start again at a cut.
//! A shot longer than a part is split, and two things then carry across the split:
//! - the shot decisions (cuts, palette refits) are made once, by the plan, over the whole video,
//!   and every part reads them instead of deciding from its own first frames; a part that starts
//!   after the shot's last refit first fits the palette on that frame (`look_from`);
//! - the stabilizer's history is rebuilt by a warm-up: the part starts `warm_up` frames early,
//!   and stylizes and discards them. The history is a blend that keeps at most `strength`
//!   (0.75) of the past per frame, and is reset wherever the flow is unreliable, so after 100
//!   frames a difference has shrunk below 1e-12 of a pixel's range, far under one 8-bit step:
//!   the part's frames then equal a single run's (the tests compare them frame by frame).
//!
//! Parts are lossless (FFV1 in Matroska, tagged with the plan and part they are), so the join
//! encodes the final file once, with the single run's encoder settings and the original audio:
//! its frames are the single run's.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};
use toonflow_imgproc::Frame;

use crate::analysis::FrameAnalyzer;
use crate::ffmpeg::{probe, probe_tag, Decoder, EncodeOptions, Encoder, Span, VideoError, VideoFormat, VideoInfo};
use crate::pipeline::{Segment, VideoJob};
use crate::temporal::{TemporalConfig, TemporalMode};

/// The plan file's format version.
pub const PLAN_VERSION: u32 = 1;

/// The container tag a part carries: `PLAN_ID:PART`.
pub const PART_TAG: &str = "TOONFLOW_PART";

/// Default frames a part holds at most.
pub const DEFAULT_PART_FRAMES: u64 = 1000;

/// The warm-up a chunk of a shot needs under `temporal` for the stabilizer to be where a single
/// run's is at the chunk's first frame. The blend keeps `strength` of the previous output each
/// frame, so whatever differs at the warm-up's start fades as strength^n; the warm-up takes that
/// below f32's resolution (2^-24) with 75 % to spare: 102 frames at the default 0.75 (30 left
/// ±1-level differences in a test). No history without the blend, no warm-up; a strength of 1
/// never forgets, so each chunk starts at its shot's first frame.
pub fn warm_up_for(temporal: &TemporalConfig) -> u64 {
    let strength = f64::from(temporal.strength);
    match temporal.mode {
        TemporalMode::Off => 0,
        TemporalMode::Blend if strength <= 0.0 => 0,
        TemporalMode::Blend if strength >= 1.0 => u64::MAX,
        TemporalMode::Blend => (1.75 * 2f64.powi(-24).ln() / strength.ln()).ceil() as u64,
    }
}

/// How a video is cut into parts, and the decisions every part shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// Names this plan; its parts carry it, so a join never takes a part of another plan.
    pub id: String,
    /// The video, as the planning machine saw it.
    pub input: PathBuf,
    /// What the input must be wherever a part runs.
    pub fingerprint: Fingerprint,
    /// The `toonflow video` flags every part and the join run with, as given.
    pub settings: Vec<String>,
    /// Frame size the parts are stylized at (the input's, or its resize).
    pub width: usize,
    /// See [`Plan::width`].
    pub height: usize,
    /// Frame rate, `num/den` (constant: variable-rate video is refused).
    pub rate: String,
    /// Frames in the video.
    pub frames: u64,
    /// Frames where a shot starts (after the first).
    pub cuts: Vec<u64>,
    /// Frames where the look (palette) is refitted: the first, each cut, and slow drifts.
    pub refits: Vec<u64>,
    /// The shots.
    pub shots: Vec<Shot>,
    /// The parts, in order.
    pub parts: Vec<Part>,
}

/// The input's size and a hash of its first and last MiB: cheap to check on every machine,
/// and not fooled by a copy's new modification time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the first and the last MiB.
    pub ends_sha256: String,
}

/// A shot: frames `start..end`, shown from `start_time` to `end_time` seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    /// First frame.
    pub start: u64,
    /// One past the last frame.
    pub end: u64,
    /// Presentation time of the first frame, seconds from the video's start.
    pub start_time: f64,
    /// Presentation time just after the last frame.
    pub end_time: f64,
}

/// One part: frames `start..end` written, decoding from `warm_up_from`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// First frame written.
    pub start: u64,
    /// One past the last frame written.
    pub end: u64,
    /// First frame stylized (before `start`: the warm-up, inside the same shot).
    pub warm_up_from: u64,
    /// The frame the palette is fitted on first, where the shot's last refit before
    /// `warm_up_from` lies before it.
    pub look_from: Option<u64>,
}

impl Plan {
    /// Reads a plan file.
    pub fn read(path: &Path) -> Result<Plan, VideoError> {
        let bad = |reason: String| VideoError::Plan { path: path.into(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read the plan: {e}")))?;
        let plan: Plan = serde_json::from_str(&text).map_err(|e| bad(format!("not a toonflow plan: {e}")))?;
        if plan.version != PLAN_VERSION {
            return Err(bad(format!("plan version {}, this toonflow reads {PLAN_VERSION}", plan.version)));
        }
        plan.check().map_err(bad)?;
        Ok(plan)
    }

    /// Writes the plan file atomically.
    pub fn write(&self, path: &Path) -> Result<(), VideoError> {
        let text = serde_json::to_string_pretty(self).expect("plans are plain data");
        toonflow_fs::write_atomic(path, text.as_bytes()).map_err(|source| VideoError::Io { path: path.into(), source })
    }

    /// The parts must cover the frames in order, each warm-up inside the video.
    fn check(&self) -> Result<(), String> {
        let mut next = 0;
        for (k, p) in self.parts.iter().enumerate() {
            if p.start != next
                || p.end <= p.start
                || p.warm_up_from > p.start
                || p.look_from.is_some_and(|f| f > p.warm_up_from)
            {
                return Err(format!("part {k} ({}..{}) does not follow the part before it", p.start, p.end));
            }
            next = p.end;
        }
        if next != self.frames {
            return Err(format!("the parts cover {next} of {} frames", self.frames));
        }
        Ok(())
    }

    /// Part `k`, or an error naming how many there are.
    pub fn part(&self, k: usize, path: &Path) -> Result<&Part, VideoError> {
        self.parts.get(k).ok_or_else(|| VideoError::Plan {
            path: path.into(),
            reason: format!("no part {k}: the plan has parts 0 to {}", self.parts.len().saturating_sub(1)),
        })
    }

    /// The frames of `frames` in `from..to`, counted from `from`.
    fn within(frames: &[u64], from: u64, to: u64) -> Vec<u64> {
        frames.iter().filter(|&&f| (from..to).contains(&f)).map(|&f| f - from).collect()
    }

    /// The tag part `k` carries.
    pub fn part_tag(&self, k: usize) -> String {
        format!("{}:{k}", self.id)
    }
}

/// The input's [`Fingerprint`].
pub fn fingerprint(path: &Path) -> Result<Fingerprint, VideoError> {
    use std::io::{Seek, SeekFrom};
    const END: u64 = 1 << 20;
    let io = |source| VideoError::Io { path: path.into(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut hash = Sha256::new();
    let mut buf = Vec::new();
    (&mut file).take(END).read_to_end(&mut buf).map_err(io)?;
    if size > END {
        file.seek(SeekFrom::Start(size.saturating_sub(END).max(END))).map_err(io)?;
        file.read_to_end(&mut buf).map_err(io)?;
    }
    hash.update(&buf);
    Ok(Fingerprint { size, ends_sha256: hex(&hash.finalize()) })
}

/// Bytes as lowercase hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that `input` is the video the plan was made for.
pub fn check_input(plan: &Plan, input: &Path) -> Result<(), VideoError> {
    if fingerprint(input)? != plan.fingerprint {
        return Err(VideoError::Plan {
            path: input.into(),
            reason: format!(
                "not the video the plan was made for ({} bytes, differently hashed)",
                plan.fingerprint.size
            ),
        });
    }
    Ok(())
}

/// How a plan is made.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Frame size the video is stylized at, where it is resized.
    pub resize: Option<(usize, usize, ResizeFilter)>,
    /// The shot-cut threshold of the run (see [`VideoJob::cut_threshold`]).
    pub cut_threshold: f32,
    /// Frames a part holds at most.
    pub part_frames: u64,
    /// Warm-up of a part that starts inside a shot.
    pub warm_up: u64,
    /// The `toonflow video` flags the parts run with.
    pub settings: Vec<String>,
}

/// Plans `input`: decodes every frame once, makes the shot decisions a single run would, and
/// cuts the frames into parts at shot boundaries (shots longer than a part in chunks).
/// `progress(frames)` is called as frames are read.
pub fn make_plan(
    input: &Path,
    info: &VideoInfo,
    options: &PlanOptions,
    progress: &dyn Fn(u64),
    cancel: &AtomicBool,
) -> Result<Plan, VideoError> {
    let refuse = |reason: String| VideoError::Plan { path: input.into(), reason };
    if info.is_variable_rate() {
        return Err(refuse(format!(
            "variable frame rate ({} nominal, {} on average): parts need a constant rate; run `toonflow video` on one machine",
            info.rate, info.avg_rate
        )));
    }
    if options.part_frames == 0 {
        return Err(refuse("parts of 0 frames".into()));
    }
    let fingerprint = fingerprint(input)?;
    let mut decoder = Decoder::open(input, info, Span::default(), false)?;
    let mut analyzer = FrameAnalyzer::new(options.cut_threshold, None);
    let (mut cuts, mut refits, mut frames) = (Vec::new(), Vec::new(), 0u64);
    let (mut width, mut height) = (info.width, info.height);
    while let Some((frame, _)) = decoder.next_frame()? {
        if cancel.load(Ordering::Relaxed) {
            return Err(VideoError::Interrupted { path: input.into() });
        }
        let frame = at_size(frame, options.resize);
        (width, height) = (frame.width(), frame.height());
        let analysis = analyzer.analyze(&frame);
        if analysis.scene_cut {
            cuts.push(frames);
        }
        if analysis.refit_look {
            refits.push(frames);
        }
        frames += 1;
        progress(frames);
    }
    if let Some(warning) = decoder.finish()? {
        return Err(refuse(format!("the video is damaged ({warning}); parts could not match a single run")));
    }
    if frames == 0 {
        return Err(refuse("no frames".into()));
    }
    let fps = info.rate.fps();
    let bounds: Vec<u64> = std::iter::once(0).chain(cuts.iter().copied()).chain([frames]).collect();
    let shots: Vec<Shot> = bounds
        .windows(2)
        .map(|w| Shot { start: w[0], end: w[1], start_time: w[0] as f64 / fps, end_time: w[1] as f64 / fps })
        .collect();
    let parts = cut_into_parts(&shots, &refits, options.part_frames, options.warm_up);
    let mut plan = Plan {
        version: PLAN_VERSION,
        id: String::new(),
        input: std::path::absolute(input).unwrap_or_else(|_| input.into()),
        fingerprint,
        settings: options.settings.clone(),
        width,
        height,
        rate: info.rate.to_string(),
        frames,
        cuts,
        refits,
        shots,
        parts,
    };
    let mut id = Sha256::new();
    id.update(serde_json::to_vec(&plan).expect("plans are plain data"));
    plan.id = hex(&id.finalize()[..8]);
    Ok(plan)
}

/// Parts of at most `part_frames` frames: whole shots together while they fit, a longer shot
/// in equal chunks, each chunk after the first warmed up by up to `warm_up` frames of its shot.
fn cut_into_parts(shots: &[Shot], refits: &[u64], part_frames: u64, warm_up: u64) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for shot in shots {
        let len = shot.end - shot.start;
        match parts.last_mut() {
            // Short shots share a part: fewer processes, the same frames.
            Some(last) if last.warm_up_from == last.start && last.end - last.start + len <= part_frames => {
                last.end = shot.end;
                continue;
            }
            _ => {}
        }
        let chunks = len.div_ceil(part_frames);
        let size = len.div_ceil(chunks);
        let mut start = shot.start;
        while start < shot.end {
            let end = (start + size).min(shot.end);
            let warm_up_from = start.saturating_sub(warm_up).max(shot.start);
            // The last refit at or before the warm-up's first frame; none needed if it is that frame.
            let last_refit = refits.iter().rev().find(|&&r| r <= warm_up_from).copied();
            let look_from = last_refit.filter(|&r| r < warm_up_from);
            parts.push(Part { start, end, warm_up_from, look_from });
            start = end;
        }
    }
    parts
}

/// A seek that lands on frame `index` of a constant-rate video: half a frame before it, so
/// rounding cannot take the frame before or after.
fn seek_to(index: u64, fps: f64) -> Span {
    Span { start: (index > 0).then(|| (index as f64 - 0.5) / fps), duration: None }
}

/// Decodes frame `index` alone (resized as the plan's frames are).
fn decode_frame(
    input: &Path,
    info: &VideoInfo,
    index: u64,
    resize: Option<(usize, usize, ResizeFilter)>,
) -> Result<Frame, VideoError> {
    let mut decoder = Decoder::open(input, info, seek_to(index, info.rate.fps()), false)?;
    let missing = || VideoError::Plan { path: input.into(), reason: format!("has no frame {index}") };
    let (frame, _) = decoder.next_frame()?.ok_or_else(missing)?;
    drop(decoder);
    Ok(at_size(frame, resize))
}

/// A decoded frame at the size the run stylizes at.
fn at_size(frame: Frame, resize: Option<(usize, usize, ResizeFilter)>) -> Frame {
    match resize {
        Some((w, h, filter)) => resize_frame(&frame, w, h, filter),
        None => frame,
    }
}

/// Makes `job` (the settings' job over the whole input, writing part `k`) run part `k` of the
/// plan: the span, the shared decisions, the warm-up, the look's frame, and the part's tag.
/// Checks first that the input is the plan's video and the output is Matroska.
pub fn part_job(
    plan: &Plan,
    k: usize,
    plan_path: &Path,
    job: &mut VideoJob,
    info: &VideoInfo,
) -> Result<(), VideoError> {
    let part = plan.part(k, plan_path)?.clone();
    if VideoFormat::from_path(&job.output)? != VideoFormat::Mkv {
        return Err(VideoError::Plan {
            path: job.output.clone(),
            reason: "a part is written as .mkv (lossless)".into(),
        });
    }
    check_input(plan, &job.input)?;
    let look_from = part.look_from.map(|f| decode_frame(&job.input, info, f, job.resize)).transpose()?;
    job.span = seek_to(part.warm_up_from, info.rate.fps());
    job.tags = vec![(PART_TAG.into(), plan.part_tag(k))];
    job.segment = Some(Segment {
        frames: part.end - part.warm_up_from,
        warm_up: part.start - part.warm_up_from,
        cuts: Plan::within(&plan.cuts, part.warm_up_from, part.end),
        refits: Plan::within(&plan.refits, part.warm_up_from, part.end),
        look_from,
    });
    Ok(())
}

/// The folder parts are written to and looked for in by default: the plan's.
pub fn plan_folder(plan_path: &Path) -> &Path {
    plan_path.parent().unwrap_or(Path::new(""))
}

/// Part `k`'s file in `folder`: `part-K.mkv`.
pub fn part_path(folder: &Path, k: usize) -> PathBuf {
    folder.join(format!("part-{k}.mkv"))
}

/// Joins the parts (`parts[k]` is part `k`) into `output`: each checked to be this plan's part
/// with its frame count, decoded in order and encoded once, with the input's audio. Nothing is
/// written unless every part is right. `progress(frames)` is called as frames are written.
pub fn join(
    plan: &Plan,
    input: &Path,
    parts: &[PathBuf],
    output: &Path,
    opts: EncodeOptions,
    progress: &dyn Fn(u64),
    cancel: &AtomicBool,
) -> Result<u64, VideoError> {
    let format = VideoFormat::from_path(output)?;
    if format == VideoFormat::PngFrames {
        return Err(VideoError::Plan { path: output.into(), reason: "the join writes a video file".into() });
    }
    if let Some(overwritten) =
        parts.iter().map(PathBuf::as_path).chain([input]).find(|p| toonflow_fs::same_file(p, output))
    {
        return Err(VideoError::WouldOverwriteInput { path: output.into(), input: overwritten.into() });
    }
    let info = probe(input)?;
    check_input(plan, input)?;
    let mut infos = Vec::with_capacity(parts.len());
    for (k, path) in parts.iter().enumerate() {
        let part_info = probe(path)?;
        let wrong = |reason: String| VideoError::Plan { path: path.clone(), reason };
        match probe_tag(path, PART_TAG)? {
            Some(tag) if tag == plan.part_tag(k) => {}
            Some(tag) => return Err(wrong(format!("is part {tag}, not part {}", plan.part_tag(k)))),
            None => return Err(wrong("is not a toonflow part (no part tag)".into())),
        }
        if (part_info.width, part_info.height) != (plan.width, plan.height) {
            return Err(wrong(format!(
                "{}x{}, the plan's frames are {}x{}",
                part_info.width, part_info.height, plan.width, plan.height
            )));
        }
        infos.push(part_info);
    }
    toonflow_fs::remove_stale_temporaries(&[output.to_path_buf()]);
    let opts =
        EncodeOptions { audio_from: info.audio_codec.clone().map(|c| (input.into(), Span::default(), c)), ..opts };
    let mut encoder = Encoder::open(output, format, plan.width, plan.height, info.rate, false, &opts)?;
    let mut written = 0u64;
    for ((k, path), part_info) in parts.iter().enumerate().zip(&infos) {
        let mut decoder = Decoder::open(path, part_info, Span::default(), false)?;
        let mut count = 0u64;
        while let Some((frame, _)) = decoder.next_frame()? {
            if cancel.load(Ordering::Relaxed) {
                encoder.abort();
                return Err(VideoError::Interrupted { path: output.into() });
            }
            encoder.write_frame(&frame, None)?;
            count += 1;
            written += 1;
            progress(written);
        }
        let expected = plan.parts[k].end - plan.parts[k].start;
        if decoder.finish()?.is_some() || count != expected {
            encoder.abort();
            return Err(VideoError::Plan {
                path: path.clone(),
                reason: format!("{count} frames decoded, part {k} has {expected} (damaged or cut short?)"),
            });
        }
    }
    encoder.finish()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shots(bounds: &[u64]) -> Vec<Shot> {
        bounds.windows(2).map(|w| Shot { start: w[0], end: w[1], start_time: 0.0, end_time: 0.0 }).collect()
    }

    #[test]
    fn short_shots_share_a_part_and_a_long_one_is_chunked_with_a_warm_up() {
        // Shots of 10, 20, 5 and 250 frames; parts of at most 100.
        let parts = cut_into_parts(&shots(&[0, 10, 30, 35, 285]), &[0, 10, 30, 35, 100], 100, 40);
        let spans: Vec<(u64, u64, u64, Option<u64>)> =
            parts.iter().map(|p| (p.start, p.end, p.warm_up_from, p.look_from)).collect();
        assert_eq!(
            spans,
            [(0, 35, 0, None), (35, 119, 35, None), (119, 203, 79, Some(35)), (203, 285, 163, Some(100))]
        );
        // Parts cover every frame once, in order.
        let plan_frames: u64 = parts.iter().map(|p| p.end - p.start).sum();
        assert_eq!(plan_frames, 285);
    }

    #[test]
    fn a_warm_up_never_reaches_into_the_shot_before() {
        let parts = cut_into_parts(&shots(&[0, 150, 160]), &[0, 150], 100, 500);
        assert_eq!(parts.iter().map(|p| p.warm_up_from).collect::<Vec<_>>(), [0, 0, 150]);
        assert_eq!(parts[1].look_from, None);
    }

    #[test]
    fn the_warm_up_follows_the_blends_memory() {
        let blend = |strength| TemporalConfig { mode: TemporalMode::Blend, strength, ..TemporalConfig::default() };
        assert_eq!(warm_up_for(&blend(0.75)), 102);
        assert!(warm_up_for(&blend(0.9)) > 250);
        // The warm-up's start weighs less than 2^-24 at a chunk's first frame.
        for strength in [0.3f32, 0.75, 0.9, 0.99] {
            let n = warm_up_for(&blend(strength)) as i32;
            assert!(f64::from(strength).powi(n) < 2f64.powi(-24), "{strength}");
        }
        assert_eq!(warm_up_for(&blend(1.0)), u64::MAX);
        assert_eq!(warm_up_for(&blend(0.0)), 0);
        assert_eq!(warm_up_for(&TemporalConfig { mode: TemporalMode::Off, ..blend(0.75) }), 0);
    }
}
