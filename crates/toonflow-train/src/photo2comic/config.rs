//! The settings of a photo-to-comic run (`toonflow train --config FILE`, JSON), and their
//! resolution against a dataset into the effective settings that `--print-config` prints, the
//! run trains with and the checkpoint stores.

use serde::{Deserialize, Serialize};
use toonflow_imgproc::comic::Preset;
use toonflow_model::discriminator::DiscriminatorConfig;
use toonflow_model::generator::GeneratorConfig;
use toonflow_model::loss::{AdversarialLoss, LossWeights};

use crate::ada::AdaConfig;
use crate::augment::PhotoAugment;
use crate::prepare::DatasetInfo;
use crate::run::{OptimizerConfig, ResumePolicy, RunConfig, RunError};

/// What the content and style losses compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureNet {
    /// VGG16 block4_conv3 activations (the recipe; needs `toonflow fetch-vgg16`).
    Vgg16,
    /// Raw pixels: no download, much cheaper, much weaker. For tests and smoke runs.
    Pixels,
}

/// Adaptive adversarial weight: multiplies the generator's adversarial term by k, and moves k
/// after each step by the discriminator's balanced accuracy (the mean of its accuracy on style
/// images and on generated ones). When D separates them easily, G's output is visibly unlike the
/// style and the style pressure grows; when D is near chance, the content terms get more say
/// (equilibrium control in the spirit of BEGAN). Balanced, because a discriminator that calls
/// everything fake scores perfectly on fakes alone: steering by that drove k up and the
/// generator into collapse on the demo data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptiveWeightConfig {
    /// On by default (`--no-adaptive-weight` turns it off).
    pub enabled: bool,
    /// D's balanced accuracy the control aims for; 0.7, where D on the demo data discriminated
    /// without overwhelming G (measured, see the README).
    pub target_accuracy: f32,
    /// Gain of the control: k is multiplied by exp(rate · (accuracy − target)) per step; 0.05
    /// moves k by at most ~1.7 % a step (chosen by hand on the demo data).
    pub rate: f32,
    /// Smallest k; 0.2 keeps some style pressure when D is at chance.
    pub min: f32,
    /// Largest k; 3, past which the demo runs lost content.
    pub max: f32,
}

impl Default for AdaptiveWeightConfig {
    fn default() -> Self {
        Self { enabled: true, target_accuracy: 0.7, rate: 0.05, min: 0.2, max: 3.0 }
    }
}

/// Temporal regularization for video-ready generators (weights in [`LossWeights`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemporalRegConfig {
    /// Largest shift of the equivariance transform T, as a fraction of the crop side; 0.03 (a
    /// few pixels per frame, typical camera motion at training crop size).
    pub max_shift: f32,
    /// Largest rotation of T, degrees; 3 (hand-held camera roll between frames).
    pub max_rotation: f32,
    /// Largest zoom change of T; 0.05 (a dolly or zoom over a few frames).
    pub max_zoom: f32,
    /// Standard deviation of the noise of the robustness term, in [-1, 1] units; 0.03, about
    /// 4 of 255 levels, the sensor noise of compressed video.
    pub noise: f32,
}

impl Default for TemporalRegConfig {
    fn default() -> Self {
        Self { max_shift: 0.03, max_rotation: 3.0, max_zoom: 0.05, noise: 0.03 }
    }
}

