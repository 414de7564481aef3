//! Named `f32` tensors and the safetensors files that hold them with string metadata. Names are
//! the network's field paths (`blocks.3.expand.conv.conv.weight`), so a file can be read by any
//! safetensors tool and matched against PyTorch or ONNX ports of the same architecture.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

/// A tensor on the host: shape and row-major values.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values, row-major.
    pub values: Vec<f32>,
}

/// What can go wrong reading a tensor file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TensorFileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a safetensors file of `f32` tensors.
    #[error("{path}: not a safetensors file: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
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
            (name.clone(), TensorView::new(Dtype::F32, shape.clone(), data).expect("shape and bytes agree"))
        })
        .collect();
    safetensors::serialize(views, Some(metadata.clone())).expect("f32 tensors with string metadata serialize")
}

/// Named tensors and metadata of a safetensors file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TensorFile {
    /// The tensors, by name.
    pub tensors: HashMap<String, HostTensor>,
    /// The string metadata of the header.
    pub metadata: HashMap<String, String>,
}

/// Reads a safetensors file of `f32` tensors.
pub fn read_safetensors(path: &Path) -> Result<TensorFile, TensorFileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| TensorFileError::Io { path: shown.clone(), source })?;
    parse_safetensors(&bytes).map_err(|reason| TensorFileError::Format { path: shown, reason })
}

/// Parses safetensors bytes of `f32` tensors; the error says what is wrong.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_and_metadata_round_trip() {
        let tensors = vec![("a.weight".to_string(), HostTensor { shape: vec![2, 1], values: vec![1.5, -0.25] })];
        let metadata = HashMap::from([("k".to_string(), "v".to_string())]);
        let file = parse_safetensors(&to_safetensors(&tensors, &metadata)).unwrap();
        assert_eq!(file.tensors["a.weight"], tensors[0].1);
        assert_eq!(file.metadata, metadata);
        assert!(parse_safetensors(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json").is_err());
    }
}
