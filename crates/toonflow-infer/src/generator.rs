//! The photo-to-comic generator: its architecture (one description, which the training crate's
//! burn modules are built from too), its model files, and its forward pass on the CPU.
//!
//! AnimeGANv2-like: conv + layer norm + LeakyReLU encoder down to quarter resolution, inverted
//! residual blocks there (optionally modulated per style), a decoder with two bilinear
//! upsamplings, a 1x1 convolution to RGB and `tanh`. Fully convolutional: any input size is
//! padded to a multiple of [`SIZE_MULTIPLE`] and cropped back.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toonflow_imgproc::comic::Preset;

use crate::layers::{upsample2, Conv, ConvNormAct, Depthwise, FeatureMap, InvertedResidual, Norm};
use crate::modelfile::{self, ModelFileError, ModelInfo, ModelKind};
use crate::tensorfile::HostTensor;

/// Architecture of the generator. Stored in model files, so a file says how to rebuild itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorConfig {
    /// Channels of the first layer; the network widens to 4x this at quarter resolution.
    /// Default 32, as AnimeGANv2's generator.
    pub base_channels: usize,
    /// Inverted-residual blocks at quarter resolution. Default 8, as AnimeGANv2.
    pub residual_blocks: usize,
    /// Expansion factor inside each inverted-residual block. Default 2, as AnimeGANv2.
    pub expansion: usize,
    /// Number of styles the model holds (1 = unconditional). Set from the dataset when training.
    pub styles: usize,
    /// Kernel of the last full-resolution convolution. Default 3: AnimeGANv2's 7 made that one
    /// layer 30 % of the network's work. Files and configs that do not name it have 7, the
    /// kernel before this setting existed.
    #[serde(default = "GeneratorConfig::original_full_resolution_kernel")]
    pub full_resolution_kernel: usize,
    /// Short side, in pixels, of the photos the model was trained on (`toonflow prepare
    /// --size`; set from the dataset when training). Larger inputs are stylized at this size and
    /// brought back to theirs by guided upsampling, so a 4K photo gets the look a 256-pixel one
    /// was trained to get, at the cost of a small one. `None` (files made before this setting):
    /// the model runs at the input's size.
    #[serde(default)]
    pub trained_short_side: Option<usize>,
    /// The built-in style (`comic`, `webtoon` or `manga`) the network draws over: the output is
    /// that style's drawing of the photo plus the network's correction, clamped, so training
    /// starts from the style's flat regions and outlines and the discriminator moves it toward
    /// the drawings. `None` (the default, and files made before this setting): the network
    /// draws alone.
    #[serde(default)]
    pub base_style: Option<String>,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            base_channels: 32,
            residual_blocks: 8,
            expansion: 2,
            styles: 1,
            full_resolution_kernel: 3,
            trained_short_side: None,
            base_style: None,
        }
    }
}

/// One convolution of the architecture: reflection padding of `kernel / 2`, no bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Stride in both directions.
    pub stride: usize,
}

const fn conv(channels_in: usize, channels_out: usize, kernel: usize, stride: usize) -> ConvSpec {
    ConvSpec { channels_in, channels_out, kernel, stride }
}

/// Epsilon added to each layer norm's variance (PyTorch's GroupNorm default, which the reference
/// port in `bench/torch_generator.py` uses).
pub const NORM_EPS: f32 = 1e-5;

/// Negative slope of the generator's LeakyReLU (AnimeGAN's 0.2).
pub const LEAKY_SLOPE: f32 = 0.2;

/// The generator works on sizes that survive two halvings and a doubling exactly; 8 leaves room.
pub const SIZE_MULTIPLE: usize = 8;

impl GeneratorConfig {
    /// A narrow network for tests and quick experiments.
    pub fn tiny() -> Self {
        Self { base_channels: 8, residual_blocks: 2, ..Self::default() }
    }

    /// Refuses settings no network can be built from (a model file's config is user input).
    pub fn check(&self) -> Result<(), String> {
        let k = self.full_resolution_kernel;
        if k == 0 || k.is_multiple_of(2) || k > 15 {
            return Err(format!("full_resolution_kernel {k}: the architecture needs an odd kernel from 1 to 15"));
        }
        if self.base_channels == 0 || self.expansion == 0 || self.styles == 0 {
            return Err("base_channels, expansion and styles must be at least 1".into());
        }
        if let Some(name) = &self.base_style {
            if Preset::from_name(name).is_none() {
                let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                return Err(format!("base_style '{name}': the built-in styles are {}", names.join(", ")));
            }
        }
        Ok(())
    }

    /// The built-in style the network draws over ([`GeneratorConfig::base_style`]), once
    /// [`GeneratorConfig::check`] has accepted its name.
    pub fn base_preset(&self) -> Option<Preset> {
        self.base_style.as_deref().and_then(Preset::from_name)
    }

