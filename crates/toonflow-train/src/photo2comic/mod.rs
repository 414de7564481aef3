//! Training the photo-to-comic generator: a content-only warm-up, then alternating
//! discriminator and generator steps with the AnimeGAN family of losses, adaptive
//! discriminator augmentation, an adaptive adversarial weight and optional temporal
//! regularization. Resumable through the run core ([`crate::run`]).
//!
//! - [`config`]: the settings and their resolution against a dataset;
//! - [`data`]: the dataset in memory and the batches;
//! - `step`: one training step; `temporal`: the temporal regularization.

pub mod config;
pub mod data;
mod step;
mod temporal;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use toonflow_imgproc::ImageTensor;
use toonflow_model::burn;
use toonflow_model::discriminator::PatchDiscriminator;
use toonflow_model::generator::{over_base, Generator};
use toonflow_model::images;
use toonflow_model::modelfile::{self, ModelInfo};
use toonflow_model::vgg::Vgg16;

pub use config::{AdaptiveWeightConfig, FeatureNet, TemporalRegConfig, TrainConfig};
pub use step::StepLog;

use crate::imageset::ImageSet;
use crate::prepare::DatasetInfo;
use crate::run::{
    drive, start_or_resume, Adversaries, Cadence, OnResume, Outcome, RunDir, RunError, RunState, Trainer,
};
use crate::samples::image_grid;
use data::Data;

/// A run's effective settings for a dataset: resolved once, before anything runs. This is what
/// `--print-config` prints, what the run trains with and what its checkpoint stores.
#[derive(Clone, Debug)]
pub struct TrainingPlan {
    data_dir: PathBuf,
    dataset: DatasetInfo,
    config: TrainConfig,
}

impl TrainingPlan {
    /// Resolves `config` against the prepared dataset in `data_dir` ([`TrainConfig::resolve`]).
    pub fn new(data_dir: &Path, config: TrainConfig) -> Result<Self, RunError> {
        let dataset = data::read_dataset_info(data_dir)?;
        let config = config.resolve(&dataset)?;
        Ok(Self { data_dir: data_dir.to_path_buf(), dataset, config })
    }

    /// The effective settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }
}

/// The photo-to-comic trainer's own checkpoint state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct AdaptiveK {
    /// The adaptive adversarial weight's current value.
    adversarial_k: f32,
}

impl Default for AdaptiveK {
    fn default() -> Self {
        Self { adversarial_k: 1.0 }
    }
}

/// A run in progress with what its steps read: data, the feature network, the device.
struct Job<'a> {
    nets: Adversaries<Generator, PatchDiscriminator>,
    state: RunState<TrainConfig, AdaptiveK>,
    data: &'a Data,
    vgg: Option<&'a Vgg16>,
    device: &'a Device,
}

/// Trains (or resumes) a run. `progress` sees every step's log line.
pub fn train(
    plan: &TrainingPlan,
    run_dir: &Path,
    on_resume: OnResume,
    device: &Device,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&StepLog),
) -> Result<Outcome, RunError> {
    let config = plan.config.clone();
    let mut data = Data::load(&plan.data_dir, &plan.dataset)?;
    if let Some(preset) = config.structure_preset() {
        data = data.with_structure(preset);
    }
    if let Some(preset) = config.generator.base_preset() {
        data = data.with_base(preset);
    }
    let run = RunDir::create(run_dir)?;
    let vgg = match config.features {
        FeatureNet::Vgg16 => Some(Vgg16::load(device)?),
        FeatureNet::Pixels => None,
    };
    let session = start_or_resume(&run, config.clone(), &data.names, on_resume, device, |c: &TrainConfig| {
        (Generator::new(&c.generator, device), c.discriminator.init(device))
    })?;
    let mut job = Job { nets: session.nets, state: session.state, data: &data, vgg: vgg.as_ref(), device };
    let cadence =
        Cadence { steps: config.steps, sample_every: config.sample_every, checkpoint_every: config.checkpoint_every };
    drive(&mut job, &run, &cadence, cancel, progress)
}

