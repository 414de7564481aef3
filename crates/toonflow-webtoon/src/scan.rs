//! The first pass over a video: what each frame offers a panel. Sharpness (motion blur and focus),
//! exposure, motion since the previous frame, a thumbnail for telling pictures apart, and the
//! scene cuts the video pipeline detects. Only these few numbers per frame are kept, so a long
//! video fits in memory.

use toonflow_imgproc::resize::downsample_box;
use toonflow_imgproc::Plane;
use toonflow_video::analysis::FrameAnalyzer;
use toonflow_video::ffmpeg::{Decoder, Span, VideoError, VideoInfo};

/// Thumbnail side lengths: enough to tell one picture from another within a shot.
pub const THUMB_W: usize = 32;
/// See [`THUMB_W`].
pub const THUMB_H: usize = 18;

/// What one frame offers.
#[derive(Clone, Debug)]
pub struct FrameStats {
    /// Time in seconds from the start.
    pub time: f64,
    /// The frame starts a new shot.
    pub scene_cut: bool,
    /// Variance of the Laplacian of the half-resolution luma: high where the picture is sharp.
    pub sharpness: f32,
    /// 1 for a mid-grey mean luma with nothing clipped, towards 0 for dark, blown-out or clipped.
    pub exposure: f32,
    /// Share of the thumbnail's pixels that changed visibly since the previous frame (0 for the
    /// first): a small subject moving counts as much as its size, whatever the rest does.
    pub motion: f32,
    /// Luma thumbnail, [`THUMB_W`] x [`THUMB_H`], 8 bits.
    pub thumb: Vec<u8>,
}

impl FrameStats {
    /// Share of pixels that differ by more than 8 levels (of 255) between two thumbnails: more
    /// than noise and compression change.
    pub fn changed_share(a: &[u8], b: &[u8]) -> f32 {
        a.iter().zip(b).filter(|(&p, &q)| p.abs_diff(q) > 8).count() as f32 / a.len().max(1) as f32
    }

    /// Mean absolute difference of two thumbnails, in `[0, 1]`.
    pub fn thumb_distance(a: &[u8], b: &[u8]) -> f32 {
        a.iter().zip(b).map(|(&p, &q)| (p as i32 - q as i32).unsigned_abs()).sum::<u32>() as f32
            / (a.len().max(1) as f32 * 255.0)
    }
}

/// Measures every frame of `path` (the span of it given); stops early, with the frames measured
/// so far, when `cancel` is set.
pub fn scan(
    path: &std::path::Path,
    info: &VideoInfo,
    span: Span,
    cut_threshold: f32,
    progress: &dyn Fn(u64),
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Vec<FrameStats>, VideoError> {
    let mut decoder = Decoder::open(path, info, span, false)?;
    let mut analyzer = FrameAnalyzer::new(cut_threshold, None);
    let fps = if info.is_variable_rate() { info.avg_rate.fps() } else { info.rate.fps() };
    let mut stats: Vec<FrameStats> = Vec::new();
    while let Some((frame, _)) = decoder.next_frame()? {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(stats);
        }
        let analysis = analyzer.analyze(&frame);
        let luma = decoder.last_luma();
        let thumb = thumbnail(&luma);
        let motion = stats.last().map_or(0.0, |prev| FrameStats::changed_share(&prev.thumb, &thumb));
        stats.push(FrameStats {
            time: stats.len() as f64 / fps,
            scene_cut: analysis.scene_cut,
            sharpness: sharpness(&luma),
            exposure: exposure(&luma),
            motion,
            thumb,
        });
        progress(stats.len() as u64);
    }
    if let Some(warning) = decoder.finish()? {
        tracing::warn!("{warning}");
    }
    Ok(stats)
}

/// The luma shrunk to [`THUMB_W`] x [`THUMB_H`] (area average), 8 bits.
pub fn thumbnail(luma: &Plane) -> Vec<u8> {
    let small =
        toonflow_imgproc::resize::resize_plane(luma, THUMB_W, THUMB_H, toonflow_imgproc::resize::ResizeFilter::Area);
    small.data().iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect()
}

/// Variance of the 4-neighbour Laplacian at about 640 pixels wide (blur from motion or focus
/// removes the fine detail it measures; the shrink keeps sensor noise from counting as detail).
pub fn sharpness(luma: &Plane) -> f32 {
    let p = downsample_box(luma, (luma.width() / 640).max(1));
    let (w, h) = (p.width(), p.height());
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut sum, mut sum2, mut n) = (0.0f64, 0.0f64, 0.0f64);
    for y in 1..h - 1 {
        let (up, row, down) = (p.row(y - 1), p.row(y), p.row(y + 1));
        for x in 1..w - 1 {
            let lap = (up[x] + down[x] + row[x - 1] + row[x + 1] - 4.0 * row[x]) as f64;
            sum += lap;
            sum2 += lap * lap;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum2 / n - mean * mean) as f32
}

/// How well exposed a frame is: its mean luma near the middle and few clipped pixels.
pub fn exposure(luma: &Plane) -> f32 {
    let p = downsample_box(luma, 4);
    let n = p.data().len().max(1) as f32;
    let mean = p.data().iter().sum::<f32>() / n;
    let clipped = p.data().iter().filter(|&&v| !(0.02..=0.98).contains(&v)).count() as f32 / n;
    ((1.0 - 2.0 * (mean - 0.5).abs()) * (1.0 - clipped)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_lowers_sharpness_and_darkness_lowers_exposure() {
        let sharp = Plane::from_fn(320, 180, |x, y| if (x / 4 + y / 4) % 2 == 0 { 0.8 } else { 0.2 });
        let blurred = toonflow_imgproc::blur::gaussian_blur(&sharp, 3.0);
        assert!(sharpness(&sharp) > 10.0 * sharpness(&blurred));
        let dark = Plane::filled(320, 180, 0.01);
        assert!(exposure(&dark) < 0.05 && exposure(&sharp) > 0.9, "{} {}", exposure(&dark), exposure(&sharp));
    }
}
