//! Training on tiny synthetic datasets: preparation, loss curves, ADA, exact resume, DCGAN.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use toonflow_imgproc::frame::Frame;
use toonflow_model::burn::tensor::Device;
use toonflow_model::discriminator::DiscriminatorConfig;
use toonflow_model::generator::GeneratorConfig;
use toonflow_model::modelfile;
use toonflow_model::module_io::module_tensors;
use toonflow_train::ada::{AdaConfig, AdaState};
use toonflow_train::dcgan::{load_gan_data, sample_grid, train_gan, GanConfig, GanLog};
use toonflow_train::imageset::ImageSet;
use toonflow_train::photo2comic::{train, FeatureNet, StepLog, TrainConfig, TrainingPlan};
use toonflow_train::prepare::{prepare, PrepareConfig, StyleSource};
use toonflow_train::rng::Rng;
use toonflow_train::run::{OnResume, Outcome, MODEL_FILE};

fn write_png(path: &Path, w: usize, h: usize, pixel: impl Fn(usize, usize) -> [f32; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            rgb.extend(pixel(x, y));
        }
    }
    toonflow_imageio::write_image(&Frame::from_srgb_f32(w, h, 3, &rgb), path).unwrap();
}

/// Photos: smooth colour gradients with texture. Style: flat colour discs with black outlines.
fn make_dataset(root: &Path, photos: usize, styles: usize) {
    for i in 0..photos {
        let f = i as f32;
        write_png(&root.join(format!("photos/p{i:02}.png")), 48, 40, |x, y| {
            let t = ((x as f32 * 0.3 + f).sin() * (y as f32 * 0.2 + 2.0 * f).cos() + 1.0) / 2.0;
            [t, (x as f32 / 48.0 + 0.1 * f) % 1.0, 1.0 - (y as f32 / 40.0)]
        });
    }
    for i in 0..styles {
        let (cx, cy, hue) = (14.0 + 3.0 * i as f32, 20.0 - 2.0 * i as f32, i as f32 / styles as f32);
        write_png(&root.join(format!("comics/c{i:02}.png")), 40, 40, |x, y| {
            let r = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            if (r - 10.0).abs() < 1.5 {
                [0.0, 0.0, 0.0]
            } else if r < 10.0 {
                [hue, 0.8, 1.0 - hue]
            } else {
                [1.0, 0.95, 0.8]
            }
        });
    }
}

fn prepared(root: &Path) -> std::path::PathBuf {
    make_dataset(root, 6, 4);
    let config = PrepareConfig { size: 32, min_side: 16, duplicate_bits: 4, validation_photos: 2 };
    let styles = [StyleSource { name: "discs".into(), dir: root.join("comics") }];
    prepare(&root.join("photos"), &styles, &root.join("data"), &config).unwrap();
    root.join("data")
}

fn tiny_config(steps: usize) -> TrainConfig {
    TrainConfig {
        generator: GeneratorConfig::tiny(),
        discriminator: DiscriminatorConfig { base_channels: 8, ..DiscriminatorConfig::default() },
        steps,
        warmup_steps: 3,
        batch: 2,
        crop: 24,
        features: FeatureNet::Pixels,
        sample_every: 1000,
        checkpoint_every: 4,
        ..TrainConfig::default()
    }
}

/// The means of a loss's first three and last three values (single steps are noisy).
fn first_and_last_means(values: &[f32]) -> (f32, f32) {
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    (mean(&values[..3]), mean(&values[values.len() - 3..]))
}

fn run(data: &Path, out: &Path, config: TrainConfig) -> Vec<StepLog> {
    let mut logs = Vec::new();
    let outcome = train(
        &TrainingPlan::new(data, config).unwrap(),
        out,
        OnResume::KeepSettings,
        &Device::flex().autodiff(),
        &AtomicBool::new(false),
        &mut |l| logs.push(l.clone()),
    )
    .unwrap();
    assert_eq!(outcome, Outcome::Finished);
    logs
}

