//! Known-answer checks of the style (SWD) and content (SSIM, edge agreement) measures on
//! synthetic image families.

use toonflow_eval::content::{colour_cast, edge_agreement, ssim_luma, ssim_planes};
use toonflow_eval::srgb_planes;
use toonflow_eval::swd::{sliced_wasserstein, SwdConfig};
use toonflow_imgproc::{Frame, Plane};

const SIDE: usize = 64;

/// A tiny deterministic generator for the synthetic images.
fn hash(i: u64) -> f32 {
    let mut z = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    ((z >> 40) as f32) / (1u64 << 24) as f32
}

fn frame(f: impl Fn(usize, usize, usize) -> f32 + Sync) -> Frame {
    Frame::new(std::array::from_fn(|c| Plane::from_fn(SIDE, SIDE, |x, y| f(c, x, y).clamp(0.0, 1.0))), None)
}

/// Photo-like: oriented gratings of random frequency and colour, with pixel noise.
fn grating(seed: u64) -> Frame {
    let angle = std::f32::consts::TAU * hash(seed);
    let freq = 0.15 + 0.3 * hash(seed + 1);
    let colour: [f32; 3] = std::array::from_fn(|c| 0.2 + 0.6 * hash(seed + 2 + c as u64));
    frame(|c, x, y| {
        let t = (x as f32 * angle.cos() + y as f32 * angle.sin()) * freq;
        colour[c] * (0.6 + 0.4 * t.sin()) + 0.05 * (hash(seed * 7919 + (y * SIDE + x) as u64 * 3 + c as u64) - 0.5)
    })
}

