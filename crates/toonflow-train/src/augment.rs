//! On-the-fly augmentation of training crops, on the host: random crops and flips for every
//! image; small rotations, sensor-like noise and colour jitter for photos only (the colours of
//! the style images are what the model must learn, so they are never jittered).

use toonflow_imgproc::color::luma_of;
use toonflow_imgproc::tensor::srgb8_to_network;

use crate::imageset::ImageSet;
use crate::rng::Rng;

/// Switches and strengths of photo augmentation.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhotoAugment {
    /// Mirror half of the crops left to right; on (photos have no handedness).
    pub flip: bool,
    /// Largest rotation, degrees (applied to a third of the crops); 5, a tilted hand-held shot.
    pub max_rotation: f32,
    /// Largest standard deviation of added Gaussian noise, in [-1, 1] units; 0.03, about 4 of
    /// 255 levels, a phone camera's noise in low light.
    pub max_noise: f32,
    /// Largest brightness shift and contrast and saturation change, as fractions; 0.1, the
    /// exposure and white-balance spread of ordinary photos.
    pub color_jitter: f32,
}

impl Default for PhotoAugment {
    fn default() -> Self {
        Self { flip: true, max_rotation: 5.0, max_noise: 0.03, color_jitter: 0.1 }
    }
}

/// A crop as planar CHW floats in [-1, 1].
pub type Crop = Vec<f32>;

/// Random `crop`x`crop` window of image `index`, randomly mirrored.
pub fn random_crop(set: &ImageSet, index: usize, crop: usize, flip: bool, rng: &mut Rng) -> Crop {
    let size = set.size;
    let (x0, y0) = (rng.below(size - crop + 1), rng.below(size - crop + 1));
    let mirror = flip && rng.chance(0.5);
    let src = set.image(index);
    let mut out = vec![0f32; 3 * crop * crop];
    for y in 0..crop {
        for x in 0..crop {
            let sx = if mirror { x0 + crop - 1 - x } else { x0 + x };
            let p = ((y0 + y) * size + sx) * 3;
            for c in 0..3 {
                out[(c * crop + y) * crop + x] = srgb8_to_network(src[p + c]);
            }
        }
    }
    out
}

/// Photo augmentation of a crop in place. `paired` crops of the same window (the photo's
/// structure target and base drawing) turn with it; the colour and noise changes are the
/// photo's alone.
pub fn augment_photo(crop: &mut Crop, paired: &mut [Crop], side: usize, config: &PhotoAugment, rng: &mut Rng) {
    if config.max_rotation > 0.0 && rng.chance(1.0 / 3.0) {
        let angle = rng.range(-config.max_rotation, config.max_rotation).to_radians();
        *crop = rotate(crop, side, angle);
        for paired in paired {
            *paired = rotate(paired, side, angle);
        }
    }
    if config.color_jitter > 0.0 && rng.chance(0.5) {
        let j = config.color_jitter;
        let (brightness, contrast, saturation) = (rng.range(-j, j), 1.0 + rng.range(-j, j), 1.0 + rng.range(-j, j));
        let n = side * side;
        for i in 0..n {
            let rgb = [crop[i], crop[n + i], crop[2 * n + i]];
            let grey = luma_of(rgb);
            for (c, v) in rgb.iter().enumerate() {
                let saturated = grey + (v - grey) * saturation;
                crop[c * n + i] = (saturated * contrast + brightness).clamp(-1.0, 1.0);
            }
        }
    }
    if config.max_noise > 0.0 && rng.chance(1.0 / 3.0) {
        let sigma = rng.range(0.0, config.max_noise);
        for v in crop.iter_mut() {
            *v = (*v + sigma * rng.normal()).clamp(-1.0, 1.0);
        }
    }
}

/// Rotation about the centre with bilinear sampling; outside pixels mirror back in.
fn rotate(src: &[f32], side: usize, angle: f32) -> Crop {
    let (sin, cos) = angle.sin_cos();
    let c = (side as f32 - 1.0) / 2.0;
    let mirror = |v: f32| {
        let max = side as f32 - 1.0;
        let v = v.abs();
        if v > max {
            (2.0 * max - v).max(0.0)
        } else {
            v
        }
    };
    let mut out = vec![0f32; src.len()];
    for y in 0..side {
        for x in 0..side {
            let (dx, dy) = (x as f32 - c, y as f32 - c);
            let sx = mirror(c + cos * dx + sin * dy);
            let sy = mirror(c - sin * dx + cos * dy);
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(side - 1), (y0 + 1).min(side - 1));
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            for ch in 0..3 {
                let at = |xx: usize, yy: usize| src[(ch * side + yy) * side + xx];
                let top = at(x0, y0) + fx * (at(x1, y0) - at(x0, y0));
                let bottom = at(x0, y1) + fx * (at(x1, y1) - at(x0, y1));
                out[(ch * side + y) * side + x] = top + fy * (bottom - top);
            }
        }
    }
    out
}
