//! GAN models for toonflow, written with burn: the photo-to-comic generator, a PatchGAN
//! discriminator with spectral normalization, the classic DCGAN, their losses, the VGG16
//! feature network and the safetensors model files.
//!
//! Models take a [`burn::tensor::Device`]: the same code runs on the CPU (`Device::flex()`) or,
//! built with the `cuda` / `wgpu` features, on a GPU.

pub mod dcgan;
pub mod discriminator;
pub mod generator;
pub mod layers;

pub use burn;
pub mod loss;
pub mod tensorfile;
pub mod onnx;
pub mod vgg;