/// Clip-art-like: a few flat discs on a flat background.
fn discs(seed: u64) -> Frame {
    let background: [f32; 3] = std::array::from_fn(|c| 0.7 + 0.3 * hash(seed + c as u64));
    let shapes: Vec<(f32, f32, f32, [f32; 3])> = (0..4)
        .map(|k| {
            let s = seed * 100 + k * 10;
            let colour = std::array::from_fn(|c| hash(s + 3 + c as u64));
            (SIDE as f32 * hash(s), SIDE as f32 * hash(s + 1), 6.0 + 12.0 * hash(s + 2), colour)
        })
        .collect();
    frame(|c, x, y| {
        let inside =
            shapes.iter().rev().find(|(cx, cy, r, _)| (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < r * r);
        inside.map_or(background[c], |s| s.3[c])
    })
}

fn planes(frames: &[Frame]) -> Vec<[Plane; 3]> {
    frames.iter().map(srgb_planes).collect()
}

fn swd(a: &[Frame], b: &[Frame]) -> f64 {
    let config = SwdConfig { smallest_level: 8, directions: 128, ..SwdConfig::default() };
    sliced_wasserstein(&planes(a), &planes(b), &config).mean
}

#[test]
fn swd_is_zero_for_identical_sets() {
    let set: Vec<Frame> = (0..4).map(grating).collect();
    assert!(swd(&set, &set) < 1e-9);
}

#[test]
fn swd_grows_with_a_growing_colour_shift() {
    let set: Vec<Frame> = (0..6).map(grating).collect();
    let shifted = |amount: f32| -> Vec<Frame> {
        set.iter()
            .map(|f| {
                let (r, g, b) = (&f.rgb[0], &f.rgb[1], &f.rgb[2]);
                Frame::new(
                    [
                        Plane::from_fn(SIDE, SIDE, |x, y| (r.get(x, y) + amount).min(1.0)),
                        g.clone(),
                        Plane::from_fn(SIDE, SIDE, |x, y| (b.get(x, y) - amount).max(0.0)),
                    ],
                    None,
                )
            })
            .collect()
    };
    let distances: Vec<f64> = [0.0, 0.05, 0.1, 0.2].iter().map(|&a| swd(&set, &shifted(a))).collect();
    assert!(distances[0] < 1e-9);
    assert!(distances.windows(2).all(|w| w[1] > w[0]), "{distances:?}");
}

#[test]
fn swd_puts_two_halves_of_a_family_closer_than_two_families() {
    let gratings: Vec<Frame> = (0..8).map(|i| grating(100 + i)).collect();
    let clip_art: Vec<Frame> = (0..4).map(|i| discs(200 + i)).collect();
    let (first, second) = gratings.split_at(4);
    let (within, across) = (swd(first, second), swd(first, &clip_art));
    assert!(within * 1.5 < across, "halves {within:.1}, families {across:.1}");
}

#[test]
fn ssim_is_one_for_identical_images_and_falls_with_noise() {
    let image = grating(7);
    assert!((ssim_luma(&image, &image) - 1.0).abs() < 1e-6);
    let noisy = |sigma: f32| {
        frame(|c, x, y| image.rgb[c].get(x, y) + sigma * (hash((y * SIDE + x) as u64 * 5 + c as u64) - 0.5))
    };
    let scores: Vec<f64> = [0.05, 0.2, 0.5].iter().map(|&s| ssim_luma(&image, &noisy(s))).collect();
    assert!(scores.windows(2).all(|w| w[1] < w[0]) && scores[0] < 1.0, "{scores:?}");
}

#[test]
fn ssim_of_two_flat_planes_is_the_luminance_term() {
    // Flat planes have no variance, so SSIM reduces to (2ab + C1) / (a² + b² + C1).
    let (a, b) = (0.3f32, 0.6f32);
    let c1 = 0.01f64 * 0.01;
    let expected = (2.0 * a as f64 * b as f64 + c1) / ((a * a + b * b) as f64 + c1);
    let got = ssim_planes(&Plane::filled(32, 32, a), &Plane::filled(32, 32, b));
    // f32 moments: E[x²] − μ² carries ~1e-8 of round-off against C2 = 9e-4.
    assert!((got - expected).abs() < 1e-4, "{got} vs {expected}");
}

#[test]
fn edge_agreement_keeps_edges_through_a_contrast_change_and_loses_them_when_moved() {
    let image = discs(3);
    assert!((edge_agreement(&image, &image) - 1.0).abs() < 1e-9);
    let dimmer = frame(|c, x, y| 0.5 * image.rgb[c].get(x, y));
    assert!(edge_agreement(&image, &dimmer) > 0.95, "{}", edge_agreement(&image, &dimmer));
    let moved = frame(|c, x, y| image.rgb[c].get((x + 5) % SIDE, (y + 3) % SIDE));
    let other = discs(4);
    let (moved, other) = (edge_agreement(&image, &moved), edge_agreement(&image, &other));
    assert!(moved < 0.6 && other < 0.6, "moved {moved}, other {other}");
}

#[test]
fn colour_cast_is_zero_for_the_same_colours_and_measures_a_tint() {
    let image = grating(5);
    assert!(colour_cast(&image, &image) < 1e-9);
    // A grey picture made darker keeps its (zero) chroma.
    let grey = frame(|_, x, y| 0.2 + 0.6 * hash((y * SIDE + x) as u64));
    let darker = frame(|c, x, y| 0.5 * grey.rgb[c].get(x, y));
    assert!(colour_cast(&grey, &darker) < 1e-4, "{}", colour_cast(&grey, &darker));
    // A warm tint (red up, blue down) grows the cast with its strength.
    let tinted = |k: f32| frame(|c, x, y| image.rgb[c].get(x, y) * [1.0 + k, 1.0, 1.0 - k][c]);
    let casts: Vec<f64> = [0.05, 0.15, 0.3].iter().map(|&k| colour_cast(&image, &tinted(k))).collect();
    assert!(casts[0] > 0.003 && casts.windows(2).all(|w| w[1] > w[0]), "{casts:?}");
    assert!(casts[2] > 0.02, "{casts:?}");
}
