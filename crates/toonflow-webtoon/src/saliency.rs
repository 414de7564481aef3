//! What a balloon must not cover in a panel's picture: the moving subject (optical flow against a
//! nearby frame, with the camera's own motion taken out) and skin-coloured regions (where faces
//! usually are; toonflow ships no face detector). Both are found at low resolution, in fractions
//! of the picture, so they carry over to any crop and size.

use crate::geom::Rect;
use toonflow_flow::dis::{compute_flow, DisConfig};
use toonflow_imgproc::color::luma;
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};
use toonflow_imgproc::{Frame, Plane};

/// Width the analysis runs at.
const WIDTH: usize = 256;

/// A picture's important parts.
#[derive(Clone, Debug)]
pub struct Saliency {
    /// Importance in `[0, 1]` per low-resolution pixel (motion, skin, detail).
    pub map: Plane,
    /// Box around what moves against the background, in fractions of the picture.
    pub subject: Option<Rect>,
    /// Where a speaker most likely is (the subject's upper part, or the skin's centre), as
    /// fractions of the picture.
    pub speaker: Option<(f32, f32)>,
}

impl Saliency {
    /// Mean importance over `r` (fractions of the picture).
    pub fn mean_over(&self, r: &Rect) -> f32 {
        let (w, h) = (self.map.width() as f32, self.map.height() as f32);
        let x0 = (r.x * w).floor().clamp(0.0, w - 1.0) as usize;
        let y0 = (r.y * h).floor().clamp(0.0, h - 1.0) as usize;
        let x1 = ((r.right() * w).ceil() as usize).clamp(x0 + 1, w as usize);
        let y1 = ((r.bottom() * h).ceil() as usize).clamp(y0 + 1, h as usize);
        let mut sum = 0.0;
        for y in y0..y1 {
            sum += self.map.row(y)[x0..x1].iter().sum::<f32>();
        }
        sum / ((x1 - x0) * (y1 - y0)) as f32
    }
}

/// Analyses `frame`, with `neighbour` (the same shot a few frames away) for its motion.
pub fn analyze(frame: &Frame, neighbour: Option<&Frame>) -> Saliency {
    let h = ((frame.height() * WIDTH) as f32 / frame.width() as f32).round().max(8.0) as usize;
    let small = resize_frame(frame, WIDTH, h, ResizeFilter::Area);
    let small_luma = luma(&small);
    let motion = neighbour.map(|n| residual_motion(&small_luma, &luma(&resize_frame(n, WIDTH, h, ResizeFilter::Area))));
    let skin = skin_map(&small);
    let detail = detail_map(&small_luma);
    let subject = motion.as_ref().and_then(|m| subject_box(&m.1));
    let map = Plane::from_fn(WIDTH, h, |x, y| {
        let i = y * WIDTH + x;
        let m = motion.as_ref().map_or(0.0, |(field, _)| field.data()[i]);
        (0.6 * m + 0.5 * skin.data()[i] + 0.25 * detail.data()[i]).min(1.0)
    });
    let speaker = subject.map(|s| (s.center().0, s.y + 0.25 * s.h)).or_else(|| centroid(&skin, 0.02));
    Saliency { map, subject, speaker }
}

/// Flow magnitude against the median flow (the camera), scaled to `[0, 1]`, and the mask of
/// pixels that move against the background.
fn residual_motion(a: &Plane, b: &Plane) -> (Plane, Plane) {
    let flow = compute_flow(a, b, &DisConfig::fast());
    let median = |p: &Plane| {
        let mut v = p.data().to_vec();
        let mid = v.len() / 2;
        *v.select_nth_unstable_by(mid, f32::total_cmp).1
    };
    let (mu, mv) = (median(&flow.u), median(&flow.v));
    let residual = Plane::from_fn(a.width(), a.height(), |x, y| (flow.u.get(x, y) - mu).hypot(flow.v.get(x, y) - mv));
    let typical = median(&residual);
    let threshold = (3.0 * typical).max(0.75);
    // Scattered pixels where the flow is unsure (flat areas) are not a subject: a blur and a
    // second threshold keep only compact moving regions.
    // So is the band at the edges where a panning camera brings in what the other frame lacks.
    let border = a.width() / 32;
    let inside = |x: usize, y: usize| x >= border && y >= border && x + border < a.width() && y + border < a.height();
    let raw =
        Plane::from_fn(a.width(), a.height(), |x, y| (inside(x, y) && residual.get(x, y) > threshold) as u8 as f32);
    let mut mask = toonflow_imgproc::blur::gaussian_blur(&raw, 2.0);
    mask.map_inplace(|v| (v > 0.5) as u8 as f32);
    let field = Plane::from_fn(a.width(), a.height(), |x, y| (residual.get(x, y) / (2.0 * threshold)).min(1.0));
    (field, mask)
}

