//! A trained generator as a style for frames: `stylize --model` and `video --model`.

use std::path::Path;

use toonflow_imgproc::color::{linear_to_oklab, oklab_to_linear};
use toonflow_imgproc::comic::{self, ComicConfig};
use toonflow_imgproc::guided::guided_upsample;
use toonflow_imgproc::quantize::Palette;
use toonflow_imgproc::resize::{resize_plane, ResizeFilter};
use toonflow_imgproc::{Frame, ImageTensor, Plane};

use crate::generator::{CpuGenerator, GeneratorConfig};
use crate::modelfile::ModelFileError;
use crate::tiling::{run_generator, TileConfig};

/// What can go wrong choosing a model style.
#[derive(Debug, thiserror::Error)]
pub enum ModelStyleError {
    /// The model file could not be used.
    #[error(transparent)]
    File(#[from] ModelFileError),
    /// The model has no style of that name.
    #[error("--style-id {name}: {path} has the styles {available}")]
    UnknownStyle {
        /// The name asked for.
        name: String,
        /// The model file.
        path: String,
        /// The names it has, comma-separated.
        available: String,
    },
}

/// The index of the style `name` among a model's `styles` (its first when `None`).
pub fn style_index(styles: &[String], name: Option<&str>, path: &Path) -> Result<usize, ModelStyleError> {
    let Some(name) = name else { return Ok(0) };
    styles.iter().position(|s| s == name).ok_or_else(|| ModelStyleError::UnknownStyle {
        name: name.to_string(),
        path: path.display().to_string(),
        available: if styles.is_empty() { "(none named)".into() } else { styles.join(", ") },
    })
}

/// How a model is applied to a frame.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelStyleOptions {
    /// The style's name in a conditional model (its first style when `None`).
    pub style_id: Option<String>,
    /// Blend with the input in linear light: 1 the model's output, 0 the input unchanged.
    pub strength: f32,
    /// Keep the input's colours: the model's Oklab lightness with the input's hue and chroma.
    pub keep_colors: bool,
    /// Run the model at the input's own size, not at the size it was trained at
    /// ([`GeneratorConfig::trained_short_side`]): finer, smaller-scaled strokes, and slower.
    pub full_resolution: bool,
}

impl Default for ModelStyleOptions {
    fn default() -> Self {
        Self { style_id: None, strength: 1.0, keep_colors: false, full_resolution: false }
    }
}

/// Window radius (at the working size) and regulariser (in squared network units) of the
/// guided upsampling: radius 1 follows the model's strokes closely; `eps` 0.01 keeps photo
/// texture from being copied into flat regions (chosen on the bundled samples against the
/// comic preset run at full size, and by looking).
const UPSAMPLE_RADIUS: usize = 1;
const UPSAMPLE_EPS: f32 = 0.01;

/// A loaded generator with the style it runs and how it is applied.
#[derive(Clone, Debug)]
pub struct ModelStyle {
    generator: CpuGenerator,
    /// The architecture's settings that say how it is applied (its trained size).
    config: GeneratorConfig,
    /// The built-in style the network draws over, where it has one.
    base: Option<ComicConfig>,
    style: usize,
    strength: f32,
    keep_colors: bool,
}

impl ModelStyle {
    /// Loads a generator model file and picks its style.
    pub fn load(path: &Path, options: &ModelStyleOptions) -> Result<Self, ModelStyleError> {
        let (generator, config, info) = CpuGenerator::load(path)?;
        let style = style_index(&info.styles, options.style_id.as_deref(), path)?;
        Ok(Self::new(generator, config, style, options))
    }

    /// A style from a generator already in memory, built from `config`.
    pub fn new(
        generator: CpuGenerator,
        mut config: GeneratorConfig,
        style: usize,
        options: &ModelStyleOptions,
    ) -> Self {
        if options.full_resolution {
            config.trained_short_side = None;
        }
        let base = config.base_preset().map(ComicConfig::preset);
        Self { generator, config, base, style, strength: options.strength, keep_colors: options.keep_colors }
    }

    /// The size a `width x height` frame is stylized at, where it is not its own.
    pub fn working_size(&self, width: usize, height: usize) -> Option<(usize, usize)> {
        self.config.working_size(width, height)
    }

