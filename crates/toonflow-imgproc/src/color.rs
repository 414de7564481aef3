//! Colour conversions: 8-bit sRGB at the file edges, linear RGB in [`Frame`]s, Oklab for
//! perceptual work (smoothing, palettes, ink lines).
//!
//! Oklab is Björn Ottosson's 2020 space (<https://bottosson.github.io/posts/oklab/>); its matrices
//! below are copied from that definition. The cube root dominates the conversion cost, so it uses
//! a bit-trick estimate refined by two Newton steps (relative error below 1e-5).

use crate::frame::{Frame, Plane};
use rayon::prelude::*;
use std::sync::OnceLock;

/// sRGB transfer function (IEC 61966-2-1), encoded value to linear light.
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Inverse sRGB transfer function, linear light to encoded value.
pub fn linear_to_srgb(v: f32) -> f32 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

fn decode_lut() -> &'static [f32; 256] {
    static LUT: OnceLock<[f32; 256]> = OnceLock::new();
    LUT.get_or_init(|| std::array::from_fn(|i| srgb_to_linear(i as f32 / 255.0)))
}

/// Steps of the encode table; indexed by `sqrt(linear)`, which spaces entries roughly evenly in
/// perceived lightness so 4096 entries stay within half a code value of the exact encoding.
const ENCODE_STEPS: usize = 4096;

fn encode_lut() -> &'static [u8; ENCODE_STEPS] {
    static LUT: OnceLock<[u8; ENCODE_STEPS]> = OnceLock::new();
    LUT.get_or_init(|| {
        std::array::from_fn(|i| {
            let s = i as f32 / (ENCODE_STEPS - 1) as f32;
            (linear_to_srgb(s * s) * 255.0).round().clamp(0.0, 255.0) as u8
        })
    })
}

/// Where linear light `v` falls in the encode table: arithmetic only, so a row of them
/// vectorizes; the table is then read in a separate plain loop (per-lane table reads, gathers,
/// are slow on common CPUs).
#[inline]
fn encode_index(v: f32) -> u16 {
    // Rounds half up: the floor of y in [0.5, 4095.5], as the nearest whole number n (read
    // from the mantissa, see `ROUNDING_BIAS`) less one where that rounded up. NaN stays NaN
    // throughout, its mantissa reads as 0 and no comparison holds: entry 0, black.
    use crate::simd::ROUNDING_BIAS;
    let y = v.clamp(0.0, 1.0).sqrt() * (ENCODE_STEPS - 1) as f32 + 0.5;
    let t = y + ROUNDING_BIAS;
    let nearest = (t.to_bits() & 0xFFFF) as u16;
    nearest - u16::from(t - ROUNDING_BIAS > y)
}

/// The code value at an index from [`encode_index`] (the mask keeps it in the table).
#[inline]
fn encode_at(lut: &[u8; ENCODE_STEPS], index: u16) -> u8 {
    lut[index as usize & (ENCODE_STEPS - 1)]
}

/// Linear light in `[0, 1]` (clamped) to an 8-bit sRGB code value.
#[inline]
pub fn linear_to_srgb8(v: f32) -> u8 {
    encode_at(encode_lut(), encode_index(v))
}

/// 8-bit sRGB code value to linear light.
#[inline]
pub fn srgb8_to_linear(v: u8) -> f32 {
    decode_lut()[v as usize]
}

impl Frame {
    /// Decodes interleaved 8-bit sRGB samples (`channels` = 1 grey, 2 grey+alpha, 3 RGB or
    /// 4 RGBA; alpha is linear and straight).
    ///
    /// # Panics
    /// If `data.len() != width * height * channels` or `channels` is not 1 to 4.
    pub fn from_srgb8(width: usize, height: usize, channels: usize, data: &[u8]) -> Frame {
        Self::from_interleaved(width, height, channels, data, srgb8_to_linear, |v| v as f32 / 255.0)
    }

    /// Decodes interleaved sRGB-encoded `f32` samples in `[0, 1]` (from 16-bit or float files);
    /// same channel layouts as [`Frame::from_srgb8`].
    pub fn from_srgb_f32(width: usize, height: usize, channels: usize, data: &[f32]) -> Frame {
        Self::from_interleaved(width, height, channels, data, srgb_to_linear, |v| v)
    }

