//! Saving and loading the burn modules as model files. The format itself (metadata, versions,
//! errors) is [`toonflow_infer::modelfile`]'s; this adds the modules' tensors.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use serde::{de::DeserializeOwned, Serialize};
use toonflow_infer::modelfile::{read_model_file, write_model_file, ModelKind};
pub use toonflow_infer::modelfile::{ModelFileError, ModelInfo};

use crate::dcgan::{DcganConfig, DcganGenerator};
use crate::generator::{Generator, GeneratorConfig};
use crate::module_io::{load_module_tensors, module_tensors};

fn save<M: Module, C: Serialize>(
    path: &Path,
    kind: ModelKind,
    module: &M,
    config: &C,
    info: &ModelInfo,
) -> Result<(), ModelFileError> {
    write_model_file(path, kind, config, info, &module_tensors(module))
}

fn load<M: Module, C: DeserializeOwned>(
    path: &Path,
    kind: ModelKind,
    init: impl FnOnce(&C) -> Result<M, String>,
) -> Result<(M, C, ModelInfo), ModelFileError> {
    let file = read_model_file::<C>(path, kind)?;
    let module = init(&file.config)
        .and_then(|module| load_module_tensors(module, &file.tensors))
        .map_err(|reason| ModelFileError::Weights { path: path.display().to_string(), reason })?;
    Ok((module, file.config, file.info))
}

/// Writes a generator's model file (atomically).
pub fn save_generator(
    path: &Path,
    g: &Generator,
    config: &GeneratorConfig,
    info: &ModelInfo,
) -> Result<(), ModelFileError> {
    save(path, ModelKind::Generator, g, config, info)
}

/// Reads a generator's model file onto a device.
pub fn load_generator(path: &Path, device: &Device) -> Result<(Generator, GeneratorConfig, ModelInfo), ModelFileError> {
    load(path, ModelKind::Generator, |c: &GeneratorConfig| c.check().map(|()| Generator::new(c, device)))
}

/// Writes a DCGAN generator's model file (atomically).
pub fn save_dcgan(
    path: &Path,
    g: &DcganGenerator,
    config: &DcganConfig,
    info: &ModelInfo,
) -> Result<(), ModelFileError> {
    save(path, ModelKind::Dcgan, g, config, info)
}

/// Reads a DCGAN generator's model file onto a device.
pub fn load_dcgan(path: &Path, device: &Device) -> Result<(DcganGenerator, DcganConfig, ModelInfo), ModelFileError> {
    load(path, ModelKind::Dcgan, |c: &DcganConfig| Ok(c.init_generator(device)))
}
