//! Bilinear sampling and backward warping.

use crate::Flow;
use toonflow_imgproc::Plane;

/// Bilinear sample at real coordinates, clamped to the border.
#[inline]
pub fn sample(p: &Plane, x: f32, y: f32) -> f32 {
    let (w, h) = (p.width(), p.height());
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = p.get(x0, y0) + (p.get(x1, y0) - p.get(x0, y0)) * fx;
    let bottom = p.get(x0, y1) + (p.get(x1, y1) - p.get(x0, y1)) * fx;
    top + (bottom - top) * fy
}

/// Catmull–Rom weights for the four taps around a sample at fraction `t` past the second tap.
#[inline]
fn cubic_weights(t: f32) -> [f32; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [0.5 * (-t3 + 2.0 * t2 - t), 0.5 * (3.0 * t3 - 5.0 * t2 + 2.0), 0.5 * (-3.0 * t3 + 4.0 * t2 + t), 0.5 * (t3 - t2)]
}

/// Bicubic (Catmull–Rom) sample at real coordinates, clamped to the border. Sharper than
/// bilinear and free of its pull toward whole-pixel positions, which matters for sub-pixel flow.
#[inline]
pub fn sample_cubic(p: &Plane, x: f32, y: f32) -> f32 {
    let (w, h) = (p.width() as isize, p.height() as isize);
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (xf, yf) = (x.floor(), y.floor());
    let (wx, wy) = (cubic_weights(x - xf), cubic_weights(y - yf));
    let (x0, y0) = (xf as isize - 1, yf as isize - 1);
    let mut acc = 0.0;
    for (j, wyj) in wy.iter().enumerate() {
        let row = p.row((y0 + j as isize).clamp(0, h - 1) as usize);
        let mut r = 0.0;
        for (i, wxi) in wx.iter().enumerate() {
            r += wxi * row[(x0 + i as isize).clamp(0, w - 1) as usize];
        }
        acc += wyj * r;
    }
    acc
}

/// `out(x) = src(x + flow(x))`: brings `src` (the second frame) back onto the first frame's grid.
/// Bicubic, so a warp does not blur the image by up to half a pixel as bilinear does.
pub fn warp_backward(src: &Plane, flow: &Flow) -> Plane {
    Plane::from_fn(src.width(), src.height(), |x, y| {
        sample_cubic(src, x as f32 + flow.u.get(x, y), y as f32 + flow.v.get(x, y))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warping_by_a_shift_moves_the_image() {
        let src = Plane::from_fn(20, 10, |x, y| (x * 3 + y) as f32);
        let flow = Flow { u: Plane::filled(20, 10, 2.0), v: Plane::filled(20, 10, 1.0) };
        let out = warp_backward(&src, &flow);
        assert_eq!(out.get(5, 5), src.get(7, 6));
        assert!((sample(&src, 2.5, 3.0) - (src.get(2, 3) + src.get(3, 3)) / 2.0).abs() < 1e-6);
    }
}
