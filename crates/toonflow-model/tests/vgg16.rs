//! The VGG16 conversion reproduces ONNX Runtime's activations of the original file
//! (numbers from bench/vgg16_reference.py, committed in vgg16_reference.json).

use burn::tensor::{Device, Tensor, TensorData};
use toonflow_model::burn;
use toonflow_model::vgg::weights::ONNX_FILE;
use toonflow_model::vgg::{cache_dir, Vgg16};

#[test]
fn conversion_reproduces_onnx_runtime_activations() {
    if !cache_dir().join(ONNX_FILE).exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must fetch the VGG16 weights (toonflow fetch-vgg16)");
        eprintln!("skipped: VGG16 weights not fetched (run toonflow fetch-vgg16)");
        return;
    }
    let device = Device::flex();
    let vgg = Vgg16::load(&device).expect("weights load");

    // The same synthetic pattern as the reference script, in [-1, 1].
    let size = 240;
    let mut values = vec![0f32; 3 * size * size];
    for c in 0..3 {
        for y in 0..size {
            for x in 0..size {
                let v = 127.5 + 100.0 * (0.07 * x as f64 + 0.11 * y as f64 + c as f64).sin();
                values[(c * size + y) * size + x] = (v / 127.5 - 1.0) as f32;
            }
        }
    }
    let image = Tensor::<4>::from_data(TensorData::new(values, [1, 3, size, size]), &device);
    let features = vgg.features(image);

    let reference: serde_json::Value = serde_json::from_str(include_str!("vgg16_reference.json")).unwrap();
    let names = ["block1_conv2_1", "block2_conv2_1", "block3_conv3_1", "block4_conv3_1"];
    for (name, feature) in names.iter().zip(features) {
        let expected = &reference[name];
        let [_, c, h, w] = feature.dims();
        assert_eq!(expected["shape"], serde_json::json!([c, h, w]), "{name}");
        let values = feature.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
        let want = expected["mean"].as_f64().unwrap();
        assert!((mean - want).abs() <= 1e-4 * want.abs(), "{name}: mean {mean} vs {want}");
        for sample in expected["samples"].as_array().unwrap() {
            let at: Vec<usize> = (0..3).map(|i| sample[i].as_u64().unwrap() as usize).collect();
            let got = values[(at[0] * h + at[1]) * w + at[2]] as f64;
            let want = sample[3].as_f64().unwrap();
            assert!((got - want).abs() <= 1e-3 * (1.0 + want.abs()), "{name} at {at:?}: {got} vs {want}");
        }
    }
}