impl Trainer for Job<'_> {
    type Log = StepLog;
    type Config = TrainConfig;
    type Extra = AdaptiveK;

    fn state(&mut self) -> &mut RunState<TrainConfig, AdaptiveK> {
        &mut self.state
    }

    fn step(&mut self) -> StepLog {
        let (step, seconds) = (self.state.step + 1, self.state.seconds);
        StepLog { step, seconds, ..self.train_step() }
    }

    fn losses(log: &StepLog) -> [(&'static str, f32); 2] {
        [("generator", log.g_total), ("discriminator", log.d_total)]
    }

    fn write_samples(&self, run: &RunDir) -> Result<(), RunError> {
        let grid = sample_grid(&self.nets.g.valid(), self.data, &self.device.clone().inner());
        toonflow_imageio::write_image(&grid, &run.sample_path(self.state.step))?;
        Ok(())
    }

    fn save(&self, run: &RunDir) -> Result<(), RunError> {
        run.save_checkpoint(&self.nets, &self.state)?;
        let (state, data) = (&self.state, self.data);
        let info = ModelInfo {
            styles: data.names.clone(),
            training: serde_json::json!({
                "steps": state.step,
                "seconds": state.seconds.round(),
                "photos": data.photos.len(),
                "style_images": data.styles.iter().map(|(s, _)| s.len()).collect::<Vec<_>>(),
                "crop": state.config.crop,
                "batch": state.config.batch,
                "adversarial": state.config.adversarial,
                "features": state.config.features,
                "temporal_regularization": state.config.weights.equivariance > 0.0 || state.config.weights.noise_robustness > 0.0,
            }),
        };
        modelfile::save_generator(&run.model_path(), &self.nets.g.valid(), &state.config.generator, &info)?;
        Ok(())
    }
}

/// Validation photos through the generator (over their base drawings where it has a base
/// style): a row of photos over a row of results per style.
fn sample_grid(g: &Generator, data: &Data, device: &Device) -> toonflow_imgproc::Frame {
    let (set, bases) =
        if data.validation.is_empty() { (&data.photos, &data.base) } else { (&data.validation, &data.validation_base) };
    let count = set.len().min(4);
    let tile = |s: &ImageSet, i: usize| ImageTensor::from_srgb8(s.size, s.size, s.image(i));
    let photos: Vec<ImageTensor> = (0..count).map(|i| tile(set, i)).collect();
    let bases: Vec<Option<Tensor<4>>> =
        (0..count).map(|i| bases.as_ref().map(|b| images::to_tensor(&[&tile(b, i)], device))).collect();
    let mut tiles = photos.clone();
    for style in 0..data.names.len() {
        for (photo, base) in photos.iter().zip(&bases) {
            let s = Tensor::<1, Int>::from_data(TensorData::new(vec![style as i64], [1]), device);
            let y = over_base(g.forward(images::to_tensor(&[photo], device), Some(&s)), base.as_ref());
            tiles.extend(images::from_tensor(y));
        }
    }
    image_grid(&tiles, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::changed_settings;

    #[test]
    fn resume_may_change_length_weights_and_temporal_settings_only() {
        let old = TrainConfig::default();
        assert!(changed_settings(&old, &old).is_empty());

        let mut fine_tune = old.clone();
        fine_tune.steps += 500;
        fine_tune.weights.equivariance = 1.0;
        fine_tune.temporal.max_shift = 0.05;
        assert_eq!(changed_settings(&old, &fine_tune), ["steps", "temporal", "weights"]);
        let policy = <TrainConfig as crate::run::RunConfig>::RESUME;
        let allowed = |name: &str| policy.free.contains(&name) || policy.fine_tune.iter().any(|(n, _)| *n == name);
        assert!(changed_settings(&old, &fine_tune).iter().all(|n| allowed(n)));

        let mut other_crop = old.clone();
        other_crop.crop = 128;
        assert!(!changed_settings(&old, &other_crop).iter().all(|n| allowed(n)));
        let mut other_lr = old.clone();
        other_lr.optimizer.lr_generator = 1e-3;
        assert!(!changed_settings(&old, &other_lr).iter().all(|n| allowed(n)));
    }
}