    fn from_interleaved<T: Copy + Sync>(
        width: usize,
        height: usize,
        channels: usize,
        data: &[T],
        colour: impl Fn(T) -> f32 + Sync,
        alpha: impl Fn(T) -> f32 + Sync,
    ) -> Frame {
        assert!((1..=4).contains(&channels), "channels: expected 1 to 4, found {channels}");
        assert_eq!(data.len(), width * height * channels, "interleaved data length");
        let has_alpha = channels == 2 || channels == 4;
        let grey = channels < 3;
        let mut rgb = [Plane::new(width, height), Plane::new(width, height), Plane::new(width, height)];
        let mut alpha_plane = has_alpha.then(|| Plane::new(width, height));
        let [r, g, b] = &mut rgb;
        let alpha_rows = alpha_plane.as_mut().map(|a| a.data_mut().par_chunks_mut(width.max(1)));
        let rows = r.par_rows_mut().zip(g.par_rows_mut()).zip(b.par_rows_mut());
        // One pass over the interleaved bytes per row, writing every plane.
        let convert_row = |y: usize, rr: &mut [f32], gr: &mut [f32], br: &mut [f32], ar: Option<&mut [f32]>| {
            let src = &data[y * width * channels..(y + 1) * width * channels];
            for (x, px) in src.chunks_exact(channels).enumerate() {
                if grey {
                    let v = colour(px[0]);
                    (rr[x], gr[x], br[x]) = (v, v, v);
                } else {
                    (rr[x], gr[x], br[x]) = (colour(px[0]), colour(px[1]), colour(px[2]));
                }
            }
            if let Some(ar) = ar {
                for (a, px) in ar.iter_mut().zip(src.chunks_exact(channels)) {
                    *a = alpha(px[channels - 1]);
                }
            }
        };
        match alpha_rows {
            Some(arows) => {
                rows.zip(arows).enumerate().for_each(|(y, (((rr, gr), br), ar))| convert_row(y, rr, gr, br, Some(ar)))
            }
            None => rows.enumerate().for_each(|(y, ((rr, gr), br))| convert_row(y, rr, gr, br, None)),
        }
        Frame::new(rgb, alpha_plane)
    }

    /// Encodes to interleaved 8-bit sRGB, RGBA when `with_alpha` (opaque frames get 255) else RGB.
    pub fn to_srgb8(&self, with_alpha: bool) -> Vec<u8> {
        let channels = if with_alpha { 4 } else { 3 };
        let (w, h) = (self.width(), self.height());
        let mut out = vec![0u8; w * h * channels];
        let lut = encode_lut();
        out.par_chunks_mut((w * channels).max(1)).enumerate().for_each_init(
            || vec![0u16; 3 * w],
            |indices, (y, row)| {
                let (ri, rest) = indices.split_at_mut(w);
                let (gi, bi) = rest.split_at_mut(w);
                crate::simd::dispatch(|| {
                    for (plane, idx) in self.rgb.iter().zip([&mut *ri, &mut *gi, &mut *bi]) {
                        for (i, &v) in idx.iter_mut().zip(plane.row(y)) {
                            *i = encode_index(v);
                        }
                    }
                });
                let a = self.alpha.as_ref().map(|a| a.row(y));
                for (x, px) in row.chunks_exact_mut(channels).enumerate() {
                    px[0] = encode_at(lut, ri[x]);
                    px[1] = encode_at(lut, gi[x]);
                    px[2] = encode_at(lut, bi[x]);
                    if with_alpha {
                        px[3] = a.map_or(255, |a| (a[x].clamp(0.0, 1.0) * 255.0).round() as u8);
                    }
                }
            },
        );
        out
    }
}

/// ITU-R BT.601 luma weights of R, G and B, applied to sRGB-encoded values: toonflow's one
/// brightness formula (optical flow, scene cuts, content measures, dataset hashes, the training
/// losses), so every stage agrees on what "brightness" is.
pub const LUMA_WEIGHTS: [f32; 3] = [0.299, 0.587, 0.114];

/// Luma of one sRGB-encoded (or sRGB-scaled, e.g. `[-1, 1]`) colour: the weights sum to one, so
/// any affine scaling of the channels carries over to the result.
#[inline]
pub fn luma_of([r, g, b]: [f32; 3]) -> f32 {
    LUMA_WEIGHTS[0] * r + LUMA_WEIGHTS[1] * g + LUMA_WEIGHTS[2] * b
}