    /// The last full-resolution kernel of networks made before it could be chosen.
    fn original_full_resolution_kernel() -> usize {
        7
    }

    /// Channels at quarter resolution (the residual blocks' width).
    pub fn quarter_channels(&self) -> usize {
        4 * self.base_channels
    }

    /// Channels inside each residual block (after its 1x1 expansion).
    pub fn block_hidden_channels(&self) -> usize {
        self.quarter_channels() * self.expansion
    }

    /// Conv + norm + LeakyReLU layers from the image down to quarter resolution.
    pub fn encoder(&self) -> Vec<ConvSpec> {
        let (c, mid) = (self.base_channels, self.quarter_channels());
        vec![
            conv(3, c, 7, 1),
            conv(c, 2 * c, 3, 2),
            conv(2 * c, 2 * c, 3, 1),
            conv(2 * c, mid, 3, 2),
            conv(mid, mid, 3, 1),
        ]
    }

    /// Conv + norm + LeakyReLU layers after the blocks, at quarter resolution.
    pub fn decoder_quarter(&self) -> Vec<ConvSpec> {
        let mid = self.quarter_channels();
        vec![conv(mid, mid, 3, 1)]
    }

    /// Conv + norm + LeakyReLU layers after the first upsampling (half resolution).
    pub fn decoder_half(&self) -> Vec<ConvSpec> {
        let (c, mid) = (self.base_channels, self.quarter_channels());
        vec![conv(mid, 2 * c, 3, 1), conv(2 * c, 2 * c, 3, 1)]
    }

    /// Conv + norm + LeakyReLU layers after the second upsampling (full resolution).
    pub fn decoder_full(&self) -> Vec<ConvSpec> {
        let c = self.base_channels;
        vec![conv(2 * c, c, 3, 1), conv(c, c, self.full_resolution_kernel, 1)]
    }

    /// The final convolution to RGB (followed by `tanh`).
    pub fn to_rgb(&self) -> ConvSpec {
        conv(self.base_channels, 3, 1, 1)
    }

    /// How far (in input pixels) an output pixel can see: tiles overlap by at least this much.
    /// Each 3x3 layer reaches one pixel of its resolution (1, 2 or 4 input pixels), a 7x7 three.
    pub fn receptive_radius(&self) -> usize {
        let quarter_layers = 2 + self.residual_blocks + self.decoder_quarter().len();
        3 + self.full_resolution_kernel / 2 + 1 + 2 * (1 + 1 + self.decoder_half().len()) + 4 * quarter_layers + 1
    }

    /// The size a `width x height` input is stylized at: shrunk, aspect kept, so that its short
    /// side is [`GeneratorConfig::trained_short_side`]; `None` where it runs at its own size.
    pub fn working_size(&self, width: usize, height: usize) -> Option<(usize, usize)> {
        let side = self.trained_short_side?;
        let short = width.min(height);
        if side == 0 || short <= side {
            return None;
        }
        let scale = side as f64 / short as f64;
        let shrink = |n: usize| ((n as f64 * scale).round() as usize).clamp(1, n);
        Some((shrink(width), shrink(height)))
    }
}

/// How an input is padded to a multiple of [`SIZE_MULTIPLE`]: on the right and bottom, by
/// reflection, or by repeating the edge where the image is too small to reflect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputPadding {
    /// Columns added on the right.
    pub right: usize,
    /// Rows added at the bottom.
    pub bottom: usize,
    /// Reflected (`true`) or edge-repeated.
    pub reflect: bool,
}

impl InputPadding {
    /// The padding of a `width x height` input.
    pub fn of(width: usize, height: usize) -> Self {
        let right = width.next_multiple_of(SIZE_MULTIPLE) - width;
        let bottom = height.next_multiple_of(SIZE_MULTIPLE) - height;
        // Reflection needs the padding to be smaller than the side.
        Self { right, bottom, reflect: right < width && bottom < height }
    }
}

/// Where a layer norm takes its mean and variance from.
///
/// Training and ordinary inference compute them from the input (`Compute`). Tiled inference of a
/// large image must not: statistics of one tile differ from those of the whole picture, so the
/// tiles would disagree. It records them once from crops of the whole image (`Record`) and
/// replays them for every tile (`Replay`), which makes the network purely local.
pub enum NormStats<'a> {
    /// From the input.
    Compute,
    /// From the input, appended to the list, one `[mean, variance]` per norm layer in order.
    Record(&'a mut Vec<[f32; 2]>),
    /// From the list, starting at the index.
    Replay(&'a [[f32; 2]], usize),
}

impl NormStats<'_> {
    /// Restarts a replay from the first layer (one forward pass per tile).
    pub fn rewind(&mut self) {
        if let NormStats::Replay(_, next) = self {
            *next = 0;
        }
    }
}

