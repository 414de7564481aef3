//! The one bridge between frames and the neural networks' images: three planes (`[3, h, w]`,
//! row-major) of sRGB-encoded values scaled to `[-1, 1]`, the range the generators' `tanh`
//! output has and the one their training data used. Every conversion to or from that format —
//! stylizing with a model, training crops, sample grids, VGG features — goes through here.

use crate::color::{linear_to_srgb, srgb_to_linear};
use crate::frame::{Frame, Plane};
use rayon::prelude::*;

/// An sRGB-encoded value in `[0, 1]` as a network value in `[-1, 1]`.
#[inline]
pub fn to_network(srgb: f32) -> f32 {
    srgb * 2.0 - 1.0
}

/// A network value as an sRGB-encoded value, clamped to `[0, 1]`.
#[inline]
pub fn from_network(v: f32) -> f32 {
    ((v + 1.0) * 0.5).clamp(0.0, 1.0)
}

/// An 8-bit sRGB code value as a network value.
#[inline]
pub fn srgb8_to_network(v: u8) -> f32 {
    v as f32 / 127.5 - 1.0
}

/// An RGB image as the networks take and give it: planar, sRGB-encoded, in `[-1, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageTensor {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `3 * width * height` values: all of R, then G, then B, each plane row-major.
    pub data: Vec<f32>,
}

impl ImageTensor {
    /// Wraps planar values.
    ///
    /// # Panics
    /// If `data.len() != 3 * width * height`.
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            3 * width * height,
            "image tensor of {width}x{height}: expected {} values",
            3 * width * height
        );
        Self { width, height, data }
    }

    /// The colour of a frame (alpha is not part of it; linear light clamped to `[0, 1]`).
    pub fn from_frame(frame: &Frame) -> Self {
        let (width, height) = (frame.width(), frame.height());
        let mut data = vec![0f32; 3 * width * height];
        data.par_chunks_mut(width * height).zip(&frame.rgb).for_each(|(out, plane)| {
            for (o, &v) in out.iter_mut().zip(plane.data()) {
                *o = to_network(linear_to_srgb(v.clamp(0.0, 1.0)));
            }
        });
        Self { width, height, data }
    }

    /// Interleaved 8-bit sRGB RGB pixels (training datasets store them so).
    pub fn from_srgb8(width: usize, height: usize, rgb: &[u8]) -> Self {
        assert_eq!(rgb.len(), 3 * width * height, "interleaved RGB of {width}x{height}");
        let n = width * height;
        let mut data = vec![0f32; 3 * n];
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            for c in 0..3 {
                data[c * n + i] = srgb8_to_network(px[c]);
            }
        }
        Self { width, height, data }
    }

    /// An opaque linear-RGB frame (values outside `[-1, 1]` are clamped).
    pub fn to_frame(&self) -> Frame {
        let (w, h) = (self.width, self.height);
        let planes: Vec<Plane> = self
            .data
            .par_chunks(w * h)
            .map(|plane| Plane::from_vec(w, h, plane.iter().map(|&v| srgb_to_linear(from_network(v))).collect()))
            .collect();
        let [r, g, b]: [Plane; 3] = planes.try_into().expect("three planes");
        Frame::new([r, g, b], None)
    }

    /// Channel `c` (0 red, 1 green, 2 blue), row-major.
    pub fn plane(&self, c: usize) -> &[f32] {
        &self.data[c * self.width * self.height..][..self.width * self.height]
    }

    /// The `w x h` window whose top-left corner is at `(x0, y0)`.
    ///
    /// # Panics
    /// If the window reaches past the image.
    pub fn crop(&self, x0: usize, y0: usize, w: usize, h: usize) -> ImageTensor {
        assert!(x0 + w <= self.width && y0 + h <= self.height, "crop outside the image");
        let mut data = Vec::with_capacity(3 * w * h);
        for c in 0..3 {
            let plane = self.plane(c);
            for y in y0..y0 + h {
                data.extend_from_slice(&plane[y * self.width + x0..][..w]);
            }
        }
        ImageTensor { width: w, height: h, data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_8_bit_pixels_meet_in_the_same_values() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 23 % 256) as u8).collect();
        let from_bytes = ImageTensor::from_srgb8(4, 3, &rgb);
        let from_frame = ImageTensor::from_frame(&Frame::from_srgb8(4, 3, 3, &rgb));
        for (a, b) in from_bytes.data.iter().zip(&from_frame.data) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert_eq!(from_bytes.to_frame().to_srgb8(false), rgb, "round trip through the frame");
        assert_eq!(from_bytes.data[0], -1.0);
        let crop = from_bytes.crop(1, 1, 2, 2);
        assert_eq!(crop.plane(2)[0], from_bytes.plane(2)[4 + 1]);
    }
}
