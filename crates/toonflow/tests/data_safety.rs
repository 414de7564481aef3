//! Regression tests of issue 13 ("nothing lost, nothing half-written, no panics"), each named
//! after what it protects. The video ones need FFmpeg (skipped without it, except on CI).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{fixture, have_ffmpeg, s, stderr, tiny_dataset, toonflow};

/// Names in a folder, sorted (hidden ones included).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// A short test clip (moving test pattern), `w x h`, `frames` frames at 10 fps.
fn make_clip(path: &Path, w: u32, h: u32, frames: u32) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", &format!("testsrc=size={w}x{h}:rate=10")])
        .args(["-frames:v", &frames.to_string(), "-pix_fmt", "yuv420p", "-c:v", "libx264"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn video_never_overwrites_its_input_through_any_path_or_link() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("in.mp4");
    make_clip(&clip, 64, 48, 5);
    let before = std::fs::read(&clip).unwrap();
    let hard = dir.path().join("hard.mp4");
    std::fs::hard_link(&clip, &hard).unwrap();
    let soft = dir.path().join("soft.mp4");
    std::os::unix::fs::symlink(&clip, &soft).unwrap();
    let relative = dir.path().join(".").join("in.mp4");
    for output in [&clip, &hard, &soft, &relative] {
        let out = toonflow(&["video", s(&clip), "-o", s(output)]);
        assert_eq!(out.status.code(), Some(2), "-o {}: {}", output.display(), stderr(&out));
        assert!(stderr(&out).contains("would overwrite the input"), "{}", stderr(&out));
    }
    // A frames folder that holds the input is replaced whole: refused too.
    let out = toonflow(&["video", s(&clip), "-o", s(dir.path())]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(std::fs::read(&clip).unwrap(), before, "the input is untouched");
    assert_eq!(names(dir.path()), ["hard.mp4", "in.mp4", "soft.mp4"]);
}

#[test]
fn stylize_writes_one_output_per_input_when_names_collide() {
    let dir = tempfile::tempdir().unwrap();
    let folders: Vec<PathBuf> = (1..=3).map(|i| dir.path().join(format!("D{i}"))).collect();
    for (i, folder) in folders.iter().enumerate() {
        std::fs::create_dir(folder).unwrap();
        // Different pictures under one name, so an overwritten result would show.
        let source = ["photo.jpg", "grey.png", "photo.webp"][i];
        let img = image::open(fixture(source)).unwrap();
        img.to_rgb8().save(folder.join("x.jpg")).unwrap();
    }
    let out_dir = dir.path().join("out");
    let args: Vec<&str> =
        ["stylize"].into_iter().chain(folders.iter().map(|f| s(f))).chain(["-o", s(&out_dir)]).collect();
    let out = toonflow(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = names(&out_dir);
    assert_eq!(written.len(), 3, "{written:?}");
    assert!(stderr(&out).contains("3 stylized"), "{}", stderr(&out));
    assert!(stderr(&out).contains("another input already writes its output name"), "{}", stderr(&out));

    // One file named three ways is one input, stylized once.
    let photo = dir.path().join("a.jpg");
    std::fs::copy(fixture("photo.jpg"), &photo).unwrap();
    let same = dir.path().join(".").join("a.jpg");
    let once = dir.path().join("once");
    let out = toonflow(&["stylize", s(&photo), s(&same), s(&photo), "-o", s(&once)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names(&once), ["a.png"]);
    assert!(stderr(&out).contains("1 stylized") && stderr(&out).contains("given more than once"), "{}", stderr(&out));
}

#[test]
fn a_frames_folder_is_replaced_whole_and_never_mixed_or_left_half_written() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (long, short) = (dir.path().join("long.mp4"), dir.path().join("short.mp4"));
    make_clip(&long, 64, 48, 40);
    make_clip(&short, 64, 48, 4);
    let frames = dir.path().join("frames");
    let out = toonflow(&["-q", "video", s(&long), "-o", s(&frames)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names(&frames).len(), 40);
    let out = toonflow(&["-q", "video", s(&short), "-o", s(&frames)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names(&frames).len(), 4, "no stale frames of the earlier run");
    assert_eq!(names(dir.path()), ["frames", "long.mp4", "short.mp4"], "nothing beside the folder");

    // A folder with other files is refused and left as it was.
    let pictures = dir.path().join("pictures");
    std::fs::create_dir(&pictures).unwrap();
    std::fs::write(pictures.join("holiday.jpg"), b"precious").unwrap();
    let out = toonflow(&["-q", "video", s(&short), "-o", s(&pictures)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("holds other files"), "{}", stderr(&out));
    assert_eq!(names(&pictures), ["holiday.jpg"]);

    // Interrupted: the old frames stay, no staging folder is left.
    let child = Command::new(env!("CARGO_BIN_EXE_toonflow"))
        .args(["-q", "video", s(&long), "-o", s(&frames), "--resize", "1000%"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let _ = child.wait_with_output().unwrap();
    assert_eq!(names(&frames).len(), 4, "the earlier frames are kept");
    assert_eq!(names(dir.path()), ["frames", "long.mp4", "pictures", "short.mp4"]);
}

#[test]
fn a_killed_video_leaves_a_temporary_file_the_next_run_removes() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("in.mp4");
    make_clip(&clip, 64, 48, 3);
    let output = dir.path().join("out.mp4");
    // What a kill -9 leaves: a hidden temporary named after the output.
    let stale = dir.path().join(".out.mp4.toonflow-AbCdEf.mp4");
    std::fs::write(&stale, b"half a video").unwrap();
    let unrelated = dir.path().join(".notes.toonflow-keep");
    std::fs::write(&unrelated, b"keep").unwrap();
    let out = toonflow(&["-q", "video", s(&clip), "-o", s(&output)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale.exists(), "the stale temporary is removed");
    assert!(unrelated.exists() && output.exists());
}

#[test]
fn undecodable_streams_are_clear_errors_and_animated_webp_is_measured() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // An 11-byte text file named .jpg (FFmpeg sees a 0x0 MJPEG stream) and an animated WebP
    // (which FFmpeg writes but cannot decode) as video inputs.
    let fake = dir.path().join("x.jpg");
    std::fs::write(&fake, b"hello world").unwrap();
    let clip = dir.path().join("in.mp4");
    make_clip(&clip, 64, 48, 4);
    let webp = dir.path().join("anim.webp");
    let out = toonflow(&["-q", "video", s(&clip), "-o", s(&webp)]);
    assert!(out.status.success(), "{}", stderr(&out));
    for input in [&fake, &webp] {
        let out = toonflow(&["video", s(input), "-o", s(&dir.path().join("o.mp4"))]);
        assert_eq!(out.status.code(), Some(1), "{}: {}", input.display(), stderr(&out));
        assert!(stderr(&out).contains("cannot decode"), "{}", stderr(&out));
    }
    // toonflow reads its own animated WebP back itself, frame by frame.
    let out = toonflow(&["eval", "temporal", s(&clip), s(&webp)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("over 3 frame pairs"), "{out:?}");
    let out = toonflow(&["video", s(&clip), "-o", s(&dir.path().join("r.webp")), "--report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("warping error"), "{out:?}");
}

#[test]
fn video_flags_past_the_clip_absurd_or_enormous_are_usage_errors() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("in.mp4");
    make_clip(&clip, 64, 48, 10);
    let o = dir.path().join("o.mp4");
    let out = toonflow(&["video", s(&clip), "-o", s(&o), "--start", "30"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("s long"), "{}", stderr(&out));
    let out = toonflow(&["video", s(&clip), "-o", s(&o), "--duration", "1e30"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A resize to 4 gigapixels would need tens of gigabytes a frame.
    let out = toonflow(&["video", s(&clip), "-o", s(&o), "--resize", "65535x65535"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("limit of a video frame (lower --resize)"), "{}", stderr(&out));
    assert!(!o.exists());
}

#[test]
fn odd_sized_video_keeps_its_size_or_says_it_was_padded() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("odd.mkv");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=65x49:rate=10", "-frames:v", "3"])
        .args(["-c:v", "ffv1"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    let out = toonflow(&["video", s(&clip), "-o", s(&dir.path().join("o.mp4"))]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("65x49 was padded to 66x50"), "{}", stderr(&out));
    // VP9 takes odd sides: the WebM keeps the size exactly and says nothing about padding.
    let webm = dir.path().join("o.webm");
    let out = toonflow(&["video", s(&clip), "-o", s(&webm)]);
    assert!(out.status.success() && !stderr(&out).contains("padded"), "{}", stderr(&out));
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0"])
        .arg(&webm)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "65,49");
}

#[test]
fn zero_steps_is_a_usage_error_that_leaves_no_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    std::fs::copy(fixture("photo.jpg"), images.join("a.jpg")).unwrap();
    let run = dir.path().join("run");
    let out = toonflow(&["gan", "train", s(&images), "-o", s(&run), "--steps", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--steps"), "{}", stderr(&out));
    assert!(!run.exists());
    let out = toonflow(&["train", s(&images), "-o", s(&run), "--steps", "0"]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("no prepared dataset"), "{}", stderr(&out));
    assert!(!run.exists());
}

#[test]
fn prepare_without_usable_photos_writes_its_report_and_no_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let (photos, comics) = (dir.path().join("photos"), dir.path().join("comics"));
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::create_dir_all(&comics).unwrap();
    std::fs::copy(fixture("corrupt.png"), photos.join("corrupt.png")).unwrap();
    std::fs::copy(fixture("photo.jpg"), comics.join("c.jpg")).unwrap();
    let data = dir.path().join("data");
    let out = toonflow(&["prepare", "--photos", s(&photos), "--style", s(&comics), "-o", s(&data)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(names(&data), ["report.json"], "a report and nothing half-made");
    let report = std::fs::read_to_string(data.join("report.json")).unwrap();
    assert!(report.contains("corrupt.png"), "{report}");
    // Inputs and outputs may not nest: the output is replaced whole.
    let out = toonflow(&["prepare", "--photos", s(&photos), "--style", s(&comics), "-o", s(&photos.join("data"))]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(names(&photos), ["corrupt.png"]);
    // A folder of other files is not replaced.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), b"mine").unwrap();
    let out = toonflow(&["prepare", "--photos", s(&photos), "--style", s(&comics), "-o", s(&other)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(names(&other), ["notes.txt"]);
}

#[test]
fn eval_content_refuses_outputs_that_are_not_the_input_at_any_scale() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, outputs) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&outputs).unwrap();
    std::fs::copy(fixture("photo.jpg"), inputs.join("a.jpg")).unwrap();
    std::fs::copy(fixture("photo.jpg"), inputs.join("b.jpg")).unwrap();
    let photo = image::open(fixture("photo.jpg")).unwrap();
    photo.save(outputs.join("a.png")).unwrap();
    image::RgbImage::new(1, 1).save(outputs.join("b.png")).unwrap();
    let out = toonflow(&["eval", "content", "--inputs", s(&inputs), "--outputs", s(&outputs), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("b.png") && stderr(&out).contains("too small"), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["pairs"].as_u64(), report["skipped"].as_u64()), (Some(1), Some(1)));
    assert!(report["ssim"].as_f64().unwrap() > 0.99, "only the real pair is scored");
}

#[test]
fn stylize_messages_name_the_real_problem() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothere.jpg");
    let out = toonflow(&["stylize", s(&missing), "-o", s(&dir.path().join("x.png"))]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothere.jpg: no such file"), "{}", stderr(&out));
    // An animation: its first frame, said once.
    let out = toonflow(&["stylize", s(&fixture("first-frame.gif")), "-o", s(&dir.path().join("g.png"))]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("an animation; its first frame"), "{}", stderr(&out));
    // Far more threads than cores: lowered, with a word.
    let out = toonflow(&["stylize", s(&fixture("photo.jpg")), "-o", s(&dir.path().join("j.png")), "-j", "100000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("using"), "{}", stderr(&out));
}

#[test]
fn damaged_checkpoints_and_model_files_are_refused_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = tiny_dataset(dir.path());
    let run = dir.path().join("run");
    let train =
        |steps: &str| toonflow(&["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--steps", steps]);
    let out = train("2");
    assert!(out.status.success(), "{}", stderr(&out));

    // A byte flipped in place (the size unchanged) in the checkpoint: resuming refuses it.
    let blob = run.join("checkpoint/generator.bpk");
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&blob, &bytes).unwrap();
    let out = train("4");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));

    // The same in the model file: stylize refuses it instead of drawing black.
    let model = run.join("model.safetensors");
    let mut bytes = std::fs::read(&model).unwrap();
    let last = bytes.len() - 7;
    bytes[last] ^= 0x55;
    std::fs::write(&model, &bytes).unwrap();
    let styled = dir.path().join("styled.png");
    let out = toonflow(&["stylize", s(&fixture("photo.jpg")), "-o", s(&styled), "--model", s(&model)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("checksum"), "{}", stderr(&out));
    assert!(!styled.exists());

    // Weights that are NaN with a valid checksum (a diverged model): refused too.
    bytes[last] ^= 0x55;
    std::fs::write(&model, &bytes).unwrap();
    let file = toonflow_infer::modelfile::read_model_file::<toonflow_infer::generator::GeneratorConfig>(
        &model,
        toonflow_infer::modelfile::ModelKind::Generator,
    )
    .unwrap();
    let mut tensors: Vec<(String, toonflow_infer::tensorfile::HostTensor)> = file.tensors.into_iter().collect();
    tensors[0].1.values[0] = f32::NAN;
    let nan = dir.path().join("nan.safetensors");
    let kind = toonflow_infer::modelfile::ModelKind::Generator;
    toonflow_infer::modelfile::write_model_file(&nan, kind, &file.config, &file.info, &tensors).unwrap();
    let out = toonflow(&["stylize", s(&fixture("photo.jpg")), "-o", s(&styled), "--model", s(&nan)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("NaN"), "{}", stderr(&out));
    assert!(!styled.exists());
}

#[test]
fn a_video_damaged_in_the_middle_says_how_many_frames_decoded() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mkv");
    make_clip(&clip, 160, 120, 30);
    let mut bytes = std::fs::read(&clip).unwrap();
    let n = bytes.len();
    bytes[n * 2 / 5..n * 3 / 5].fill(0);
    let damaged = dir.path().join("damaged.mkv");
    std::fs::write(&damaged, &bytes).unwrap();
    let out = toonflow(&["video", s(&damaged), "-o", s(&dir.path().join("o.mp4"))]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Either FFmpeg's own complaint or the count short of the container's: a warning that
    // names the file and how many frames made it.
    assert!(stderr(&out).contains("damaged.mkv: decoded"), "{}", stderr(&out));
}

#[test]
fn a_diverging_run_stops_at_the_step_that_went_non_finite_and_saves_nothing_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..4 {
        std::fs::copy(fixture("photo.jpg"), images.join(format!("p{i}.jpg"))).unwrap();
    }
    // Learning rates of 1e30 overflow the weights at the first update.
    let config = dir.path().join("diverge.json");
    let settings =
        r#"{"optimizer": {"lr_generator": 1e30, "lr_discriminator": 1e30}, "batch": 4, "checkpoint_every": 1}"#;
    std::fs::write(&config, settings).unwrap();
    let run = dir.path().join("run");
    let out = toonflow(&["-q", "gan", "train", s(&images), "-o", s(&run), "--steps", "4", "--config", s(&config)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("step 1: the") && stderr(&out).contains("not a finite number"), "{}", stderr(&out));
    assert!(stderr(&out).contains("before any checkpoint was written"), "{}", stderr(&out));
    assert!(!run.join("model.safetensors").exists() && !run.join("checkpoint").exists());
}
