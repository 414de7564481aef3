//! Which moments become panels, and which frame draws each. Shots come from the scene cuts;
//! within a shot a new panel starts where a line of dialogue starts or the picture has changed
//! (each after a minimum time on the previous panel). Each panel's frame is the sharpest,
//! best-exposed and most typical one of its moment, taken while its first line is spoken.

use crate::scan::{FrameStats, THUMB_H, THUMB_W};
use crate::subtitles::Cue;

/// How panels are chosen.
#[derive(Clone, Debug)]
pub struct PanelConfig {
    /// At most this many panels (the shortest neighbours are merged first).
    pub max_panels: Option<usize>,
    /// A panel covers at least this long before a line or a change starts the next one.
    pub min_seconds: f64,
    /// Thumbnail distance from the panel's first frame that counts as a new picture.
    pub change_threshold: f32,
    /// Moving panels: mean share of visibly changing pixels per frame above which a panel moves.
    pub moving_threshold: f32,
    /// Whether moving panels are made at all.
    pub motion: bool,
    /// Longest loop of a moving panel, seconds.
    pub loop_seconds: f64,
    /// Frames per second of a moving panel's loop (at most the video's).
    pub loop_fps: f64,
}

impl Default for PanelConfig {
    fn default() -> Self {
        Self {
            max_panels: None,
            min_seconds: 1.0,
            change_threshold: 0.12,
            moving_threshold: 0.02,
            motion: true,
            loop_seconds: 2.0,
            loop_fps: 12.5,
        }
    }
}

/// One panel's moment.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelPlan {
    /// Index of its shot (0-based, in order).
    pub shot: usize,
    /// The first panel of its shot (drawn wide, as an establishing panel).
    pub shot_start: bool,
    /// Frames it covers, `[first, end)`.
    pub frames: (usize, usize),
    /// The frame it shows.
    pub frame: usize,
    /// Its lines, as indices into the cues.
    pub cues: Vec<usize>,
    /// Frames of its loop when it moves: `[first, end)` taken every `step` frames.
    pub moving: Option<LoopPlan>,
    /// A continuation of the previous panel (same picture, the lines that did not fit there).
    pub continuation: bool,
}

/// The frames of a moving panel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoopPlan {
    /// First frame.
    pub first: usize,
    /// One past the last frame.
    pub end: usize,
    /// Every how many frames.
    pub step: usize,
    /// Frames per second of the loop (the video's over `step`).
    pub rate: f64,
    /// Played forward then backward (no frame comes back to the first), instead of crossfading
    /// its end into its start.
    pub bounce: bool,
}

impl LoopPlan {
    /// The frame indices, in order.
    pub fn indices(&self) -> impl Iterator<Item = usize> {
        (self.first..self.end).step_by(self.step)
    }
}

/// Panels for a video whose frames were measured in `stats`, with `cues` (times relative to the
/// first measured frame).
pub fn plan(stats: &[FrameStats], cues: &[Cue], fps: f64, cfg: &PanelConfig) -> Vec<PanelPlan> {
    if stats.is_empty() {
        return Vec::new();
    }
    let shot_starts: Vec<usize> = std::iter::once(0).chain((1..stats.len()).filter(|&i| stats[i].scene_cut)).collect();
    let shot_of = |frame: usize| shot_starts.partition_point(|&s| s <= frame) - 1;
    let min_frames = ((cfg.min_seconds * fps).round() as usize).max(1);
    // The frame at or after a time.
    let frame_at = |t: f64| stats.partition_point(|s| s.time < t - 0.5 / fps).min(stats.len() - 1);
    let cue_starts: Vec<usize> = cues.iter().map(|c| frame_at(c.start)).collect();

    // Segments: [first, end) frames within one shot.
    let mut segments: Vec<(usize, usize)> = Vec::new();
    for (k, &first) in shot_starts.iter().enumerate() {
        let end = shot_starts.get(k + 1).copied().unwrap_or(stats.len());
        let mut seg_start = first;
        for i in first + 1..end {
            if i - seg_start < min_frames {
                continue;
            }
            let line_starts = cue_starts.contains(&i);
            let changed = FrameStats::thumb_distance(&stats[seg_start].thumb, &stats[i].thumb) > cfg.change_threshold;
            if line_starts || changed {
                segments.push((seg_start, i));
                seg_start = i;
            }
        }
        segments.push((seg_start, end));
    }
    // Each line goes to the segment where it starts.
    let mut seg_cues: Vec<Vec<usize>> = vec![Vec::new(); segments.len()];
    for (c, &f) in cue_starts.iter().enumerate() {
        let s = segments.partition_point(|&(first, _)| first <= f) - 1;
        seg_cues[s].push(c);
    }
    // Bound the count: merge the shortest neighbouring pair, within a shot before across shots.
    if let Some(max) = cfg.max_panels.map(|m| m.max(1)) {
        while segments.len() > max {
            let cost = |i: usize| {
                let (a, b) = (segments[i], segments[i + 1]);
                let across = shot_of(a.0) != shot_of(b.0);
                (b.1 - a.0) as f64 * if across { 100.0 } else { 1.0 }
            };
            let i = (0..segments.len() - 1).min_by(|&a, &b| cost(a).total_cmp(&cost(b))).expect("two segments");
            segments[i].1 = segments[i + 1].1;
            segments.remove(i + 1);
            let moved = seg_cues.remove(i + 1);
            seg_cues[i].extend(moved);
        }
    }

    let mut panels = Vec::with_capacity(segments.len());
    for (s, &(first, end)) in segments.iter().enumerate() {
        // A merged segment spanning shots draws from the shot it covers longest.
        let (shot_first, shot_end) = longest_shot_part(first, end, &shot_starts, stats.len());
        let shot = shot_of(shot_first);
        let spoken = seg_cues[s].iter().map(|&c| &cues[c]).find(|c| !c.narration);
        let frame = choose_frame(stats, shot_first, shot_end, spoken, fps);
        let moving = (cfg.motion).then(|| loop_plan(stats, shot_first, shot_end, frame, fps, cfg)).flatten();
        panels.push(PanelPlan {
            shot,
            shot_start: panels.last().is_none_or(|p: &PanelPlan| p.shot != shot),
            frames: (first, end),
            frame,
            cues: seg_cues[s].clone(),
            moving,
            continuation: false,
        });
    }
    panels
}

