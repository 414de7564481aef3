//! `toonflow prepare`, `train`, `gan` and `stylize --model` end to end, with tiny networks.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{fixture, s, stderr, toonflow};

/// Photos from the fixtures (plus a corrupt file) and flat outlined discs as "comics".
fn dataset(root: &Path) -> (PathBuf, PathBuf) {
    let (photos, comics) = (root.join("photos"), root.join("comics"));
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::create_dir_all(&comics).unwrap();
    for name in ["photo.jpg", "photo.webp", "rotated.jpg", "corrupt.png"] {
        std::fs::copy(fixture(name), photos.join(name)).unwrap();
    }
    for i in 0..3u32 {
        let img = image::RgbImage::from_fn(80, 80, |x, y| {
            let r = ((x as f32 - 30.0 - 5.0 * i as f32).powi(2) + (y as f32 - 40.0).powi(2)).sqrt();
            if (r - 20.0).abs() < 2.0 {
                image::Rgb([0, 0, 0])
            } else if r < 20.0 {
                image::Rgb([200, 60 * i as u8, 40])
            } else {
                image::Rgb([250, 240, 210])
            }
        });
        img.save(comics.join(format!("c{i}.png"))).unwrap();
    }
    (photos, comics)
}

const TINY: &str = r#"{
  "generator": {"base_channels": 8, "residual_blocks": 1, "expansion": 2, "styles": 1},
  "discriminator": {"base_channels": 8}, "features": "pixels", "crop": 32, "batch": 2, "warmup_steps": 2,
  "sample_every": 2, "checkpoint_every": 2
}"#;

