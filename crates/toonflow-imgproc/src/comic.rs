//! The built-in comic styles: edge-preserving smoothing, a k-means palette in Oklab, XDoG ink
//! lines with speck clean-up, optional screentone, blended with the source by `strength`.
//!
//! Distances in the settings (filter radius, line width, dot size, blob area) are given for a
//! 720-pixel short side and scaled with the image, so a preset looks the same on a thumbnail and a
//! 4K frame.

use crate::color::{frame_to_oklab, oklab_to_linear};
use crate::frame::{Frame, Plane};
use crate::guided::{guided_filter_self, GuidedConfig};
use crate::lines::{remove_small_blobs, suppress_texture, xdog, XdogConfig};
use crate::quantize::{assign_labels, kmeans_palette, majority_filter, KMeansConfig, Palette};
use crate::resize::{downsample_box, resize_plane, ResizeFilter};
use crate::tone::Screen;
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Short side, in pixels, at which the distances of a [`ComicConfig`] apply as written.
pub const REFERENCE_SHORT_SIDE: f32 = 720.0;

/// The built-in looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Bold ink, a small saturated palette and dot-screen shadows: the printed-comic look.
    Comic,
    /// Thin clean lines and a larger, brighter palette with soft cel steps: the webtoon look.
    Webtoon,
    /// Black and white: ink lines, paper white, screentone for mid tones and solid blacks.
    Manga,
}

impl Preset {
    /// Every preset, in the order `--help` lists them.
    pub const ALL: [Preset; 3] = [Preset::Comic, Preset::Webtoon, Preset::Manga];

    /// The preset's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Comic => "comic",
            Preset::Webtoon => "webtoon",
            Preset::Manga => "manga",
        }
    }

    /// The preset of a command-line name.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// One line describing the look.
    pub fn description(self) -> &'static str {
        match self {
            Preset::Comic => "bold ink lines, 10 saturated flat colours, dot-screen shadows",
            Preset::Webtoon => "thin clean lines, 20 bright flat colours, no screentone",
            Preset::Manga => "black and white: ink lines, screentone mid tones, solid blacks",
        }
    }
}

/// Dot-screen shading settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToneConfig {
    /// The dot screen (cell size at the reference resolution).
    pub screen: Screen,
    /// Colour mode: palette entries darker than this Oklab lightness get dots.
    pub shadow_below: f32,
    /// Colour mode: ink coverage of the shadow dots.
    pub coverage: f32,
}

/// Every knob of the built-in style. Start from [`ComicConfig::preset`] and change what you need.
#[derive(Clone, Debug, PartialEq)]
pub struct ComicConfig {
    /// Edge-preserving smoothing before quantization; `radius` at the reference resolution.
    pub smoothing: GuidedConfig,
    /// Palette size: flat colours (colour mode) or grey levels (monochrome).
    pub colours: usize,
    /// Multiplies palette chroma (`1` = as photographed).
    pub saturation: f32,
    /// Adds to palette lightness (Oklab units, `0.05` = a little brighter).
    pub brightness: f32,
    /// Replace single-pixel palette speckle along region borders by the local majority.
    pub clean_regions: bool,
    /// Black and white output with screentone (manga) instead of colour.
    pub monochrome: bool,
    /// Ink lines; `None` for no lines. `sigma` at the reference resolution.
    pub lines: Option<XdogConfig>,
    /// Ink blobs smaller than this many pixels (at the reference resolution) are erased.
    pub min_line_area: usize,
    /// Ink density band `(lo, hi)` over which lines fade out in textured areas (fraction of a
    /// window covered by ink); `None` keeps every line.
    pub texture_density: Option<(f32, f32)>,
    /// Ink colour, linear RGB.
    pub ink: [f32; 3],
    /// Screentone; `None` for none. Monochrome styles always shade mid tones with it when set.
    pub tone: Option<ToneConfig>,
    /// Blend with the source: `1` full style, `0` the untouched photo.
    pub strength: f32,
    /// Seed of the palette fit.
    pub seed: u64,
}

