//! Adaptive discriminator augmentation (Karras et al. 2020). Small comic datasets let the
//! discriminator memorize its real images; ADA augments everything the discriminator sees (real
//! and generated alike) with probability p, and steers p by how confidently D calls its real
//! images real (the sign of its logits), toward a target.

use burn::tensor::ops::PadMode;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use toonflow_model::burn;

use toonflow_imgproc::color::LUMA_WEIGHTS;

use crate::rng::Rng;

/// Settings of adaptive discriminator augmentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaConfig {
    /// On for photo-to-comic runs (`--no-ada` turns it off), off for the classic DCGAN.
    pub enabled: bool,
    /// Target of E[sign(D(real))]: 0.6, as in the paper.
    pub target: f32,
    /// Images after which p can move from 0 to 1; 2 000 (500k in the paper, whose runs are
    /// far longer than a CPU run).
    pub speed_images: f32,
    /// Steps between adjustments; 4, as in the paper.
    pub interval: usize,
    /// Largest p allowed; 0.8 (the paper finds augmentations leak into the generator past
    /// about that).
    pub max_p: f32,
}

impl Default for AdaConfig {
    fn default() -> Self {
        Self { enabled: true, target: 0.6, speed_images: 2000.0, interval: 4, max_p: 0.8 }
    }
}

/// The controller's state (saved in checkpoints).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdaState {
    pub p: f32,
    /// Sum of sign(D(real)) over the current interval and how many logits it covers.
    pub sign_sum: f64,
    pub sign_count: u64,
    pub steps: usize,
    /// Last measured E[sign(D(real))].
    pub rt: f32,
}

impl AdaState {
    /// Feeds one step's real logits (minus the loss's decision threshold, so that positive
    /// means "called real"); adjusts p at the end of each interval.
    pub fn observe(&mut self, config: &AdaConfig, real_logits: &[f32], threshold: f32, batch: usize) {
        if !config.enabled {
            return;
        }
        self.sign_sum += real_logits.iter().map(|&v| f64::from((v - threshold).signum())).sum::<f64>();
        self.sign_count += real_logits.len() as u64;
        self.steps += 1;
        if self.steps.is_multiple_of(config.interval) && self.sign_count > 0 {
            self.rt = (self.sign_sum / self.sign_count as f64) as f32;
            let step = (batch * config.interval) as f32 / config.speed_images;
            self.p = (self.p + step * (self.rt - config.target).signum()).clamp(0.0, config.max_p);
            self.sign_sum = 0.0;
            self.sign_count = 0;
        }
    }
}

/// Augments a batch `[b, 3, h, w]` for the discriminator, each image independently, each
/// transform with probability `p`: mirror, integer translation (up to 1/8 of the side),
/// brightness, contrast and saturation. Differentiable: the generator learns through it.
pub fn augment(x: Tensor<4>, p: f32, rng: &mut Rng) -> Tensor<4> {
    if p <= 0.0 {
        return x;
    }
    let [b, c, h, w] = x.dims();
    let device = x.device();
    let items = (0..b)
        .map(|i| {
            let mut y = x.clone().slice([i..i + 1, 0..c, 0..h, 0..w]);
            if rng.chance(p) {
                y = y.flip([3]);
            }
            if rng.chance(p) {
                let (max_x, max_y) = ((w / 8).max(1), (h / 8).max(1));
                let (tx, ty) = (rng.below(2 * max_x + 1), rng.below(2 * max_y + 1));
                // Reflect-pad by the largest shift, then cut the window shifted by (tx, ty).
                y = y.pad((max_x, max_x, max_y, max_y), PadMode::Reflect).slice([0..1, 0..c, ty..ty + h, tx..tx + w]);
            }
            if rng.chance(p) {
                y = y + 0.2 * rng.normal() as f64;
            }
            if rng.chance(p) {
                let factor = (0.5 * std::f32::consts::LN_2 * rng.normal()).exp() as f64;
                let mean = y.clone().mean().reshape([1, 1, 1, 1]);
                y = (y - mean.clone()) * factor + mean;
            }
            if rng.chance(p) {
                let factor = (std::f32::consts::LN_2 * rng.normal()).exp();
                let weights = Tensor::<4>::from_data(TensorData::new(LUMA_WEIGHTS.to_vec(), [1, 3, 1, 1]), &device);
                let grey = (y.clone() * weights).sum_dim(1);
                y = grey.clone() + (y - grey) * factor as f64;
            }
            y
        })
        .collect();
    Tensor::cat(items, 0)
}