/// Luma in `[0, 1]` of a linear-RGB frame ([`LUMA_WEIGHTS`] on the sRGB-encoded values): edges
/// where the eye sees brightness edges, and 8-bit noise roughly even across tones. The encoding
/// goes through the 8-bit table (the frames come from 8-bit files and video almost always, and
/// for those it is exact): a power function per sample would cost more than the optical flow.
pub fn luma(frame: &Frame) -> Plane {
    const SCALE: f32 = 1.0 / 255.0;
    let [r, g, b] = &frame.rgb;
    let mut out = Plane::new(frame.width(), frame.height());
    out.par_rows_mut().enumerate().for_each(|(y, row)| {
        let (r, g, b) = (r.row(y), g.row(y), b.row(y));
        crate::simd::dispatch(|| {
            for (x, o) in row.iter_mut().enumerate() {
                let encoded = [r[x], g[x], b[x]].map(|v| linear_to_srgb8(v) as f32);
                *o = luma_of(encoded) * SCALE;
            }
        })
    });
    out
}

/// [`luma`] of an 8-bit sRGB picture straight from its interleaved RGB samples: the same values
/// (`luma` reads a linear frame through the 8-bit encoding) without the encoding, for video,
/// whose decoder has the samples at hand.
///
/// # Panics
/// If `rgb.len() != width * height * 3`.
pub fn luma_srgb8(width: usize, height: usize, rgb: &[u8]) -> Plane {
    const SCALE: f32 = 1.0 / 255.0;
    assert_eq!(rgb.len(), width * height * 3, "interleaved RGB data length");
    let mut out = Plane::new(width, height);
    out.par_rows_mut().enumerate().for_each(|(y, row)| {
        let src = &rgb[y * width * 3..(y + 1) * width * 3];
        crate::simd::dispatch(|| {
            for (o, px) in row.iter_mut().zip(src.chunks_exact(3)) {
                *o = luma_of([px[0] as f32, px[1] as f32, px[2] as f32]) * SCALE;
            }
        })
    });
    out
}

/// Cube root for `x >= 0` (negative inputs give the negated root), accurate to ~1e-5 relative.
#[inline]
pub fn fast_cbrt(x: f32) -> f32 {
    let ax = x.abs();
    if ax < 1e-30 {
        return 0.0;
    }
    // Dividing the exponent bits by three gives a first guess within a few percent.
    let mut y = f32::from_bits(ax.to_bits() / 3 + 709_921_077);
    y = (2.0 * y + ax / (y * y)) * (1.0 / 3.0);
    y = (2.0 * y + ax / (y * y)) * (1.0 / 3.0);
    y.copysign(x)
}

/// Linear RGB to Oklab `[L, a, b]` (L in `[0, 1]` for in-gamut colours).
#[inline]
pub fn linear_to_oklab([r, g, b]: [f32; 3]) -> [f32; 3] {
    let l = 0.412_221_46 * r + 0.536_332_55 * g + 0.051_445_995 * b;
    let m = 0.211_903_5 * r + 0.680_699_5 * g + 0.107_396_96 * b;
    let s = 0.088_302_46 * r + 0.281_718_85 * g + 0.629_978_7 * b;
    let (l, m, s) = (fast_cbrt(l), fast_cbrt(m), fast_cbrt(s));
    [
        0.210_454_26 * l + 0.793_617_8 * m - 0.004_072_047 * s,
        1.977_998_5 * l - 2.428_592_2 * m + 0.450_593_7 * s,
        0.025_904_037 * l + 0.782_771_77 * m - 0.808_675_77 * s,
    ]
}

/// Oklab `[L, a, b]` to linear RGB (not clamped).
#[inline]
pub fn oklab_to_linear([l, a, b]: [f32; 3]) -> [f32; 3] {
    let l_ = l + 0.396_337_78 * a + 0.215_803_76 * b;
    let m_ = l - 0.105_561_346 * a - 0.063_854_17 * b;
    let s_ = l - 0.089_484_18 * a - 1.291_485_5 * b;
    let (l, m, s) = (l_ * l_ * l_, m_ * m_ * m_, s_ * s_ * s_);
    [
        4.076_741_7 * l - 3.307_711_6 * m + 0.230_969_94 * s,
        -1.268_438 * l + 2.609_757_4 * m - 0.341_319_38 * s,
        -0.004_196_086_3 * l - 0.703_418_6 * m + 1.707_614_7 * s,
    ]
}