impl ComicConfig {
    /// The settings of a built-in preset.
    pub fn preset(preset: Preset) -> Self {
        let base = ComicConfig {
            smoothing: GuidedConfig { radius: 8, eps: 0.003, subsample: 4, passes: 2 },
            colours: 10,
            saturation: 1.25,
            brightness: 0.02,
            clean_regions: true,
            monochrome: false,
            lines: Some(XdogConfig::default()),
            min_line_area: 40,
            texture_density: Some((0.25, 0.45)),
            ink: [0.008, 0.007, 0.01],
            tone: Some(ToneConfig { screen: Screen { cell: 5.0, angle_deg: 45.0 }, shadow_below: 0.45, coverage: 0.3 }),
            strength: 1.0,
            seed: KMeansConfig::default().seed,
        };
        match preset {
            Preset::Comic => base,
            Preset::Webtoon => ComicConfig {
                smoothing: GuidedConfig { radius: 10, eps: 0.002, subsample: 4, passes: 2 },
                colours: 20,
                saturation: 1.15,
                brightness: 0.04,
                lines: Some(XdogConfig { sigma: 1.0, p: 30.0, ..XdogConfig::default() }),
                min_line_area: 60,
                tone: None,
                ..base
            },
            Preset::Manga => ComicConfig {
                colours: 4,
                saturation: 0.0,
                brightness: 0.0,
                monochrome: true,
                lines: Some(XdogConfig { sigma: 1.4, p: 26.0, epsilon: 0.14, ..XdogConfig::default() }),
                ink: [0.0; 3],
                tone: Some(ToneConfig {
                    screen: Screen { cell: 5.0, angle_deg: 45.0 },
                    shadow_below: 0.0,
                    coverage: 0.0,
                }),
                ..base
            },
        }
    }
}

