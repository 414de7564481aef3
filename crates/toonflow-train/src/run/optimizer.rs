//! Adam's settings, shared by every trainer's generator and discriminator.

use burn::optim::{AdamConfig, ModuleOptimizer};
use serde::{Deserialize, Serialize};
use toonflow_model::burn;

/// Adam for both networks of a GAN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// The generator's learning rate; 2e-4 as in DCGAN (Radford et al. 2016) and AnimeGANv2.
    pub lr_generator: f64,
    /// The discriminator's learning rate; 2e-4, the same sources.
    pub lr_discriminator: f64,
    /// Adam's β1; 0.5, DCGAN's choice for stable adversarial training (Radford et al. 2016).
    pub beta1: f32,
    /// Adam's β2; 0.999, Adam's default (Kingma & Ba 2015).
    pub beta2: f32,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self { lr_generator: 2e-4, lr_discriminator: 2e-4, beta1: 0.5, beta2: 0.999 }
    }
}

impl OptimizerConfig {
    /// A fresh optimizer with these settings (ε 1e-8, Adam's default).
    pub fn adam(&self) -> ModuleOptimizer {
        AdamConfig::new().with_beta_1(self.beta1).with_beta_2(self.beta2).with_epsilon(1e-8).init()
    }
}
