//! An 8-bit sRGB drawing surface: panels are copied in, borders and balloons drawn with
//! antialiased coverage, and the result encoded as JPEG or PNG.

use crate::geom::Rect;
use toonflow_imgproc::Frame;

/// Paper white.
pub const WHITE: [u8; 3] = [255, 255, 255];
/// Ink black.
pub const BLACK: [u8; 3] = [16, 16, 16];

/// Interleaved RGB, 8 bits per sample, sRGB.
#[derive(Clone, Debug)]
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` samples, row by row.
    pub rgb: Vec<u8>,
}

impl Canvas {
    /// A canvas of one colour.
    pub fn new(width: usize, height: usize, colour: [u8; 3]) -> Self {
        Self { width, height, rgb: colour.repeat(width * height) }
    }

    /// A frame's pixels (over white where it is transparent).
    pub fn from_frame(frame: &Frame) -> Self {
        Self { width: frame.width(), height: frame.height(), rgb: frame.over_white().to_srgb8(false) }
    }

    /// Mixes `colour` into pixel `(x, y)` by `coverage` in `[0, 1]`; outside the canvas, nothing.
    pub fn blend(&mut self, x: i64, y: i64, colour: [u8; 3], coverage: f32) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height || coverage <= 0.0 {
            return;
        }
        let i = 3 * (y as usize * self.width + x as usize);
        let a = coverage.min(1.0);
        for (sample, &target) in self.rgb[i..i + 3].iter_mut().zip(&colour) {
            let old = *sample as f32;
            *sample = (old + (target as f32 - old) * a).round() as u8;
        }
    }

    /// Copies `src` with its top-left corner at `(x, y)` (clipped to the canvas).
    pub fn paste(&mut self, src: &Canvas, x: usize, y: usize) {
        for row in 0..src.height {
            let ty = y + row;
            if ty >= self.height || x >= self.width {
                break;
            }
            let n = src.width.min(self.width - x);
            let d = 3 * (ty * self.width + x);
            self.rgb[d..d + 3 * n].copy_from_slice(&src.rgb[3 * row * src.width..3 * (row * src.width + n)]);
        }
    }

    /// Fills a rectangle (rounded out to whole pixels).
    pub fn fill_rect(&mut self, r: &Rect, colour: [u8; 3]) {
        let (x0, y0) = (r.x.round().max(0.0) as usize, r.y.round().max(0.0) as usize);
        let (x1, y1) = ((r.right().round() as usize).min(self.width), (r.bottom().round() as usize).min(self.height));
        for y in y0..y1 {
            for x in x0..x1 {
                let i = 3 * (y * self.width + x);
                self.rgb[i..i + 3].copy_from_slice(&colour);
            }
        }
    }

    /// A border of `width` pixels just inside `r`.
    pub fn stroke_rect(&mut self, r: &Rect, width: f32, colour: [u8; 3]) {
        let w = width;
        for edge in [
            Rect::new(r.x, r.y, r.w, w),
            Rect::new(r.x, r.bottom() - w, r.w, w),
            Rect::new(r.x, r.y, w, r.h),
            Rect::new(r.right() - w, r.y, w, r.h),
        ] {
            self.fill_rect(&edge, colour);
        }
    }

    /// The rows `[y0, y1)`.
    pub fn rows(&self, y0: usize, y1: usize) -> Canvas {
        let (y0, y1) = (y0.min(self.height), y1.min(self.height));
        Canvas { width: self.width, height: y1 - y0, rgb: self.rgb[3 * y0 * self.width..3 * y1 * self.width].to_vec() }
    }

    /// Encoded as JPEG of `quality` (1-100) or, with `None`, PNG.
    pub fn encode(&self, jpeg_quality: Option<u8>) -> Result<Vec<u8>, image::ImageError> {
        let img = image::RgbImage::from_raw(self.width as u32, self.height as u32, self.rgb.clone())
            .expect("buffer matches the size");
        let mut out = std::io::Cursor::new(Vec::new());
        match jpeg_quality {
            Some(q) => img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q))?,
            None => img.write_to(&mut out, image::ImageFormat::Png)?,
        }
        Ok(out.into_inner())
    }

    /// As a linear-light frame (for the video encoder).
    pub fn to_frame(&self) -> Frame {
        Frame::from_srgb8(self.width, self.height, 3, &self.rgb)
    }
}
