//! Forward–backward consistency: where following the forward flow and then the backward flow
//! does not come back to the start, the pixel is occluded (or the flow is wrong) and must not be
//! trusted. Test of Sundaram, Brox & Keutzer 2010 ("Dense point trajectories by GPU-accelerated
//! large displacement optical flow"), as used by Ruder et al. 2016 for video style transfer.

use crate::warp::sample_n;
use crate::Flow;
use toonflow_imgproc::Plane;

/// Tolerance of the test: `|f + b|^2 < ALPHA (|f|^2 + |b|^2) + BETA` (values from Sundaram et
/// al. 2010).
const ALPHA: f32 = 0.01;
const BETA: f32 = 0.5;

/// Whether the forward vector `(fu, fv)` and the backward vector `(bu, bv)` found where it
/// points bring a pixel back to where it started, within the test's tolerance.
#[inline]
pub fn vectors_agree(fu: f32, fv: f32, bu: f32, bv: f32) -> bool {
    let (su, sv) = (fu + bu, fv + bv);
    su * su + sv * sv < ALPHA * (fu * fu + fv * fv + bu * bu + bv * bv) + BETA
}

/// `1` where the flow from the first frame to the second (`forward`) is confirmed by the flow
/// from the second back to the first (`backward`), `0` where it is not (occlusions, errors) or
/// leaves the frame.
pub fn consistency_mask(forward: &Flow, backward: &Flow) -> Plane {
    let (w, h) = (forward.width(), forward.height());
    Plane::from_fn(w, h, |x, y| {
        let (fu, fv) = (forward.u.get(x, y), forward.v.get(x, y));
        let (tx, ty) = (x as f32 + fu, y as f32 + fv);
        if tx < 0.0 || ty < 0.0 || tx > (w - 1) as f32 || ty > (h - 1) as f32 {
            return 0.0;
        }
        let [bu, bv] = sample_n([&backward.u, &backward.v], tx, ty);
        if vectors_agree(fu, fv, bu, bv) {
            1.0
        } else {
            0.0
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistent_motion_passes_and_contradictions_fail() {
        let (w, h) = (40, 30);
        let forward = Flow { u: Plane::filled(w, h, 3.0), v: Plane::filled(w, h, 0.0) };
        let backward = Flow { u: Plane::filled(w, h, -3.0), v: Plane::filled(w, h, 0.0) };
        let mask = consistency_mask(&forward, &backward);
        assert_eq!(mask.get(10, 10), 1.0);
        assert_eq!(mask.get(38, 10), 0.0, "leaves the frame");
        // Backward flow that disagrees on the right half (an occluding object there).
        let mut bad = backward.clone();
        for y in 0..h {
            for x in 20..w {
                bad.u.data_mut()[y * w + x] = 2.0;
            }
        }
        let mask = consistency_mask(&forward, &bad);
        assert_eq!(mask.get(5, 10), 1.0);
        assert_eq!(mask.get(25, 10), 0.0);
    }
}
