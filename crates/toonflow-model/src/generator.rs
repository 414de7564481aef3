//! The photo-to-comic generator as a burn module, for training and for GPUs. Its architecture is
//! [`GeneratorConfig`]'s, the one description the CPU inference path ([`toonflow_infer`]) is
//! built from too; a test holds the two to the same outputs through a model file.

use burn::module::{Module, Param};
use burn::tensor::activation::tanh;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions, PadMode};
use burn::tensor::{Device, Int, Tensor, TensorData};
use toonflow_imgproc::ImageTensor;
use toonflow_infer::generator::{ConvSpec, InputPadding, NormStats, LEAKY_SLOPE};
use toonflow_infer::tiling::GeneratorRun;

use crate::images;
use crate::layers::{ConvNormAct, LayerNorm2d, ReflectConv};

pub use toonflow_infer::generator::GeneratorConfig;

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
        let h = self.depthwise_norm.forward_act(self.depthwise.forward(h), stats, Some(LEAKY_SLOPE));
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

/// The generator; field names are the tensor paths in model files.
#[derive(Module, Debug)]
pub struct Generator {
    encoder: Vec<ConvNormAct>,
    blocks: Vec<InvertedResidual>,
    decoder_quarter: Vec<ConvNormAct>,
    decoder_half: Vec<ConvNormAct>,
    decoder_full: Vec<ConvNormAct>,
    to_rgb: ReflectConv,
    receptive_radius: usize,
}

fn layers(specs: &[ConvSpec], device: &Device) -> Vec<ConvNormAct> {
    specs.iter().map(|s| ConvNormAct::new(s.channels_in, s.channels_out, s.kernel, s.stride, device)).collect()
}

impl Generator {
    /// The network `config` describes, freshly initialized.
    pub fn new(config: &GeneratorConfig, device: &Device) -> Self {
        let rgb = config.to_rgb();
        Generator {
            encoder: layers(&config.encoder(), device),
            blocks: (0..config.residual_blocks)
                .map(|_| {
                    InvertedResidual::new(
                        config.quarter_channels(),
                        config.block_hidden_channels(),
                        config.styles,
                        device,
                    )
                })
                .collect(),
            decoder_quarter: layers(&config.decoder_quarter(), device),
            decoder_half: layers(&config.decoder_half(), device),
            decoder_full: layers(&config.decoder_full(), device),
            // Over a base style, the untrained network adds nothing: training starts from the
            // style's drawing exactly.
            to_rgb: match config.base_style {
                Some(_) => ReflectConv::zeros(rgb.channels_in, rgb.channels_out, rgb.kernel, device),
                None => ReflectConv::new(rgb.channels_in, rgb.channels_out, rgb.kernel, rgb.stride, device),
            },
            receptive_radius: config.receptive_radius(),
        }
    }

    /// Images in [-1, 1], `[batch, 3, h, w]` of any size → same shape in [-1, 1].
    /// `style` holds one style index per batch item (ignored by single-style models).
    pub fn forward(&self, x: Tensor<4>, style: Option<&Tensor<1, Int>>) -> Tensor<4> {
        self.forward_with_stats(x, style, &mut NormStats::Compute)
    }

    /// [`Generator::forward`] with the layer norms' statistics computed, recorded or replayed.
    pub fn forward_with_stats(&self, x: Tensor<4>, style: Option<&Tensor<1, Int>>, stats: &mut NormStats) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let padding = InputPadding::of(w, h);
        let mode = if padding.reflect { PadMode::Reflect } else { PadMode::Edge };
        let x = if padding.right + padding.bottom > 0 { x.pad((0, padding.right, 0, padding.bottom), mode) } else { x };

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
}

/// A generator's drawing: the network's output `drawn`, over `base` (the batch drawn by the
/// generator's base style, [`GeneratorConfig::base_style`]) where it has one, clamped to the
/// image range.
pub fn over_base(drawn: Tensor<4>, base: Option<&Tensor<4>>) -> Tensor<4> {
    match base {
        Some(base) => (drawn + base.clone()).clamp(-1.0, 1.0),
        None => drawn,
    }
}

fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let options = InterpolateOptions::new(InterpolateMode::Bilinear)
        .with_align_corners(false) // half-pixel centres: the same map in every tile
        .with_output_size([2 * h, 2 * w]);
    interpolate(x, options)
}

/// A burn [`Generator`] on a device, for tiled inference ([`toonflow_infer::tiling`]) on a GPU.
pub struct BurnRun<'a> {
    /// The network.
    pub generator: &'a Generator,
    /// Where it runs.
    pub device: &'a Device,
}

impl GeneratorRun for BurnRun<'_> {
    fn run(&self, image: &ImageTensor, style: usize, stats: &mut NormStats) -> ImageTensor {
        let style = Tensor::<1, Int>::from_data(TensorData::new(vec![style as i64], [1]), self.device);
        let y = self.generator.forward_with_stats(images::to_tensor(&[image], self.device), Some(&style), stats);
        images::from_tensor(y).remove(0)
    }

    fn receptive_radius(&self) -> usize {
        self.generator.receptive_radius
    }
}
