//! `toonflow gan train` / `gan sample`: the classic DCGAN on a folder of images. Subfolders that
//! hold images become classes, and the model is then conditional (one model, several classes).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use toonflow_imageio::{read_image, ReadOptions};
use toonflow_imgproc::resize::{resize_cover, ResizeFilter};
use toonflow_model::burn;
use toonflow_model::dcgan::{DcganConfig, DcganDiscriminator, DcganGenerator, DCGAN_SIZE};
use toonflow_model::loss::AdversarialLoss;
use toonflow_model::modelfile::{self, ModelInfo};

use crate::ada::{self, AdaConfig};
use crate::imageset::ImageSet;
use crate::prepare::{image_files, Dropped};
use crate::rng::Rng;
use crate::run::{
    drive, start_or_resume, Adversaries, Cadence, OnResume, OptimizerConfig, Outcome, ResumePolicy, RunConfig, RunDir,
    RunError, RunState, Trainer,
};
use crate::samples::image_grid;

/// Everything a DCGAN run is configured with (`toonflow gan train --config FILE`, JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GanConfig {
    /// The networks (the paper's sizes); `classes` is set from the image folder.
    pub model: DcganConfig,
    /// Adam for both networks, as in the paper (lr 2e-4, β1 0.5).
    pub optimizer: OptimizerConfig,
    /// Total steps; 5 000 (a few minutes on a laptop CPU at 64x64).
    pub steps: usize,
    /// Images per step; 128 in the paper, 64 here (half the memory, about as stable).
    pub batch: usize,
    /// The adversarial objective; BCE, the paper's.
    pub adversarial: AdversarialLoss,
    /// Adaptive discriminator augmentation; off for the classic recipe (`--ada` turns it on).
    pub ada: AdaConfig,
    /// Steps between sample grids; 200.
    pub sample_every: usize,
    /// Steps between checkpoints; 200.
    pub checkpoint_every: usize,
    /// Seed of a new run's initialization and noise; 1.
    pub seed: u64,
}

impl Default for GanConfig {
    fn default() -> Self {
        Self {
            model: DcganConfig::default(),
            optimizer: OptimizerConfig::default(),
            steps: 5000,
            batch: 64,
            adversarial: AdversarialLoss::Bce,
            ada: AdaConfig { enabled: false, ..AdaConfig::default() },
            sample_every: 200,
            checkpoint_every: 200,
            seed: 1,
        }
    }
}

impl GanConfig {
    /// The effective settings for `data`: conditional on its classes when it has several.
    /// Settings that cannot train are refused ([`RunError::Settings`]).
    pub fn resolve(mut self, data: &GanData) -> Result<GanConfig, RunError> {
        self.model.classes = if data.classes.len() > 1 { data.classes.len() } else { 0 };
        if self.batch == 0 {
            return Err(RunError::Settings("--batch must be at least 1".into()));
        }
        if self.steps == 0 {
            return Err(RunError::Settings("--steps must be at least 1".into()));
        }
        Ok(self)
    }
}

impl RunConfig for GanConfig {
    const RESUME: ResumePolicy = ResumePolicy { free: &["steps", "sample_every", "checkpoint_every"], fine_tune: &[] };

    fn seed(&self) -> u64 {
        self.seed
    }

    fn optimizer(&self) -> &OptimizerConfig {
        &self.optimizer
    }
}

/// One line of the DCGAN run's `log.jsonl`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GanLog {
    pub step: usize,
    pub seconds: f64,
    pub d_loss: f32,
    pub g_loss: f32,
    pub d_accuracy_real: f32,
    pub d_accuracy_fake: f32,
    pub ada_p: f32,
}

/// 64x64 images of a folder with their class labels; classes are the subfolders with images.
pub struct GanData {
    pub images: ImageSet,
    pub labels: Vec<usize>,
    pub classes: Vec<String>,
    pub dropped: Vec<Dropped>,
}