#[test]
fn prepare_drops_corrupt_tiny_and_duplicate_images_with_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_dataset(root, 3, 2);
    std::fs::copy(root.join("photos/p00.png"), root.join("photos/p00-copy.png")).unwrap();
    std::fs::write(root.join("photos/broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    write_png(&root.join("photos/tiny.png"), 8, 8, |_, _| [0.5, 0.5, 0.5]);
    let config = PrepareConfig { size: 32, min_side: 16, duplicate_bits: 4, validation_photos: 1 };
    let styles = [StyleSource { name: "discs".into(), dir: root.join("comics") }];
    let (info, report) = prepare(&root.join("photos"), &styles, &root.join("data"), &config).unwrap();

    let reasons: Vec<(String, String)> = report
        .dropped
        .iter()
        .map(|d| (Path::new(&d.file).file_name().unwrap().to_string_lossy().into_owned(), d.reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.iter().any(|(f, r)| f == "broken.png" && !r.is_empty()));
    assert!(reasons.iter().any(|(f, r)| f == "tiny.png" && r.contains("too small")));
    // Of the two copies, the one later in name order is the duplicate.
    assert!(reasons.iter().any(|(f, r)| f == "p00.png" && r.contains("near-duplicate") && r.contains("p00-copy.png")));
    assert_eq!((info.photos, info.validation_photos, info.styles[0].images), (2, 1, 2));

    // The smoothed copy differs from the original only near the outline.
    let style = ImageSet::read(&root.join("data").join(&info.styles[0].file)).unwrap();
    let smooth = ImageSet::read(&root.join("data").join(&info.styles[0].smoothed_file)).unwrap();
    let changed: Vec<usize> =
        (0..32 * 32).filter(|&i| (0..3).any(|c| style.image(0)[i * 3 + c] != smooth.image(0)[i * 3 + c])).collect();
    assert!(!changed.is_empty() && changed.len() < 32 * 32 / 2, "{} of 1024 pixels changed", changed.len());
}

#[test]
fn content_loss_falls_and_the_discriminator_learns() {
    let dir = tempfile::tempdir().unwrap();
    let data = prepared(dir.path());
    // 50 adversarial steps: D's accuracy leaves chance after about 15. With 30, the last ten
    // averaged 0.57-0.70 from run to run when the file's tests ran side by side (one CI failure);
    // with 50 they average about 0.8.
    let mut config = tiny_config(80);
    config.warmup_steps = 30;
    let logs = run(&data, &dir.path().join("run"), config);
    let warmup: Vec<f32> = logs.iter().filter(|l| l.phase == "warmup").map(|l| l.content).collect();
    let (first, last) = first_and_last_means(&warmup);
    assert!(last < 0.8 * first, "warm-up content loss {first} → {last}");
    let adversarial: Vec<&StepLog> = logs.iter().filter(|l| l.phase == "adversarial").collect();
    let tail = &adversarial[adversarial.len() - 10..];
    let accuracy = tail.iter().map(|l| (l.d_accuracy_real + l.d_accuracy_fake) / 2.0).sum::<f32>() / tail.len() as f32;
    assert!(accuracy > 0.6, "discriminator accuracy {accuracy} stays near chance");
    assert!(dir.path().join("run").join(MODEL_FILE).exists());
    let (_, config, info) =
        modelfile::load_generator(&dir.path().join("run").join(MODEL_FILE), &Device::flex()).unwrap();
    assert_eq!((config.styles, info.styles, info.training["steps"].as_u64()), (1, vec!["discs".to_string()], Some(80)));
}

#[test]
fn the_structure_loss_pulls_the_generator_toward_the_photos_drawn_by_a_preset() {
    let dir = tempfile::tempdir().unwrap();
    let data = prepared(dir.path());
    let mut config = tiny_config(40);
    config.warmup_steps = 40;
    config.weights.structure = 1.0;
    config.structure_style = "manga".into();
    let logs = run(&data, &dir.path().join("run"), config.clone());
    let structure: Vec<f32> = logs.iter().map(|l| l.structure).collect();
    let (first, last) = first_and_last_means(&structure);
    assert!(first > 0.0 && last < 0.8 * first, "structure loss {first} → {last}");
    assert!(logs.iter().all(|l| (l.g_total - l.content - l.structure).abs() < 1e-4 * l.g_total.max(1.0)));
    // The model remembers the prepared size, and so runs at it.
    let (_, g_config, _) =
        modelfile::load_generator(&dir.path().join("run").join(MODEL_FILE), &Device::flex()).unwrap();
    assert_eq!(g_config.trained_short_side, Some(32));

    config.structure_style = "sketch".into();
    let err = TrainingPlan::new(&data, config).unwrap_err();
    assert!(err.to_string().contains("comic, webtoon, manga"), "{err}");
}

#[test]
fn resumed_run_equals_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = prepared(dir.path());
    let mut config = tiny_config(8);
    config.weights.equivariance = 1.0;
    config.weights.noise_robustness = 1.0;
    let whole = run(&data, &dir.path().join("whole"), config.clone());

    // Stop after 4 steps (a checkpoint), then resume to 8 in a new process-like call.
    let split = dir.path().join("split");
    run(&data, &split, TrainConfig { steps: 4, ..config.clone() });
    let resumed = run(&data, &split, config);
    assert_eq!(resumed.first().map(|l| l.step), Some(5), "resumed from the checkpoint");

    let device = Device::flex();
    let (a, _, _) = modelfile::load_generator(&dir.path().join("whole").join(MODEL_FILE), &device).unwrap();
    let (b, _, _) = modelfile::load_generator(&split.join(MODEL_FILE), &device).unwrap();
    for ((name, x), (_, y)) in module_tensors(&a).iter().zip(module_tensors(&b).iter()) {
        assert_eq!(x.values, y.values, "{name} differs after resume");
    }
    let strip = |l: &StepLog| StepLog { seconds: 0.0, ..l.clone() };
    assert_eq!(whole[4..].iter().map(strip).collect::<Vec<_>>(), resumed.iter().map(strip).collect::<Vec<_>>());
    let log = std::fs::read_to_string(split.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 8, "one log line per step, none repeated");
}

#[test]
fn ada_probability_rises_when_the_discriminator_overfits() {
    let config = AdaConfig { speed_images: 100.0, ..AdaConfig::default() };
    let mut overfit = AdaState::default();
    let mut balanced = AdaState::default();
    let mut rng = Rng::new(3);
    for _ in 0..40 {
        overfit.observe(&config, &[3.0, 2.5, 4.0, 1.0], 0.0, 4);
        let mixed: Vec<f32> = (0..4).map(|_| rng.normal()).collect();
        balanced.observe(&config, &mixed, 0.0, 4);
    }
    assert!(overfit.p > 0.5, "p = {}", overfit.p);
    assert!(balanced.p < 0.2, "p = {}", balanced.p);

    // In training: two style images, a discriminator that memorizes them, p climbs.
    let dir = tempfile::tempdir().unwrap();
    let data = prepared(dir.path());
    // 300 steps: D starts memorizing after 100-200 of them, depending on the thread schedule
    // (in one run p began to climb at step ~150 and averaged 0.42 over steps 100-200 but 0.70
    // over 150-300; in a CI run, 0.085 over 100-200), so the second half lies past the start.
    let mut train_config = tiny_config(300);
    train_config.ada = AdaConfig { speed_images: 50.0, interval: 2, ..AdaConfig::default() };
    // A fast discriminator against a nearly frozen generator: D memorizes the four style images.
    train_config.optimizer.lr_discriminator = 2e-3;
    train_config.optimizer.lr_generator = 1e-5;
    let logs = run(&data, &dir.path().join("run"), train_config);
    // p follows D's sign statistic up and down (D at this learning rate oscillates, and the
    // float sums follow the thread schedule), so the property is p's level over the second
    // half of the run, not its value at one step.
    let late = &logs[logs.len() / 2..];
    let mean_p = late.iter().map(|l| l.ada_p).sum::<f32>() / late.len() as f32;
    assert!(mean_p > 0.1, "ADA p averaged {mean_p} over the second half (last rt = {})", logs[logs.len() - 1].ada_rt);
}

#[test]
fn cancelled_run_saves_a_checkpoint_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = prepared(dir.path());
    let cancel = AtomicBool::new(false);
    let out = dir.path().join("run");
    let mut seen = 0;
    let plan = TrainingPlan::new(&data, tiny_config(50)).unwrap();
    let outcome = train(&plan, &out, OnResume::KeepSettings, &Device::flex().autodiff(), &cancel, &mut |_| {
        seen += 1;
        if seen == 2 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    })
    .unwrap();
    assert_eq!(outcome, Outcome::Interrupted);
    let (_, _, info) = modelfile::load_generator(&out.join(MODEL_FILE), &Device::flex()).unwrap();
    assert_eq!(info.training["steps"].as_u64(), Some(2));
}

