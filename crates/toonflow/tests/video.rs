//! End-to-end tests of `toonflow video` and `toonflow eval temporal`. They need FFmpeg
//! (`apt-get install ffmpeg`; .ci/run installs it). Without it they are skipped with a message,
//! except under CI (`CI` set), where a missing FFmpeg fails them. Test clips are made here by
//! FFmpeg from a committed sample photo (panning crop) and a generated tone.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{frame_times, have_ffmpeg, s, stderr, toonflow};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/samples").join(name)
}

/// A `seconds`-long clip at 25 fps panning across the astronaut photo, `w x h`, with a 440 Hz
/// tone as audio when `audio`.
fn make_clip(path: &Path, w: u32, h: u32, seconds: f32, audio: bool) {
    make_noisy_clip(path, w, h, seconds, audio, 0);
}

/// The same with temporal sensor-like noise of strength `noise` (FFmpeg's noise filter, 0-100).
fn make_noisy_clip(path: &Path, w: u32, h: u32, seconds: f32, audio: bool, noise: u32) {
    let crop = format!("[0:v]crop={w}:{h}:'20+t*40':'60+t*15',noise=alls={noise}:allf=t,format=yuv420p[v]");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y", "-loop", "1", "-i", s(&sample("astronaut.jpg"))]);
    if audio {
        cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]);
    }
    cmd.args(["-filter_complex", &crop, "-map", "[v]"]);
    if audio {
        cmd.args(["-map", "1:a", "-c:a", "aac"]);
    }
    cmd.args(["-t", &seconds.to_string(), "-r", "25", "-c:v", "libx264", "-crf", "16"]).arg(path);
    let status = cmd.status().expect("FFmpeg is needed for the video tests: apt-get install ffmpeg");
    assert!(status.success(), "making the test clip failed");
}

/// `ffprobe` facts of the first stream of `kind` ("v" or "a"): (frames, rate, width, height).
fn probe(path: &Path, kind: &str) -> Option<(u64, String, u32, u32)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", &format!("{kind}:0")])
        .args(["-show_entries", "stream=nb_read_frames,r_frame_rate,width,height", "-of", "default=nw=1"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_string));
    let frames = get("nb_read_frames")?.parse().ok()?;
    Some((
        frames,
        get("r_frame_rate")?,
        get("width").and_then(|v| v.parse().ok()).unwrap_or(0),
        get("height").and_then(|v| v.parse().ok()).unwrap_or(0),
    ))
}

#[test]
fn keeps_frame_count_rate_size_and_audio() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("pan.mp4"), dir.path().join("comic.mp4"));
    make_clip(&input, 192, 144, 1.6, true);
    let out = toonflow(&["video", s(&input), "-o", s(&output)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(probe(&output, "v"), probe(&input, "v"), "frames, rate and size kept");
    assert_eq!(probe(&input, "v").unwrap().0, 40);
    assert!(probe(&output, "a").is_some(), "audio stream kept");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&output), mode(&input), "the output gets the mode of any new file");
    }
}