pub fn load_gan_data(dir: &Path) -> Result<GanData, RunError> {
    let files = image_files(dir)?;
    let class_of = |path: &Path| {
        let relative = path.strip_prefix(dir).unwrap_or(path);
        let mut parts = relative.components();
        let first = parts.next().map(|c| c.as_os_str().to_string_lossy().into_owned());
        if parts.next().is_some() {
            first
        } else {
            None
        }
    };
    let mut classes: Vec<String> = files.iter().filter_map(|f| class_of(f)).collect();
    classes.dedup();
    let decoded: Vec<Result<Vec<u8>, String>> = files
        .par_iter()
        .map(|path| {
            let frame = read_image(path, &ReadOptions::default()).map_err(|e| e.to_string())?;
            Ok(resize_cover(&frame, DCGAN_SIZE, DCGAN_SIZE, ResizeFilter::Area).to_srgb8(false))
        })
        .collect();
    let mut data = GanData {
        images: ImageSet::new(DCGAN_SIZE),
        labels: Vec::new(),
        classes: classes.clone(),
        dropped: Vec::new(),
    };
    for (path, result) in files.iter().zip(decoded) {
        match result {
            Ok(rgb) => {
                let label = class_of(path).and_then(|c| classes.iter().position(|k| *k == c)).unwrap_or(0);
                data.images.push(path.display().to_string(), &rgb);
                data.labels.push(label);
            }
            Err(reason) => data.dropped.push(Dropped { file: path.display().to_string(), reason }),
        }
    }
    if data.images.is_empty() {
        return Err(RunError::NoImages { path: dir.display().to_string() });
    }
    Ok(data)
}

/// The DCGAN trainer keeps no state of its own besides the run core's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct NoExtra {}

struct GanTrainer<'a> {
    nets: Adversaries<DcganGenerator, DcganDiscriminator>,
    state: RunState<GanConfig, NoExtra>,
    data: &'a GanData,
    device: &'a Device,
}

/// Trains (or resumes) a DCGAN run on `data` with `config`, resolved for the data here
/// ([`GanConfig::resolve`]). `progress` sees every step's log line.
pub fn train_gan(
    data: &GanData,
    run_dir: &Path,
    config: GanConfig,
    device: &Device,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&GanLog),
) -> Result<Outcome, RunError> {
    let config = config.resolve(data)?;
    let run = RunDir::create(run_dir)?;
    let cadence =
        Cadence { steps: config.steps, sample_every: config.sample_every, checkpoint_every: config.checkpoint_every };
    let session = start_or_resume(&run, config, &data.classes, OnResume::KeepSettings, device, |c: &GanConfig| {
        (c.model.init_generator(device), c.model.init_discriminator(device))
    })?;
    let mut trainer = GanTrainer { nets: session.nets, state: session.state, data, device };
    drive(&mut trainer, &run, &cadence, cancel, progress)
}

fn noise(rng: &mut Rng, count: usize, latent: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..count * latent).map(|_| rng.normal()).collect();
    Tensor::from_data(TensorData::new(values, [count, latent]), device)
}

fn labels_tensor(labels: Vec<i64>, device: &Device) -> Tensor<1, Int> {
    let n = labels.len();
    Tensor::from_data(TensorData::new(labels, [n]), device)
}