#[test]
fn dcgan_learns_solid_colour_squares() {
    let dir = tempfile::tempdir().unwrap();
    let colours = [[0.9, 0.1, 0.1], [0.1, 0.2, 0.9]];
    for (class, name) in ["red", "blue"].iter().enumerate() {
        for i in 0..8 {
            let jitter = i as f32 * 0.01;
            let c = colours[class];
            write_png(&dir.path().join(format!("squares/{name}/{i}.png")), 64, 64, |_, _| {
                [c[0] + jitter, c[1], c[2] - jitter]
            });
        }
    }
    let data = load_gan_data(&dir.path().join("squares")).unwrap();
    assert_eq!(data.classes, vec!["blue".to_string(), "red".to_string()]);
    let mut config =
        GanConfig { steps: 400, batch: 16, sample_every: 1000, checkpoint_every: 1000, ..GanConfig::default() };
    config.model.generator_channels = 16;
    config.model.discriminator_channels = 16;
    config.model.latent = 16;
    let mut logs: Vec<GanLog> = Vec::new();
    let out = dir.path().join("run");
    train_gan(&data, &out, config, &Device::flex().autodiff(), &AtomicBool::new(false), &mut |l| logs.push(l.clone()))
        .unwrap();

    let (g, model, info) = modelfile::load_dcgan(&out.join("model.safetensors"), &Device::flex()).unwrap();
    assert_eq!(info.styles, vec!["blue".to_string(), "red".to_string()]);
    // Per class: images become flat (low spatial spread) and take the class colour.
    for (class, want) in [(0usize, colours[1]), (1, colours[0])] {
        let grid = sample_grid(&g, &model, 4, Some(class), 11, &Device::flex());
        let tile =
            |c: usize, x: usize, y: usize| toonflow_imgproc::color::linear_to_srgb(grid.rgb[c].get(2 + x, 2 + y));
        for (c, &target) in want.iter().enumerate() {
            let values: Vec<f32> =
                (8..56).flat_map(|y| (8..56).map(move |x| (x, y))).map(|(x, y)| tile(c, x, y)).collect();
            let mean = values.iter().sum::<f32>() / values.len() as f32;
            let spread = (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32).sqrt();
            assert!((mean - target).abs() < 0.25, "class {class} channel {c}: mean {mean}, want {target}");
            // A generator that has not learned the squares draws textured tiles.
            assert!(spread < 0.2, "class {class} channel {c}: spread {spread}");
        }
    }
}
