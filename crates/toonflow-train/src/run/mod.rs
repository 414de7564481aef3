//! The resumable-run core every trainer shares: the run folder, the checkpoint (networks,
//! optimizers and loop state, replaced whole), the one resume policy, and the loop that steps,
//! logs, samples, checkpoints and stops cleanly on cancel.
//!
//! ```text
//! RUN/checkpoint/       weights and optimizer state (burnpack) + state.json; replaced whole
//! RUN/model.safetensors the latest generator, usable while training goes on
//! RUN/log.jsonl         one line per step
//! RUN/samples/          sample grids
//! ```

mod checkpoint;
mod driver;
mod error;
mod optimizer;
mod resume;

use std::path::{Path, PathBuf};

pub use checkpoint::{Adversaries, RunState, CHECKPOINT_FORMAT};
pub use driver::{drive, Cadence, Outcome, Trainer};
pub(crate) use error::io_error;
pub use error::RunError;
pub use optimizer::OptimizerConfig;
pub use resume::{changed_settings, start_or_resume, OnResume, ResumePolicy, RunConfig, Session};

/// The checkpoint folder inside a run.
const CHECKPOINT: &str = "checkpoint";
/// The loop state inside a checkpoint.
const STATE_FILE: &str = "state.json";
/// One JSON line per step.
pub const LOG_FILE: &str = "log.jsonl";
/// Sample grids.
pub const SAMPLES_DIR: &str = "samples";
/// The latest generator of a run.
pub const MODEL_FILE: &str = "model.safetensors";

/// A training run's folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The folder.
    pub root: PathBuf,
}

impl RunDir {
    /// Creates the folder (and its samples folder) if needed, and removes what a killed run
    /// left half-written there (temporary files of the model, the log, the checkpoint).
    pub fn create(root: &Path) -> Result<Self, RunError> {
        std::fs::create_dir_all(root.join(SAMPLES_DIR)).map_err(io_error(root))?;
        let targets = [MODEL_FILE, LOG_FILE, CHECKPOINT].map(|name| root.join(name));
        toonflow_fs::remove_stale_temporaries(&targets);
        Ok(Self { root: root.to_path_buf() })
    }

    /// The model file.
    pub fn model_path(&self) -> PathBuf {
        self.root.join(MODEL_FILE)
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
        toonflow_fs::write_atomic(&path, kept.as_bytes()).map_err(io_error(&path))?;
        std::fs::OpenOptions::new().append(true).open(&path).map_err(io_error(&path))
    }

    /// Where the sample grid of a step goes.
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

use toonflow_model::burn;