impl Trainer for GanTrainer<'_> {
    type Log = GanLog;

    type Config = GanConfig;
    type Extra = NoExtra;

    fn state(&mut self) -> &mut RunState<GanConfig, NoExtra> {
        &mut self.state
    }

    fn losses(log: &GanLog) -> [(&'static str, f32); 2] {
        [("generator", log.g_loss), ("discriminator", log.d_loss)]
    }

    fn step(&mut self) -> GanLog {
        let config = self.state.config.clone();
        let (b, n, device) = (config.batch, DCGAN_SIZE, self.device);
        let rng = &mut self.state.rng;
        let mut real = Vec::with_capacity(b * 3 * n * n);
        let mut labels = Vec::with_capacity(b);
        for _ in 0..b {
            let i = rng.below(self.data.images.len());
            real.extend(crate::augment::random_crop(&self.data.images, i, n, true, rng));
            labels.push(self.data.labels[i] as i64);
        }
        let real = Tensor::<4>::from_data(TensorData::new(real, [b, 3, n, n]), device);
        let labels = labels_tensor(labels, device);
        let labels = (config.model.classes > 0).then_some(&labels);
        let adv = config.adversarial;
        let p = if config.ada.enabled { self.state.ada.p } else { 0.0 };

        let z = noise(rng, b, config.model.latent, device);
        let fake = self.nets.g.forward(z, labels).detach();
        let real_logits = self.nets.d.forward(ada::augment(real, p, rng), labels);
        let fake_logits = self.nets.d.forward(ada::augment(fake, p, rng), labels);
        let d_loss = adv.d_real(real_logits.clone()) + adv.d_fake(fake_logits.clone());
        let threshold = adv.decision_threshold();
        let real_scores = toonflow_model::images::values(real_logits);
        let fake_scores = toonflow_model::images::values(fake_logits);
        let mut log = GanLog {
            d_loss: d_loss.clone().into_scalar::<f32>(),
            d_accuracy_real: real_scores.iter().filter(|&&v| v > threshold).count() as f32 / b as f32,
            d_accuracy_fake: fake_scores.iter().filter(|&&v| v < threshold).count() as f32 / b as f32,
            ada_p: p,
            seconds: self.state.seconds,
            ..Default::default()
        };
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.nets.d);
        self.nets.d = self.nets.opt_d.step(config.optimizer.lr_discriminator, self.nets.d.clone(), grads);
        self.state.ada.observe(&config.ada, &real_scores, threshold, b);

        let z = noise(&mut self.state.rng, b, config.model.latent, device);
        let fake = self.nets.g.forward(z, labels);
        let g_loss = adv.g(self.nets.d.forward(ada::augment(fake, p, &mut self.state.rng), labels));
        log.g_loss = g_loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(g_loss.backward(), &self.nets.g);
        self.nets.g = self.nets.opt_g.step(config.optimizer.lr_generator, self.nets.g.clone(), grads);
        log.step = self.state.step + 1;
        log
    }

    fn write_samples(&self, run: &RunDir) -> Result<(), RunError> {
        // Fixed noise, so successive grids show the same latent points evolving.
        let g = self.nets.g.valid();
        let grid = sample_grid(&g, &self.state.config.model, 64, None, 7, &self.device.clone().inner());
        toonflow_imageio::write_image(&grid, &run.sample_path(self.state.step))?;
        Ok(())
    }

    fn save(&self, run: &RunDir) -> Result<(), RunError> {
        run.save_checkpoint(&self.nets, &self.state)?;
        let info = ModelInfo {
            styles: self.state.names.clone(),
            training: serde_json::json!({
                "steps": self.state.step,
                "seconds": self.state.seconds.round(),
                "images": self.data.images.len(),
                "batch": self.state.config.batch,
                "adversarial": self.state.config.adversarial,
            }),
        };
        modelfile::save_dcgan(&run.model_path(), &self.nets.g.valid(), &self.state.config.model, &info)?;
        Ok(())
    }
}

/// `count` images from a generator in a square-ish grid. With classes, `class` picks one (or
/// `None` cycles through them).
pub fn sample_grid(
    g: &DcganGenerator,
    config: &DcganConfig,
    count: usize,
    class: Option<usize>,
    seed: u64,
    device: &Device,
) -> toonflow_imgproc::frame::Frame {
    let mut rng = Rng::new(seed);
    let z = noise(&mut rng, count, config.latent, device);
    let labels: Vec<i64> = (0..count).map(|i| class.unwrap_or(i % config.classes.max(1)) as i64).collect();
    let labels = labels_tensor(labels, device);
    let images = g.forward(z, (config.classes > 0).then_some(&labels));
    let columns = (count as f64).sqrt().ceil() as usize;
    image_grid(&toonflow_model::images::from_tensor(images), columns)
}
