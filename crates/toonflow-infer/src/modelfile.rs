//! Self-describing model files: safetensors weights under their network paths, plus metadata
//! naming the kind of model, the architecture version, its configuration, the style names and
//! a training summary. This module is the format's one definition; the training crates write
//! through it and everything that runs a model reads through it.

use std::collections::HashMap;
use std::path::Path;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::tensorfile::{self, HostTensor, TensorFileError};

/// Bumped whenever a change to the networks makes older files load wrongly.
pub const ARCHITECTURE_VERSION: u32 = 1;

const KEY_KIND: &str = "toonflow.kind";
const KEY_VERSION: &str = "toonflow.architecture_version";
const KEY_CONFIG: &str = "toonflow.config";
const KEY_STYLES: &str = "toonflow.styles";
const KEY_TRAINING: &str = "toonflow.training";
const KEY_SHA256: &str = "toonflow.weights_sha256";

/// What a model file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// Photo → comic generator.
    Generator,
    /// DCGAN generator (noise → 64x64 image).
    Dcgan,
}

impl ModelKind {
    /// The tag stored in the file.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Generator => "photo2comic-generator",
            Self::Dcgan => "dcgan-generator",
        }
    }
}

/// Everything a model file says about itself besides its weights and architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Style (or class) names, in index order.
    pub styles: Vec<String>,
    /// Free-form training summary: steps, time, data, losses.
    pub training: serde_json::Value,
}

/// What can go wrong with a model file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// Not readable as safetensors.
    #[error(transparent)]
    File(#[from] TensorFileError),
    /// A safetensors file, but not one toonflow wrote.
    #[error("{path}: not a toonflow model file (no '{KEY_KIND}' in its metadata)")]
    NotToonflow {
        /// The file.
        path: String,
    },
    /// A toonflow model of another kind.
    #[error("{path}: holds a {found} model, expected a {expected}")]
    WrongKind {
        /// The file.
        path: String,
        /// The kind it holds.
        found: String,
        /// The kind asked for.
        expected: String,
    },
    /// Written for another version of the architecture.
    #[error(
        "{path}: made for architecture version {found}, this toonflow reads version {ARCHITECTURE_VERSION}; \
         retrain it or use the toonflow release that wrote it"
    )]
    Version {
        /// The file.
        path: String,
        /// The version it names.
        found: String,
    },
    /// A metadata entry is missing or malformed.
    #[error("{path}: bad metadata '{key}': {reason}")]
    Metadata {
        /// The file.
        path: String,
        /// The entry.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The tensors do not match the architecture the metadata describes.
    #[error("{path}: weights do not fit the architecture in its metadata: {reason}")]
    Weights {
        /// The file.
        path: String,
        /// The first mismatch.
        reason: String,
    },
    /// The weights are not the ones written with the file: it was damaged afterwards.
    #[error(
        "{path}: the weights do not match the checksum written with them (the file was damaged after it \
         was written); use a backup or retrain"
    )]
    Corrupt {
        /// The file.
        path: String,
    },
    /// A weight is NaN or infinite: the model diverged in training (its checksum, taken when it
    /// was written, matches), or the file was damaged before that.
    #[error("{path}: tensor '{tensor}' holds {value}: the model diverged in training, or the file is damaged")]
    NonFinite {
        /// The file.
        path: String,
        /// The first tensor (in name order) holding such a value.
        tensor: String,
        /// The value.
        value: f32,
    },
    /// The file could not be written.
    #[error("{path}: cannot write")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A model file's contents: the architecture config, what it says about itself, its tensors.
#[derive(Clone, Debug)]
pub struct ModelFile<C> {
    /// The architecture's configuration.
    pub config: C,
    /// Style names and training summary.
    pub info: ModelInfo,
    /// The weights, by network path.
    pub tensors: HashMap<String, HostTensor>,
}

