//! Training the photo-to-comic generator: a content-only warm-up, then alternating
//! discriminator and generator steps with the AnimeGAN family of losses, adaptive
//! discriminator augmentation, an adaptive adversarial weight and optional temporal
//! regularization. Resumable: a checkpoint holds weights, optimizer state, step and RNG.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use toonflow_model::burn;
use toonflow_model::discriminator::{DiscriminatorConfig, PatchDiscriminator};
use toonflow_model::generator::{Generator, GeneratorConfig};
use toonflow_model::loss::{self, AdversarialLoss, LossWeights};
use toonflow_model::modelfile::{self, ModelInfo};
use toonflow_model::vgg::Vgg16;

use crate::ada::{self, AdaConfig, AdaState};
use crate::augment::{augment_photo, random_crop, PhotoAugment};
use crate::driver::{drive, Cadence, Outcome, Trainer};
use crate::imageset::ImageSet;
use crate::prepare::{DatasetInfo, DATASET_FILE, TRAIN_PHOTOS_FILE, VALIDATION_PHOTOS_FILE};
use crate::rng::Rng;
use crate::run::{
    gan_blobs, image_grid, io_error, load_module_bytes, load_optimizer, seeded_init, Checkpoint, RunDir, RunError,
    GAN_BLOBS,
};

/// What the content and style losses compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureNet {
    /// VGG16 block4_conv3 activations (the recipe; needs scripts/fetch-vgg16.sh).
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
#[serde(default)]
pub struct AdaptiveWeightConfig {
    pub enabled: bool,
    /// D's balanced accuracy that the control aims for.
    pub target_accuracy: f32,
    pub rate: f32,
    pub min: f32,
    pub max: f32,
}

impl Default for AdaptiveWeightConfig {
    fn default() -> Self {
        Self { enabled: true, target_accuracy: 0.7, rate: 0.05, min: 0.2, max: 3.0 }
    }
}

/// Temporal regularization for video-ready generators.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemporalRegConfig {
    /// Largest shift (fraction of the crop side), rotation (degrees) and zoom change of T.
    pub max_shift: f32,
    pub max_rotation: f32,
    pub max_zoom: f32,
    /// Standard deviation of the noise of the robustness term, in [-1, 1] units.
    pub noise: f32,
}

impl Default for TemporalRegConfig {
    fn default() -> Self {
        Self { max_shift: 0.03, max_rotation: 3.0, max_zoom: 0.05, noise: 0.03 }
    }
}

/// Everything a training run is configured with (`toonflow train --config FILE`, JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub generator: GeneratorConfig,
    pub discriminator_channels: usize,
    pub steps: usize,
    /// Generator-only steps on the content loss before adversarial training.
    pub warmup_steps: usize,
    pub batch: usize,
    /// Side of the training crops (at most the prepared size).
    pub crop: usize,
    pub lr_generator: f64,
    pub lr_discriminator: f64,
    pub beta1: f32,
    pub beta2: f32,
    pub adversarial: AdversarialLoss,
    pub weights: LossWeights,
    pub features: FeatureNet,
    pub ada: AdaConfig,
    pub adaptive_weight: AdaptiveWeightConfig,
    pub temporal: TemporalRegConfig,
    pub photo_augment: PhotoAugment,
    pub sample_every: usize,
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            generator: GeneratorConfig::default(),
            discriminator_channels: 32,
            steps: 10_000,
            warmup_steps: 300,
            batch: 4,
            crop: 256,
            lr_generator: 2e-4,
            lr_discriminator: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            adversarial: AdversarialLoss::Lsgan,
            weights: LossWeights::default(),
            features: FeatureNet::Vgg16,
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

/// One line of `log.jsonl`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    pub step: usize,
    pub phase: String,
    /// Training time of the run when this step began.
    pub seconds: f64,
    pub g_total: f32,
    pub content: f32,
    pub style: f32,
    pub color: f32,
    pub total_variation: f32,
    pub g_adversarial: f32,
    pub equivariance: f32,
    pub noise_robustness: f32,
    pub d_total: f32,
    /// Fraction of real patches D calls real and generated patches it calls fake.
    pub d_accuracy_real: f32,
    pub d_accuracy_fake: f32,
    pub ada_p: f32,
    pub ada_rt: f32,
    pub adversarial_weight: f32,
}

