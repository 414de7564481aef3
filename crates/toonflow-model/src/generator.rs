//! The image-to-image generator: an AnimeGAN-like encoder / inverted-residual / decoder network.
//! Fully convolutional: any input size is padded to a multiple of 8 and cropped back.

use burn::module::{Module, Param};
use burn::tensor::activation::tanh;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions, PadMode};
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::{ConvNormAct, LayerNorm2d, NormStats, ReflectConv};

/// Architecture of a [`Generator`]. Stored in model files, so a file says how to rebuild itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorConfig {
    /// Channels of the first layer; the network widens to 4x this in the middle.
    pub base_channels: usize,
    /// Inverted-residual blocks at quarter resolution.
    pub residual_blocks: usize,
    /// Expansion factor inside each inverted-residual block.
    pub expansion: usize,
    /// Number of styles the model holds (1 = unconditional).
    pub styles: usize,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self { base_channels: 32, residual_blocks: 8, expansion: 2, styles: 1 }
    }
}

impl GeneratorConfig {
    /// A narrow network for tests and quick experiments.
    pub fn tiny() -> Self {
        Self { base_channels: 8, residual_blocks: 2, expansion: 2, styles: 1 }
    }

    pub fn init(&self, device: &Device) -> Generator {
        let c = self.base_channels;
        let mid = 4 * c;
        Generator {
            encoder: vec![
                ConvNormAct::new(3, c, 7, 1, device),
                ConvNormAct::new(c, 2 * c, 3, 2, device),
                ConvNormAct::new(2 * c, 2 * c, 3, 1, device),
                ConvNormAct::new(2 * c, mid, 3, 2, device),
                ConvNormAct::new(mid, mid, 3, 1, device),
            ],
            blocks: (0..self.residual_blocks)
                .map(|_| InvertedResidual::new(mid, mid * self.expansion, self.styles, device))
                .collect(),
            decoder_quarter: vec![ConvNormAct::new(mid, mid, 3, 1, device)],
            decoder_half: vec![
                ConvNormAct::new(mid, 2 * c, 3, 1, device),
                ConvNormAct::new(2 * c, 2 * c, 3, 1, device),
            ],
            decoder_full: vec![ConvNormAct::new(2 * c, c, 3, 1, device), ConvNormAct::new(c, c, 7, 1, device)],
            to_rgb: ReflectConv::new(c, 3, 1, 1, device),
        }
    }
}

/// 1x1 expand → depthwise 3x3 → 1x1 project, with a skip connection (MobileNetV2, as in
/// AnimeGANv2). With several styles, a per-style scale and shift modulates the block's output
/// (conditional normalization, Dumoulin et al. 2017): one model file, several styles.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    expand: ConvNormAct,
    depthwise: ReflectConv,
    depthwise_norm: LayerNorm2d,
    project: ReflectConv,
    project_norm: LayerNorm2d,
    /// [styles, 2 * channels]: (scale - 1, shift) per style; zero at initialization.
    style_modulation: Option<Param<Tensor<2>>>,
}

impl InvertedResidual {
    fn new(channels: usize, hidden: usize, styles: usize, device: &Device) -> Self {
        Self {
            expand: ConvNormAct::new(channels, hidden, 1, 1, device),
            depthwise: ReflectConv::grouped(hidden, hidden, 3, 1, hidden, device),
            depthwise_norm: LayerNorm2d::new(hidden, device),
            project: ReflectConv::new(hidden, channels, 1, 1, device),
            project_norm: LayerNorm2d::new(channels, device),
            style_modulation: (styles > 1).then(|| Param::from_tensor(Tensor::zeros([styles, 2 * channels], device))),
        }
    }

    fn forward(&self, x: Tensor<4>, style: Option<&Tensor<1, Int>>, stats: &mut NormStats) -> Tensor<4> {
        let h = self.expand.forward(x.clone(), stats);
        let h = self.depthwise_norm.forward_act(self.depthwise.forward(h), stats, Some(0.2));
        let mut h = self.project_norm.forward(self.project.forward(h), stats);
        if let (Some(table), Some(style)) = (&self.style_modulation, style) {
            let [b, c, _, _] = h.dims();
            let rows = table.val().select(0, style.clone()); // [b, 2c]
            let scale = rows.clone().slice([0..b, 0..c]).reshape([b, c, 1, 1]) + 1.0;
            let shift = rows.slice([0..b, c..2 * c]).reshape([b, c, 1, 1]);
            h = h * scale + shift;
        }
        x + h
    }
}

