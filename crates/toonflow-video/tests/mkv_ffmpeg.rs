//! The Matroska writer's output as FFmpeg reads it (needs FFmpeg: `apt-get install ffmpeg`).

use std::process::Command;
use toonflow_video::mkv::MkvRawWriter;

#[test]
fn ffmpeg_reads_the_frames_and_their_timestamps() {
    // Skipped without FFmpeg, except on CI where .ci/run installs it.
    if Command::new("ffprobe").arg("-version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "FFmpeg is missing on CI: .ci/run must install it");
        eprintln!("skipped: FFmpeg not installed (apt-get install ffmpeg)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.mkv");
    let (w, h) = (16, 8);
    let mut writer = MkvRawWriter::new(std::fs::File::create(&path).unwrap(), w, h).unwrap();
    let stamps = [0u64, 40_000, 140_000, 141_000, 500_000];
    for (i, &t) in stamps.iter().enumerate() {
        let frame: Vec<u8> = (0..w * h * 3).map(|k| ((k + i * 50) % 256) as u8).collect();
        writer.write_frame(t, &frame).unwrap();
    }
    writer.into_inner().unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=pts_time,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe (apt-get install ffmpeg)");
    let text = String::from_utf8_lossy(&out.stdout);
    let times: Vec<f64> =
        text.lines().map(|l| l.split(',').find_map(|v| v.contains('.').then(|| v.parse().unwrap())).unwrap()).collect();
    assert_eq!(times, vec![0.0, 0.04, 0.14, 0.141, 0.5], "{text} {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.lines().all(|l| l.contains("16,8")), "{text}");
}