fn prepared(root: &Path) -> PathBuf {
    let (photos, comics) = dataset(root);
    let data = root.join("data");
    let out = toonflow(&[
        "prepare",
        "--photos",
        s(&photos),
        "--style",
        &format!("discs={}", s(&comics)),
        "-o",
        s(&data),
        "--size",
        "48",
        "--min-side",
        "32",
        "--validation",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("corrupt.png"), "the report names the dropped file: {}", stderr(&out));
    std::fs::write(root.join("tiny.json"), TINY).unwrap();
    data
}

fn log_lines(run: &Path) -> usize {
    std::fs::read_to_string(run.join("log.jsonl")).unwrap().lines().count()
}

#[test]
fn train_resumes_and_its_model_stylizes() {
    let dir = tempfile::tempdir().unwrap();
    let data = prepared(dir.path());
    let (run, config) = (dir.path().join("run"), dir.path().join("tiny.json"));
    let out = toonflow(&["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--steps", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(log_lines(&run), 4);
    assert!(run.join("samples/step-000004.png").exists());

    // What a kill -9 leaves (a hidden temporary of the model, a staging folder of the
    // checkpoint) is removed by the next run of the same folder; other files are not.
    let stale = [run.join(".model.safetensors.toonflow-AbC123"), run.join(".checkpoint.toonflow-staging")];
    std::fs::write(&stale[0], b"half a model").unwrap();
    std::fs::create_dir(&stale[1]).unwrap();
    std::fs::write(run.join("notes.txt"), b"mine").unwrap();

    // Running again with more steps picks up at step 5.
    let out = toonflow(&["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--steps", "6"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(log_lines(&run), 6);
    assert!(stale.iter().all(|p| !p.exists()) && run.join("notes.txt").exists());
    let last: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(run.join("log.jsonl")).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(last["step"], 6);

    // Other settings on an existing run are refused, not silently mixed.
    let out = toonflow(&["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--batch", "3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("other settings"), "{}", stderr(&out));

    // New loss weights (here: the temporal terms) need --fine-tune; with it the run goes on.
    let temporal = ["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--steps", "7", "--temporal"];
    let out = toonflow(&temporal);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--fine-tune"), "{}", stderr(&out));
    assert_eq!(log_lines(&run), 6);
    let out = toonflow(&[&temporal[..], &["--fine-tune"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(log_lines(&run), 7);
    let last: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(run.join("log.jsonl")).unwrap().lines().last().unwrap()).unwrap();
    assert!(last["equivariance"].as_f64().unwrap() > 0.0, "{last}");

    let model = run.join("model.safetensors");
    let styled = dir.path().join("styled.png");
    let out = toonflow(&["-q", "stylize", s(&fixture("photo.jpg")), "-o", s(&styled), "--model", s(&model)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (a, b) = (image::open(fixture("photo.jpg")).unwrap(), image::open(&styled).unwrap());
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    // The model ran at its training photos' size (48) and was upsampled; --full-resolution runs
    // it on every pixel: the same size, another drawing.
    assert!(a.width().min(a.height()) > 48);
    let full = dir.path().join("full.png");
    let out = toonflow(&[
        "-q",
        "stylize",
        s(&fixture("photo.jpg")),
        "-o",
        s(&full),
        "--model",
        s(&model),
        "--full-resolution",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let c = image::open(&full).unwrap();
    assert_eq!((c.width(), c.height()), (a.width(), a.height()));
    assert_ne!(c.to_rgb8().into_raw(), b.to_rgb8().into_raw());

    // --keep-colors takes hue and chroma from the photo: the colour cast (mean red-minus-green
    // and blue-minus-green offsets) moves back toward the photo's.
    let kept = dir.path().join("kept.png");
    let out = toonflow(&["stylize", s(&fixture("photo.jpg")), "-o", s(&kept), "--model", s(&model), "--keep-colors"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cast = |img: &image::RgbImage| {
        let n = img.pixels().len() as f64;
        let sum = |c: usize| img.pixels().map(|p| p[c] as f64 - p[1] as f64).sum::<f64>() / n;
        (sum(0), sum(2))
    };
    let distance = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).hypot(a.1 - b.1);
    let photo = cast(&a.to_rgb8());
    let (from_model, from_kept) =
        (distance(cast(&b.to_rgb8()), photo), distance(cast(&image::open(&kept).unwrap().to_rgb8()), photo));
    assert!(from_kept < 0.5 * from_model, "cast off the photo's: model {from_model:.1}, kept {from_kept:.1}");

    let out = toonflow(&[
        "-q",
        "stylize",
        s(&fixture("photo.jpg")),
        "-o",
        s(&styled),
        "--model",
        s(&model),
        "--style-id",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("discs"), "lists the model's styles: {}", stderr(&out));

    let out =
        toonflow(&["-q", "stylize", s(&fixture("photo.jpg")), "-o", s(&styled), "--model", s(&fixture("corrupt.png"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("corrupt.png"), "{}", stderr(&out));
}

#[test]
fn a_generator_trained_over_a_base_style_starts_from_that_style() {
    let dir = tempfile::tempdir().unwrap();
    let data = prepared(dir.path());
    let (run, config) = (dir.path().join("run"), dir.path().join("tiny.json"));
    let train = ["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--base-style", "comic"];
    let out = toonflow(&[&train[..], &["--print-config"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["generator"]["base_style"], "comic");
    let out = toonflow(&[&train[..], &["--steps", "3"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));

    // Three steps move the correction little: the model draws what the comic style draws at the
    // model's trained size, far closer to it than the photo is.
    let photo = fixture("photo.jpg");
    let draw = |name: &str, flags: &[&str]| {
        let path = dir.path().join(name);
        let out = toonflow(&[&["-q", "stylize", s(&photo), "-o", s(&path)], flags].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        image::open(&path).unwrap().to_rgb8()
    };
    let model = run.join("model.safetensors");
    let full = draw("model.png", &["--model", s(&model), "--full-resolution"]);
    let preset = draw("preset.png", &["--style", "comic"]);
    let mean_diff = |a: &image::RgbImage, b: &image::RgbImage| {
        a.as_raw().iter().zip(b.as_raw()).map(|(&x, &y)| (x as f64 - y as f64).abs()).sum::<f64>() / a.len() as f64
    };
    let photo = image::open(&photo).unwrap().to_rgb8();
    let (to_preset, photo_to_preset) = (mean_diff(&full, &preset), mean_diff(&photo, &preset));
    assert!(to_preset < 0.25 * photo_to_preset, "model {to_preset:.1} and photo {photo_to_preset:.1} from the preset");
}

#[test]
fn training_without_vgg_weights_says_how_to_get_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = prepared(dir.path());
    let empty = dir.path().join("empty-cache");
    let out = Command::new(env!("CARGO_BIN_EXE_toonflow"))
        .args(["-q", "train", s(&data), "-o", s(&dir.path().join("run")), "--steps", "1", "--crop", "32"])
        .env("TOONFLOW_CACHE_DIR", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("toonflow fetch-vgg16"), "{}", stderr(&out));
}

#[test]
fn ctrl_c_saves_a_checkpoint_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let data = prepared(dir.path());
    let run = dir.path().join("run");
    let config = dir.path().join("tiny.json");
    let child = Command::new(env!("CARGO_BIN_EXE_toonflow"))
        .args(["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--steps", "100000"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::fs::read_to_string(run.join("log.jsonl")).map(|l| l.lines().count()).unwrap_or(0) < 3 {
        assert!(started.elapsed().as_secs() < 120, "training did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let steps = log_lines(&run);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("checkpoint/state.json")).unwrap()).unwrap();
    assert_eq!(state["step"].as_u64(), Some(steps as u64), "the checkpoint holds every logged step");
}

#[test]
fn gan_trains_and_samples_a_grid() {
    let dir = tempfile::tempdir().unwrap();
    let (_, comics) = dataset(dir.path());
    let run = dir.path().join("gan");
    let config = dir.path().join("gan.json");
    std::fs::write(
        &config,
        r#"{"model": {"latent": 8, "generator_channels": 4, "discriminator_channels": 4, "classes": 0}}"#,
    )
    .unwrap();
    let out = toonflow(&[
        "-q",
        "gan",
        "train",
        s(&comics),
        "-o",
        s(&run),
        "--config",
        s(&config),
        "--steps",
        "3",
        "--batch",
        "4",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let grid = dir.path().join("grid.png");
    let out = toonflow(&["gan", "sample", s(&run), "-n", "4", "-o", s(&grid)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let img = image::open(&grid).unwrap();
    assert_eq!((img.width(), img.height()), (2 * 66 + 2, 2 * 66 + 2), "2x2 tiles of 64 px with 2 px gaps");
    let out = toonflow(&["gan", "sample", s(&run), "-o", s(&grid), "--class", "x"]);
    assert_eq!(out.status.code(), Some(2));
}
