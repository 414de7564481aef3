//! Running toonflow's trained generators without a training framework.
//!
//! A model file is safetensors weights named by their path in the network plus metadata that
//! describes the architecture ([`modelfile`]). [`generator::CpuGenerator`] reads those tensors by
//! name — the way candle's constructors follow a checkpoint's names — and runs the network on
//! the CPU with channels-last layers and the `gemm` kernel, 2.5x faster than burn's CPU backend
//! on the same weights. [`tiling`] runs it on images of any size in bounded memory, and
//! [`model_style::ModelStyle`] applies it to a frame. Nothing here depends on burn, so
//! `stylize --model`, the studio and the Python package pay neither its build time nor its size;
//! the training crates build their burn modules from the same [`generator::GeneratorConfig`] and
//! write their files through [`modelfile`].
//!
//! ```
//! use toonflow_infer::generator::{CpuGenerator, GeneratorConfig};
//!
//! // Tiles of a large image overlap by at least the receptive radius.
//! assert!(GeneratorConfig::default().receptive_radius() > 50);
//! // Errors name the file and the reason.
//! let err = CpuGenerator::load(std::path::Path::new("no-such-model.safetensors")).unwrap_err();
//! assert!(err.to_string().starts_with("no-such-model.safetensors: "));
//! ```
#![deny(missing_docs)]

pub mod generator;
mod layers;
pub mod matmul;
pub mod model_style;
pub mod modelfile;
pub mod onnx;
pub mod tensorfile;
pub mod tiling;
