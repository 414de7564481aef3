//! Property tests: optical flow, warping and occlusion masks on frames of every size down to
//! 1x1 — never a panic, a field of the frame's size, finite vectors.

use proptest::prelude::*;
use toonflow_flow::consistency::consistency_mask;
use toonflow_flow::dis::{compute_flow, compute_flow_between, DisConfig, Pyramid};
use toonflow_flow::scenecut::histogram_distance;
use toonflow_flow::warp::warp_backward;
use toonflow_imgproc::Plane;

fn plane(w: usize, h: usize, shift: f32) -> Plane {
    Plane::from_fn(w, h, |x, y| 0.5 + 0.25 * ((x as f32 - shift) * 0.7).sin() * (y as f32 * 0.4).cos())
}

fn sizes() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![(1usize..6, 1usize..6), (1usize..3, 1usize..200), (1usize..200, 1usize..3), (1usize..80, 1usize..60)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn flow_takes_frames_of_any_size((w, h) in sizes(), preset in 0usize..3, shift in -3.0f32..3.0) {
        let cfg = [DisConfig::ultrafast(), DisConfig::fast(), DisConfig::medium()][preset];
        let (a, b) = (plane(w, h, 0.0), plane(w, h, shift));
        let flow = compute_flow(&a, &b, &cfg);
        prop_assert_eq!((flow.width(), flow.height()), (w, h));
        prop_assert!(flow.u.data().iter().chain(flow.v.data()).all(|v| v.is_finite()));
        let shared = compute_flow_between(&Pyramid::new(a.clone(), &cfg), &Pyramid::new(b.clone(), &cfg), &cfg);
        prop_assert_eq!(&shared, &flow);
        let back = compute_flow(&b, &a, &cfg);
        let mask = consistency_mask(&flow, &back);
        prop_assert_eq!((mask.width(), mask.height()), (w, h));
        let warped = warp_backward(&b, &flow);
        prop_assert_eq!((warped.width(), warped.height()), (w, h));
        prop_assert!((0.0..=1.0).contains(&histogram_distance(&a, &b)));
    }
}
