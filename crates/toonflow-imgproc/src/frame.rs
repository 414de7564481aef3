//! The one frame type: planar `f32` images.
//!
//! Every kernel in this crate reads and writes [`Plane`]s (one channel, row-major) so that inner
//! loops run over contiguous `f32` rows and vectorize. A [`Frame`] is three linear-light RGB planes
//! plus an optional straight (not premultiplied) alpha plane; conversion to and from 8-bit sRGB
//! happens only at the edges (see [`crate::color`]).

use rayon::prelude::*;

/// Fewest samples a parallel task over rows gets: a row-parallel kernel on a small plane (the
/// guided filter's low-resolution fit, coarse pyramid levels) otherwise spends more time handing
/// rows between threads than computing them (a 320x180 box mean ran 2.5x faster on one thread
/// than split row by row over two).
pub const MIN_TASK_SAMPLES: usize = 32 * 1024;

/// A single-channel `f32` image stored row-major, `width * height` samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl Plane {
    /// A plane of zeros.
    pub fn new(width: usize, height: usize) -> Self {
        Self::filled(width, height, 0.0)
    }

    /// A plane with every sample set to `value`.
    pub fn filled(width: usize, height: usize, value: f32) -> Self {
        Self { width, height, data: vec![value; width * height] }
    }

    /// Wraps row-major samples.
    ///
    /// # Panics
    /// If `data.len() != width * height`.
    pub fn from_vec(width: usize, height: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), width * height, "plane data length: expected {}x{}", width, height);
        Self { width, height, data }
    }

    /// Builds a plane by evaluating `f(x, y)` at every sample (in parallel over rows).
    pub fn from_fn(width: usize, height: usize, f: impl Fn(usize, usize) -> f32 + Sync) -> Self {
        let mut plane = Self::new(width, height);
        plane.par_rows_mut().enumerate().for_each(|(y, row)| {
            for (x, v) in row.iter_mut().enumerate() {
                *v = f(x, y);
            }
        });
        plane
    }

    /// Width in samples.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in samples.
    pub fn height(&self) -> usize {
        self.height
    }

    /// All samples, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// All samples, row-major, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Gives the samples back.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// The sample at `(x, y)`.
    #[inline]
    pub fn get(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Row `y`.
    #[inline]
    pub fn row(&self, y: usize) -> &[f32] {
        &self.data[y * self.width..(y + 1) * self.width]
    }

    /// Mutable rows, in parallel, at least [`MIN_TASK_SAMPLES`] samples to a task.
    pub fn par_rows_mut(&mut self) -> rayon::iter::MinLen<rayon::slice::ChunksMut<'_, f32>> {
        let width = self.width.max(1);
        self.data.par_chunks_mut(width).with_min_len(MIN_TASK_SAMPLES.div_ceil(width))
    }

    /// Row `y` of every plane of `planes` (all the same size) side by side, in parallel, at
    /// least [`MIN_TASK_SAMPLES`] samples to a task: for kernels that write several planes per
    /// pixel.
    ///
    /// # Panics
    /// If the planes differ in size.
    pub fn par_rows_mut_n<const N: usize>(
        planes: &mut [Plane; N],
    ) -> rayon::iter::MinLen<rayon::vec::IntoIter<[&mut [f32]; N]>> {
        let (width, height) = (planes[0].width.max(1), planes[0].height);
        assert!(planes.iter().all(|p| p.width.max(1) == width && p.height == height), "planes differ in size");
        let mut per_plane = planes.each_mut().map(|p| p.data.chunks_exact_mut(width));
        let rows: Vec<[&mut [f32]; N]> = (0..height)
            .map(|_| per_plane.each_mut().map(|rows| rows.next().expect("every plane has `height` rows")))
            .collect();
        rows.into_par_iter().with_min_len(MIN_TASK_SAMPLES.div_ceil(width))
    }

    /// Mean of all samples (0 for an empty plane).
    pub fn mean(&self) -> f64 {
        if self.data.is_empty() {
            return 0.0;
        }
        self.data.par_iter().map(|&v| v as f64).sum::<f64>() / self.data.len() as f64
    }

    /// Applies `f` to every sample in place.
    pub fn map_inplace(&mut self, f: impl Fn(f32) -> f32 + Sync) {
        self.data.par_iter_mut().for_each(|v| *v = f(*v));
    }
}

/// A linear-light RGB image with optional straight alpha, all planes the same size, values
/// nominally in `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// Red, green and blue planes, linear light.
    pub rgb: [Plane; 3],
    /// Straight (non-premultiplied) alpha, `1` = opaque; `None` for opaque images.
    pub alpha: Option<Plane>,
}

impl Frame {
    /// Builds a frame from three planes of equal size.
    ///
    /// # Panics
    /// If the planes differ in size.
    pub fn new(rgb: [Plane; 3], alpha: Option<Plane>) -> Self {
        let (w, h) = (rgb[0].width(), rgb[0].height());
        for p in rgb.iter().chain(alpha.iter()) {
            assert_eq!((p.width(), p.height()), (w, h), "frame planes differ in size");
        }
        Self { rgb, alpha }
    }

    /// A frame of one colour (linear RGB), opaque.
    pub fn filled(width: usize, height: usize, rgb: [f32; 3]) -> Self {
        Self::new(rgb.map(|v| Plane::filled(width, height, v)), None)
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.rgb[0].width()
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.rgb[0].height()
    }

    /// The frame composited over white paper, opaque (an opaque frame is returned as it is):
    /// how a drawing with a transparent background looks printed, and what formats without
    /// alpha store.
    pub fn over_white(&self) -> Frame {
        let Some(alpha) = &self.alpha else { return self.clone() };
        let rgb = self.rgb.clone().map(|mut plane| {
            plane.data_mut().par_iter_mut().zip(alpha.data()).for_each(|(v, &a)| *v = *v * a + (1.0 - a));
            plane
        });
        Frame::new(rgb, None)
    }

    /// Applies a plane-to-plane operation to every plane, alpha included.
    pub fn map_planes(&self, f: impl Fn(&Plane) -> Plane + Sync) -> Frame {
        let [r, g, b] = &self.rgb;
        let ((r, g), (b, a)) =
            rayon::join(|| rayon::join(|| f(r), || f(g)), || rayon::join(|| f(b), || self.alpha.as_ref().map(&f)));
        Frame::new([r, g, b], a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_white_hides_what_transparent_pixels_hold() {
        let alpha = Plane::from_vec(2, 1, vec![0.0, 1.0]);
        let red = Frame::new([Plane::filled(2, 1, 1.0), Plane::new(2, 1), Plane::new(2, 1)], Some(alpha.clone()));
        let blue = Frame::new([Plane::new(2, 1), Plane::new(2, 1), Plane::filled(2, 1, 1.0)], Some(alpha));
        let (r, b) = (red.over_white(), blue.over_white());
        assert!(r.alpha.is_none());
        assert_eq!([r.rgb[0].get(0, 0), r.rgb[1].get(0, 0), r.rgb[2].get(0, 0)], [1.0; 3], "transparent is white");
        assert_eq!([b.rgb[0].get(0, 0), b.rgb[1].get(0, 0), b.rgb[2].get(0, 0)], [1.0; 3]);
        assert_eq!(r.rgb[1].get(1, 0), 0.0, "opaque pixels keep their colour");
    }
}
