//! Shapes, tiling, model files, spectral normalization and losses, on small networks.

use std::collections::HashMap;

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use toonflow_imgproc::comic::{self, ComicConfig, Preset};
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};
use toonflow_imgproc::{Frame, ImageTensor};
use toonflow_infer::generator::{CpuGenerator, NormStats};
use toonflow_infer::model_style::{ModelStyle, ModelStyleOptions};
use toonflow_infer::tensorfile::to_safetensors;
use toonflow_infer::tiling::{record_stats, run_tiled};
use toonflow_model::burn;
use toonflow_model::dcgan::{one_hot, DcganConfig, DCGAN_SIZE};
use toonflow_model::discriminator::DiscriminatorConfig;
use toonflow_model::generator::{over_base, BurnRun, Generator, GeneratorConfig};
use toonflow_model::layers::SpectralConv;
use toonflow_model::loss::{self, AdversarialLoss};
use toonflow_model::modelfile::{self, ModelFileError, ModelInfo};
use toonflow_model::module_io::module_tensors;

mod common;
use common::{output_tensor_to_planar, random_image, smooth_image, to_tensor};

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn generator_keeps_any_size_and_range() {
    let device = Device::flex();
    let g = Generator::new(&GeneratorConfig::tiny(), &device);
    for (w, h) in [(37, 53), (8, 8), (5, 3), (64, 17)] {
        let y = g.forward(to_tensor(&random_image(w, h, 1), &device), None);
        assert_eq!(y.dims(), [1, 3, h, w]);
        let values = output_tensor_to_planar(y).data;
        assert!(values.iter().all(|v| v.is_finite() && v.abs() <= 1.0), "{w}x{h}");
    }
    let default_params = Generator::new(&GeneratorConfig::default(), &device).num_params();
    assert!((1_000_000..=2_000_000).contains(&default_params), "{default_params} parameters");
}

#[test]
fn tiled_inference_equals_whole_image_inference_with_the_same_statistics() {
    let device = Device::flex();
    let g = Generator::new(&GeneratorConfig::tiny(), &device);
    let image = random_image(203, 141, 7);
    let run = BurnRun { generator: &g, device: &device };
    let stats = record_stats(&run, &image, 0, 96);
    let mut replay = NormStats::Replay(&stats, 0);
    let whole = output_tensor_to_planar(g.forward_with_stats(to_tensor(&image, &device), None, &mut replay));
    let tiled = run_tiled(&run, &image, 0, 64, &stats);
    let diff = max_abs_diff(&whole.data, &tiled.data);
    assert!(diff < 1e-4, "tiles differ from the whole image by up to {diff}");
}

fn info() -> ModelInfo {
    ModelInfo { styles: vec!["ink".into(), "pastel".into()], training: serde_json::json!({"steps": 3}) }
}

#[test]
fn saved_generator_reloads_bit_identical() {
    let device = Device::flex();
    let config = GeneratorConfig { styles: 2, ..GeneratorConfig::tiny() };
    // Non-zero style modulation, so both styles really differ.
    let g = Generator::new(&config, &device).map(&mut RandomizeModulation);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.safetensors");
    modelfile::save_generator(&path, &g, &config, &info()).unwrap();
    let (loaded, loaded_config, loaded_info) = modelfile::load_generator(&path, &device).unwrap();
    assert_eq!((loaded_config, loaded_info), (config, info()));
    let x = to_tensor(&random_image(40, 24, 3), &device);
    for style in 0..2 {
        let s = Tensor::<1, Int>::from_data(TensorData::new(vec![style as i64], [1]), &device);
        let a = output_tensor_to_planar(g.forward(x.clone(), Some(&s))).data;
        let b = output_tensor_to_planar(loaded.forward(x.clone(), Some(&s))).data;
        assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()), "style {style}");
    }
    let s0 = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64], [1]), &device);
    let s1 = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64], [1]), &device);
    let a = output_tensor_to_planar(g.forward(x.clone(), Some(&s0))).data;
    let b = output_tensor_to_planar(g.forward(x, Some(&s1))).data;
    assert!(max_abs_diff(&a, &b) > 1e-3, "styles give the same output");
}

/// Fills the per-style modulation tables (zero at initialization) with small random values.
struct RandomizeModulation;
impl burn::module::ModuleMapper for RandomizeModulation {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, value, mapper) = param.consume();
        let value =
            if D == 2 { Tensor::random(value.dims(), Distribution::Normal(0.0, 0.3), &value.device()) } else { value };
        Param::from_mapped_value(id, value, mapper)
    }
}