/// The box holding the middle 96 % of the moving pixels, if enough move.
fn subject_box(mask: &Plane) -> Option<Rect> {
    let (w, h) = (mask.width(), mask.height());
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for y in 0..h {
        for (x, &m) in mask.row(y).iter().enumerate() {
            if m > 0.5 {
                xs.push(x);
                ys.push(y);
            }
        }
    }
    if xs.len() < (w * h) / 400 || xs.len() > (w * h) * 2 / 3 {
        return None; // nothing moves, or everything does (a zoom the median cannot take out)
    }
    xs.sort_unstable();
    ys.sort_unstable();
    let q = |v: &[usize], f: f32| v[((v.len() - 1) as f32 * f) as usize] as f32;
    let (x0, x1, y0, y1) = (q(&xs, 0.02), q(&xs, 0.98) + 1.0, q(&ys, 0.02), q(&ys, 0.98) + 1.0);
    Some(Rect::new(x0 / w as f32, y0 / h as f32, (x1 - x0) / w as f32, (y1 - y0) / h as f32))
}

/// Skin likelihood from the chroma of the sRGB values (the classic YCbCr box, softened).
fn skin_map(small: &Frame) -> Plane {
    let rgb = small.to_srgb8(false);
    let raw = Plane::from_fn(small.width(), small.height(), |x, y| {
        let i = 3 * (y * small.width() + x);
        let (r, g, b) = (rgb[i] as f32, rgb[i + 1] as f32, rgb[i + 2] as f32);
        let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
        let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
        let luma = 0.299 * r + 0.587 * g + 0.114 * b;
        ((77.0..=127.0).contains(&cb) && (135.0..=170.0).contains(&cr) && luma > 40.0) as u8 as f32
    });
    toonflow_imgproc::blur::gaussian_blur(&raw, 2.0)
}

/// Local contrast (gradient magnitude, blurred), scaled to `[0, 1]`.
fn detail_map(l: &Plane) -> Plane {
    let g = Plane::from_fn(l.width(), l.height(), |x, y| {
        let (xl, xr) = (x.saturating_sub(1), (x + 1).min(l.width() - 1));
        let (yu, yd) = (y.saturating_sub(1), (y + 1).min(l.height() - 1));
        ((l.get(xr, y) - l.get(xl, y)).abs() + (l.get(x, yd) - l.get(x, yu)).abs()) * 4.0
    });
    let mut b = toonflow_imgproc::blur::gaussian_blur(&g, 3.0);
    b.map_inplace(|v| v.min(1.0));
    b
}

/// Weighted centre of a map, if it holds more than `min_mass` of its area.
fn centroid(p: &Plane, min_mass: f32) -> Option<(f32, f32)> {
    let (mut m, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
    for y in 0..p.height() {
        for (x, &v) in p.row(y).iter().enumerate() {
            m += v as f64;
            sx += v as f64 * x as f64;
            sy += v as f64 * y as f64;
        }
    }
    ((m as f32) > min_mass * (p.width() * p.height()) as f32)
        .then(|| ((sx / m) as f32 / p.width() as f32, (sy / m) as f32 / p.height() as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_square_moving_over_a_panning_background() {
        let scene = |t: f32| {
            let plane = |c: usize| {
                Plane::from_fn(320, 180, move |x, y| {
                    let (bx, by) = (x as f32 + 3.0 * t, y as f32);
                    let inside =
                        (200.0 + 8.0 * t..240.0 + 8.0 * t).contains(&(x as f32)) && (60.0..100.0).contains(&(y as f32));
                    if inside {
                        [0.9, 0.1, 0.1][c]
                    } else {
                        0.3 + 0.2 * ((bx * 0.11 + c as f32).sin() * (by * 0.07).cos())
                    }
                })
            };
            Frame::new([plane(0), plane(1), plane(2)], None)
        };
        let s = analyze(&scene(0.0), Some(&scene(1.0)));
        let subject = s.subject.expect("a subject");
        let truth = Rect::new(200.0 / 320.0, 60.0 / 180.0, 48.0 / 320.0, 40.0 / 180.0);
        assert!(subject.overlap(&truth) > 0.6 * truth.area(), "{subject:?}");
        assert!(subject.area() < 2.0 * truth.area(), "{subject:?}");
        assert!(s.mean_over(&truth) > 2.0 * s.mean_over(&Rect::new(0.0, 0.7, 0.3, 0.3)));
    }
}
