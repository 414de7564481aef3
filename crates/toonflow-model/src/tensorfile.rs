//! Module weights as named f32 tensors, and safetensors files holding them with string metadata.
//! Names are the module's field path (`blocks.3.expand.conv.conv.weight`), so a file can be read
//! by any safetensors tool and matched against PyTorch/ONNX ports of the same architecture.

use std::collections::HashMap;
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use safetensors::tensor::{Dtype, TensorView};

/// A tensor on the host: shape and row-major values.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum TensorFileError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not a safetensors file: {reason}")]
    Format { path: String, reason: String },
    #[error("{0}")]
    Mismatch(String),
}

/// Every float parameter and buffer of a module, by path.
pub fn module_tensors<M: Module>(module: &M) -> Vec<(String, HostTensor)> {
    struct Collect {
        path: Vec<String>,
        out: Vec<(String, HostTensor)>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let shape = tensor.dims().to_vec();
            let values = tensor.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 tensor");
            self.out.push((self.path.join("."), HostTensor { shape, values }));
        }
    }
    let mut collect = Collect { path: Vec::new(), out: Vec::new() };
    module.visit(&mut collect);
    collect.out
}

/// Replaces a module's float parameters and buffers with the named tensors. Every parameter must
/// be present with the same shape; parameter ids are kept (optimizer state stays attached).
pub fn load_module_tensors<M: Module>(module: M, tensors: &HashMap<String, HostTensor>) -> Result<M, TensorFileError> {
    struct Load<'a> {
        path: Vec<String>,
        tensors: &'a HashMap<String, HostTensor>,
        error: Option<String>,
        used: usize,
    }
    impl ModuleMapper for Load<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let name = self.path.join(".");
            let (id, current, mapper) = param.consume();
            let require_grad = current.is_require_grad();
            let Some(host) = self.tensors.get(&name) else {
                self.error.get_or_insert(format!("missing tensor '{name}'"));
                return Param::from_mapped_value(id, current, mapper);
            };
            if host.shape != current.dims().to_vec() {
                self.error.get_or_insert(format!(
                    "tensor '{name}' has shape {:?}, the model expects {:?}",
                    host.shape,
                    current.dims()
                ));
                return Param::from_mapped_value(id, current, mapper);
            }
            self.used += 1;
            let device = current.device();
            let mut value = Tensor::<D>::from_data(TensorData::new(host.values.clone(), host.shape.clone()), &device);
            if require_grad {
                value = value.require_grad();
            }
            Param::from_mapped_value(id, value, mapper)
        }
    }
    let mut load = Load { path: Vec::new(), tensors, error: None, used: 0 };
    let module = module.map(&mut load);
    if let Some(error) = load.error {
        return Err(TensorFileError::Mismatch(error));
    }
    if load.used != tensors.len() {
        return Err(TensorFileError::Mismatch(format!(
            "the file has {} tensors, the model {}",
            tensors.len(),
            load.used
        )));
    }
    Ok(module)
}

/// Serializes named tensors with metadata as safetensors bytes.
pub fn to_safetensors(tensors: &[(String, HostTensor)], metadata: &HashMap<String, String>) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| (name.clone(), t.shape.clone(), t.values.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(name, shape, data)| {
            (name.clone(), TensorView::new(Dtype::F32, shape.clone(), data).expect("consistent view"))
        })
        .collect();
    safetensors::serialize(views, Some(metadata.clone())).expect("safetensors serialization")
}

/// Named tensors and metadata of a safetensors file.
pub struct TensorFile {
    pub tensors: HashMap<String, HostTensor>,
    pub metadata: HashMap<String, String>,
}

pub fn read_safetensors(path: &Path) -> Result<TensorFile, TensorFileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| TensorFileError::Io { path: shown.clone(), source })?;
    parse_safetensors(&bytes).map_err(|reason| TensorFileError::Format { path: shown, reason })
}

pub fn parse_safetensors(bytes: &[u8]) -> Result<TensorFile, String> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let mut tensors = HashMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(format!("tensor '{name}' is {:?}, expected F32", view.dtype()));
        }
        let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        tensors.insert(name, HostTensor { shape: view.shape().to_vec(), values });
    }
    Ok(TensorFile { tensors, metadata })
}