/// The generator on the CPU, built from a model file's tensors by their names.
#[derive(Clone, Debug)]
pub struct CpuGenerator {
    encoder: Vec<ConvNormAct>,
    blocks: Vec<InvertedResidual>,
    decoder_quarter: Vec<ConvNormAct>,
    decoder_half: Vec<ConvNormAct>,
    decoder_full: Vec<ConvNormAct>,
    to_rgb: Conv,
    receptive_radius: usize,
}

/// Takes tensors out of a file by name, checking their shapes.
struct Named<'a> {
    tensors: &'a HashMap<String, HostTensor>,
    used: usize,
}

impl Named<'_> {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<&[f32], String> {
        let t = self.tensors.get(name).ok_or_else(|| format!("missing tensor '{name}'"))?;
        if t.shape != shape {
            return Err(format!("tensor '{name}' has shape {:?}, the architecture needs {shape:?}", t.shape));
        }
        self.used += 1;
        Ok(&t.values)
    }

    fn conv(&mut self, path: &str, s: ConvSpec) -> Result<Conv, String> {
        let shape = [s.channels_out, s.channels_in, s.kernel, s.kernel];
        let w = self.take(&format!("{path}.conv.weight"), &shape)?;
        Ok(Conv::from_oihw(w, s.channels_out, s.channels_in, s.kernel, s.stride))
    }

    fn norm(&mut self, path: &str, channels: usize) -> Result<Norm, String> {
        let gamma = self.take(&format!("{path}.gamma"), &[channels])?.to_vec();
        let beta = self.take(&format!("{path}.beta"), &[channels])?.to_vec();
        Ok(Norm { gamma, beta })
    }

    fn conv_norm_act(&mut self, path: &str, s: ConvSpec) -> Result<ConvNormAct, String> {
        Ok(ConvNormAct {
            conv: self.conv(&format!("{path}.conv"), s)?,
            norm: self.norm(&format!("{path}.norm"), s.channels_out)?,
        })
    }

    fn layers(&mut self, path: &str, specs: &[ConvSpec]) -> Result<Vec<ConvNormAct>, String> {
        specs.iter().enumerate().map(|(i, &s)| self.conv_norm_act(&format!("{path}.{i}"), s)).collect()
    }
}