/// Everything a photo-to-comic training run is configured with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The generator's architecture (AnimeGANv2's sizes, a 3x3 last layer); `styles` and
    /// `trained_short_side` are set from the dataset.
    pub generator: GeneratorConfig,
    /// The discriminator's architecture; `styles` is set from the dataset.
    pub discriminator: DiscriminatorConfig,
    /// Adam for both networks.
    pub optimizer: OptimizerConfig,
    /// Total training steps, warm-up included; 10 000 (AnimeGANv2 trains ~100 epochs of its
    /// 6 656 photos at batch 4, about 160 000 steps; a CPU run is shorter).
    pub steps: usize,
    /// Generator-only steps on the content loss before adversarial training; 300 (AnimeGANv2
    /// initializes G for one epoch on content alone).
    pub warmup_steps: usize,
    /// Images per step; 4, as AnimeGANv2 (and what fits a laptop's memory at 256²).
    pub batch: usize,
    /// Side of the training crops; 256, as AnimeGANv2. At most the prepared size (the crop is
    /// lowered to it), a multiple of 8, at least 16.
    pub crop: usize,
    /// The adversarial objective; LSGAN, as AnimeGANv2.
    pub adversarial: AdversarialLoss,
    /// Weights of the generator's and discriminator's terms.
    pub weights: LossWeights,
    /// What content and style losses compare; VGG16, as AnimeGAN and CartoonGAN.
    pub features: FeatureNet,
    /// The built-in style (`comic`, `webtoon` or `manga`) that draws each training photo's
    /// structure target, used where `weights.structure` is above 0; comic.
    pub structure_style: String,
    /// Adaptive discriminator augmentation.
    pub ada: AdaConfig,
    /// The adaptive adversarial weight.
    pub adaptive_weight: AdaptiveWeightConfig,
    /// The temporal regularization's transforms and noise.
    pub temporal: TemporalRegConfig,
    /// Augmentation of the photos.
    pub photo_augment: PhotoAugment,
    /// Steps between sample grids; 100.
    pub sample_every: usize,
    /// Steps between checkpoints; 100 (a checkpoint of the default networks takes well under a
    /// second, a step several).
    pub checkpoint_every: usize,
    /// Seed of a new run's initialization and random choices; 1.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            generator: GeneratorConfig::default(),
            discriminator: DiscriminatorConfig::default(),
            optimizer: OptimizerConfig::default(),
            steps: 10_000,
            warmup_steps: 300,
            batch: 4,
            crop: 256,
            adversarial: AdversarialLoss::Lsgan,
            weights: LossWeights::default(),
            features: FeatureNet::Vgg16,
            structure_style: Preset::Comic.name().into(),
            ada: AdaConfig::default(),
            adaptive_weight: AdaptiveWeightConfig::default(),
            temporal: TemporalRegConfig::default(),
            photo_augment: PhotoAugment::default(),
            sample_every: 100,
            checkpoint_every: 100,
            seed: 1,
        }
    }
}

impl TrainConfig {
    /// The effective settings for `dataset`: one style per style of the dataset, in the
    /// generator and the discriminator, the generator's trained size the prepared size (the
    /// photos' short side), and a crop no larger than the prepared images (lowered to a multiple
    /// of 8). Settings that cannot train are refused ([`RunError::Settings`]).
    pub fn resolve(mut self, dataset: &DatasetInfo) -> Result<TrainConfig, RunError> {
        let styles = dataset.styles.len().max(1);
        self.generator.styles = styles;
        self.generator.trained_short_side = Some(dataset.size);
        self.discriminator.styles = styles;
        self.crop = self.crop.min(dataset.size / 8 * 8);
        if self.batch == 0 {
            return Err(RunError::Settings("--batch must be at least 1".into()));
        }
        if self.crop < 16 || !self.crop.is_multiple_of(8) {
            return Err(RunError::Settings(format!(
                "--crop must be a multiple of 8, at least 16, and at most the prepared size {} (found {})",
                dataset.size, self.crop
            )));
        }
        if self.steps == 0 {
            return Err(RunError::Settings("--steps must be at least 1".into()));
        }
        self.generator.check().map_err(|e| RunError::Settings(format!("generator: {e}")))?;
        if Preset::from_name(&self.structure_style).is_none() {
            let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
            return Err(RunError::Settings(format!(
                "structure_style '{}': the built-in styles are {}",
                self.structure_style,
                names.join(", ")
            )));
        }
        Ok(self)
    }

    /// The built-in style that draws the structure targets, where the structure loss is on.
    pub fn structure_preset(&self) -> Option<Preset> {
        Preset::from_name(&self.structure_style).filter(|_| self.weights.structure > 0.0)
    }
}

impl RunConfig for TrainConfig {
    const RESUME: ResumePolicy = ResumePolicy {
        free: &["steps", "sample_every", "checkpoint_every"],
        fine_tune: &[("weights", "loss weights"), ("temporal", "temporal settings")],
    };

    fn seed(&self) -> u64 {
        self.seed
    }

    fn optimizer(&self) -> &OptimizerConfig {
        &self.optimizer
    }
}
