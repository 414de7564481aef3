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
/// The SHA-256 of every other file of the checkpoint, written last: bytes damaged after writing
/// (a disk, a copy) are found on resuming instead of training on garbage.
const CHECKSUMS_FILE: &str = "sha256.json";

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

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
        let mut checksums = std::collections::BTreeMap::new();
        for (name, bytes) in BLOBS.iter().zip(nets.blobs().iter()).chain([(&STATE_FILE, &state)]) {
            staged.write_file(name, bytes).map_err(io_error(&staged.path().join(name)))?;
            checksums.insert(name.to_string(), sha256_hex(bytes));
        }
        let checksums = serde_json::to_vec_pretty(&checksums).expect("names and hashes");
        staged.write_file(CHECKSUMS_FILE, &checksums).map_err(io_error(&staged.path().join(CHECKSUMS_FILE)))?;
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
        let checksums_path = dir.join(CHECKSUMS_FILE);
        let checksums = std::fs::read(&checksums_path).map_err(io_error(&checksums_path))?;
        let checksums: std::collections::BTreeMap<String, String> = serde_json::from_slice(&checksums)
            .map_err(|e| RunError::Checkpoint { path: checksums_path.display().to_string(), reason: e.to_string() })?;
        let verify = |name: &str, bytes: &[u8]| {
            if checksums.get(name).is_some_and(|h| *h == sha256_hex(bytes)) {
                Ok(())
            } else {
                Err(RunError::Checkpoint {
                    path: dir.join(name).display().to_string(),
                    reason: "its bytes do not match the checksum written with it (damaged after it was written)".into(),
                })
            }
        };
        verify(STATE_FILE, &text)?;
        let state = serde_json::from_value(value).map_err(|e| damaged(e.to_string()))?;
        let mut blobs: [Vec<u8>; 4] = Default::default();
        for (blob, name) in blobs.iter_mut().zip(BLOBS) {
            let path = dir.join(name);
            *blob = std::fs::read(&path).map_err(io_error(&path))?;
            verify(name, blob)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use burn::tensor::Device;
    use proptest::prelude::*;
    use toonflow_model::dcgan::DcganConfig;

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct NoExtra {}

    /// A saved checkpoint of a small DCGAN (its networks and fresh optimizers).
    fn saved_run() -> (tempfile::TempDir, RunDir) {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(&root.path().join("run")).unwrap();
        let config = DcganConfig { latent: 8, generator_channels: 4, discriminator_channels: 4, classes: 0 };
        let device = Device::flex();
        let nets = Adversaries {
            g: config.init_generator(&device),
            d: config.init_discriminator(&device),
            opt_g: super::super::OptimizerConfig::default().adam(),
            opt_d: super::super::OptimizerConfig::default().adam(),
        };
        let state = RunState {
            format: CHECKPOINT_FORMAT,
            step: 3,
            seconds: 1.5,
            rng: Rng::new(7),
            ada: AdaState::default(),
            config: serde_json::json!({"seed": 7}),
            names: vec!["a".into()],
            extra: NoExtra {},
        };
        run.save_checkpoint(&nets, &state).unwrap();
        (root, run)
    }

    fn checkpoint_files(run: &RunDir) -> Vec<std::path::PathBuf> {
        let dir = toonflow_fs::committed_dir(&run.root.join(CHECKPOINT)).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }

    #[test]
    fn a_saved_checkpoint_loads_back() {
        let (_root, run) = saved_run();
        let stored = run.load_checkpoint::<serde_json::Value, NoExtra>().unwrap().unwrap();
        assert_eq!((stored.state.step, stored.state.names.as_slice()), (3, ["a".to_string()].as_slice()));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Any byte of any checkpoint file changed in place (the size kept, as a failing disk
        /// or copy does): loading refuses the checkpoint with a message naming a file of it,
        /// and never panics.
        #[test]
        fn a_checkpoint_with_any_byte_changed_is_refused(file in 0usize..6, at in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let (_root, run) = saved_run();
            let files = checkpoint_files(&run);
            let path = &files[file % files.len()];
            let mut bytes = std::fs::read(path).unwrap();
            let i = at.index(bytes.len());
            bytes[i] ^= flip;
            std::fs::write(path, &bytes).unwrap();
            match run.load_checkpoint::<serde_json::Value, NoExtra>() {
                Err(RunError::Checkpoint { path: named, .. }) => prop_assert!(named.contains("checkpoint")),
                // A changed format number is refused as another version, naming the run.
                Err(RunError::Resume(message)) => prop_assert!(message.contains("format")),
                other => prop_assert!(false, "{}: byte {i} changed, loaded: {:?}", path.display(), other.map(|_| ())),
            }
        }

        /// The record decoders themselves, given damaged bytes that pass the checksum (a buggy
        /// writer): an error or a module, never a panic.
        #[test]
        fn damaged_network_bytes_are_errors_not_panics(blob in 0usize..4, at in any::<prop::sample::Index>(), flip in 1u8..=255, cut in any::<bool>()) {
            let (_root, run) = saved_run();
            let dir = toonflow_fs::committed_dir(&run.root.join(CHECKPOINT)).unwrap();
            let mut bytes = std::fs::read(dir.join(BLOBS[blob])).unwrap();
            let i = at.index(bytes.len());
            if cut { bytes.truncate(i) } else { bytes[i] ^= flip }
            let config = DcganConfig { latent: 8, generator_channels: 4, discriminator_channels: 4, classes: 0 };
            let device = Device::flex();
            let name = BLOBS[blob];
            let _ = match blob {
                0 => load_module_bytes(config.init_generator(&device), &bytes, name).map(|_| ()),
                1 => load_module_bytes(config.init_discriminator(&device), &bytes, name).map(|_| ()),
                _ => load_optimizer(super::super::OptimizerConfig::default().adam(), &bytes, name).map(|_| ()),
            };
        }
    }
}
