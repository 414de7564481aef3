//! PatchGAN discriminator with spectral normalization: one real/fake logit per image patch.

use burn::module::Module;
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::SpectralConv;

/// Architecture of a [`PatchDiscriminator`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscriminatorConfig {
    /// Channels of the first layer, doubling twice to 8x; 32, as AnimeGANv2's discriminator.
    pub base_channels: usize,
    /// One output map per style: a conditional discriminator judges each style on its own head.
    /// Set from the dataset when training.
    pub styles: usize,
}

impl Default for DiscriminatorConfig {
    fn default() -> Self {
        Self { base_channels: 32, styles: 1 }
    }
}

impl DiscriminatorConfig {
    /// The network this describes, freshly initialized.
    pub fn init(&self, device: &Device) -> PatchDiscriminator {
        let c = self.base_channels;
        PatchDiscriminator {
            layers: vec![
                SpectralConv::new(3, c, 3, 1, device),
                SpectralConv::new(c, 2 * c, 3, 2, device),
                SpectralConv::new(2 * c, 4 * c, 3, 1, device),
                SpectralConv::new(4 * c, 4 * c, 3, 2, device),
                SpectralConv::new(4 * c, 8 * c, 3, 1, device),
            ],
            head: SpectralConv::new(8 * c, self.styles, 3, 1, device),
        }
    }
}

#[derive(Module, Debug)]
pub struct PatchDiscriminator {
    layers: Vec<SpectralConv>,
    head: SpectralConv,
}

impl PatchDiscriminator {
    /// `[b, 3, h, w]` in [-1, 1] → logits `[b, 1, h/4, w/4]` (of the given style's head).
    pub fn forward(&self, x: Tensor<4>, style: Option<&Tensor<1, Int>>) -> Tensor<4> {
        let mut y = x;
        for layer in &self.layers {
            y = leaky_relu(layer.forward(y), 0.2);
        }
        let logits = self.head.forward(y); // [b, styles, h/4, w/4]
        let [b, styles, h, w] = logits.dims();
        match style {
            Some(style) if styles > 1 => {
                // Pick each item's own head: gather along the channel axis.
                let index = style.clone().reshape([b, 1, 1, 1]).expand([b, 1, h, w]);
                logits.gather(1, index)
            }
            _ => logits.slice([0..b, 0..1, 0..h, 0..w]),
        }
    }

    /// One power-iteration step for every layer's spectral norm estimate.
    pub fn power_iteration(mut self) -> Self {
        self.layers = self.layers.into_iter().map(SpectralConv::power_iteration).collect();
        self.head = self.head.power_iteration();
        self
    }
}
