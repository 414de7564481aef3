//! The classic DCGAN (Radford et al. 2016): 64x64 RGB images from noise, optionally conditioned
//! on a class label (one-hot, concatenated to the noise and to the discriminator's input).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::tensor::activation::{leaky_relu, relu, tanh};
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

/// Architecture of the DCGAN's two networks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DcganConfig {
    /// Length of the noise vector; 100, as in the paper.
    pub latent: usize,
    /// Feature maps of the generator's last layer; 64, as in the paper.
    pub generator_channels: usize,
    /// Feature maps of the discriminator's first layer; 64, as in the paper.
    pub discriminator_channels: usize,
    /// Number of classes (0 = unconditional); set from the image folder when training.
    pub classes: usize,
}

impl Default for DcganConfig {
    fn default() -> Self {
        Self { latent: 100, generator_channels: 64, discriminator_channels: 64, classes: 0 }
    }
}

/// Image side the DCGAN produces and judges.
pub const DCGAN_SIZE: usize = 64;

// The paper initializes every weight from N(0, 0.02).
fn paper_init() -> Initializer {
    Initializer::Normal { mean: 0.0, std: 0.02 }
}

impl DcganConfig {
    pub fn init_generator(&self, device: &Device) -> DcganGenerator {
        let g = self.generator_channels;
        let widths = [self.latent + self.classes, 8 * g, 4 * g, 2 * g, g];
        let mut ups = Vec::new();
        let mut norms = Vec::new();
        for (i, pair) in widths.windows(2).enumerate() {
            // First layer: 1x1 → 4x4; then each doubles the side.
            let (stride, padding) = if i == 0 { (1, 0) } else { (2, 1) };
            ups.push(
                ConvTranspose2dConfig::new([pair[0], pair[1]], [4, 4])
                    .with_stride([stride, stride])
                    .with_padding([padding, padding])
                    .with_bias(false)
                    .with_initializer(paper_init())
                    .init(device),
            );
            norms.push(BatchNormConfig::new(pair[1]).init(device));
        }
        let to_rgb = ConvTranspose2dConfig::new([g, 3], [4, 4])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_bias(false)
            .with_initializer(paper_init())
            .init(device);
        DcganGenerator { ups, norms, to_rgb, classes: self.classes }
    }

    pub fn init_discriminator(&self, device: &Device) -> DcganDiscriminator {
        let d = self.discriminator_channels;
        let widths = [3 + self.classes, d, 2 * d, 4 * d, 8 * d];
        let convs = widths
            .windows(2)
            .map(|pair| {
                Conv2dConfig::new([pair[0], pair[1]], [4, 4])
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_bias(false)
                    .with_initializer(paper_init())
                    .init(device)
            })
            .collect();
        // No batch norm on the first layer, as in the paper.
        let norms = widths[2..].iter().map(|&w| BatchNormConfig::new(w).init(device)).collect();
        let head = Conv2dConfig::new([8 * d, 1], [4, 4]).with_bias(false).with_initializer(paper_init()).init(device);
        DcganDiscriminator { convs, norms, head, classes: self.classes }
    }
}

#[derive(Module, Debug)]
pub struct DcganGenerator {
    ups: Vec<ConvTranspose2d>,
    norms: Vec<BatchNorm>,
    to_rgb: ConvTranspose2d,
    classes: usize,
}

impl DcganGenerator {
    /// Noise `[b, latent]` (+ labels) → images `[b, 3, 64, 64]` in [-1, 1].
    pub fn forward(&self, noise: Tensor<2>, labels: Option<&Tensor<1, Int>>) -> Tensor<4> {
        let [b, _] = noise.dims();
        let z = match labels {
            Some(labels) if self.classes > 0 => Tensor::cat(vec![noise, one_hot(labels, self.classes)], 1),
            _ => noise,
        };
        let [_, n] = z.dims();
        let mut y = z.reshape([b, n, 1, 1]);
        for (up, norm) in self.ups.iter().zip(&self.norms) {
            y = relu(norm.forward(up.forward(y)));
        } // [b, g, 32, 32]
        tanh(self.to_rgb.forward(y)) // [b, 3, 64, 64]
    }
}

#[derive(Module, Debug)]
pub struct DcganDiscriminator {
    convs: Vec<Conv2d>,
    norms: Vec<BatchNorm>,
    head: Conv2d,
    classes: usize,
}

impl DcganDiscriminator {
    /// Images `[b, 3, 64, 64]` (+ labels) → one logit per image `[b]`.
    pub fn forward(&self, x: Tensor<4>, labels: Option<&Tensor<1, Int>>) -> Tensor<1> {
        let [b, _, h, w] = x.dims();
        let mut y = match labels {
            Some(labels) if self.classes > 0 => {
                let planes =
                    one_hot(labels, self.classes).reshape([b, self.classes, 1, 1]).expand([b, self.classes, h, w]);
                Tensor::cat(vec![x, planes], 1)
            }
            _ => x,
        };
        for (i, conv) in self.convs.iter().enumerate() {
            y = conv.forward(y);
            if i > 0 {
                y = self.norms[i - 1].forward(y);
            }
            y = leaky_relu(y, 0.2);
        } // [b, 8d, 4, 4]
        self.head.forward(y).reshape([b])
    }
}

/// `[b]` class indices → `[b, classes]` one-hot rows.
pub fn one_hot(labels: &Tensor<1, Int>, classes: usize) -> Tensor<2> {
    let [b] = labels.dims();
    let device = labels.device();
    let columns = Tensor::<1, Int>::arange(0..classes as i64, &device).reshape([1, classes]).expand([b, classes]);
    labels.clone().reshape([b, 1]).expand([b, classes]).equal(columns).float()
}