/// Converts a frame's colour planes to Oklab planes `[L, a, b]`.
pub fn frame_to_oklab(frame: &Frame) -> [Plane; 3] {
    let (w, h) = (frame.width(), frame.height());
    let mut out = [Plane::new(w, h), Plane::new(w, h), Plane::new(w, h)];
    let [ol, oa, ob] = &mut out;
    ol.par_rows_mut().zip(oa.par_rows_mut()).zip(ob.par_rows_mut()).enumerate().for_each(|(y, ((lr, ar), br))| {
        let [r, g, b] = &frame.rgb;
        let (r, g, b) = (r.row(y), g.row(y), b.row(y));
        crate::simd::dispatch(|| {
            for x in 0..w {
                let [l, a, bb] = linear_to_oklab([r[x], g[x], b[x]]);
                lr[x] = l;
                ar[x] = a;
                br[x] = bb;
            }
        })
    });
    out
}

/// Oklab lightness `L` of a frame, the luminance used for ink lines.
pub fn frame_lightness(frame: &Frame) -> Plane {
    let [r, g, b] = &frame.rgb;
    Plane::from_fn(frame.width(), frame.height(), |x, y| {
        let (r, g, b) = (r.get(x, y), g.get(x, y), b.get(x, y));
        linear_to_oklab([r, g, b])[0]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encode_index_is_the_rounded_table_position() {
        // Against the plain formula (a saturating cast): every 251st float from 0 to past 1,
        // negative values, the exact half-way positions and NaN.
        let reference = |v: f32| (v.clamp(0.0, 1.0).sqrt() * (ENCODE_STEPS - 1) as f32 + 0.5) as usize;
        let samples = (0..=1.5f32.to_bits()).step_by(251).map(f32::from_bits);
        let ties = (0..ENCODE_STEPS).map(|i| {
            let s = (i as f32 + 0.5) / (ENCODE_STEPS - 1) as f32;
            s * s
        });
        for v in samples.chain(ties).chain([-1.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY]) {
            assert_eq!(encode_index(v) as usize, reference(v), "at {v:e}");
        }
    }

    #[test]
    fn srgb8_round_trips_through_linear() {
        for v in 0..=255u8 {
            assert_eq!(linear_to_srgb8(srgb8_to_linear(v)), v, "code value {v}");
        }
    }

    #[test]
    fn fast_cbrt_matches_std() {
        for i in 0..10_000 {
            let x = i as f32 / 7_000.0;
            let (fast, exact) = (fast_cbrt(x), x.cbrt());
            assert!((fast - exact).abs() <= 1e-5 * exact.max(1e-3), "cbrt({x}): {fast} vs {exact}");
        }
    }

    #[test]
    fn oklab_round_trips_and_white_is_l1() {
        let white = linear_to_oklab([1.0, 1.0, 1.0]);
        assert!((white[0] - 1.0).abs() < 1e-3 && white[1].abs() < 1e-3 && white[2].abs() < 1e-3);
        for rgb in [[0.2, 0.5, 0.9], [1.0, 0.0, 0.0], [0.01, 0.3, 0.02]] {
            let back = oklab_to_linear(linear_to_oklab(rgb));
            for c in 0..3 {
                assert!((back[c] - rgb[c]).abs() < 1e-3, "{rgb:?} -> {back:?}");
            }
        }
    }

    #[test]
    fn luma_weighs_green_most_and_keeps_greys() {
        let grey = Frame::filled(3, 2, [srgb8_to_linear(128); 3]);
        assert!(luma(&grey).data().iter().all(|&v| (v - 128.0 / 255.0).abs() < 1e-6));
        let green = luma(&Frame::filled(1, 1, [0.0, 1.0, 0.0])).get(0, 0);
        let red = luma(&Frame::filled(1, 1, [1.0, 0.0, 0.0])).get(0, 0);
        assert!((green - 0.587).abs() < 1e-6 && (red - 0.299).abs() < 1e-6);
        assert!((luma_of([-1.0; 3]) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn luma_from_srgb8_samples_is_the_luma_of_the_decoded_frame() {
        let bytes: Vec<u8> = (0..37 * 5 * 3).map(|i| ((i * 97 + i / 7) % 256) as u8).collect();
        assert_eq!(luma_srgb8(37, 5, &bytes), luma(&Frame::from_srgb8(37, 5, 3, &bytes)));
    }

    #[test]
    fn grey_and_alpha_layouts_decode() {
        let f = Frame::from_srgb8(2, 1, 2, &[0, 255, 255, 128]);
        assert_eq!(f.rgb[0].data(), f.rgb[2].data());
        assert_eq!(f.to_srgb8(true), vec![0, 0, 0, 255, 255, 255, 255, 128]);
    }
}