#[test]
fn model_files_refuse_other_kinds_versions_and_garbage() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let config = DcganConfig { generator_channels: 8, discriminator_channels: 8, ..DcganConfig::default() };
    let dcgan = config.init_generator(&device);
    let path = dir.path().join("dcgan.safetensors");
    modelfile::save_dcgan(&path, &dcgan, &config, &info()).unwrap();
    assert!(modelfile::load_dcgan(&path, &device).is_ok());
    let err = modelfile::load_generator(&path, &device).unwrap_err();
    assert!(matches!(err, ModelFileError::WrongKind { .. }), "{err}");

    let g_config = GeneratorConfig::tiny();
    let g = Generator::new(&g_config, &device);
    let mut meta = HashMap::from([
        ("toonflow.kind".to_string(), "photo2comic-generator".to_string()),
        ("toonflow.architecture_version".to_string(), "0".to_string()),
        ("toonflow.config".to_string(), serde_json::to_string(&g_config).unwrap()),
        ("toonflow.styles".to_string(), "[]".to_string()),
    ]);
    let old = dir.path().join("old.safetensors");
    std::fs::write(&old, to_safetensors(&module_tensors(&g), &meta)).unwrap();
    let err = modelfile::load_generator(&old, &device).unwrap_err();
    assert!(err.to_string().contains("architecture version 0"), "{err}");

    meta.insert("toonflow.architecture_version".into(), "1".into());
    let wider = serde_json::to_string(&GeneratorConfig { base_channels: 16, ..g_config }).unwrap();
    meta.insert("toonflow.config".into(), wider);
    let mismatched = dir.path().join("mismatched.safetensors");
    std::fs::write(&mismatched, to_safetensors(&module_tensors(&g), &meta)).unwrap();
    let err = modelfile::load_generator(&mismatched, &device).unwrap_err();
    assert!(matches!(err, ModelFileError::Weights { .. }), "{err}");

    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json").unwrap();
    let err = modelfile::load_generator(&garbage, &device).unwrap_err();
    assert!(err.to_string().contains("garbage.safetensors"), "{err}");
}

#[test]
fn dcgan_shapes_and_conditioning() {
    let device = Device::flex().autodiff();
    let config = DcganConfig { generator_channels: 8, discriminator_channels: 8, classes: 3, ..DcganConfig::default() };
    let g = config.init_generator(&device);
    let d = config.init_discriminator(&device);
    let noise = Tensor::<2>::random([5, config.latent], Distribution::Normal(0.0, 1.0), &device);
    let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 1, 0], [5]), &device);
    let images = g.forward(noise, Some(&labels));
    assert_eq!(images.dims(), [5, 3, DCGAN_SIZE, DCGAN_SIZE]);
    assert_eq!(d.forward(images, Some(&labels)).dims(), [5]);
    let rows = one_hot(&labels, 3).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    assert_eq!(&rows[..6], &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn spectral_norm_bounds_the_layer_gain_by_one() {
    let device = Device::flex();
    let mut conv = SpectralConv::new(8, 16, 3, 1, &device);
    for _ in 0..50 {
        conv = conv.power_iteration();
    }
    // Gain of the normalized convolution on random inputs, against the largest singular value
    // of the weight found by many host-side power iterations.
    let [o, i, kh, kw] = conv.conv.weight.val().dims();
    let w = conv.conv.weight.val().into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    let (rows, cols) = (o, i * kh * kw);
    let mut v = vec![1.0f64; cols];
    let mut sigma = 0.0;
    for _ in 0..500 {
        let u: Vec<f64> = (0..rows).map(|r| (0..cols).map(|c| w[r * cols + c] as f64 * v[c]).sum()).collect();
        let nu = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        let back: Vec<f64> = (0..cols).map(|c| (0..rows).map(|r| w[r * cols + c] as f64 * u[r] / nu).sum()).collect();
        sigma = back.iter().map(|x| x * x).sum::<f64>().sqrt();
        v = back.iter().map(|x| x / sigma).collect();
    }
    // The layer divides by its estimate; a 1x1 input patch through the centre tap has gain ≤ 1.
    let x = Tensor::<4>::random([1, 8, 9, 9], Distribution::Normal(0.0, 1.0), &device);
    let plain = conv.conv.forward(x.clone());
    let normalized = conv.forward(x);
    let ratio = (plain.clone() - conv.conv.bias.as_ref().unwrap().val().reshape([1, o, 1, 1]))
        .abs()
        .sum()
        .into_scalar::<f32>()
        / (normalized - conv.conv.bias.as_ref().unwrap().val().reshape([1, o, 1, 1])).abs().sum().into_scalar::<f32>();
    assert!((ratio as f64 - sigma).abs() < 0.01 * sigma, "estimated σ {ratio} vs true {sigma}");
}

#[test]
fn conditional_patch_discriminator_picks_each_items_head() {
    let device = Device::flex();
    let d = DiscriminatorConfig { base_channels: 4, styles: 3 }.init(&device);
    let x = Tensor::<4>::random([2, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), &device);
    let style = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 0], [2]), &device);
    assert_eq!(d.forward(x, Some(&style)).dims(), [2, 1, 8, 8]);
}