fn longest_shot_part(first: usize, end: usize, shot_starts: &[usize], len: usize) -> (usize, usize) {
    let bounds: Vec<usize> = shot_starts.iter().copied().chain([len]).collect();
    // The first of the longest parts (`rev`, as `max_by_key` keeps the last of equals).
    bounds
        .windows(2)
        .map(|w| (w[0].max(first), w[1].min(end)))
        .filter(|(a, z)| z > a)
        .rev()
        .max_by_key(|(a, z)| z - a)
        .unwrap_or((first, end))
}

/// The sharpest, best exposed, most typical frame of `[first, end)`, while `spoken` is spoken
/// when it is; the frames next to a cut (often mid-transition) only when nothing else is left.
fn choose_frame(stats: &[FrameStats], first: usize, end: usize, spoken: Option<&Cue>, fps: f64) -> usize {
    let margin = if end - first > 6 { 2 } else { 0 };
    let mut range: Vec<usize> = (first + margin..end - margin).collect();
    if let Some(cue) = spoken {
        let during: Vec<usize> = range
            .iter()
            .copied()
            .filter(|&i| stats[i].time + 0.5 / fps >= cue.start && stats[i].time <= cue.end)
            .collect();
        if !during.is_empty() {
            range = during;
        }
    }
    let mut mean = vec![0f32; THUMB_W * THUMB_H];
    for &i in &range {
        for (m, &v) in mean.iter_mut().zip(&stats[i].thumb) {
            *m += v as f32 / range.len() as f32;
        }
    }
    let distance = |i: usize| {
        stats[i].thumb.iter().zip(&mean).map(|(&v, &m)| (v as f32 - m).abs()).sum::<f32>() / (mean.len() as f32 * 255.0)
    };
    let max_sharp = range.iter().map(|&i| stats[i].sharpness).fold(0.0, f32::max).max(1e-12);
    let max_dist = range.iter().map(|&i| distance(i)).fold(0.0, f32::max).max(1e-6);
    let score = |i: usize| {
        let s = &stats[i];
        (s.sharpness / max_sharp) * (0.5 + 0.5 * s.exposure) * (1.0 - 0.5 * distance(i) / max_dist)
    };
    range.into_iter().max_by(|&a, &b| score(a).total_cmp(&score(b))).unwrap_or(first)
}