/// SHA-256 of the tensors' names, shapes and values in name order (hex): what a model file's
/// metadata records, so that bytes damaged after writing are found on reading.
fn weights_sha256<'a>(tensors: impl IntoIterator<Item = (&'a String, &'a HostTensor)>) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<(&String, &HostTensor)> = tensors.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut hash = Sha256::new();
    for (name, t) in sorted {
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update((t.shape.len() as u64).to_le_bytes());
        t.shape.iter().for_each(|&d| hash.update((d as u64).to_le_bytes()));
        t.values.iter().for_each(|v| hash.update(v.to_le_bytes()));
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a model file atomically (a temporary file beside `path`, renamed when complete).
pub fn write_model_file<C: Serialize>(
    path: &Path,
    kind: ModelKind,
    config: &C,
    info: &ModelInfo,
    tensors: &[(String, HostTensor)],
) -> Result<(), ModelFileError> {
    let metadata = HashMap::from([
        (KEY_KIND.to_string(), kind.tag().to_string()),
        (KEY_VERSION.to_string(), ARCHITECTURE_VERSION.to_string()),
        (KEY_CONFIG.to_string(), serde_json::to_string(config).expect("configs are plain data")),
        (KEY_STYLES.to_string(), serde_json::to_string(&info.styles).expect("names serialize")),
        (KEY_TRAINING.to_string(), info.training.to_string()),
        (KEY_SHA256.to_string(), weights_sha256(tensors.iter().map(|(n, t)| (n, t)))),
    ]);
    let bytes = tensorfile::to_safetensors(tensors, &metadata);
    toonflow_fs::write_atomic(path, &bytes)
        .map_err(|source| ModelFileError::Write { path: path.display().to_string(), source })
}

/// Reads a model file of `kind`, checking its kind, architecture version and weights checksum
/// (files written before the checksum was recorded have none to check), refusing weights that
/// are not finite, and parsing its configuration.
pub fn read_model_file<C: DeserializeOwned>(path: &Path, kind: ModelKind) -> Result<ModelFile<C>, ModelFileError> {
    let shown = path.display().to_string();
    let file = tensorfile::read_safetensors(path)?;
    let meta = &file.metadata;
    let found = meta.get(KEY_KIND).ok_or_else(|| ModelFileError::NotToonflow { path: shown.clone() })?;
    if found != kind.tag() {
        return Err(ModelFileError::WrongKind { path: shown, found: found.clone(), expected: kind.tag().into() });
    }
    let version = meta.get(KEY_VERSION).cloned().unwrap_or_default();
    if version != ARCHITECTURE_VERSION.to_string() {
        return Err(ModelFileError::Version { path: shown, found: version });
    }
    let field = |key: &'static str| -> Result<&String, ModelFileError> {
        meta.get(key).ok_or_else(|| ModelFileError::Metadata { path: shown.clone(), key, reason: "missing".into() })
    };
    let bad = |key: &'static str, e: serde_json::Error| ModelFileError::Metadata {
        path: shown.clone(),
        key,
        reason: e.to_string(),
    };
    if let Some(recorded) = meta.get(KEY_SHA256) {
        if *recorded != weights_sha256(&file.tensors) {
            return Err(ModelFileError::Corrupt { path: shown });
        }
    }
    // Every loader (the CPU path, burn's modules) reads model files here, so one check keeps a
    // diverged model from writing black images anywhere.
    let mut names: Vec<&String> = file.tensors.keys().collect();
    names.sort();
    for name in names {
        if let Some(&value) = file.tensors[name].values.iter().find(|v| !v.is_finite()) {
            return Err(ModelFileError::NonFinite { path: shown, tensor: name.clone(), value });
        }
    }
    let config: C = serde_json::from_str(field(KEY_CONFIG)?).map_err(|e| bad(KEY_CONFIG, e))?;
    let styles: Vec<String> = serde_json::from_str(field(KEY_STYLES)?).map_err(|e| bad(KEY_STYLES, e))?;
    // The summary is informative only: a file without one still runs.
    let training = meta.get(KEY_TRAINING).and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
    Ok(ModelFile { config, info: ModelInfo { styles, training }, tensors: file.tensors })
}