    /// Stylizes a linear-light frame; alpha is kept.
    pub fn apply(&self, frame: &Frame) -> Frame {
        self.apply_with_palette(frame, None).0
    }

    /// [`ModelStyle::apply`] with the base style's palette given (`Some`: kept from an earlier
    /// frame of the shot, so a video's colours do not flicker) or fitted (`None`); returns the
    /// palette the base used, where the model has a base style.
    pub fn apply_with_palette(&self, frame: &Frame, palette: Option<&Palette>) -> (Frame, Option<Palette>) {
        let (styled, palette) = match self.working_size(frame.width(), frame.height()) {
            None => self.draw(frame, palette),
            Some((w, h)) => {
                // Shrunk in linear light, as `toonflow prepare` shrank the training photos.
                let rgb = frame.rgb.each_ref().map(|p| resize_plane(p, w, h, ResizeFilter::Area));
                let small = Frame::new(rgb, None);
                let (drawn, palette) = self.draw(&small, palette);
                (upsample(&ImageTensor::from_frame(frame), &ImageTensor::from_frame(&small), &drawn), palette)
            }
        };
        let mut out = styled.to_frame();
        if self.keep_colors {
            out = with_colors_of(&out, frame);
        }
        let s = self.strength;
        let rgb = [0, 1, 2].map(|c| {
            let blended =
                out.rgb[c].data().iter().zip(frame.rgb[c].data()).map(|(&o, &i)| s * o + (1.0 - s) * i).collect();
            Plane::from_vec(frame.width(), frame.height(), blended)
        });
        (Frame::new(rgb, frame.alpha.clone()), palette)
    }

    /// The model's drawing of a frame at the frame's size: the network's output, over its base
    /// style's drawing where it has one (as in training: `toonflow_model::generator::over_base`).
    fn draw(&self, frame: &Frame, palette: Option<&Palette>) -> (ImageTensor, Option<Palette>) {
        let styled = run_generator(&self.generator, &ImageTensor::from_frame(frame), self.style, TileConfig::default());
        let Some(base) = &self.base else { return (styled, None) };
        let drawn = comic::stylize_with_palette(frame, base, palette);
        let base = ImageTensor::from_frame(&drawn.frame);
        let data = styled.data.iter().zip(&base.data).map(|(s, b)| (s + b).clamp(-1.0, 1.0)).collect();
        (ImageTensor::new(styled.width, styled.height, data), Some(drawn.palette))
    }
}

/// `styled`, the model's output on `small` (a shrunk copy of `image`), at `image`'s size with
/// `image`'s edges.
fn upsample(image: &ImageTensor, small: &ImageTensor, styled: &ImageTensor) -> ImageTensor {
    let planes = |t: &ImageTensor| [0, 1, 2].map(|c| Plane::from_vec(t.width, t.height, t.plane(c).to_vec()));
    let up = guided_upsample(&planes(image), &planes(small), &planes(styled), UPSAMPLE_RADIUS, UPSAMPLE_EPS);
    let data = up.iter().flat_map(|p| p.data().iter().map(|v| v.clamp(-1.0, 1.0))).collect();
    ImageTensor::new(image.width, image.height, data)
}

/// `lightness`'s Oklab L with `colors`' a and b (same size): the style's shading in the photo's
/// colours.
fn with_colors_of(lightness: &Frame, colors: &Frame) -> Frame {
    let (w, h) = (lightness.width(), lightness.height());
    let pixel = |f: &Frame, i: usize| [0, 1, 2].map(|c| f.rgb[c].data()[i]);
    let mixed: Vec<[f32; 3]> = (0..w * h)
        .map(|i| {
            let [l, _, _] = linear_to_oklab(pixel(lightness, i));
            let [_, a, b] = linear_to_oklab(pixel(colors, i));
            oklab_to_linear([l, a, b])
        })
        .collect();
    let plane = |c: usize| Plane::from_vec(w, h, mixed.iter().map(|p| p[c].clamp(0.0, 1.0)).collect());
    Frame::new([plane(0), plane(1), plane(2)], None)
}
