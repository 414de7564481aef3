//! GAN models for toonflow, written with burn, for training (and for GPUs): the photo-to-comic
//! generator, a PatchGAN discriminator with spectral normalization, the classic DCGAN, their
//! losses, the VGG16 feature network, and saving the modules as model files.
//!
//! Running a trained generator needs none of this: [`toonflow_infer`] reads the same model files
//! by tensor name and runs them on the CPU without burn. The generator's architecture is
//! described once, by [`toonflow_infer::generator::GeneratorConfig`], and built here as burn
//! modules from that description.
//!
//! Models take a [`burn::tensor::Device`]: the same code runs on the CPU (`Device::flex()`) or,
//! built with the `cuda` / `wgpu` features, on a GPU. On the CPU, the heavy training operations
//! run on our own kernels with hand-written backward passes ([`train_ops`]).

pub use burn;

pub mod dcgan;
pub mod discriminator;
pub mod generator;
pub mod images;
pub mod layers;
pub mod loss;
pub mod modelfile;
pub mod module_io;
pub mod train_ops;
pub mod vgg;
