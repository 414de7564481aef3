use super::*;
use crate::warp::warp_with;
use std::path::Path;
use toonflow_imgproc::blur::gaussian_blur;
use toonflow_imgproc::color::luma;

/// A photo (public domain / CC0, assets/samples) as a lightly smoothed grey plane, so that
/// bicubic sampling at shifted coordinates is a faithful sub-pixel motion.
pub(crate) fn photo(name: &str) -> Plane {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/samples").join(name);
    let frame = toonflow_imageio::read_image(&path, &Default::default()).expect("sample photo");
    gaussian_blur(&luma(&frame), 0.8)
}

/// `second(x) = first(inverse(x))` for a known motion, and the true flow `motion(x) - x`.
pub(crate) fn moved(
    first: &Plane,
    motion: impl Fn(f32, f32) -> (f32, f32) + Sync,
    inverse: impl Fn(f32, f32) -> (f32, f32) + Sync,
) -> (Plane, Flow) {
    let (w, h) = (first.width(), first.height());
    let second = warp_with(first, inverse);
    let u = Plane::from_fn(w, h, |x, y| motion(x as f32, y as f32).0 - x as f32);
    let v = Plane::from_fn(w, h, |x, y| motion(x as f32, y as f32).1 - y as f32);
    (second, Flow { u, v })
}

fn interior(w: usize, h: usize, margin: usize) -> impl Fn(usize, usize) -> bool {
    move |x, y| x >= margin && y >= margin && x + margin < w && y + margin < h
}

#[test]
fn recovers_translations_from_sub_pixel_to_eighteen_pixels() {
    // Bounds: the medium preset (half-resolution finest level) within 0.15 px on average, the
    // fast one (quarter resolution, where 0.1 px of error is 0.4 px at full size) within 0.5 px.
    let first = photo("astronaut.jpg");
    let (w, h) = (first.width(), first.height());
    for (preset, bound) in [(DisConfig::medium(), 0.15), (DisConfig::fast(), 0.5)] {
        for (dx, dy) in [(0.3f32, 0.2f32), (1.5, -0.7), (4.0, 2.5), (8.0, -6.0), (15.0, -9.0)] {
            let (second, truth) = moved(&first, |x, y| (x + dx, y + dy), |x, y| (x - dx, y - dy));
            let flow = compute_flow(&first, &second, &preset);
            let epe = flow.mean_epe(&truth, Some(&interior(w, h, 20)));
            assert!(epe < bound, "{preset:?}, shift ({dx}, {dy}): mean end-point error {epe:.3} px");
        }
    }
}

#[test]
fn prebuilt_pyramids_give_the_flow_bit_for_bit() {
    let first = photo("chelsea.jpg");
    let (second, _) = moved(&first, |x, y| (x + 2.5, y - 1.0), |x, y| (x - 2.5, y + 1.0));
    let cfg = DisConfig::medium();
    let (p0, p1) = (Pyramid::new(first.clone(), &cfg), Pyramid::new(second.clone(), &cfg));
    let bits = |f: &Flow| f.u.data().iter().chain(f.v.data()).map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&compute_flow(&first, &second, &cfg)), bits(&compute_flow_between(&p0, &p1, &cfg)));
    assert_eq!(bits(&compute_flow(&second, &first, &cfg)), bits(&compute_flow_between(&p1, &p0, &cfg)));
}

#[test]
fn recovers_a_zoom() {
    let first = photo("astronaut.jpg");
    let (w, h) = (first.width(), first.height());
    let (cx, cy, z) = (w as f32 / 2.0, h as f32 / 2.0, 1.02f32);
    let (second, truth) =
        moved(&first, |x, y| (cx + (x - cx) * z, cy + (y - cy) * z), |x, y| (cx + (x - cx) / z, cy + (y - cy) / z));
    let flow = compute_flow(&first, &second, &DisConfig::medium());
    let epe = flow.mean_epe(&truth, Some(&interior(w, h, 24)));
    // Motion grows from 0 at the centre to 5 px at the edges.
    assert!(epe < 0.2, "zoom: mean end-point error {epe:.3} px");
}

#[test]
fn identical_frames_give_zero_flow() {
    let first = photo("chelsea.jpg");
    let flow = compute_flow(&first, &first, &DisConfig::fast());
    let max = flow.u.data().iter().chain(flow.v.data()).fold(0f32, |m, v| m.max(v.abs()));
    assert!(max < 0.05, "largest vector {max}");
}

#[test]
fn flow_upsampling_is_a_bilinear_resize_with_scaled_vectors() {
    use toonflow_imgproc::resize::{resize_plane, ResizeFilter};
    let coarse = Flow {
        u: Plane::from_fn(23, 14, |x, y| ((x * 7 + y * 3) % 5) as f32 - 2.0),
        v: Plane::from_fn(23, 14, |x, y| ((x + y * 11) % 7) as f32 * 0.5),
    };
    for (w, h) in [(46, 28), (47, 29), (100, 31), (23, 14)] {
        let fine = upsample_flow(&coarse, w, h);
        let (sx, sy) = (w as f32 / 23.0, h as f32 / 14.0);
        let u = resize_plane(&coarse.u, w, h, ResizeFilter::Bilinear);
        let v = resize_plane(&coarse.v, w, h, ResizeFilter::Bilinear);
        for (i, (a, b)) in fine.u.data().iter().zip(u.data()).enumerate() {
            assert!((a - b * sx).abs() < 1e-4, "{w}x{h} u at {i}: {a} vs {}", b * sx);
        }
        for (i, (a, b)) in fine.v.data().iter().zip(v.data()).enumerate() {
            assert!((a - b * sy).abs() < 1e-4, "{w}x{h} v at {i}: {a} vs {}", b * sy);
        }
    }
}

#[test]
fn halving_applies_the_binomial_filter_with_clamped_taps() {
    for (w, h) in [(1, 1), (2, 3), (3, 2), (4, 4), (7, 5), (8, 9), (33, 17)] {
        let p = Plane::from_fn(w, h, |x, y| ((x * 31 + y * 17) % 23) as f32 / 22.0);
        let half = halve(&p);
        let (hw, hh) = ((w / 2).max(1), (h / 2).max(1));
        assert_eq!((half.width(), half.height()), (hw, hh));
        let tap = |x: isize, y: isize| p.get(x.clamp(0, w as isize - 1) as usize, y.clamp(0, h as isize - 1) as usize);
        let k = [1.0f32, 3.0, 3.0, 1.0];
        for y in 0..hh {
            for x in 0..hw {
                let mut want = 0.0;
                for (j, kj) in k.iter().enumerate() {
                    for (i, ki) in k.iter().enumerate() {
                        want += kj * ki * tap(2 * x as isize - 1 + i as isize, 2 * y as isize - 1 + j as isize);
                    }
                }
                let got = half.get(x, y);
                assert!((got - want / 64.0).abs() < 1e-5, "{w}x{h} at ({x}, {y}): {got} vs {}", want / 64.0);
            }
        }
    }
}