/// A loop of at most `loop_seconds` around `frame` within `[first, end)` when the picture moves
/// there; `None` for a still moment or one too short to loop.
fn loop_plan(
    stats: &[FrameStats],
    first: usize,
    end: usize,
    frame: usize,
    fps: f64,
    cfg: &PanelConfig,
) -> Option<LoopPlan> {
    let mean_motion =
        stats[first + 1.min(end - first - 1)..end].iter().map(|s| s.motion).sum::<f32>() / (end - first).max(1) as f32;
    let step = (fps / cfg.loop_fps).ceil().max(1.0) as usize;
    let want = ((cfg.loop_seconds * fps) as usize).max(step);
    // A loop needs at least 8 of its frames to read as motion.
    if mean_motion < cfg.moving_threshold || end - first < 8 * step {
        return None;
    }
    // The loop's end crossfades into its start: of all windows of the moment, take the one whose
    // first frame looks most like the frame where that fade begins (a loop point, as in Schödl
    // et al.'s video textures), so the fade blends alike pictures instead of ghosting a moving
    // subject; longer loops and windows near the panel's frame win ties.
    let max_n = want.min(end - first) / step;
    let mut best: Option<(f32, usize, usize)> = None;
    for n in 8..=max_n {
        let span = n * step;
        let fade_start = (n - crossfade_frames(n)) * step;
        for a in first..=end - span {
            let cost = FrameStats::thumb_distance(&stats[a].thumb, &stats[a + fade_start].thumb)
                + 0.002 * (max_n - n) as f32
                + 0.0001 * (a + span / 2).abs_diff(frame) as f32 / step as f32;
            if best.is_none_or(|(c, _, _)| cost < c) {
                best = Some((cost, a, span));
            }
        }
    }
    let (cost, start, span) = best?;
    // No picture comes back (a pan, a shaking camera): play forward then back instead, which
    // joins without any double exposure.
    let bounce = cost > LOOP_POINT_DISTANCE;
    // Played both ways, a bounce keeps to half the window, so it too lasts at most `loop_seconds`.
    let span = if bounce { span.min((max_n / 2).max(8) * step) } else { span };
    Some(LoopPlan { first: start, end: start + span, step, rate: fps / step as f64, bounce })
}

/// Largest thumbnail distance (about 5 levels of 255 on average) between a loop's start and the
/// start of its fade for a crossfade to look like one picture.
const LOOP_POINT_DISTANCE: f32 = 0.02;

/// Frames of a loop of `n` that crossfade its end into its start: short, so any double exposure
/// passes quickly.
pub fn crossfade_frames(n: usize) -> usize {
    (n / 6).max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(n: usize, cuts: &[usize], moving: bool) -> Vec<FrameStats> {
        (0..n)
            .map(|i| FrameStats {
                time: i as f64 / 10.0,
                scene_cut: cuts.contains(&i),
                sharpness: 1.0 + (i % 7) as f32,
                exposure: 1.0,
                motion: if moving { 0.05 } else { 0.0 },
                thumb: vec![(cuts.iter().filter(|&&c| c <= i).count() * 60) as u8; THUMB_W * THUMB_H],
            })
            .collect()
    }

    fn cue(start: f64, end: f64) -> Cue {
        Cue { start, end, text: "x".into(), narration: false }
    }

    #[test]
    fn shots_and_lines_start_panels_and_the_count_bound_merges_the_shortest() {
        let st = stats(90, &[30, 60], false);
        let cues = [cue(0.2, 0.9), cue(1.5, 2.5), cue(6.5, 7.0)];
        let panels = plan(&st, &cues, 10.0, &PanelConfig::default());
        let shots: Vec<usize> = panels.iter().map(|p| p.shot).collect();
        assert_eq!(shots, [0, 0, 1, 2]);
        assert_eq!(panels.iter().map(|p| p.cues.clone()).collect::<Vec<_>>(), [vec![0], vec![1], vec![], vec![2]]);
        assert!(panels.iter().all(|p| p.frames.0 <= p.frame && p.frame < p.frames.1));
        // The spoken frame lies within its line's time.
        assert!((15..=25).contains(&panels[1].frame), "{}", panels[1].frame);
        let bounded = plan(&st, &cues, 10.0, &PanelConfig { max_panels: Some(3), ..Default::default() });
        assert_eq!(bounded.iter().map(|p| p.shot).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(bounded[0].cues, [0, 1]);
    }

    #[test]
    fn moving_moments_get_a_loop_inside_their_shot() {
        let st = stats(60, &[30], true);
        let panels = plan(&st, &[], 10.0, &PanelConfig::default());
        for p in &panels {
            let l = p.moving.expect("moves");
            assert!(p.frames.0 <= l.first && l.end <= p.frames.1 && l.indices().count() >= 8, "{l:?}");
            let n = l.indices().count();
            let played = if l.bounce { 2 * n - 2 } else { n - crossfade_frames(n) };
            assert!(played as f64 / l.rate <= PanelConfig::default().loop_seconds, "{l:?} plays {played} frames");
        }
        assert!(plan(&stats(60, &[30], false), &[], 10.0, &PanelConfig::default()).iter().all(|p| p.moving.is_none()));
    }

    #[test]
    fn a_loop_starts_where_its_fade_finds_the_same_picture() {
        // A motion that repeats every 9 frames: the loop's start and the start of its fade fall
        // on the same phase.
        let mut st = stats(40, &[], true);
        for (i, s) in st.iter_mut().enumerate() {
            s.thumb = vec![((i % 9) * 25) as u8; THUMB_W * THUMB_H];
        }
        let l = plan(&st, &[], 10.0, &PanelConfig::default())[0].moving.expect("moves");
        let n = l.indices().count();
        let fade_start = l.first + (n - crossfade_frames(n)) * l.step;
        assert_eq!(FrameStats::thumb_distance(&st[l.first].thumb, &st[fade_start].thumb), 0.0, "{l:?}");
    }
}