#[test]
fn losses_have_their_textbook_values() {
    let device = Device::flex();
    let scalar = |t: Tensor<1>| t.into_scalar::<f32>();
    let big = Tensor::<2>::full([2, 3], 20.0, &device);
    assert!(scalar(AdversarialLoss::Bce.d_real(big.clone())) < 1e-6);
    assert!((scalar(AdversarialLoss::Bce.d_fake(big.clone())) - 20.0).abs() < 1e-4);
    let zero = Tensor::<2>::zeros([2, 3], &device);
    assert!((scalar(AdversarialLoss::Bce.d_real(zero.clone())) - std::f32::consts::LN_2).abs() < 1e-6);
    assert_eq!(scalar(AdversarialLoss::Lsgan.d_real(zero.clone())), 1.0);
    assert_eq!(scalar(AdversarialLoss::Hinge.d_fake(zero.clone() - 2.0)), 0.0);
    assert_eq!(scalar(AdversarialLoss::Hinge.g(big)), -20.0);

    let a = Tensor::<4>::random([2, 3, 16, 16], Distribution::Uniform(-1.0, 1.0), &device);
    assert!(scalar(loss::color_loss(a.clone(), a.clone())) < 1e-7);
    assert!(scalar(loss::style_loss(a.clone(), a.clone())) < 1e-7);
    assert!(scalar(loss::total_variation(Tensor::full([1, 3, 8, 8], 0.3, &device))) < 1e-7);
    assert!(scalar(loss::total_variation(a.clone())) > 0.3);
    let shifted = a.clone() + 0.5;
    assert!(scalar(loss::color_loss(a, shifted)) > 0.1);
}

/// Moves the layer norms' scales and shifts (D = 1) and the style tables (D = 2) off their
/// initial values, so that every parameter the CPU path reads matters.
struct RandomizeNormsAndModulation;
impl burn::module::ModuleMapper for RandomizeNormsAndModulation {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, value, mapper) = param.consume();
        let noise = Tensor::random(value.dims(), Distribution::Normal(0.0, 0.3), &value.device());
        let value = if D <= 2 { value + noise } else { value };
        Param::from_mapped_value(id, value, mapper)
    }
}