#[test]
fn writes_every_output_format() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pan.mp4");
    make_clip(&input, 160, 120, 0.6, false);
    for name in ["out.webm", "out.gif", "out.apng", "out.webp", "frames"] {
        let output = dir.path().join(name);
        let out = toonflow(&["-q", "video", s(&input), "-o", s(&output), "--style", "webtoon"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        match name {
            "frames" => assert_eq!(std::fs::read_dir(&output).unwrap().count(), 15),
            // FFmpeg 5 cannot decode animated WebP: check the container instead.
            "out.webp" => {
                let bytes = std::fs::read(&output).unwrap();
                assert!(bytes.starts_with(b"RIFF") && bytes.windows(4).any(|w| w == b"ANIM"), "not an animated WebP");
            }
            _ => assert_eq!(probe(&output, "v").map(|p| p.0), Some(15), "{name}"),
        }
    }
}

#[test]
fn start_and_duration_cut_the_clip_and_resize_applies() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("pan.mp4"), dir.path().join("cut.mp4"));
    make_clip(&input, 192, 144, 1.6, true);
    let out = toonflow(&[
        "-q",
        "video",
        s(&input),
        "-o",
        s(&output),
        "--start",
        "0.4",
        "--duration",
        "0.8",
        "--resize",
        "50%",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (frames, rate, w, h) = probe(&output, "v").unwrap();
    assert_eq!((frames, rate.as_str(), w, h), (20, "25/1", 96, 72));
}

#[test]
fn stabilization_report_and_eval_agree_that_blend_is_steadier() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pan.mp4");
    make_noisy_clip(&input, 192, 144, 1.2, false, 12);
    let mut errors = Vec::new();
    for mode in ["off", "blend"] {
        let output = dir.path().join(format!("{mode}.mp4"));
        let out = toonflow(&["-q", "video", s(&input), "-o", s(&output), "--temporal", mode, "--crf", "12"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = toonflow(&["eval", "temporal", s(&input), s(&output), "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let json = String::from_utf8_lossy(&out.stdout).to_string();
        let value: f64 = json.split("\"warping_error\": ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        assert!(json.contains("\"frames\": 30"), "{json}");
        errors.push(value);
    }
    assert!(errors[1] < 0.8 * errors[0], "blend {} vs off {}", errors[1], errors[0]);
}

#[test]
fn a_truncated_input_gives_the_frames_that_decode_and_a_warning() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (full, cut, output) = (dir.path().join("full.ts"), dir.path().join("cut.ts"), dir.path().join("out.mp4"));
    make_clip(&full, 160, 120, 1.6, false);
    let bytes = std::fs::read(&full).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = toonflow(&["video", s(&cut), "-o", s(&output)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let frames = probe(&output, "v").unwrap().0;
    assert!(frames > 5 && frames < 40, "{frames} frames from half a file");
}

#[test]
fn unreadable_input_and_missing_ffmpeg_are_clear_errors() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (text, output) = (dir.path().join("notes.mp4"), dir.path().join("out.mp4"));
    std::fs::write(&text, "not a video").unwrap();
    let out = toonflow(&["video", s(&text), "-o", s(&output)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("notes.mp4: cannot read video"), "{}", stderr(&out));
    assert!(!output.exists());
    let out = Command::new(env!("CARGO_BIN_EXE_toonflow"))
        .args(["video", s(&text), "-o", s(&output)])
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ffprobe not found: install FFmpeg"), "{}", stderr(&out));
}

#[test]
fn a_rotated_phone_video_comes_out_upright() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (plain, rotated, output) =
        (dir.path().join("plain.mp4"), dir.path().join("rotated.mp4"), dir.path().join("out.mp4"));
    make_clip(&plain, 192, 144, 0.4, false);
    // What phones store: landscape pixels plus a display matrix saying "turn 90 degrees".
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i", s(&plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", s(&rotated)])
        .status()
        .unwrap();
    assert!(status.success());
    let out = toonflow(&["-q", "video", s(&rotated), "-o", s(&output)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, _, w, h) = probe(&output, "v").unwrap();
    assert_eq!((w, h), (144, 192), "displayed upright");
}

#[test]
fn ctrl_c_leaves_no_partial_video() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("long.mp4"), dir.path().join("out.mp4"));
    make_clip(&input, 320, 240, 8.0, true);
    let child = Command::new(env!("CARGO_BIN_EXE_toonflow"))
        .args(["-q", "video", s(&input), "-o", s(&output)])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the encoder's temporary file exists, then interrupt.
    let start = std::time::Instant::now();
    while std::fs::read_dir(dir.path()).unwrap().count() < 2 {
        assert!(start.elapsed().as_secs() < 60, "encoding never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("long.mp4")], "only the input remains");
}

#[test]
fn variable_frame_rate_keeps_every_timestamp() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cfr, vfr, output) = (dir.path().join("cfr.mp4"), dir.path().join("vfr.mp4"), dir.path().join("out.mp4"));
    make_clip(&cfr, 160, 120, 2.0, false);
    // 20 frames at 25 fps, then 30 at 10 fps.
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i", s(&cfr), "-vf", "setpts='if(lt(N,20),N*0.04,0.8+(N-20)*0.1)/TB'"])
        .args(["-fps_mode", "vfr", "-c:v", "libx264", "-crf", "16", s(&vfr)])
        .status()
        .unwrap();
    assert!(status.success());
    let source = frame_times(&vfr);
    assert_eq!(source.len(), 50);
    let out = toonflow(&["-q", "video", s(&vfr), "-o", s(&output)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result = frame_times(&output);
    assert_eq!(result.len(), source.len(), "{result:?}");
    for (a, b) in source.iter().zip(&result) {
        assert!((a - b).abs() < 0.002, "frame at {a} s came out at {b} s");
    }
}
