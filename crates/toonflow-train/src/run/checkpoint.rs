//! A checkpoint: both networks and both optimizers as burn records, and the loop state as JSON,
//! written into a staging folder and swapped in whole (a kill at any moment leaves the old
//! checkpoint or the new one, complete).

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use toonflow_model::burn;

use super::{io_error, RunDir, RunError, CHECKPOINT, STATE_FILE};
use crate::ada::AdaState;
use crate::rng::Rng;

/// Version of the checkpoint layout; a checkpoint of another version is refused with a message.
/// 2: the shared run state with nested discriminator and optimizer settings.
pub const CHECKPOINT_FORMAT: u32 = 2;

/// Files of a checkpoint besides the state: both networks and both optimizers.
const BLOBS: [&str; 4] = ["generator.bpk", "discriminator.bpk", "generator-adam.bpk", "discriminator-adam.bpk"];

/// What a checkpoint stores besides the networks: the same for every trainer, plus the
/// trainer's own `extra` fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState<C, E> {
    /// [`CHECKPOINT_FORMAT`] of the writer.
    pub format: u32,
    /// Steps done.
    pub step: usize,
    /// Training time so far, in seconds.
    pub seconds: f64,
    /// The random generator every choice of the run is drawn from.
    pub rng: Rng,
    /// Adaptive discriminator augmentation's controller.
    pub ada: AdaState,
    /// The effective settings the run trains with.
    pub config: C,
    /// Style (or class) names, in label order.
    pub names: Vec<String>,
    /// The trainer's own state.
    #[serde(flatten)]
    pub extra: E,
}

/// A generator and a discriminator with their optimizers.
pub struct Adversaries<G, D> {
    /// The generator.
    pub g: G,
    /// The discriminator.
    pub d: D,
    /// The generator's optimizer.
    pub opt_g: ModuleOptimizer,
    /// The discriminator's optimizer.
    pub opt_d: ModuleOptimizer,
}

fn module_bytes<M: Module>(module: &M) -> Vec<u8> {
    module.clone().into_record().into_bytes().expect("an in-memory record serializes").to_vec()
}

/// Loads weights (and parameter ids, so optimizer state stays attached) into `module`.
fn load_module_bytes<M: Module>(module: M, bytes: &[u8], name: &str) -> Result<M, RunError> {
    let damaged = |reason: String| RunError::Checkpoint { path: name.to_string(), reason };
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(|e| damaged(e.to_string()))?;
    module.try_load_record(record).map_err(|e| damaged(e.to_string()))
}

/// Restores optimizer state into a freshly configured optimizer.
fn load_optimizer(fresh: ModuleOptimizer, bytes: &[u8], name: &str) -> Result<ModuleOptimizer, RunError> {
    fresh
        .from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| RunError::Checkpoint { path: name.into(), reason: e.to_string() })
}

impl<G: Module, D: Module> Adversaries<G, D> {
    fn blobs(&self) -> [Vec<u8>; 4] {
        let opt = |o: &ModuleOptimizer| o.into_bytes().expect("an in-memory optimizer record serializes").to_vec();
        [module_bytes(&self.g), module_bytes(&self.d), opt(&self.opt_g), opt(&self.opt_d)]
    }

    /// Fills freshly built networks and optimizers with a checkpoint's blobs.
    fn restore(fresh: Adversaries<G, D>, blobs: &[Vec<u8>; 4], dir: &std::path::Path) -> Result<Self, RunError> {
        let name = |i: usize| dir.join(BLOBS[i]).display().to_string();
        Ok(Self {
            g: load_module_bytes(fresh.g, &blobs[0], &name(0))?,
            d: load_module_bytes(fresh.d, &blobs[1], &name(1))?,
            opt_g: load_optimizer(fresh.opt_g, &blobs[2], &name(2))?,
            opt_d: load_optimizer(fresh.opt_d, &blobs[3], &name(3))?,
        })
    }
}

impl RunDir {
    /// Writes the checkpoint into a staging folder, then swaps it in.
    pub fn save_checkpoint<G: Module, D: Module, C: Serialize, E: Serialize>(
        &self,
        nets: &Adversaries<G, D>,
        state: &RunState<C, E>,
    ) -> Result<(), RunError> {
        let target = self.root.join(CHECKPOINT);
        let staged = toonflow_fs::StagedDir::new(&target).map_err(io_error(&target))?;
        let state = serde_json::to_vec_pretty(state).expect("run state is plain data");
        for (name, bytes) in BLOBS.iter().zip(nets.blobs().iter()).chain([(&STATE_FILE, &state)]) {
            staged.write_file(name, bytes).map_err(io_error(&staged.path().join(name)))?;
        }
        staged.commit().map_err(io_error(&target))
    }

    /// The last complete checkpoint, if there is one.
    pub(super) fn load_checkpoint<C: DeserializeOwned, E: DeserializeOwned>(
        &self,
    ) -> Result<Option<StoredCheckpoint<C, E>>, RunError> {
        let Some(dir) = toonflow_fs::committed_dir(&self.root.join(CHECKPOINT)) else { return Ok(None) };
        let state_path = dir.join(STATE_FILE);
        if !state_path.exists() {
            return Ok(None);
        }
        let damaged = |reason: String| RunError::Checkpoint { path: state_path.display().to_string(), reason };
        let text = std::fs::read(&state_path).map_err(io_error(&state_path))?;
        let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| damaged(e.to_string()))?;
        let format = value.get("format").and_then(|f| f.as_u64()).unwrap_or(1);
        if format != CHECKPOINT_FORMAT as u64 {
            return Err(RunError::Resume(format!(
                "{}: the checkpoint has format {format}, this toonflow reads format {CHECKPOINT_FORMAT}; finish the \
                 run with the toonflow that started it, or start a new run folder (its model.safetensors still works)",
                self.root.display()
            )));
        }
        let state = serde_json::from_value(value).map_err(|e| damaged(e.to_string()))?;
        let mut blobs: [Vec<u8>; 4] = Default::default();
        for (blob, name) in blobs.iter_mut().zip(BLOBS) {
            let path = dir.join(name);
            *blob = std::fs::read(&path).map_err(io_error(&path))?;
        }
        Ok(Some(StoredCheckpoint { state, nets: StoredNets { blobs, dir } }))
    }
}

/// A checkpoint read back.
pub(super) struct StoredCheckpoint<C, E> {
    pub state: RunState<C, E>,
    pub nets: StoredNets,
}

/// A checkpoint's networks' and optimizers' bytes.
pub(super) struct StoredNets {
    blobs: [Vec<u8>; 4],
    dir: std::path::PathBuf,
}

impl StoredNets {
    /// Fills freshly built networks and optimizers with the checkpoint's.
    pub fn restore<G: Module, D: Module>(&self, fresh: Adversaries<G, D>) -> Result<Adversaries<G, D>, RunError> {
        Adversaries::restore(fresh, &self.blobs, &self.dir)
    }
}