#[test]
fn channels_last_cpu_path_computes_what_the_burn_generator_computes() {
    let device = Device::flex();
    let config = GeneratorConfig { styles: 2, ..GeneratorConfig::tiny() };
    let g = Generator::new(&config, &device).map(&mut RandomizeNormsAndModulation);
    // Through a model file: the CPU path finds every weight by its name.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.safetensors");
    modelfile::save_generator(&path, &g, &config, &info()).unwrap();
    let (cpu, loaded_config, loaded_info) = CpuGenerator::load(&path).unwrap();
    assert_eq!((loaded_config, loaded_info), (config, info()));
    // Odd sizes (reflection padding to a multiple of 8) and a tiny one (edge padding).
    for (w, h) in [(37, 29), (48, 16), (5, 3)] {
        let image = random_image(w, h, 11);
        for style in 0..2 {
            let s = Tensor::<1, Int>::from_data(TensorData::new(vec![style as i64], [1]), &device);
            let want = output_tensor_to_planar(g.forward(to_tensor(&image, &device), Some(&s))).data;
            let got = cpu.forward(&image.data, h, w, Some(style), &mut NormStats::Compute);
            let diff = max_abs_diff(&want, &got);
            assert!(diff < 1e-4, "{w}x{h}, style {style}: differs by up to {diff}");
        }
    }
    // Recorded statistics agree, and replaying them gives the same output on both paths.
    let image = random_image(40, 32, 5);
    let (mut burn_stats, mut cpu_stats) = (Vec::new(), Vec::new());
    let _ = g.forward_with_stats(to_tensor(&image, &device), None, &mut NormStats::Record(&mut burn_stats));
    let _ = cpu.forward(&image.data, 32, 40, None, &mut NormStats::Record(&mut cpu_stats));
    assert_eq!(burn_stats.len(), cpu_stats.len());
    for (a, b) in burn_stats.iter().zip(&cpu_stats) {
        assert!((a[0] - b[0]).abs() < 1e-4 && (a[1] - b[1]).abs() < 1e-4 * a[1].max(1.0), "{a:?} vs {b:?}");
    }
    let other = random_image(40, 32, 6);
    let want = output_tensor_to_planar(g.forward_with_stats(
        to_tensor(&other, &device),
        None,
        &mut NormStats::Replay(&burn_stats, 0),
    ))
    .data;
    let got = cpu.forward(&other.data, 32, 40, None, &mut NormStats::Replay(&burn_stats, 0));
    assert!(max_abs_diff(&want, &got) < 1e-4);

    // Tiling through the CPU path keeps the tiles consistent, as through burn.
    let image = random_image(203, 141, 7);
    let stats = record_stats(&cpu, &image, 1, 96);
    let whole = cpu.forward(&image.data, 141, 203, Some(1), &mut NormStats::Replay(&stats, 0));
    let tiled = run_tiled(&cpu, &image, 1, 64, &stats);
    let diff = max_abs_diff(&whole, &tiled.data);
    assert!(diff < 1e-4, "CPU-path tiles differ from the whole image by up to {diff}");
}

#[test]
fn files_from_before_the_last_kernel_and_trained_size_were_settings_load_as_they_were() {
    let device = Device::flex();
    // Such a file's config names neither: its last full-resolution layer is 7x7 and it runs at
    // the input's size.
    let original = GeneratorConfig { full_resolution_kernel: 7, ..GeneratorConfig::tiny() };
    let g = Generator::new(&original, &device).map(&mut RandomizeNormsAndModulation);
    let mut config = serde_json::to_value(&original).unwrap();
    let fields = config.as_object_mut().unwrap();
    fields.remove("full_resolution_kernel");
    fields.remove("trained_short_side");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("before.safetensors");
    let info = ModelInfo { styles: vec![], training: serde_json::json!({}) };
    toonflow_infer::modelfile::write_model_file(
        &path,
        toonflow_infer::modelfile::ModelKind::Generator,
        &config,
        &info,
        &module_tensors(&g),
    )
    .unwrap();
    let (cpu, loaded, _) = CpuGenerator::load(&path).unwrap();
    assert_eq!(loaded, original);
    let image = random_image(37, 29, 2);
    let want = output_tensor_to_planar(g.forward(to_tensor(&image, &device), None)).data;
    let got = cpu.forward(&image.data, 29, 37, None, &mut NormStats::Compute);
    assert!(max_abs_diff(&want, &got) < 1e-4);
}

#[test]
fn a_model_runs_at_its_trained_size_and_gives_the_frame_its_own_size_back() {
    let device = Device::flex();
    let config = GeneratorConfig { trained_short_side: Some(32), ..GeneratorConfig::tiny() };
    let g = Generator::new(&config, &device).map(&mut RandomizeNormsAndModulation);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.safetensors");
    modelfile::save_generator(&path, &g, &config, &info()).unwrap();
    let style = |options: &ModelStyleOptions| ModelStyle::load(&path, options).unwrap();
    let (at_trained_size, full) = (
        style(&ModelStyleOptions::default()),
        style(&ModelStyleOptions { full_resolution: true, ..Default::default() }),
    );

    // Small enough: the frame is its own working size, and both settings agree.
    let small = smooth_image(40, 30).to_frame();
    assert_eq!(at_trained_size.working_size(40, 30), None);
    assert_eq!(at_trained_size.apply(&small), full.apply(&small));

    // Larger: stylized at 53x32, brought back to 100x60; shrunk again, it is what the model
    // draws at 53x32 (the upsampling adds the photo's edges, not another picture).
    let large = smooth_image(100, 60).to_frame();
    assert_eq!(at_trained_size.working_size(100, 60), Some((53, 32)));
    assert_eq!(full.working_size(100, 60), None);
    let out = at_trained_size.apply(&large);
    assert_eq!((out.width(), out.height()), (100, 60));
    let shrink = |f: &Frame| resize_frame(f, 53, 32, ResizeFilter::Area);
    let direct = full.apply(&shrink(&large));
    let again = ImageTensor::from_frame(&shrink(&out));
    let mean_diff =
        ImageTensor::from_frame(&direct).data.iter().zip(&again.data).map(|(a, b)| (a - b).abs()).sum::<f32>()
            / again.data.len() as f32;
    assert!(mean_diff < 0.03, "the upsampled output, shrunk, differs from the model's by {mean_diff} on average");
    assert!(out != full.apply(&large), "the trained size made no difference");
}

