//! Generator inference and one GAN training step, timed beside PyTorch and ONNX Runtime running
//! the same architecture with the same weights (bench/torch_generator.py, in the bench's own
//! virtualenv: `bash bench/setup.sh` once). Run: `cargo bench -p toonflow-train --bench gan`.
//!
//! The training step is the adversarial core both sides share: a discriminator update (LSGAN on
//! real images and detached generator output, one power-iteration step of spectral norm) and a
//! generator update (LSGAN + L1 to the input), each with backward and Adam. VGG16 is left out
//! (it is timed as part of real training runs in the run's log).

// The allocator setting of the toonflow binary, so this measures what the binary runs.
#[path = "../../toonflow/src/allocator.rs"]
mod allocator;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use toonflow_imgproc::comic::{self, ComicConfig, Preset};
use toonflow_imgproc::ImageTensor;
use toonflow_infer::generator::{CpuGenerator, NormStats};
use toonflow_infer::model_style::{ModelStyle, ModelStyleOptions};
use toonflow_infer::tensorfile;
use toonflow_model::burn;
use toonflow_model::discriminator::DiscriminatorConfig;
use toonflow_model::generator::{Generator, GeneratorConfig};
use toonflow_model::loss::AdversarialLoss;
use toonflow_model::modelfile::{self, ModelInfo};
use toonflow_model::module_io::{load_module_tensors, module_tensors};

/// Inference rows: (name, height, width, repeats); the reference script times the same ones.
/// 456x256 is the working size of a 720p frame for a model trained on 256-pixel photos (455
/// rounded up to the network's multiple of 8).
const INFERENCE_SIZES: [(&str, usize, usize, usize); 3] =
    [("inference 256x256", 256, 256, 5), ("inference 456x256", 256, 456, 5), ("inference 1280x720", 720, 1280, 3)];

