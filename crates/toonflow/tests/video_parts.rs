//! `toonflow video plan | part | join`: a clip with a cut and a long shot split in chunks gives,
//! joined, the frames (and timestamps, and audio) of a single `toonflow video` run; parts of
//! another plan, a missing part and a changed input are refused by name.

mod common;

use common::{decoded_frames, frame_times, have_ffmpeg, s, stderr, toonflow};
use std::path::Path;
use std::process::Command;

/// 10 s of a moving test pattern (one long shot), a cut, 1 s of another picture; a tone.
fn clip_with_a_cut(path: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=24:duration=10"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=160x96:rate=24",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=11",
        ])
        .args(["-filter_complex", "[1:v]trim=duration=1,setpts=PTS-STARTPTS[b];[0:v][b]concat=n=2:v=1[v]"])
        .args(["-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn ok(args: &[&str]) {
    let out = toonflow(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

fn audio_samples(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-f", "s16le", "-"])
        .output()
        .unwrap();
    out.stdout
}

#[test]
fn joined_parts_are_the_frames_of_a_single_run() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (input, plan) = (dir.path().join("clip.mp4"), dir.path().join("plan.json"));
    clip_with_a_cut(&input);
    let style = ["--style", "webtoon", "--crf", "20"];
    // Parts of 80 frames: the 240-frame shot in three chunks, the last warmed up from frame 58
    // (102 frames, the default for the default blend, inside the shot), the 24-frame shot a part
    // of its own.
    ok(&[&["-q", "video", "plan", s(&input), "-o", s(&plan), "--part-frames", "80", "--"][..], &style].concat());
    let text = std::fs::read_to_string(&plan).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["frames"], 264);
    assert_eq!(json["cuts"], serde_json::json!([240]));
    let parts = json["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 4);
    assert_eq!((parts[2]["start"].as_u64(), parts[2]["warm_up_from"].as_u64()), (Some(160), Some(58)));
    assert_eq!(json["shots"][1]["start_time"].as_f64(), Some(10.0));
    for k in 0..4 {
        ok(&["-q", "video", "part", s(&plan), &k.to_string()]);
    }
    for name in ["joined.mkv", "joined.mp4"] {
        ok(&["-q", "video", "join", s(&plan), "-o", s(&dir.path().join(name))]);
    }
    for ext in ["mkv", "mp4"] {
        let single = dir.path().join(format!("single.{ext}"));
        ok(&[&["-q", "video", s(&input), "-o", s(&single)][..], &style].concat());
        let joined = dir.path().join(format!("joined.{ext}"));
        let (a, b) = (decoded_frames(&single), decoded_frames(&joined));
        assert_eq!(a.len(), 264 * 160 * 96 * 3, "{ext}: every frame");
        assert!(a == b, "{ext}: the joined frames differ from a single run's");
        assert_eq!(frame_times(&single), frame_times(&joined), "{ext}: timestamps");
        // And they are the source's (Matroska keeps milliseconds).
        let (source, kept) = (frame_times(&input), frame_times(&joined));
        assert_eq!(source.len(), kept.len(), "{ext}: frame count");
        assert!(
            source.iter().zip(&kept).all(|(a, b)| (a - b).abs() <= 0.0005),
            "{ext}: {:?} vs {:?}",
            &source[..3],
            &kept[..3]
        );
        let audio = audio_samples(&joined);
        assert!(!audio.is_empty() && audio == audio_samples(&single), "{ext}: audio");
    }
    // The parts are lossless and MP4 is encoded once, with the single run's settings: the file
    // is the same.
    assert!(
        std::fs::read(dir.path().join("joined.mp4")).unwrap() == std::fs::read(dir.path().join("single.mp4")).unwrap()
    );
}

#[test]
fn foreign_missing_or_stale_parts_and_a_changed_input_are_refused() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("clip.mp4");
    clip_with_a_cut(&input);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let (plan_a, plan_b) = (a.join("plan.json"), b.join("plan.json"));
    ok(&["-q", "video", "plan", s(&input), "-o", s(&plan_a), "--part-frames", "200"]);
    ok(&["-q", "video", "plan", s(&input), "-o", s(&plan_b), "--part-frames", "200", "--", "--style", "manga"]);
    for k in ["0", "1", "2"] {
        ok(&["-q", "video", "part", s(&plan_a), k]);
    }
    let joined = dir.path().join("out.mp4");
    // A part missing.
    let out = toonflow(&["-q", "video", "join", s(&plan_b), "-o", s(&joined)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("part-0.mkv: missing"), "{}", stderr(&out));
    // Parts of another plan (other settings): refused by their tag, nothing written.
    let out = toonflow(&["-q", "video", "join", s(&plan_b), "-o", s(&joined), "--parts", s(&a)]);
    assert!(stderr(&out).contains("is part ") && stderr(&out).contains("not part"), "{}", stderr(&out));
    assert!(!joined.exists());
    // The output is one of the parts: refused, naming that part.
    let out = toonflow(&["-q", "video", "join", s(&plan_a), "-o", s(&a.join("part-1.mkv"))]);
    assert!(stderr(&out).contains("part-1.mkv); choose another -o"), "{}", stderr(&out));
    // A part cut short.
    let part0 = a.join("part-0.mkv");
    let bytes = std::fs::read(&part0).unwrap();
    std::fs::write(&part0, &bytes[..bytes.len() / 2]).unwrap();
    let out = toonflow(&["-q", "video", "join", s(&plan_a), "-o", s(&joined)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("part-0.mkv"), "{}", stderr(&out));
    assert!(!joined.exists(), "no output from a bad part");
    // Another video where the plan's was.
    let other = dir.path().join("other.mp4");
    let mut changed = std::fs::read(&input).unwrap();
    changed.extend_from_slice(b"appended");
    std::fs::write(&other, changed).unwrap();
    let out =
        toonflow(&["-q", "video", "part", s(&plan_a), "0", "--input", s(&other), "-o", s(&dir.path().join("p.mkv"))]);
    assert!(stderr(&out).contains("not the video the plan was made for"), "{}", stderr(&out));
    // Bad flags after --, a part number past the end, variable flags for one run.
    let out = toonflow(&["-q", "video", "plan", s(&input), "-o", s(&plan_a), "--", "--strength", "2"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = toonflow(&["-q", "video", "part", s(&plan_a), "9"]);
    assert!(stderr(&out).contains("no part 9: the plan has parts 0 to 2"), "{}", stderr(&out));
    let out = toonflow(&["-q", "video", "plan", s(&input), "-o", s(&plan_a), "--", "--start", "2"]);
    assert!(stderr(&out).contains("--start, --duration and --report are for one run"), "{}", stderr(&out));
}

#[test]
fn an_edited_plan_with_an_absurd_frame_count_is_an_error_not_an_abort() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (input, plan) = (dir.path().join("clip.mp4"), dir.path().join("plan.json"));
    clip_with_a_cut(&input);
    ok(&["-q", "video", "plan", s(&input), "-o", s(&plan)]);
    // A plan claiming 10^18 frames in one part: it costs nothing until the video runs short.
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    json["frames"] = serde_json::json!(1_000_000_000_000_000_000u64);
    json["parts"] = serde_json::json!([{ "start": 0, "end": 1_000_000_000_000_000_000u64, "warm_up_from": 0 }]);
    std::fs::write(&plan, json.to_string()).unwrap();
    let part = dir.path().join("part-0.mkv");
    let out = toonflow(&["-q", "video", "part", s(&plan), "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("frames the plan expects"), "{}", stderr(&out));
    assert!(!part.exists(), "no part from a plan the video does not match");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "only the clip and the plan: {leftovers:?}");
}