#[derive(Module, Debug)]
pub struct Generator {
    encoder: Vec<ConvNormAct>,
    blocks: Vec<InvertedResidual>,
    decoder_quarter: Vec<ConvNormAct>,
    decoder_half: Vec<ConvNormAct>,
    decoder_full: Vec<ConvNormAct>,
    to_rgb: ReflectConv,
}

/// The generator works on sizes that survive two halvings and a doubling exactly; 8 leaves room.
pub const SIZE_MULTIPLE: usize = 8;

impl Generator {
    /// Images in [-1, 1], `[batch, 3, h, w]` of any size → same shape in [-1, 1].
    /// `style` holds one style index per batch item (ignored by single-style models).
    pub fn forward(&self, x: Tensor<4>, style: Option<&Tensor<1, Int>>) -> Tensor<4> {
        self.forward_with_stats(x, style, &mut NormStats::Compute)
    }

    pub fn forward_with_stats(&self, x: Tensor<4>, style: Option<&Tensor<1, Int>>, stats: &mut NormStats) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let (ph, pw) = (h.next_multiple_of(SIZE_MULTIPLE) - h, w.next_multiple_of(SIZE_MULTIPLE) - w);
        // Reflection needs the padding to be smaller than the side; tiny inputs are edge-padded.
        let mode = if ph < h && pw < w { PadMode::Reflect } else { PadMode::Edge };
        let x = if ph + pw > 0 { x.pad((0, pw, 0, ph), mode) } else { x };

        let mut y = x; // [b, 3, H, W]
        for layer in &self.encoder {
            y = layer.forward(y, stats);
        } // [b, 4c, H/4, W/4]
        for block in &self.blocks {
            y = block.forward(y, style, stats);
        }
        for layer in &self.decoder_quarter {
            y = layer.forward(y, stats);
        }
        y = upsample2(y); // [b, 4c, H/2, W/2]
        for layer in &self.decoder_half {
            y = layer.forward(y, stats);
        }
        y = upsample2(y); // [b, 2c, H, W]
        for layer in &self.decoder_full {
            y = layer.forward(y, stats);
        }
        let y = tanh(self.to_rgb.forward(y)); // [b, 3, H, W]
        let [b, c, _, _] = y.dims();
        y.slice([0..b, 0..c, 0..h, 0..w])
    }

    /// The same network for the channels-last CPU path of [`crate::cpu`] (weights copied).
    pub fn to_cpu(&self) -> crate::cpu::CpuGenerator {
        let layers = |v: &[ConvNormAct]| v.iter().map(ConvNormAct::to_cpu).collect();
        crate::cpu::CpuGenerator {
            encoder: layers(&self.encoder),
            blocks: self
                .blocks
                .iter()
                .map(|b| crate::cpu::InvertedResidual {
                    expand: b.expand.to_cpu(),
                    depthwise: b.depthwise.to_cpu_depthwise(),
                    depthwise_norm: b.depthwise_norm.to_cpu(),
                    project: b.project.to_cpu(),
                    project_norm: b.project_norm.to_cpu(),
                    modulation: b.style_modulation.as_ref().map(|t| crate::layers::values(t.val())),
                })
                .collect(),
            decoder_quarter: layers(&self.decoder_quarter),
            decoder_half: layers(&self.decoder_half),
            decoder_full: layers(&self.decoder_full),
            to_rgb: self.to_rgb.to_cpu(),
            receptive_radius: self.receptive_radius(),
        }
    }

    /// How far (in input pixels) an output pixel can see: tiles overlap by at least this much.
    pub fn receptive_radius(&self) -> usize {
        let quarter_layers = 2 + self.blocks.len() + self.decoder_quarter.len();
        // 7x7 + 3x3 stride-2 at full res, 3x3s at half, one 3x3 per layer/block at quarter res.
        3 + 3 + 1 + 2 * (1 + 1 + self.decoder_half.len()) + 4 * quarter_layers + 1
    }
}

fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let options = InterpolateOptions::new(InterpolateMode::Bilinear)
        .with_align_corners(false) // half-pixel centres: the same map in every tile
        .with_output_size([2 * h, 2 * w]);
    interpolate(x, options)
}