fn pattern(b: usize, h: usize, w: usize) -> Vec<f32> {
    (0..b * 3 * h * w)
        .map(|i| {
            let (c, y, x) = ((i / (h * w)) % 3, (i / w) % h, i % w);
            (0.8 * ((x as f32 * 0.05 + c as f32).sin() * (y as f32 * 0.07).cos())).clamp(-1.0, 1.0)
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() {
    // As the toonflow binary does.
    allocator::keep_freed_memory();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = root.join("bench/out");
    std::fs::create_dir_all(&out).unwrap();
    let device = Device::flex();
    device.seed(5);
    let g_config = GeneratorConfig::default();
    let g = Generator::new(&g_config, &device);
    let d = DiscriminatorConfig::default().init(&device);
    let info = ModelInfo { styles: vec![], training: serde_json::json!({}) };
    modelfile::save_generator(&out.join("bench-generator.safetensors"), &g, &g_config, &info).unwrap();
    let d_bytes = tensorfile::to_safetensors(&module_tensors(&d), &Default::default());
    std::fs::write(out.join("bench-discriminator.safetensors"), d_bytes).unwrap();

    // (row, burn's ms where it applies, the channels-last CPU path's ms where it applies)
    let mut rows: Vec<(String, Option<f64>, Option<f64>)> = Vec::new();
    // Output on a fixed input, for the reference script's parity check.
    let x = Tensor::<4>::from_data(TensorData::new(pattern(1, 96, 128), [1, 3, 96, 128]), &device);
    let y = g.forward(x, None).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    std::fs::write(out.join("bench-generator-output.json"), serde_json::to_string(&y).unwrap()).unwrap();

    // The CPU path reads the file just written, by tensor name, as `stylize --model` does.
    let (cpu, _, _) = CpuGenerator::load(&out.join("bench-generator.safetensors")).unwrap();
    for (name, h, w, reps) in INFERENCE_SIZES {
        let input = pattern(1, h, w);
        let x = Tensor::<4>::from_data(TensorData::new(input.clone(), [1, 3, h, w]), &device);
        let ms = time(reps, || {
            let _ = g.forward(x.clone(), None).into_data();
        });
        let cpu_ms = time(reps, || {
            let _ = cpu.forward(&input, h, w, None, &mut NormStats::Compute);
        });
        rows.push((name.into(), Some(ms), Some(cpu_ms)));
    }
    // End to end on a 720p frame, as `stylize --model` runs it: a model trained on 256-pixel
    // photos works at 455x256 and is upsampled with the frame as guide; beside the built-in
    // preset on the same frame.
    let frame = ImageTensor::new(1280, 720, pattern(1, 720, 1280)).to_frame();
    let trained = GeneratorConfig { trained_short_side: Some(256), ..g_config.clone() };
    let model_style = ModelStyle::new(cpu.clone(), trained.clone(), 0, &ModelStyleOptions::default());
    let ms = time(3, || {
        let _ = model_style.apply(&frame);
    });
    rows.push(("model style, 720p frame".into(), None, Some(ms)));
    // The narrow network over the comic preset (`train --base-style comic`, 16 base channels,
    // 4 blocks): the preset at the working size, the network, the upsampling.
    let narrow = GeneratorConfig {
        base_channels: 16,
        residual_blocks: 4,
        base_style: Some(Preset::Comic.name().into()),
        ..trained
    };
    let narrow_cpu =
        CpuGenerator::from_tensors(&narrow, &module_tensors(&Generator::new(&narrow, &device)).into_iter().collect())
            .unwrap();
    let narrow_style = ModelStyle::new(narrow_cpu, narrow, 0, &ModelStyleOptions::default());
    let ms = time(5, || {
        let _ = narrow_style.apply(&frame);
    });
    rows.push(("narrow over comic, 720p frame".into(), None, Some(ms)));
    let preset = ComicConfig::preset(Preset::Comic);
    let ms = time(5, || {
        let _ = comic::stylize(&frame, &preset);
    });
    rows.push(("comic preset, 720p frame".into(), None, Some(ms)));

    let train_device = Device::flex().autodiff();
    let mut g = Generator::new(&g_config, &train_device);
    let mut d = DiscriminatorConfig::default().init(&train_device);
    g = load_module_tensors(g, &module_tensors(&Generator::new(&g_config, &device)).into_iter().collect()).unwrap();
    let (mut opt_g, mut opt_d) = (AdamConfig::new().with_beta_1(0.5).init(), AdamConfig::new().with_beta_1(0.5).init());
    let photos = Tensor::<4>::from_data(TensorData::new(pattern(4, 256, 256), [4, 3, 256, 256]), &train_device);
    let style = photos.clone().flip([3]);
    let adv = AdversarialLoss::Lsgan;
    let ms = time(3, || {
        d = d.clone().power_iteration();
        let fake = g.forward(photos.clone(), None).detach();
        let d_loss = adv.d_real(d.forward(style.clone(), None)) + adv.d_fake(d.forward(fake, None));
        let grads = GradientsParams::from_grads(d_loss.backward(), &d);
        d = opt_d.step(2e-4, d.clone(), grads);
        let fake = g.forward(photos.clone(), None);
        let g_loss = adv.g(d.forward(fake.clone(), None)) + (fake - photos.clone()).abs().mean();
        let grads = GradientsParams::from_grads(g_loss.backward(), &g);
        g = opt_g.step(2e-4, g.clone(), grads);
    });
    rows.push(("train step, batch 4, 256x256".into(), Some(ms), None));

    let python = root.join("bench/.venv/bin/python");
    let reference: Option<serde_json::Value> = if python.exists() {
        let output =
            Command::new(&python).arg(root.join("bench/torch_generator.py")).arg(&out).output().expect("run reference");
        if !output.status.success() {
            panic!("reference failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Some(serde_json::from_slice(&output.stdout).expect("reference JSON"))
    } else {
        eprintln!("no bench/.venv: run `bash bench/setup.sh` for the PyTorch / ONNX Runtime columns");
        None
    };
    println!("generator: {} parameters; ms, median, same weights, same inputs", g.num_params());
    println!("(ours: the channels-last CPU path where it applies — inference — else burn; ratio > 1: ours is faster)");
    println!(
        "{:<30} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "", "burn", "CPU path", "PyTorch", "ORT", "PyTorch/ours", "ORT/ours"
    );
    for (name, burn_ms, cpu_ms) in &rows {
        let pick = |key: &str| reference.as_ref().and_then(|r| r[name.as_str()][key].as_f64());
        let (pt, ort) = (pick("torch"), pick("onnxruntime"));
        let ours = cpu_ms.or(*burn_ms).unwrap_or(f64::NAN);
        let cell = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
        let ratio = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.2}x", v / ours));
        println!(
            "{name:<30} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12}",
            cell(*burn_ms),
            cell(*cpu_ms),
            cell(pt),
            cell(ort),
            ratio(pt),
            ratio(ort)
        );
    }
    if let Some(r) = &reference {
        println!(
            "parity: max |toonflow − PyTorch| = {:.2e}, max |toonflow − ORT| = {:.2e} on a 128x96 input",
            r["parity_torch"].as_f64().unwrap_or(f64::NAN),
            r["parity_onnxruntime"].as_f64().unwrap_or(f64::NAN)
        );
    }
}
