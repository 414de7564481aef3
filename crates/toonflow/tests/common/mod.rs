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