/// The loop state a checkpoint stores besides weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LoopState {
    step: usize,
    rng: Rng,
    ada: AdaState,
    adversarial_k: f32,
    seconds: f64,
    config: TrainConfig,
    styles: Vec<String>,
}

pub const MODEL_FILE: &str = "model.safetensors";

struct Data {
    photos: ImageSet,
    validation: ImageSet,
    styles: Vec<(ImageSet, ImageSet)>,
    names: Vec<String>,
}

fn load_data(dir: &Path) -> Result<Data, RunError> {
    let info_path = dir.join(DATASET_FILE);
    let text = std::fs::read_to_string(&info_path).map_err(io_error(&info_path))?;
    let info: DatasetInfo = serde_json::from_str(&text)
        .map_err(|e| RunError::Config(format!("{}: not a prepared dataset: {e}", info_path.display())))?;
    let read = |name: &str| ImageSet::read(&dir.join(name)).map_err(|e| RunError::Config(e.to_string()));
    let mut styles = Vec::new();
    for style in &info.styles {
        styles.push((read(&style.file)?, read(&style.smoothed_file)?));
    }
    if styles.is_empty() {
        return Err(RunError::Config(format!("{}: the dataset has no style images", dir.display())));
    }
    Ok(Data {
        photos: read(TRAIN_PHOTOS_FILE)?,
        validation: read(VALIDATION_PHOTOS_FILE)?,
        styles,
        names: info.styles.iter().map(|s| s.name.clone()).collect(),
    })
}

/// The models, optimizers and state of a run, wherever it started.
struct PhotoTrainer {
    g: Generator,
    d: PatchDiscriminator,
    opt_g: ModuleOptimizer,
    opt_d: ModuleOptimizer,
    state: LoopState,
}

/// What a resumed run may change besides its length and cadence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnResume {
    /// Nothing else: a forgotten flag must not silently change a run.
    KeepSettings,
    /// Loss weights and temporal settings too (fine-tuning, e.g. for video); the change is logged.
    FineTune,
}

/// Trains (or resumes) a run. `progress` sees every step's log line.
pub fn train(
    data_dir: &Path,
    run_dir: &Path,
    mut config: TrainConfig,
    on_resume: OnResume,
    device: &Device,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&StepLog),
) -> Result<Outcome, RunError> {
    let data = load_data(data_dir)?;
    config.generator.styles = data.names.len();
    config.crop = config.crop.min(data.photos.size);
    let run = RunDir::create(run_dir)?;
    let trainer = start_or_resume(&run, config, on_resume, &data, device)?;
    let config = trainer.state.config.clone();
    let vgg = match config.features {
        FeatureNet::Vgg16 => Some(Vgg16::load(device).map_err(|e| RunError::Config(e.to_string()))?),
        FeatureNet::Pixels => None,
    };
    let mut job = Job { trainer, data: &data, vgg: vgg.as_ref(), device };
    let cadence =
        Cadence { steps: config.steps, sample_every: config.sample_every, checkpoint_every: config.checkpoint_every };
    drive(&mut job, &run, &cadence, cancel, progress)
}

/// A trainer with what its steps read: data, the feature network, the device.
struct Job<'a> {
    trainer: PhotoTrainer,
    data: &'a Data,
    vgg: Option<&'a Vgg16>,
    device: &'a Device,
}

impl Trainer for Job<'_> {
    type Log = StepLog;

    fn steps_done(&self) -> usize {
        self.trainer.state.step
    }

    fn step(&mut self, seconds_before: f64) -> StepLog {
        let mut entry = self.trainer.step(self.data, self.vgg, self.device);
        self.trainer.state.step += 1;
        entry.step = self.trainer.state.step;
        entry.seconds = seconds_before;
        entry
    }

    fn seconds(&self) -> f64 {
        self.trainer.state.seconds
    }

    fn add_seconds(&mut self, seconds: f64) {
        self.trainer.state.seconds += seconds;
    }

    fn write_samples(&self, run: &RunDir) -> Result<(), RunError> {
        write_samples(run, &self.trainer.g, self.data, self.trainer.state.step, self.device)
    }

    fn save(&self, run: &RunDir) -> Result<(), RunError> {
        save(run, &self.trainer, self.data)
    }
}

