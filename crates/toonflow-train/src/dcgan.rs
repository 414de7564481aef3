//! `toonflow gan train` / `gan sample`: the classic DCGAN on a folder of images. Subfolders that
//! hold images become classes, and the model is then conditional (one model, several classes).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use toonflow_imageio::{read_image, ReadOptions};
use toonflow_imgproc::resize::{resize_cover, ResizeFilter};
use toonflow_model::burn;
use toonflow_model::dcgan::{DcganConfig, DcganDiscriminator, DcganGenerator, DCGAN_SIZE};
use toonflow_model::loss::AdversarialLoss;
use toonflow_model::modelfile::{self, ModelInfo};

use crate::ada::{self, AdaConfig, AdaState};
use crate::driver::{drive, Cadence, Outcome, Trainer};
use crate::imageset::ImageSet;
use crate::prepare::{image_files, Dropped};
use crate::rng::Rng;
use crate::run::{
    gan_blobs, image_grid, load_module_bytes, load_optimizer, seeded_init, Checkpoint, RunDir, RunError, GAN_BLOBS,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GanConfig {
    pub model: DcganConfig,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub beta1: f32,
    pub beta2: f32,
    pub adversarial: AdversarialLoss,
    pub ada: AdaConfig,
    pub sample_every: usize,
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl Default for GanConfig {
    fn default() -> Self {
        Self {
            model: DcganConfig::default(),
            steps: 5000,
            batch: 64,
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            adversarial: AdversarialLoss::Bce,
            ada: AdaConfig { enabled: false, ..AdaConfig::default() },
            sample_every: 200,
            checkpoint_every: 200,
            seed: 1,
        }
    }
}

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
    let files = image_files(dir).map_err(|e| RunError::Config(e.to_string()))?;
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
        return Err(RunError::Config(format!("{}: no readable images", dir.display())));
    }
    Ok(data)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct GanState {
    step: usize,
    rng: Rng,
    ada: AdaState,
    seconds: f64,
    config: GanConfig,
    classes: Vec<String>,
}

struct GanTrainer<'a> {
    g: DcganGenerator,
    d: DcganDiscriminator,
    opt_g: ModuleOptimizer,
    opt_d: ModuleOptimizer,
    state: GanState,
    data: &'a GanData,
    device: &'a Device,
}

pub const GAN_MODEL_FILE: &str = "model.safetensors";

