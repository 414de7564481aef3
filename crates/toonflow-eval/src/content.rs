//! How much of the input a stylized output keeps: SSIM on luminance, agreement of edges, and
//! its overall colour (the colour cast a model may learn).
//!
//! SSIM and edges compare an input with its output pixel by pixel (same size). As MATLAB's `ssim` and
//! Wang et al. recommend, images are first box-downsampled by `round(min(w, h) / 256)` so the
//! figures describe structure at a viewing scale rather than sensor noise.

use toonflow_imgproc::blur::{gaussian_blur, sobel_magnitude};
use toonflow_imgproc::color::{frame_to_oklab, luma};
use toonflow_imgproc::resize::downsample_box;
use toonflow_imgproc::{Frame, Plane};

/// The box-downsampled luma both measures work on.
fn viewing_scale_luma(frame: &Frame) -> Plane {
    let factor = ((frame.width().min(frame.height()) as f64 / 256.0).round() as usize).max(1);
    downsample_box(&luma(frame), factor)
}

fn assert_same_size(a: &Frame, b: &Frame) {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()), "input and output sizes differ");
}

/// Mean structural similarity (Wang et al. 2004: Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03)
/// of two planes in [0, 1]. 1 for identical planes.
pub fn ssim_planes(x: &Plane, y: &Plane) -> f64 {
    const C1: f32 = 0.01 * 0.01;
    const C2: f32 = 0.03 * 0.03;
    let (w, h) = (x.width(), x.height());
    let product = |a: &Plane, b: &Plane| Plane::from_fn(w, h, |i, j| a.get(i, j) * b.get(i, j));
    let blur = |p: &Plane| gaussian_blur(p, 1.5);
    let (mx, my) = (blur(x), blur(y));
    let (xx, yy, xy) = (blur(&product(x, x)), blur(&product(y, y)), blur(&product(x, y)));
    let mut total = 0.0f64;
    for j in 0..h {
        for i in 0..w {
            let (ux, uy) = (mx.get(i, j), my.get(i, j));
            let vx = xx.get(i, j) - ux * ux;
            let vy = yy.get(i, j) - uy * uy;
            let cxy = xy.get(i, j) - ux * uy;
            let s = ((2.0 * ux * uy + C1) * (2.0 * cxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
            total += s as f64;
        }
    }
    total / (w * h) as f64
}

/// SSIM on luminance at viewing scale between an input and its output (same size).
///
/// # Panics
/// If the frames differ in size.
pub fn ssim_luma(input: &Frame, output: &Frame) -> f64 {
    assert_same_size(input, output);
    ssim_planes(&viewing_scale_luma(input), &viewing_scale_luma(output))
}

/// Share of pixels marked as edges: the strongest tenth of gradient magnitudes.
const EDGE_SHARE: f64 = 0.1;

/// Edge map: Sobel magnitude of the lightly blurred plane above its own 90th percentile (so a
/// darker or lower-contrast output is judged by where its edges are, not how strong).
pub fn edge_map(p: &Plane) -> Vec<bool> {
    let magnitude = sobel_magnitude(&gaussian_blur(p, 1.0)).into_vec();
    let mut sorted = magnitude.clone();
    sorted.sort_unstable_by(f32::total_cmp);
    let threshold = sorted[((1.0 - EDGE_SHARE) * (sorted.len() - 1) as f64) as usize];
    // A flat image has no edges, not a tenth of noise-level ones.
    let threshold = threshold.max(1e-3);
    magnitude.iter().map(|&m| m > threshold).collect()
}

/// Fraction of `edges` with a `reference` edge within one pixel.
fn matched_share(edges: &[bool], reference: &[bool], w: usize, h: usize) -> Option<f64> {
    let (mut hits, mut count) = (0usize, 0usize);
    for y in 0..h {
        for x in 0..w {
            if !edges[y * w + x] {
                continue;
            }
            count += 1;
            let near = (y.saturating_sub(1)..=(y + 1).min(h - 1))
                .any(|yy| (x.saturating_sub(1)..=(x + 1).min(w - 1)).any(|xx| reference[yy * w + xx]));
            hits += near as usize;
        }
    }
    (count > 0).then(|| hits as f64 / count as f64)
}

/// Edge agreement: the F1 score of the output's edges against the input's, with one pixel of
/// tolerance, at viewing scale. 1 when every edge of each has a counterpart in the other; a
/// style that drops the input's edges loses recall, one that invents edges loses precision.
///
/// # Panics
/// If the frames differ in size.
pub fn edge_agreement(input: &Frame, output: &Frame) -> f64 {
    assert_same_size(input, output);
    let (a, b) = (viewing_scale_luma(input), viewing_scale_luma(output));
    let (w, h) = (a.width(), a.height());
    let (ea, eb) = (edge_map(&a), edge_map(&b));
    match (matched_share(&eb, &ea, w, h), matched_share(&ea, &eb, w, h)) {
        (Some(precision), Some(recall)) if precision + recall > 0.0 => 2.0 * precision * recall / (precision + recall),
        (None, None) => 1.0,
        _ => 0.0,
    }
}

/// The mean Oklab chroma `(a, b)` of a frame, over its pixels.
fn mean_chroma(frame: &Frame) -> (f64, f64) {
    let [_, a, b] = frame_to_oklab(frame);
    let mean = |p: &Plane| p.data().iter().map(|&v| v as f64).sum::<f64>() / p.data().len().max(1) as f64;
    (mean(&a), mean(&b))
}

/// The colour cast of an output: the distance between the mean Oklab chroma `(a, b)` of the
/// output and of its input. 0 when the picture keeps its overall colour, whatever its shading
/// or palette. For scale: a warm tint that raises red and lowers blue by 5 % in linear light
/// gives about 0.005, by 30 % (an obvious cast) about 0.03. The frames need not share a size.
pub fn colour_cast(input: &Frame, output: &Frame) -> f64 {
    let ((ia, ib), (oa, ob)) = (mean_chroma(input), mean_chroma(output));
    (oa - ia).hypot(ob - ib)
}