fn adam(config: &TrainConfig) -> ModuleOptimizer {
    AdamConfig::new().with_beta_1(config.beta1).with_beta_2(config.beta2).with_epsilon(1e-8).init()
}

fn start_or_resume(
    run: &RunDir,
    config: TrainConfig,
    on_resume: OnResume,
    data: &Data,
    device: &Device,
) -> Result<PhotoTrainer, RunError> {
    let init = |c: &TrainConfig| {
        let d = DiscriminatorConfig { base_channels: c.discriminator_channels, styles: c.generator.styles };
        (c.generator.init(device), d.init(device))
    };
    match run.load_checkpoint::<LoopState>(&GAN_BLOBS)? {
        Some(checkpoint) => {
            let mut state = checkpoint.state;
            let Some(changed) = resumable_with(&state.config, &config).filter(|_| state.styles == data.names) else {
                return Err(RunError::Config(format!(
                    "{}: the checkpoint was trained with other settings or styles; use a new run folder \
                     (or the same settings) to resume",
                    run.root.display()
                )));
            };
            let tuned: Vec<&str> = changed.into_iter().filter(|&name| FINE_TUNING.contains(&name)).collect();
            if !tuned.is_empty() {
                if on_resume != OnResume::FineTune {
                    return Err(RunError::Config(format!(
                        "{}: the checkpoint was trained with other {}; resume with the same settings, or \
                         pass --fine-tune to go on with the new ones",
                        run.root.display(),
                        tuned.join(" and ").replace("weights", "loss weights").replace("temporal", "temporal settings")
                    )));
                }
                tracing::warn!(step = state.step, changed = ?tuned, "fine-tuning: resuming with changed settings");
            }
            state.config = config;
            let (g, d) = init(&state.config);
            let blob = |i: usize| &checkpoint.blobs[i].1;
            let g = load_module_bytes(g, blob(0), GAN_BLOBS[0])?;
            let d = load_module_bytes(d, blob(1), GAN_BLOBS[1])?;
            let optimizer = |i: usize| load_optimizer(adam(&state.config), blob(i), GAN_BLOBS[i]);
            let (opt_g, opt_d) = (optimizer(2)?, optimizer(3)?);
            tracing::info!(step = state.step, "resuming from checkpoint");
            Ok(PhotoTrainer { g, d, opt_g, opt_d, state })
        }
        None => {
            let (g, d) = seeded_init(device, config.seed, || init(&config));
            let state = LoopState {
                step: 0,
                rng: Rng::new(config.seed),
                ada: AdaState::default(),
                adversarial_k: 1.0,
                seconds: 0.0,
                styles: data.names.clone(),
                config: config.clone(),
            };
            Ok(PhotoTrainer { opt_g: adam(&config), opt_d: adam(&config), g, d, state })
        }
    }
}

/// The settings that only [`OnResume::FineTune`] may change.
const FINE_TUNING: [&str; 2] = ["weights", "temporal"];

/// Whether a checkpoint trained with `old` may go on with `new`, and if so which settings change.
/// Length, loss weights, temporal regularization and cadence may change on resume (fine-tuning a
/// model for video, say); anything that shapes the models, the data pipeline or the optimizer may
/// not, because the checkpoint would no longer describe the run.
fn resumable_with(old: &TrainConfig, new: &TrainConfig) -> Option<Vec<&'static str>> {
    let mut structural = new.clone();
    structural.steps = old.steps;
    structural.weights = old.weights.clone();
    structural.temporal = old.temporal.clone();
    structural.sample_every = old.sample_every;
    structural.checkpoint_every = old.checkpoint_every;
    if structural != *old {
        return None;
    }
    let changes = [
        ("steps", old.steps != new.steps),
        ("weights", old.weights != new.weights),
        ("temporal", old.temporal != new.temporal),
        ("sample_every", old.sample_every != new.sample_every),
        ("checkpoint_every", old.checkpoint_every != new.checkpoint_every),
    ];
    Some(changes.into_iter().filter(|(_, changed)| *changed).map(|(name, _)| name).collect())
}

