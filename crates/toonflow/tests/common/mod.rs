//! What the end-to-end tests share: running the binary, the committed fixtures, FFmpeg's
//! presence. Each test file uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the built `toonflow` with `args`.
pub fn toonflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toonflow")).args(args).output().expect("run toonflow")
}

/// A committed fixture (tests/fixtures, built by crates/toonflow-imageio/examples/make_fixtures.rs).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// A path as an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What a run said on stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether FFmpeg is there to test with: video tests are skipped without it, except under CI
/// (`CI` set), where a missing FFmpeg fails them (.ci/run installs it).
pub fn have_ffmpeg() -> bool {
    let found = Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success())
        && Command::new("ffprobe").arg("-version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "FFmpeg is missing on CI: .ci/run must install it");
        eprintln!("skipped: FFmpeg not installed (apt-get install ffmpeg)");
    }
    found
}

/// A prepared dataset (fixture photos, drawn discs) and a tiny training config beside it.
pub fn tiny_dataset(root: &Path) -> (PathBuf, PathBuf) {
    let (photos, comics) = (root.join("photos"), root.join("comics"));
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::create_dir_all(&comics).unwrap();
    for name in ["photo.jpg", "photo.webp", "rotated.jpg"] {
        std::fs::copy(fixture(name), photos.join(name)).unwrap();
    }
    for i in 0..3u32 {
        let img = image::RgbImage::from_fn(64, 64, |x, y| {
            let r = ((x as f32 - 24.0 - 4.0 * i as f32).powi(2) + (y as f32 - 32.0).powi(2)).sqrt();
            image::Rgb(if (r - 16.0).abs() < 2.0 { [0, 0, 0] } else { [220, 60 * i as u8, 40] })
        });
        img.save(comics.join(format!("c{i}.png"))).unwrap();
    }
    let data = root.join("data");
    let small = ["--size", "48", "--min-side", "32", "--validation", "1"];
    let args = [&["-q", "prepare", "--photos", s(&photos), "--style", s(&comics), "-o", s(&data)][..], &small].concat();
    let out = toonflow(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let config = root.join("tiny.json");
    std::fs::write(
        &config,
        r#"{"generator": {"base_channels": 8, "residual_blocks": 1, "expansion": 2, "styles": 1},
            "discriminator": {"base_channels": 8}, "features": "pixels", "crop": 32, "batch": 2,
            "warmup_steps": 1, "sample_every": 100, "checkpoint_every": 2}"#,
    )
    .unwrap();
    (data, config)
}

/// Presentation time of every video frame, from ffprobe.
pub fn frame_times(path: &Path) -> Vec<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=best_effort_timestamp_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().trim_end_matches(',').parse().ok()).collect()
}

/// Every frame of a video, decoded to RGB bytes by FFmpeg.
pub fn decoded_frames(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {}", path.display(), stderr(&out));
    out.stdout
}
