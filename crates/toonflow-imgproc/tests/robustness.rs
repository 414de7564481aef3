//! Property tests: frames of every size — 1x1, one row, one column, odd, extreme aspect ratios,
//! with and without alpha — through every stage of the built-in styles and post-processing.
//! Each stage must keep the size it promises and produce finite values, never panic.

use proptest::prelude::*;
use toonflow_imgproc::comic::{stylize, ComicConfig, Preset};
use toonflow_imgproc::denoise::Denoise;
use toonflow_imgproc::resize::{downsample_box, resize_cover, resize_frame, ResizeFilter};
use toonflow_imgproc::{color, Frame, ImageTensor, Plane};

/// A frame with structure (so filters have something to do), optionally transparent.
fn frame(w: usize, h: usize, seed: u32, alpha: bool) -> Frame {
    let v = |x: usize, y: usize, c: usize| {
        let mut n = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77) ^ seed ^ c as u32;
        n ^= n >> 13;
        (n % 1000) as f32 / 999.0
    };
    let rgb = std::array::from_fn(|c| Plane::from_fn(w, h, |x, y| v(x, y, c)));
    Frame::new(rgb, alpha.then(|| Plane::from_fn(w, h, |x, y| v(x, y, 7))))
}

fn finite(f: &Frame) -> bool {
    f.rgb.iter().chain(f.alpha.iter()).all(|p| p.data().iter().all(|v| v.is_finite()))
}

fn sizes() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![(1usize..6, 1usize..6), (1usize..3, 1usize..400), (1usize..400, 1usize..3), (1usize..90, 1usize..90)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_preset_keeps_the_size((w, h) in sizes(), preset in 0usize..3, alpha in any::<bool>(), seed in any::<u32>()) {
        let input = frame(w, h, seed, alpha);
        let out = stylize(&input, &ComicConfig::preset(Preset::ALL[preset])).frame;
        prop_assert_eq!((out.width(), out.height()), (w, h));
        prop_assert_eq!(out.alpha.is_some(), alpha);
        prop_assert!(finite(&out));
    }

    #[test]
    fn resizing_reaches_any_target((w, h) in sizes(), (tw, th) in sizes(), filter in 0usize..3) {
        let filter = [ResizeFilter::Lanczos3, ResizeFilter::Area, ResizeFilter::Bilinear][filter];
        let input = frame(w, h, 3, true);
        let out = resize_frame(&input, tw, th, filter);
        prop_assert_eq!((out.width(), out.height()), (tw, th));
        prop_assert!(finite(&out));
        let cover = resize_cover(&input, tw, th, filter);
        prop_assert_eq!((cover.width(), cover.height()), (tw, th));
        let small = downsample_box(&input.rgb[0], 8);
        prop_assert_eq!((small.width(), small.height()), (w.div_ceil(8), h.div_ceil(8)));
    }

    #[test]
    fn denoising_keeps_the_size((w, h) in sizes(), size in prop::sample::select(vec![3usize, 5, 31]), median in any::<bool>()) {
        let filter = if median { Denoise::Median(size) } else { Denoise::Mean(size) };
        let out = filter.apply(&frame(w, h, 5, false));
        prop_assert_eq!((out.width(), out.height()), (w, h));
        prop_assert!(finite(&out));
    }

    #[test]
    fn the_network_bridge_and_luma_take_any_size((w, h) in sizes()) {
        let input = frame(w, h, 9, false);
        let tensor = ImageTensor::from_frame(&input);
        prop_assert_eq!(tensor.data.len(), 3 * w * h);
        prop_assert_eq!((tensor.to_frame().width(), tensor.to_frame().height()), (w, h));
        let luma = color::luma(&input);
        prop_assert!(luma.data().iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
