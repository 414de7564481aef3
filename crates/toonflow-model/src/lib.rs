//! GAN models for toonflow, written with burn: the photo-to-comic generator, a PatchGAN
//! discriminator with spectral normalization, the classic DCGAN, their losses, the VGG16
//! feature network and the safetensors model files.
//!
//! Models take a [`burn::tensor::Device`]: the same code runs on the CPU (`Device::flex()`) or,
//! built with the `cuda` / `wgpu` features, on a GPU.

pub mod allocator;
pub mod cpu;
pub mod dcgan;
pub mod discriminator;
pub mod generator;
pub mod layers;

pub use burn;
pub mod loss;
pub mod modelfile;
pub mod onnx;
pub mod tensorfile;
pub mod train_ops;
pub mod vgg;

/// Writes `bytes` to a temporary file beside `path` and renames it into place, so readers never
/// see a half-written file and a killed process leaves the old one intact.
pub fn atomic_write(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let result = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    match result.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}
pub mod inference;