fn save(run: &RunDir, trainer: &PhotoTrainer, data: &Data) -> Result<(), RunError> {
    let blobs = gan_blobs(&trainer.g, &trainer.d, &trainer.opt_g, &trainer.opt_d);
    run.save_checkpoint(&Checkpoint { blobs, state: trainer.state.clone() })?;
    let state = &trainer.state;
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
    let path = run.root.join(MODEL_FILE);
    modelfile::save_generator(&path, &trainer.g.valid(), &state.config.generator, &info)
        .map_err(|e| RunError::Config(e.to_string()))
}

/// Validation photos through the generator: a row of photos over a row of results per style.
fn write_samples(run: &RunDir, g: &Generator, data: &Data, step: usize, device: &Device) -> Result<(), RunError> {
    let set = if data.validation.is_empty() { &data.photos } else { &data.validation };
    let count = set.len().min(4);
    let side = set.size;
    let g = g.valid();
    let inner = device.clone().inner();
    let photos: Vec<Vec<f32>> = (0..count).map(|i| to_planar(set.image(i))).collect();
    let mut tiles = photos.clone();
    for style in 0..data.names.len() {
        for photo in &photos {
            let x = Tensor::<4>::from_data(TensorData::new(photo.clone(), [1, 3, side, side]), &inner);
            let s = Tensor::<1, Int>::from_data(TensorData::new(vec![style as i64], [1]), &inner);
            let y = g.forward(x, Some(&s));
            tiles.push(y.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32"));
        }
    }
    let path = run.sample_path(step);
    toonflow_imageio::write_image(&image_grid(&tiles, side, count), &path).map_err(|e| RunError::Config(e.to_string()))
}

fn to_planar(rgb: &[u8]) -> Vec<f32> {
    let n = rgb.len() / 3;
    let mut out = vec![0f32; rgb.len()];
    for i in 0..n {
        for c in 0..3 {
            out[c * n + i] = rgb[i * 3 + c] as f32 / 127.5 - 1.0;
        }
    }
    out
}

fn scalar(t: &Tensor<1>) -> f32 {
    t.clone().into_scalar::<f32>()
}

fn host(t: Tensor<4>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32")
}

/// One batch: augmented photos, and style images with their smoothed copies, per item style.
struct Batch {
    photos: Tensor<4>,
    style: Tensor<4>,
    smoothed: Tensor<4>,
    labels: Tensor<1, Int>,
}

impl PhotoTrainer {
    fn batch(&mut self, data: &Data, device: &Device) -> Batch {
        let config = &self.state.config;
        let (b, crop) = (config.batch, config.crop);
        let rng = &mut self.state.rng;
        let mut photos = Vec::with_capacity(b * 3 * crop * crop);
        let (mut style, mut smoothed, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..b {
            let mut p = random_crop(&data.photos, rng.below(data.photos.len()), crop, config.photo_augment.flip, rng);
            augment_photo(&mut p, crop, &config.photo_augment, rng);
            photos.extend(p);
            let label = rng.below(data.styles.len());
            let (set, smooth) = &data.styles[label];
            let index = rng.below(set.len());
            // The same crop of the style image and of its smoothed copy.
            let mut twin = rng.clone();
            style.extend(random_crop(set, index, crop, true, rng));
            smoothed.extend(random_crop(smooth, index, crop, true, &mut twin));
            labels.push(label as i64);
        }
        let tensor = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [b, 3, crop, crop]), device);
        Batch {
            photos: tensor(photos),
            style: tensor(style),
            smoothed: tensor(smoothed),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
        }
    }

    fn step(&mut self, data: &Data, vgg: Option<&Vgg16>, device: &Device) -> StepLog {
        let batch = self.batch(data, device);
        let config = self.state.config.clone();
        let w = &config.weights;
        let features = |x: Tensor<4>| match vgg {
            Some(vgg) => vgg.forward(x),
            None => x,
        };
        let labels = Some(&batch.labels);
        let mut log =
            StepLog { ada_p: self.state.ada.p, adversarial_weight: self.state.adversarial_k, ..Default::default() };

        if self.state.step < config.warmup_steps {
            log.phase = "warmup".into();
            let fake = self.g.forward(batch.photos.clone(), labels);
            let content = (features(fake) - features(batch.photos).detach()).abs().mean() * w.content as f64;
            log.content = scalar(&content);
            log.g_total = log.content;
            let grads = GradientsParams::from_grads(content.backward(), &self.g);
            self.g = self.opt_g.step(config.lr_generator, self.g.clone(), grads);
            return log;
        }
        log.phase = "adversarial".into();
        let adv = config.adversarial;
        let p = if config.ada.enabled { self.state.ada.p } else { 0.0 };

        // One generator pass serves both steps: D sees it detached, and G's weights do not
        // change before its own step.
        let fake = self.g.forward(batch.photos.clone(), labels);

        // Discriminator step.
        self.d = self.d.clone().power_iteration();
        let rng = &mut self.state.rng;
        let real_logits = self.d.forward(ada::augment(batch.style.clone(), p, rng), labels);
        let fake_logits = self.d.forward(ada::augment(fake.clone().detach(), p, rng), labels);
        let grey_logits = self.d.forward(ada::augment(loss::grayscale(batch.style.clone()), p, rng), labels);
        let smooth_logits = self.d.forward(ada::augment(batch.smoothed.clone(), p, rng), labels);
        let d_loss = adv.d_real(real_logits.clone())
            + adv.d_fake(fake_logits.clone())
            + adv.d_fake(grey_logits) * w.grayscale as f64
            + adv.d_fake(smooth_logits) * w.edge_smoothed as f64;
        log.d_total = scalar(&d_loss);
        let real = host(real_logits);
        let fake_scores = host(fake_logits);
        let threshold = adv.decision_threshold();
        log.d_accuracy_real = real.iter().filter(|&&v| v > threshold).count() as f32 / real.len() as f32;
        log.d_accuracy_fake = fake_scores.iter().filter(|&&v| v < threshold).count() as f32 / fake_scores.len() as f32;
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.d);
        self.d = self.opt_d.step(config.lr_discriminator, self.d.clone(), grads);
        self.state.ada.observe(&config.ada, &real, threshold, config.batch);
        log.ada_rt = self.state.ada.rt;

        // Generator step.
        let k = self.state.adversarial_k;
        let g_adv = adv.g(self.d.forward(ada::augment(fake.clone(), p, &mut self.state.rng), labels))
            * (w.adversarial * k) as f64;
        let photo_features = features(batch.photos.clone()).detach();
        let fake_grey_features = features(loss::grayscale(fake.clone()));
        let style_grey_features = features(loss::grayscale(batch.style.clone())).detach();
        let content = (features(fake.clone()) - photo_features).abs().mean() * w.content as f64;
        let style = loss::style_loss(fake_grey_features, style_grey_features) * w.style as f64;
        let color = loss::color_loss(batch.photos.clone(), fake.clone()) * w.color as f64;
        let tv = loss::total_variation(fake.clone()) * w.total_variation as f64;
        let mut total = g_adv.clone() + content.clone() + style.clone() + color.clone() + tv.clone();
        if w.equivariance > 0.0 {
            let eq = self.equivariance_loss(&batch.photos, &fake, labels, device) * w.equivariance as f64;
            log.equivariance = scalar(&eq);
            total = total + eq;
        }
        if w.noise_robustness > 0.0 {
            let noisy = self.noise_robustness_loss(&batch.photos, &fake, labels, device) * w.noise_robustness as f64;
            log.noise_robustness = scalar(&noisy);
            total = total + noisy;
        }
        log.g_adversarial = scalar(&g_adv);
        log.content = scalar(&content);
        log.style = scalar(&style);
        log.color = scalar(&color);
        log.total_variation = scalar(&tv);
        log.g_total = scalar(&total);
        let grads = GradientsParams::from_grads(total.backward(), &self.g);
        self.g = self.opt_g.step(config.lr_generator, self.g.clone(), grads);

        let aw = &config.adaptive_weight;
        if aw.enabled {
            let balanced = (log.d_accuracy_real + log.d_accuracy_fake) / 2.0;
            let k = self.state.adversarial_k * (aw.rate * (balanced - aw.target_accuracy)).exp();
            self.state.adversarial_k = k.clamp(aw.min, aw.max);
        }
        log
    }

    /// |G(T(x)) − T(G(x))| for a random small similarity transform T, away from the borders
    /// (where T brings in padding).
    fn equivariance_loss(
        &mut self,
        x: &Tensor<4>,
        gx: &Tensor<4>,
        labels: Option<&Tensor<1, Int>>,
        device: &Device,
    ) -> Tensor<1> {
        let [b, _, h, w] = x.dims();
        let t = &self.state.config.temporal;
        let rng = &mut self.state.rng;
        let mut grid = Vec::with_capacity(b * h * w * 2);
        for _ in 0..b {
            let angle = rng.range(-t.max_rotation, t.max_rotation).to_radians();
            let zoom = 1.0 + rng.range(-t.max_zoom, t.max_zoom);
            let (dx, dy) = (2.0 * rng.range(-t.max_shift, t.max_shift), 2.0 * rng.range(-t.max_shift, t.max_shift));
            let (sin, cos) = angle.sin_cos();
            for y in 0..h {
                for x in 0..w {
                    // Normalized coordinates of pixel centres (align_corners = false).
                    let (u, v) = ((2 * x + 1) as f32 / w as f32 - 1.0, (2 * y + 1) as f32 / h as f32 - 1.0);
                    grid.push((cos * u - sin * v) / zoom + dx);
                    grid.push((sin * u + cos * v) / zoom + dy);
                }
            }
        }
        let grid = Tensor::<4>::from_data(TensorData::new(grid, [b, h, w, 2]), device);
        let options =
            GridSampleOptions::new(InterpolateMode::Bilinear).with_padding_mode(GridSamplePaddingMode::Border);
        let warp = |img: Tensor<4>| img.grid_sample_2d(grid.clone(), options.clone());
        let lhs = self.g.forward(warp(x.clone()), labels);
        let rhs = warp(gx.clone());
        let (my, mx) = (h / 8, w / 8);
        (lhs - rhs).slice([0..b, 0..3, my..h - my, mx..w - mx]).abs().mean()
    }

    /// |G(x + n) − G(x)| for Gaussian noise n.
    fn noise_robustness_loss(
        &mut self,
        x: &Tensor<4>,
        gx: &Tensor<4>,
        labels: Option<&Tensor<1, Int>>,
        device: &Device,
    ) -> Tensor<1> {
        let dims = x.dims();
        let sigma = self.state.config.temporal.noise;
        let rng = &mut self.state.rng;
        let noise: Vec<f32> = (0..dims.iter().product::<usize>()).map(|_| sigma * rng.normal()).collect();
        let noisy = x.clone() + Tensor::<4>::from_data(TensorData::new(noise, dims), device);
        (self.g.forward(noisy, labels) - gx.clone()).abs().mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_may_change_length_weights_and_temporal_settings_only() {
        let old = TrainConfig::default();
        assert_eq!(resumable_with(&old, &old), Some(vec![]));

        let mut fine_tune = old.clone();
        fine_tune.steps += 500;
        fine_tune.weights.equivariance = 1.0;
        fine_tune.temporal.max_shift = 0.05;
        assert_eq!(resumable_with(&old, &fine_tune), Some(vec!["steps", "weights", "temporal"]));

        let mut other_crop = old.clone();
        other_crop.crop = 128;
        assert_eq!(resumable_with(&old, &other_crop), None);
        let mut other_lr = old.clone();
        other_lr.lr_generator = 1e-3;
        assert_eq!(resumable_with(&old, &other_lr), None);
    }
}