impl CpuGenerator {
    /// Builds the network `config` describes from tensors named by their paths in the network
    /// (`encoder.0.conv.conv.weight`, `blocks.3.depthwise_norm.gamma`, ...). Every tensor must be
    /// there with the shape the architecture needs, and no other.
    pub fn from_tensors(config: &GeneratorConfig, tensors: &HashMap<String, HostTensor>) -> Result<Self, String> {
        config.check()?;
        let mut named = Named { tensors, used: 0 };
        let (mid, hidden) = (config.quarter_channels(), config.block_hidden_channels());
        let encoder = named.layers("encoder", &config.encoder())?;
        let blocks = (0..config.residual_blocks)
            .map(|i| {
                let path = format!("blocks.{i}");
                let depthwise = Depthwise::from_oihw(
                    named.take(&format!("{path}.depthwise.conv.weight"), &[hidden, 1, 3, 3])?,
                    hidden,
                );
                let modulation = if config.styles > 1 {
                    Some(named.take(&format!("{path}.style_modulation"), &[config.styles, 2 * mid])?.to_vec())
                } else {
                    None
                };
                Ok(InvertedResidual {
                    depthwise,
                    expand: named.conv_norm_act(&format!("{path}.expand"), conv(mid, hidden, 1, 1))?,
                    depthwise_norm: named.norm(&format!("{path}.depthwise_norm"), hidden)?,
                    project: named.conv(&format!("{path}.project"), conv(hidden, mid, 1, 1))?,
                    project_norm: named.norm(&format!("{path}.project_norm"), mid)?,
                    modulation,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let generator = Self {
            encoder,
            blocks,
            decoder_quarter: named.layers("decoder_quarter", &config.decoder_quarter())?,
            decoder_half: named.layers("decoder_half", &config.decoder_half())?,
            decoder_full: named.layers("decoder_full", &config.decoder_full())?,
            to_rgb: named.conv("to_rgb", config.to_rgb())?,
            receptive_radius: config.receptive_radius(),
        };
        if named.used != tensors.len() {
            return Err(format!("the file has {} tensors, the architecture {}", tensors.len(), named.used));
        }
        Ok(generator)
    }

    /// Loads a generator model file.
    pub fn load(path: &Path) -> Result<(Self, GeneratorConfig, ModelInfo), ModelFileError> {
        let file = modelfile::read_model_file::<GeneratorConfig>(path, ModelKind::Generator)?;
        let generator = Self::from_tensors(&file.config, &file.tensors)
            .map_err(|reason| ModelFileError::Weights { path: path.display().to_string(), reason })?;
        Ok((generator, file.config, file.info))
    }

    /// How far (in input pixels) an output pixel can see.
    pub fn receptive_radius(&self) -> usize {
        self.receptive_radius
    }

    /// `[3, h, w]` planar input in [-1, 1] → `[3, h, w]` planar output in [-1, 1]. `style` picks
    /// a style of a conditional model (ignored by single-style ones).
    ///
    /// # Panics
    /// If `planar` does not hold `3 * h * w` values, or a replayed statistics list is too short.
    pub fn forward(&self, planar: &[f32], h: usize, w: usize, style: Option<usize>, stats: &mut NormStats) -> Vec<f32> {
        assert_eq!(planar.len(), 3 * h * w, "input of {w}x{h}: expected {} values", 3 * h * w);
        let padding = InputPadding::of(w, h);
        let (ph, pw) = (h + padding.bottom, w + padding.right);
        let index = |i: usize, n: usize| {
            if i < n {
                i
            } else if padding.reflect {
                2 * (n - 1) - i
            } else {
                n - 1
            }
        };
        let mut x = FeatureMap { h: ph, w: pw, c: 3, data: vec![0f32; ph * pw * 3] };
        for (p, px) in x.data.chunks_exact_mut(3).enumerate() {
            let (sy, sx) = (index(p / pw, h), index(p % pw, w));
            for (c, v) in px.iter_mut().enumerate() {
                *v = planar[(c * h + sy) * w + sx];
            }
        }
        for layer in &self.encoder {
            x = layer.forward(&x, stats);
        } // [H/4, W/4, 4c]
        for block in &self.blocks {
            x = block.forward(&x, style, stats);
        }
        for layer in &self.decoder_quarter {
            x = layer.forward(&x, stats);
        }
        x = upsample2(&x); // [H/2, W/2, 4c]
        for layer in &self.decoder_half {
            x = layer.forward(&x, stats);
        }
        x = upsample2(&x); // [H, W, 2c]
        for layer in &self.decoder_full {
            x = layer.forward(&x, stats);
        }
        let rgb = self.to_rgb.forward(&x); // [H, W, 3]
        let mut out = vec![0f32; 3 * h * w];
        for (c, plane) in out.chunks_exact_mut(h * w).enumerate() {
            for (i, v) in plane.iter_mut().enumerate() {
                let (y, xx) = (i / w, i % w);
                *v = rgb.data[(y * pw + xx) * 3 + c].tanh();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_size_shrinks_the_short_side_to_the_trained_one_and_never_enlarges() {
        let trained = |side| GeneratorConfig { trained_short_side: Some(side), ..GeneratorConfig::default() };
        assert_eq!(trained(256).working_size(1280, 720), Some((455, 256)));
        assert_eq!(trained(256).working_size(720, 1280), Some((256, 455)));
        assert_eq!(trained(256).working_size(3840, 2160), Some((455, 256)));
        assert_eq!(trained(320).working_size(100_000, 321), Some((99_688, 320)));
        // At or below the trained size, and for files that record none: the input's own size.
        assert_eq!(trained(256).working_size(400, 256), None);
        assert_eq!(trained(256).working_size(200, 100), None);
        assert_eq!(GeneratorConfig::default().working_size(3840, 2160), None);
        assert_eq!(trained(0).working_size(3840, 2160), None);
    }

    #[test]
    fn receptive_radius_follows_the_last_kernel() {
        let with = |k| GeneratorConfig { full_resolution_kernel: k, ..GeneratorConfig::default() };
        assert_eq!(with(7).receptive_radius(), with(3).receptive_radius() + 2);
    }

    #[test]
    fn settings_no_network_can_be_built_from_are_refused_by_name() {
        let with = |k| GeneratorConfig { full_resolution_kernel: k, ..GeneratorConfig::default() };
        for k in [0, 4, 17] {
            let err = CpuGenerator::from_tensors(&with(k), &HashMap::new()).unwrap_err();
            assert!(err.contains("full_resolution_kernel"), "{err}");
        }
        let zero = GeneratorConfig { base_channels: 0, ..GeneratorConfig::default() };
        assert!(zero.check().unwrap_err().contains("base_channels"));
        assert_eq!(with(1).check(), Ok(()));
        let base = |name: &str| GeneratorConfig { base_style: Some(name.into()), ..GeneratorConfig::default() };
        assert!(base("sketch").check().unwrap_err().contains("base_style 'sketch'"));
        assert_eq!(base("manga").check(), Ok(()));
        assert_eq!(base("manga").base_preset(), Some(Preset::Manga));
    }
}