#[test]
fn a_fresh_generator_over_a_base_style_draws_that_style_exactly_and_a_trained_one_corrects_it() {
    let device = Device::flex();
    let config = GeneratorConfig { base_style: Some("comic".into()), ..GeneratorConfig::tiny() };
    let image = random_image(40, 32, 3);
    let frame = image.to_frame();
    let drawn = ImageTensor::from_frame(&comic::stylize(&frame, &ComicConfig::preset(Preset::Comic)).frame);

    // Training's composition: the untrained network adds nothing to the batch's base.
    let fresh = Generator::new(&config, &device);
    let base = to_tensor(&drawn, &device);
    let out = over_base(fresh.forward(to_tensor(&image, &device), None), Some(&base));
    assert!(max_abs_diff(&output_tensor_to_planar(out).data, &drawn.data) < 1e-6);

    // Inference's: the file says which style to draw over, and the model style draws it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.safetensors");
    let style = |g: &Generator| {
        modelfile::save_generator(&path, g, &config, &info()).unwrap();
        ModelStyle::load(&path, &ModelStyleOptions::default()).unwrap().apply(&frame)
    };
    let fresh_out = ImageTensor::from_frame(&style(&fresh));
    assert!(max_abs_diff(&fresh_out.data, &drawn.data) < 1e-5);

    // For video, the base's palette can be held across a shot: another frame drawn with this
    // frame's palette is the preset's drawing of it with that palette, not with its own.
    let model = ModelStyle::load(&path, &ModelStyleOptions::default()).unwrap();
    let (_, palette) = model.apply_with_palette(&frame, None);
    let palette = palette.expect("a model over a base style reports its palette");
    let next = random_image(40, 32, 4).to_frame();
    let cfg = ComicConfig::preset(Preset::Comic);
    let (held, _) = model.apply_with_palette(&next, Some(&palette));
    let want = ImageTensor::from_frame(&comic::stylize_with_palette(&next, &cfg, Some(&palette)).frame);
    assert!(max_abs_diff(&ImageTensor::from_frame(&held).data, &want.data) < 1e-5);

    // A trained network's output is added to the base (and clamped), as in training.
    let trained = Generator::new(&GeneratorConfig { base_style: None, ..config.clone() }, &device)
        .map(&mut RandomizeNormsAndModulation);
    let net = output_tensor_to_planar(trained.forward(to_tensor(&image, &device), None));
    let want: Vec<f32> = net.data.iter().zip(&drawn.data).map(|(n, b)| (n + b).clamp(-1.0, 1.0)).collect();
    let got = ImageTensor::from_frame(&style(&trained));
    assert!(max_abs_diff(&got.data, &want) < 1e-4, "{}", max_abs_diff(&got.data, &want));
    assert!(max_abs_diff(&got.data, &drawn.data) > 0.05, "the trained network changed nothing");
}

#[test]
fn a_model_file_naming_an_unknown_base_style_is_refused_by_name() {
    let device = Device::flex();
    let config = GeneratorConfig::tiny();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.safetensors");
    let odd = GeneratorConfig { base_style: Some("sketch".into()), ..config.clone() };
    modelfile::save_generator(&path, &Generator::new(&config, &device), &odd, &info()).unwrap();
    let err = ModelStyle::load(&path, &ModelStyleOptions::default()).unwrap_err().to_string();
    assert!(err.contains("base_style 'sketch'"), "{err}");
    let err = modelfile::load_generator(&path, &device).unwrap_err().to_string();
    assert!(err.contains("base_style 'sketch'"), "{err}");
}
