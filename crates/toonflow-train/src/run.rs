//! A training run's folder: checkpoints written atomically, the JSONL log, sample grids.
//!
//! ```text
//! RUN/checkpoint/       weights and optimizer state (burnpack) + state.json; replaced whole
//! RUN/model.safetensors the latest generator, usable while training goes on
//! RUN/log.jsonl         one line per step
//! RUN/samples/          sample grids
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{de::DeserializeOwned, Serialize};
use toonflow_imgproc::frame::Frame;
use toonflow_model::burn;

const CHECKPOINT: &str = "checkpoint";
const STATE_FILE: &str = "state.json";
pub const LOG_FILE: &str = "log.jsonl";
pub const SAMPLES_DIR: &str = "samples";

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: damaged checkpoint: {reason}")]
    Checkpoint { path: String, reason: String },
    #[error("{0}")]
    Config(String),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io { path: path.display().to_string(), source }
}

pub struct RunDir {
    pub root: PathBuf,
}

/// A checkpoint's files: named blobs plus the loop's state.
pub struct Checkpoint<S> {
    pub blobs: Vec<(String, Vec<u8>)>,
    pub state: S,
}

impl RunDir {
    pub fn create(root: &Path) -> Result<Self, RunError> {
        std::fs::create_dir_all(root.join(SAMPLES_DIR)).map_err(io_error(root))?;
        Ok(Self { root: root.to_path_buf() })
    }

    /// Writes the checkpoint into a fresh folder, then swaps it in with renames: a kill at any
    /// moment leaves either the old or the new checkpoint complete.
    pub fn save_checkpoint<S: Serialize>(&self, checkpoint: &Checkpoint<S>) -> Result<(), RunError> {
        let partial = self.root.join(format!("{CHECKPOINT}.partial"));
        let old = self.root.join(format!("{CHECKPOINT}.old"));
        let current = self.root.join(CHECKPOINT);
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).map_err(io_error(&partial))?;
        let state = serde_json::to_vec_pretty(&checkpoint.state).expect("state serializes");
        for (name, bytes) in checkpoint.blobs.iter().map(|(n, b)| (n.as_str(), b)).chain([(STATE_FILE, &state)]) {
            let path = partial.join(name);
            let mut file = std::fs::File::create(&path).map_err(io_error(&path))?;
            file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io_error(&path))?;
        }
        let _ = std::fs::remove_dir_all(&old);
        if current.exists() {
            std::fs::rename(&current, &old).map_err(io_error(&current))?;
        }
        std::fs::rename(&partial, &current).map_err(io_error(&current))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// The last complete checkpoint, if any.
    pub fn load_checkpoint<S: DeserializeOwned>(&self, blob_names: &[&str]) -> Result<Option<Checkpoint<S>>, RunError> {
        // A kill between the two renames leaves only the old folder.
        let dir =
            [CHECKPOINT, "checkpoint.old"].iter().map(|n| self.root.join(n)).find(|d| d.join(STATE_FILE).exists());
        let Some(dir) = dir else { return Ok(None) };
        let damaged = |reason: String| RunError::Checkpoint { path: dir.display().to_string(), reason };
        let state_path = dir.join(STATE_FILE);
        let state = std::fs::read(&state_path).map_err(io_error(&state_path))?;
        let state = serde_json::from_slice(&state).map_err(|e| damaged(e.to_string()))?;
        let mut blobs = Vec::new();
        for name in blob_names {
            let path = dir.join(name);
            blobs.push((name.to_string(), std::fs::read(&path).map_err(io_error(&path))?));
        }
        Ok(Some(Checkpoint { blobs, state }))
    }

    /// Opens the log for appending, first dropping lines past `step` (they belong to progress
    /// that was lost with a kill and will be redone).
    pub fn open_log(&self, step: usize) -> Result<std::fs::File, RunError> {
        let path = self.root.join(LOG_FILE);
        let kept: String = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["step"].as_u64())
                    .is_some_and(|s| s as usize <= step)
            })
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(&path, kept).map_err(io_error(&path))?;
        std::fs::OpenOptions::new().append(true).open(&path).map_err(io_error(&path))
    }

    pub fn sample_path(&self, step: usize) -> PathBuf {
        self.root.join(SAMPLES_DIR).join(format!("step-{step:06}.png"))
    }
}

/// Builds freshly initialized networks from `seed`. burn's random generator is global to the
/// process, so seeding and initializing happen under one lock: two runs starting at once (tests
/// do) would otherwise draw from each other's sequence and lose reproducibility.
pub fn seeded_init<T>(device: &burn::tensor::Device, seed: u64, init: impl FnOnce() -> T) -> T {
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    init()
}

/// Files of a GAN checkpoint: both networks and both optimizers.
pub const GAN_BLOBS: [&str; 4] = ["generator.bpk", "discriminator.bpk", "generator-adam.bpk", "discriminator-adam.bpk"];

/// The blobs of [`GAN_BLOBS`], in order.
pub fn gan_blobs<G: Module, D: Module>(
    g: &G,
    d: &D,
    opt_g: &ModuleOptimizer,
    opt_d: &ModuleOptimizer,
) -> Vec<(String, Vec<u8>)> {
    let opt = |o: &ModuleOptimizer| o.into_bytes().expect("in-memory optimizer record").to_vec();
    let bytes = [module_bytes(g), module_bytes(d), opt(opt_g), opt(opt_d)];
    GAN_BLOBS.iter().map(|n| n.to_string()).zip(bytes).collect()
}

/// Restores optimizer state saved by [`gan_blobs`] into a freshly configured optimizer.
pub fn load_optimizer(fresh: ModuleOptimizer, bytes: &[u8], name: &str) -> Result<ModuleOptimizer, RunError> {
    fresh
        .from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| RunError::Checkpoint { path: name.into(), reason: e.to_string() })
}

pub fn module_bytes<M: Module>(module: &M) -> Vec<u8> {
    module.clone().into_record().into_bytes().expect("in-memory record").to_vec()
}

/// Loads weights (and parameter ids, so optimizer state stays attached) into `module`.
pub fn load_module_bytes<M: Module>(module: M, bytes: &[u8], name: &str) -> Result<M, RunError> {
    let damaged = |reason: String| RunError::Checkpoint { path: name.to_string(), reason };
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(|e| damaged(e.to_string()))?;
    module.try_load_record(record).map_err(|e| damaged(e.to_string()))
}

/// A grid of images (planar CHW in [-1, 1], all `side`x`side`), `columns` per row, 2 px gaps.
pub fn image_grid(images: &[Vec<f32>], side: usize, columns: usize) -> Frame {
    let rows = images.len().div_ceil(columns.max(1));
    let gap = 2;
    let (w, h) = (columns * (side + gap) + gap, rows * (side + gap) + gap);
    let mut rgb = vec![1f32; w * h * 3];
    for (i, image) in images.iter().enumerate() {
        let (x0, y0) = (gap + (i % columns) * (side + gap), gap + (i / columns) * (side + gap));
        for y in 0..side {
            for x in 0..side {
                for c in 0..3 {
                    rgb[((y0 + y) * w + x0 + x) * 3 + c] =
                        ((image[(c * side + y) * side + x] + 1.0) / 2.0).clamp(0.0, 1.0);
                }
            }
        }
    }
    Frame::from_srgb_f32(w, h, 3, &rgb)
}
