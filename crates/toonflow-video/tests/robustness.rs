//! Property tests: the per-frame analysis, the stylizers and the stabilizer on streams of
//! frames of every size down to 1x1 — never a panic, output of the input's size.

use proptest::prelude::*;
use toonflow_flow::scenecut::DEFAULT_CUT_THRESHOLD;
use toonflow_imgproc::comic::{ComicConfig, Preset};
use toonflow_imgproc::{Frame, Plane};
use toonflow_video::analysis::FrameAnalyzer;
use toonflow_video::stylizer::{ComicStylizer, FrameStylizer};
use toonflow_video::temporal::{Stabilizer, TemporalConfig, TemporalMode};

fn frame(w: usize, h: usize, t: usize) -> Frame {
    let f =
        |x: usize, y: usize, c: usize| 0.5 + 0.4 * ((x + 2 * t) as f32 * 0.5 + c as f32).sin() * (y as f32 * 0.3).cos();
    Frame::new(std::array::from_fn(|c| Plane::from_fn(w, h, |x, y| f(x, y, c))), None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_stream_of_any_size_goes_through((w, h) in prop_oneof![(1usize..5, 1usize..5), (1usize..3, 1usize..120), (1usize..120, 1usize..3), (1usize..64, 1usize..48)], blend in any::<bool>(), preset in 0usize..3) {
        let temporal = TemporalConfig { mode: if blend { TemporalMode::Blend } else { TemporalMode::Off }, ..TemporalConfig::default() };
        let mut analyzer = FrameAnalyzer::new(DEFAULT_CUT_THRESHOLD, temporal.flow());
        let mut stylizer = ComicStylizer::new(ComicConfig::preset(Preset::ALL[preset]), false);
        let finish = stylizer.finisher();
        let mut stabilizer = Stabilizer::new(temporal);
        for t in 0..3 {
            let input = frame(w, h, t);
            let analysis = analyzer.analyze(&input);
            let styled = stylizer.stylize(&input, analysis.refit_look);
            let (out, _) = stabilizer.process(analysis, styled);
            let out = match &finish { Some(f) => f(&out), None => std::sync::Arc::unwrap_or_clone(out) };
            prop_assert_eq!((out.width(), out.height()), (w, h));
            prop_assert!(out.rgb.iter().all(|p| p.data().iter().all(|v| v.is_finite())));
        }
    }
}
