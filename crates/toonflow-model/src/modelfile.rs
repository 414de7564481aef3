//! Self-describing model files: safetensors weights plus metadata naming the architecture, its
//! configuration, the style names and a training summary.

use std::collections::HashMap;
use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::dcgan::{DcganConfig, DcganGenerator};
use crate::generator::{Generator, GeneratorConfig};
use crate::tensorfile::{self, TensorFileError};

/// Bumped whenever a change to the networks makes older files load wrongly.
pub const ARCHITECTURE_VERSION: u32 = 1;

const KEY_KIND: &str = "toonflow.kind";
const KEY_VERSION: &str = "toonflow.architecture_version";
const KEY_CONFIG: &str = "toonflow.config";
const KEY_STYLES: &str = "toonflow.styles";
const KEY_TRAINING: &str = "toonflow.training";

/// What a model file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// Photo → comic generator.
    Generator,
    /// DCGAN generator (noise → 64x64 image).
    Dcgan,
}

impl ModelKind {
    fn tag(self) -> &'static str {
        match self {
            Self::Generator => "photo2comic-generator",
            Self::Dcgan => "dcgan-generator",
        }
    }
}

/// Everything a model file says about itself besides its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Style (or class) names, in index order.
    pub styles: Vec<String>,
    /// Free-form training summary: steps, time, data, losses.
    pub training: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error(transparent)]
    File(#[from] TensorFileError),
    #[error("{path}: not a toonflow model file (no '{KEY_KIND}' in its metadata)")]
    NotToonflow { path: String },
    #[error("{path}: holds a {found} model, expected a {expected}")]
    WrongKind { path: String, found: String, expected: String },
    #[error(
        "{path}: made for architecture version {found}, this toonflow reads version {ARCHITECTURE_VERSION}; \
         retrain it or use the toonflow release that wrote it"
    )]
    Version { path: String, found: String },
    #[error("{path}: bad metadata '{key}': {reason}")]
    Metadata { path: String, key: &'static str, reason: String },
    #[error("{path}: weights do not fit the architecture in its metadata: {reason}")]
    Weights { path: String, reason: String },
    #[error("{path}: cannot write: {source}")]
    Write { path: String, source: std::io::Error },
}

fn metadata<C: Serialize>(kind: ModelKind, config: &C, info: &ModelInfo) -> HashMap<String, String> {
    HashMap::from([
        (KEY_KIND.to_string(), kind.tag().to_string()),
        (KEY_VERSION.to_string(), ARCHITECTURE_VERSION.to_string()),
        (KEY_CONFIG.to_string(), serde_json::to_string(config).expect("config serializes")),
        (KEY_STYLES.to_string(), serde_json::to_string(&info.styles).expect("names serialize")),
        (KEY_TRAINING.to_string(), info.training.to_string()),
    ])
}

/// Writes weights and metadata to a temporary file beside `path`, then renames it into place.
fn save<M: Module, C: Serialize>(
    path: &Path,
    kind: ModelKind,
    module: &M,
    config: &C,
    info: &ModelInfo,
) -> Result<(), ModelFileError> {
    let bytes = tensorfile::to_safetensors(&tensorfile::module_tensors(module), &metadata(kind, config, info));
    crate::atomic_write(path, &bytes)
        .map_err(|source| ModelFileError::Write { path: path.display().to_string(), source })
}

fn load<M: Module, C: for<'de> Deserialize<'de>>(
    path: &Path,
    kind: ModelKind,
    init: impl FnOnce(&C) -> M,
) -> Result<(M, C, ModelInfo), ModelFileError> {
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
    let config: C = serde_json::from_str(field(KEY_CONFIG)?).map_err(|e| bad(KEY_CONFIG, e))?;
    let styles: Vec<String> = serde_json::from_str(field(KEY_STYLES)?).map_err(|e| bad(KEY_STYLES, e))?;
    let training = meta.get(KEY_TRAINING).and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
    let module = tensorfile::load_module_tensors(init(&config), &file.tensors)
        .map_err(|e| ModelFileError::Weights { path: shown.clone(), reason: e.to_string() })?;
    Ok((module, config, ModelInfo { styles, training }))
}

pub fn save_generator(
    path: &Path,
    g: &Generator,
    config: &GeneratorConfig,
    info: &ModelInfo,
) -> Result<(), ModelFileError> {
    save(path, ModelKind::Generator, g, config, info)
}

pub fn load_generator(path: &Path, device: &Device) -> Result<(Generator, GeneratorConfig, ModelInfo), ModelFileError> {
    load(path, ModelKind::Generator, |c: &GeneratorConfig| c.init(device))
}

pub fn save_dcgan(
    path: &Path,
    g: &DcganGenerator,
    config: &DcganConfig,
    info: &ModelInfo,
) -> Result<(), ModelFileError> {
    save(path, ModelKind::Dcgan, g, config, info)
}

pub fn load_dcgan(path: &Path, device: &Device) -> Result<(DcganGenerator, DcganConfig, ModelInfo), ModelFileError> {
    load(path, ModelKind::Dcgan, |c: &DcganConfig| c.init_generator(device))
}