pub fn train_gan(
    data: &GanData,
    run_dir: &Path,
    mut config: GanConfig,
    device: &Device,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&GanLog),
) -> Result<Outcome, RunError> {
    config.model.classes = if data.classes.len() > 1 { data.classes.len() } else { 0 };
    let run = RunDir::create(run_dir)?;
    let adam = |c: &GanConfig| AdamConfig::new().with_beta_1(c.beta1).with_beta_2(c.beta2).with_epsilon(1e-8).init();
    let mut trainer = match run.load_checkpoint::<GanState>(&GAN_BLOBS)? {
        Some(checkpoint) => {
            let mut state = checkpoint.state;
            let mut wanted = config.clone();
            wanted.steps = state.config.steps;
            if wanted != state.config || state.classes != data.classes {
                return Err(RunError::Config(format!(
                    "{}: the checkpoint was trained with other settings or classes; use a new run folder",
                    run.root.display()
                )));
            }
            state.config.steps = config.steps;
            let blob = |i: usize| &checkpoint.blobs[i].1;
            let g = load_module_bytes(state.config.model.init_generator(device), blob(0), GAN_BLOBS[0])?;
            let d = load_module_bytes(state.config.model.init_discriminator(device), blob(1), GAN_BLOBS[1])?;
            let optimizer = |i: usize| load_optimizer(adam(&state.config), blob(i), GAN_BLOBS[i]);
            let (opt_g, opt_d) = (optimizer(2)?, optimizer(3)?);
            GanTrainer { g, d, opt_g, opt_d, state, data, device }
        }
        None => {
            let (g, d) = seeded_init(device, config.seed, || {
                (config.model.init_generator(device), config.model.init_discriminator(device))
            });
            let state = GanState {
                step: 0,
                rng: Rng::new(config.seed),
                ada: AdaState::default(),
                seconds: 0.0,
                config: config.clone(),
                classes: data.classes.clone(),
            };
            GanTrainer { g, d, opt_g: adam(&config), opt_d: adam(&config), state, data, device }
        }
    };
    let cadence =
        Cadence { steps: config.steps, sample_every: config.sample_every, checkpoint_every: config.checkpoint_every };
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

    fn steps_done(&self) -> usize {
        self.state.step
    }

    fn step(&mut self, seconds_before: f64) -> GanLog {
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
        let fake = self.g.forward(z, labels).detach();
        let real_logits = self.d.forward(ada::augment(real, p, rng), labels);
        let fake_logits = self.d.forward(ada::augment(fake, p, rng), labels);
        let d_loss = adv.d_real(real_logits.clone()) + adv.d_fake(fake_logits.clone());
        let threshold = adv.decision_threshold();
        let real_scores = real_logits.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32");
        let fake_scores = fake_logits.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32");
        let mut log = GanLog {
            d_loss: d_loss.clone().into_scalar::<f32>(),
            d_accuracy_real: real_scores.iter().filter(|&&v| v > threshold).count() as f32 / b as f32,
            d_accuracy_fake: fake_scores.iter().filter(|&&v| v < threshold).count() as f32 / b as f32,
            ada_p: p,
            seconds: seconds_before,
            ..Default::default()
        };
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.d);
        self.d = self.opt_d.step(config.lr, self.d.clone(), grads);
        self.state.ada.observe(&config.ada, &real_scores, threshold, b);

        let z = noise(&mut self.state.rng, b, config.model.latent, device);
        let fake = self.g.forward(z, labels);
        let g_loss = adv.g(self.d.forward(ada::augment(fake, p, &mut self.state.rng), labels));
        log.g_loss = g_loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(g_loss.backward(), &self.g);
        self.g = self.opt_g.step(config.lr, self.g.clone(), grads);
        self.state.step += 1;
        log.step = self.state.step;
        log
    }

    fn seconds(&self) -> f64 {
        self.state.seconds
    }

    fn add_seconds(&mut self, seconds: f64) {
        self.state.seconds += seconds;
    }

    fn write_samples(&self, run: &RunDir) -> Result<(), RunError> {
        // Fixed noise, so successive grids show the same latent points evolving.
        let g = self.g.valid();
        let grid = sample_grid(&g, &self.state.config.model, 64, None, 7, &self.device.clone().inner());
        toonflow_imageio::write_image(&grid, &run.sample_path(self.state.step))
            .map_err(|e| RunError::Config(e.to_string()))
    }

    fn save(&self, run: &RunDir) -> Result<(), RunError> {
        let blobs = gan_blobs(&self.g, &self.d, &self.opt_g, &self.opt_d);
        run.save_checkpoint(&Checkpoint { blobs, state: self.state.clone() })?;
        let info = ModelInfo {
            styles: self.state.classes.clone(),
            training: serde_json::json!({
                "steps": self.state.step,
                "seconds": self.state.seconds.round(),
                "images": self.data.images.len(),
                "batch": self.state.config.batch,
                "adversarial": self.state.config.adversarial,
            }),
        };
        modelfile::save_dcgan(&run.root.join(GAN_MODEL_FILE), &self.g.valid(), &self.state.config.model, &info)
            .map_err(|e| RunError::Config(e.to_string()))
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
    let n = DCGAN_SIZE * DCGAN_SIZE * 3;
    let values = images.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32");
    let tiles: Vec<Vec<f32>> = values.chunks(n).map(<[f32]>::to_vec).collect();
    let columns = (count as f64).sqrt().ceil() as usize;
    image_grid(&tiles, DCGAN_SIZE, columns)
}