/// Wall time of each stage of one [`stylize`] call, in order.
#[derive(Clone, Debug, Default)]
pub struct StageTimes(pub Vec<(&'static str, Duration)>);

impl StageTimes {
    fn time<T>(&mut self, stage: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.0.push((stage, start.elapsed()));
        out
    }

    /// Sum of all stages.
    pub fn total(&self) -> Duration {
        self.0.iter().map(|(_, d)| *d).sum()
    }
}

/// A stylized frame and where the time went.
pub struct Stylized {
    /// The output, same size as the input, alpha carried over.
    pub frame: Frame,
    /// The fitted palette (Oklab, darkest first); reusable to keep colours steady across frames.
    pub palette: Palette,
    /// Time per stage.
    pub times: StageTimes,
}

/// Applies the comic style to a frame.
pub fn stylize(src: &Frame, cfg: &ComicConfig) -> Stylized {
    stylize_with_palette(src, cfg, None)
}

/// Applies the comic style with a given palette (from an earlier [`Stylized`]) instead of fitting
/// one: consecutive video frames then keep the same colours, which removes colour flicker.
pub fn stylize_with_palette(src: &Frame, cfg: &ComicConfig, palette: Option<&Palette>) -> Stylized {
    let (w, h) = (src.width(), src.height());
    let mut times = StageTimes::default();
    let scale = (w.min(h) as f32 / REFERENCE_SHORT_SIDE).clamp(0.25, 8.0);

    let lab = times.time("to Oklab", || frame_to_oklab(src));
    let smooth = times.time("smooth (guided filter)", || {
        let radius = ((cfg.smoothing.radius as f32 * scale).round() as usize).max(1);
        // The fit resolution follows the radius, so the low-resolution window keeps its size in
        // samples and a 4K frame costs what a 720p one does per pixel.
        let subsample = ((cfg.smoothing.subsample as f32 * scale).round() as usize).clamp(1, radius);
        let g = GuidedConfig { radius, subsample, ..cfg.smoothing };
        guided_filter_self(&lab, &g)
    });
    // Lines come from the unsmoothed lightness: the guided filter flattens the moderate edges
    // that outline shapes, and XDoG's own Gaussian already suppresses pixel noise. The other
    // Oklab planes are not needed past smoothing: freed before the next allocations (peak memory
    // is what limits the largest image).
    let [lightness, _, _] = lab;
    let palette_input = if cfg.monochrome {
        let [l, _, _] = smooth;
        [l, Plane::new(w, h), Plane::new(w, h)]
    } else {
        smooth
    };
    let (palette, labels) = times.time("quantize (k-means)", || {
        let kcfg = KMeansConfig { k: cfg.colours.clamp(1, 256), seed: cfg.seed, ..KMeansConfig::default() };
        let palette = match palette {
            Some(p) => p.clone(),
            None => kmeans_palette(&palette_input, src.alpha.as_ref(), &kcfg),
        };
        let labels = assign_labels(&palette_input, &palette);
        let labels = if cfg.clean_regions { majority_filter(&labels, w, h) } else { labels };
        (palette, labels)
    });
    let ink = times.time("ink lines (XDoG)", || cfg.lines.map(|x| ink_lines(&lightness, cfg, &x, scale)));
    let frame = times.time("compose", || compose(src, cfg, &palette, &labels, ink.as_ref(), scale));
    Stylized { frame, palette, times }
}

/// Largest factor by which ink lines are drawn below full resolution: from 1.5x the reference
/// size up, lines are wide enough (their width scales with the image) that drawing them on a
/// box-downsampled copy and upsampling the ink bilinearly looks the same and costs a fraction.
fn line_resolution_factor(scale: f32) -> usize {
    ((scale / 1.5).floor() as usize).max(1)
}

/// XDoG ink, faded in dense texture, with specks erased.
fn ink_lines(lightness: &Plane, cfg: &ComicConfig, xdog_cfg: &XdogConfig, scale: f32) -> Plane {
    let factor = line_resolution_factor(scale);
    let work_scale = scale / factor as f32;
    let x = xdog_cfg.scaled(work_scale);
    let small = downsample_box(lightness, factor);
    let mut ink = xdog(&small, &x);
    if let Some((lo, hi)) = cfg.texture_density {
        suppress_texture(&mut ink, (16.0 * x.sigma).ceil() as usize, lo, hi);
    }
    let min_area = (cfg.min_line_area as f32 * work_scale * work_scale).round() as usize;
    remove_small_blobs(&mut ink, 0.1, min_area);
    if factor == 1 {
        ink
    } else {
        resize_plane(&ink, lightness.width(), lightness.height(), ResizeFilter::Bilinear)
    }
}

/// Oklab lightness below which a monochrome level is printed solid black rather than screened.
const SOLID_BLACK_BELOW: f32 = 0.35;

/// Screens a black-and-white frame rendered without tone (`monochrome` with `tone: None`): paper
/// stays white, greys become dots as dense as they are dark, the darkest greys solid black — the
/// same print the still-image manga style makes. Video stabilizes the flat greys first and
/// screens afterwards, so the dots stay crisp instead of being blended across frames.
pub fn screen_monochrome(frame: &Frame, tone: &ToneConfig) -> Frame {
    let scale = (frame.width().min(frame.height()) as f32 / REFERENCE_SHORT_SIDE).clamp(0.25, 8.0);
    let screen = Screen { cell: (tone.screen.cell * scale).max(3.0), ..tone.screen }.dots();
    let grey = &frame.rgb[1];
    let out = Plane::from_fn(frame.width(), frame.height(), |x, y| {
        let l = crate::color::fast_cbrt(grey.get(x, y).clamp(0.0, 1.0));
        let ink = if l < SOLID_BLACK_BELOW {
            1.0
        } else if l > 0.995 {
            0.0
        } else {
            screen.ink(x, y, 1.0 - l)
        };
        1.0 - ink
    });
    Frame::new([out.clone(), out.clone(), out], frame.alpha.clone())
}

/// Per palette entry: its linear colour and screentone coverage.
fn palette_fills(cfg: &ComicConfig, palette: &Palette) -> Vec<([f32; 3], f32)> {
    let n = palette.colours.len();
    palette
        .colours
        .iter()
        .enumerate()
        .map(|(i, &[l, a, b])| {
            if cfg.monochrome {
                // Lightest level is paper, the darkest solid black when it is dark enough;
                // the levels between get dots as dense as they are dark.
                let coverage = if i + 1 == n && n > 1 {
                    0.0
                } else if i == 0 && l < SOLID_BLACK_BELOW {
                    1.0
                } else if cfg.tone.is_some() {
                    (1.0 - l).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let grey = if cfg.tone.is_some() || i + 1 == n { 1.0 } else { (l * l * l).clamp(0.0, 1.0) };
                ([grey; 3], coverage)
            } else {
                let l = (l + cfg.brightness).clamp(0.0, 1.0);
                let rgb = oklab_to_linear([l, a * cfg.saturation, b * cfg.saturation]).map(|v| v.clamp(0.0, 1.0));
                let coverage = cfg.tone.map_or(0.0, |t| if l < t.shadow_below { t.coverage } else { 0.0 });
                (rgb, coverage)
            }
        })
        .collect()
}

fn compose(src: &Frame, cfg: &ComicConfig, palette: &Palette, labels: &[u8], ink: Option<&Plane>, scale: f32) -> Frame {
    let (w, h) = (src.width(), src.height());
    let fills = palette_fills(cfg, palette);
    let screen = cfg.tone.map(|t| Screen { cell: (t.screen.cell * scale).max(3.0), ..t.screen }.dots());
    let strength = cfg.strength.clamp(0.0, 1.0);
    let mut out = [Plane::new(w, h), Plane::new(w, h), Plane::new(w, h)];
    let [o0, o1, o2] = &mut out;
    o0.par_rows_mut().zip(o1.par_rows_mut()).zip(o2.par_rows_mut()).enumerate().for_each(|(y, ((r0, r1), r2))| {
        let rows: [&mut [f32]; 3] = [r0, r1, r2];
        let label_row = &labels[y * w..(y + 1) * w];
        let ink_row = ink.map(|p| p.row(y));
        let src_rows = [src.rgb[0].row(y), src.rgb[1].row(y), src.rgb[2].row(y)];
        crate::simd::dispatch(|| {
            for x in 0..w {
                let (colour, coverage) = fills[label_row[x] as usize];
                let dots = match screen {
                    Some(s) if coverage > 0.0 => s.ink(x, y, coverage),
                    _ => 0.0,
                };
                let line = ink_row.map_or(0.0, |r| r[x]);
                let k = line.max(dots);
                for c in 0..3 {
                    let styled = colour[c] + (cfg.ink[c] - colour[c]) * k;
                    rows[c][x] = src_rows[c][x] + (styled - src_rows[c][x]) * strength;
                }
            }
        })
    });
    Frame::new(out, src.alpha.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn test_frame(w: usize, h: usize) -> Frame {
        let rgb = std::array::from_fn(|c| {
            Plane::from_fn(w, h, |x, y| {
                let d = ((x as f32 - w as f32 / 2.0).powi(2) + (y as f32 - h as f32 / 2.0).powi(2)).sqrt();
                let disc = if d < h as f32 / 3.0 { 0.8 } else { 0.1 };
                (disc * (0.5 + 0.25 * c as f32) + 0.1 * (x as f32 / w as f32)).min(1.0)
            })
        });
        Frame::new(rgb, None)
    }

    #[test]
    fn output_has_input_size_and_alpha_on_odd_sizes() {
        let mut src = test_frame(97, 61);
        src.alpha = Some(Plane::from_fn(97, 61, |x, _| x as f32 / 96.0));
        for preset in Preset::ALL {
            let out = stylize(&src, &ComicConfig::preset(preset)).frame;
            assert_eq!((out.width(), out.height()), (97, 61));
            assert_eq!(out.alpha, src.alpha, "{preset:?} must carry alpha through");
        }
    }

    #[test]
    fn without_lines_and_tone_the_output_has_at_most_k_colours() {
        let src = test_frame(120, 80);
        let cfg = ComicConfig { lines: None, tone: None, colours: 6, ..ComicConfig::preset(Preset::Comic) };
        let out = stylize(&src, &cfg).frame.to_srgb8(false);
        let distinct: HashSet<&[u8]> = out.chunks_exact(3).collect();
        assert!(distinct.len() <= 6, "{} colours", distinct.len());
    }

    #[test]
    fn strength_zero_returns_the_source() {
        let src = test_frame(64, 40);
        let cfg = ComicConfig { strength: 0.0, ..ComicConfig::preset(Preset::Comic) };
        assert_eq!(stylize(&src, &cfg).frame.to_srgb8(false), src.to_srgb8(false));
    }

    #[test]
    fn a_4k_frame_gets_its_lines_drawn_at_reduced_resolution_in_place() {
        // 3840x2160 draws lines at half resolution: they must still sit on the disc's border.
        let (w, h) = (3840, 2160);
        assert_eq!(line_resolution_factor(h as f32 / REFERENCE_SHORT_SIDE), 2);
        let src = test_frame(w, h);
        let cfg = ComicConfig { tone: None, ..ComicConfig::preset(Preset::Comic) };
        let out = stylize(&src, &cfg).frame;
        assert_eq!((out.width(), out.height()), (w, h));
        let dark = |x: usize, y: usize| out.rgb[1].get(x, y) < 0.05;
        // The disc (radius h/3 around the centre) is bright on a dark ground: ink lies on the
        // dark side, just outside the border, within a few line widths.
        let (cx, cy, r) = (w / 2, h / 2, h / 3);
        let on_border = (r..r + 30).any(|d| dark(cx + d, cy));
        assert!(on_border, "no ink next to the disc's right border");
        assert!(!dark(cx + r + 200, cy), "the ground away from the border is not ink");
        assert!(!dark(cx, cy), "ink inside the flat disc");
        assert!(!dark(cx + r / 2, cy), "ink inside the flat disc");
    }

    #[test]
    fn a_given_palette_is_used_as_is() {
        let cfg = ComicConfig { lines: None, tone: None, ..ComicConfig::preset(Preset::Comic) };
        let first = stylize(&test_frame(80, 60), &cfg);
        // A brighter second frame keeps the first frame's palette when it is passed on.
        let brighter = test_frame(80, 60).map_planes(|p| Plane::from_fn(80, 60, |x, y| (p.get(x, y) * 1.2).min(1.0)));
        let second = stylize_with_palette(&brighter, &cfg, Some(&first.palette));
        assert_eq!(second.palette, first.palette);
        assert_ne!(stylize(&brighter, &cfg).palette, first.palette);
    }

    #[test]
    fn every_preset_gives_the_same_bits_on_every_instruction_set() {
        // Odd sizes: the vectorized loops' remainders run too.
        let src = test_frame(203, 117);
        for preset in Preset::ALL {
            let cfg = ComicConfig::preset(preset);
            let (baseline, best) = crate::simd::both_levels(|| stylize(&src, &cfg).frame);
            assert!(baseline == best, "{preset:?}: the dispatched kernels differ from the baseline");
        }
        let (baseline, best) = crate::simd::both_levels(|| (src.to_srgb8(false), crate::color::luma(&src)));
        assert!(baseline == best, "sRGB encoding or luma differ");
    }

    #[test]
    fn manga_is_black_and_white() {
        let out = stylize(&test_frame(90, 60), &ComicConfig::preset(Preset::Manga)).frame.to_srgb8(false);
        assert!(out.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]));
    }
}
