//! Property tests: model files with damaged bytes through both loaders (the burn-free CPU path
//! and the burn modules), ONNX and safetensors bytes of every shape, and the CPU generator on
//! images of every size. Always a result or an error naming the file, never a panic, and never
//! a model that runs with garbage weights.

use std::path::Path;

use proptest::prelude::*;
use toonflow_imgproc::ImageTensor;
use toonflow_infer::generator::{CpuGenerator, NormStats};
use toonflow_infer::tiling::{run_generator, TileConfig};
use toonflow_model::burn::tensor::Device;
use toonflow_model::generator::{Generator, GeneratorConfig};
use toonflow_model::modelfile::{self, ModelInfo};

/// A tiny two-style generator's model file, and its bytes.
fn model_file(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let config = GeneratorConfig { styles: 2, ..GeneratorConfig::tiny() };
    let g = Generator::new(&config, &Device::flex());
    let path = dir.join("g.safetensors");
    let info = ModelInfo { styles: vec!["a".into(), "b".into()], training: serde_json::json!({}) };
    modelfile::save_generator(&path, &g, &config, &info).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any byte changed in place: both loaders refuse the file (the checksum covers every
    /// weight, the parser the header), or load it unchanged in what matters.
    #[test]
    fn damaged_model_files_are_refused(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4), cut in any::<Option<prop::sample::Index>>()) {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut bytes) = model_file(dir.path());
        let original = bytes.clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        std::fs::write(&path, &bytes).unwrap();
        let cpu = CpuGenerator::load(&path);
        let burn = modelfile::load_generator(&path, &Device::flex());
        for err in [cpu.as_ref().err().map(|e| e.to_string()), burn.as_ref().err().map(|e| e.to_string())].into_iter().flatten() {
            prop_assert!(err.contains("g.safetensors"), "{err}");
        }
        if let Ok((g, _, _)) = cpu {
            // Loaded: only bytes that carry no weight changed (header whitespace, metadata text
            // the loader does not read); the network is the original one.
            std::fs::write(&path, &original).unwrap();
            let (reference, _, _) = CpuGenerator::load(&path).unwrap();
            let image = ImageTensor::new(16, 8, vec![0.25; 3 * 16 * 8]);
            prop_assert_eq!(
                g.forward(&image.data, 8, 16, Some(1), &mut NormStats::Compute),
                reference.forward(&image.data, 8, 16, Some(1), &mut NormStats::Compute)
            );
        }
    }

    /// safetensors and ONNX readers on noise and on damaged real bytes.
    #[test]
    fn weight_readers_take_any_bytes(noise in prop::collection::vec(any::<u8>(), 0..256), at in any::<prop::sample::Index>()) {
        let _ = toonflow_infer::tensorfile::parse_safetensors(&noise);
        let _ = toonflow_infer::onnx::read_initializers(&noise);
        let dir = tempfile::tempdir().unwrap();
        let (_, mut bytes) = model_file(dir.path());
        let i = at.index(bytes.len());
        bytes[i] = bytes[i].wrapping_add(1);
        let _ = toonflow_infer::tensorfile::parse_safetensors(&bytes);
    }

    /// The CPU generator on every size down to 1x1, whole and tiled.
    #[test]
    fn the_cpu_generator_takes_any_size(w in 1usize..70, h in 1usize..70, tiled in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = model_file(dir.path());
        let (g, _, _) = CpuGenerator::load(&path).unwrap();
        let image = ImageTensor::new(w, h, (0..3 * w * h).map(|i| ((i % 7) as f32 / 3.0) - 1.0).collect());
        let tiles = if tiled { TileConfig { max_whole_pixels: 64, tile: 16, stats_crop: 24 } } else { TileConfig::default() };
        let out = run_generator(&g, &image, 1, tiles);
        prop_assert_eq!((out.width, out.height), (w, h));
        prop_assert!(out.data.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
    }
}
