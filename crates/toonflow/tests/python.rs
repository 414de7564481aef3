//! The Python package's tests (python/tests, pytest), run in their own virtualenv against this
//! build of the command line: arrays equal to the CLI's files, the ONNX export in ONNX Runtime,
//! video. `python/setup-test-env.sh` builds the virtualenv (`.ci/run` runs it); without it the
//! tests say "skipped", except under CI, where its absence fails them.

mod common;

use common::{s, stderr, tiny_dataset, toonflow};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The test virtualenv's Python (python/setup-test-env.sh), if it was built.
fn test_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/python-env/bin/python");
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the Python test env is missing on CI: .ci/run must run python/setup-test-env.sh"
    );
    eprintln!("skipped: no Python test env (run python/setup-test-env.sh)");
    None
}

/// A generator of two styles ("ink" and "warm", the tiny dataset's comics and a tinted copy)
/// drawn over the comic preset, trained for two steps — at a learning rate that moves the
/// weights far enough from their start (no change over the base, both styles alike) for the
/// styles to differ.
fn conditional_model(root: &Path) -> PathBuf {
    let (ink, warm) = (root.join("comics"), root.join("warm"));
    std::fs::create_dir_all(&warm).unwrap();
    for entry in std::fs::read_dir(&ink).unwrap() {
        let path = entry.unwrap().path();
        let mut img = image::open(&path).unwrap().to_rgb8();
        img.pixels_mut().for_each(|p| p.0[2] = p.0[2].saturating_add(90));
        img.save(warm.join(path.file_name().unwrap())).unwrap();
    }
    let data = root.join("data-two-styles");
    let styles = [format!("ink={}", s(&ink)), format!("warm={}", s(&warm))];
    let out = toonflow(&[
        "-q",
        "prepare",
        "--photos",
        s(&root.join("photos")),
        "--style",
        &styles[0],
        "--style",
        &styles[1],
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
    let config = root.join("two-styles.json");
    std::fs::write(
        &config,
        r#"{"generator": {"base_channels": 8, "residual_blocks": 1, "expansion": 2, "styles": 2, "base_style": "comic"},
            "discriminator": {"base_channels": 8}, "features": "pixels", "crop": 32, "batch": 2,
            "optimizer": {"lr_generator": 0.05, "lr_discriminator": 2e-4, "beta1": 0.5, "beta2": 0.999},
            "warmup_steps": 1, "sample_every": 100, "checkpoint_every": 2}"#,
    )
    .unwrap();
    let run = root.join("run-two-styles");
    let out = toonflow(&["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--steps", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    run.join("model.safetensors")
}

#[test]
fn python_package_tests_pass() {
    let Some(python) = test_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = tiny_dataset(dir.path());
    let run = dir.path().join("run");
    let out = toonflow(&["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--steps", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conditional = conditional_model(dir.path());
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../python/tests");
    let out = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp"])
        .arg(dir.path().join("pytest"))
        .arg(&tests)
        .env("TOONFLOW_BIN", env!("CARGO_BIN_EXE_toonflow"))
        .env("TOONFLOW_TEST_MODEL", run.join("model.safetensors"))
        .env("TOONFLOW_TEST_CONDITIONAL_MODEL", conditional)
        .output()
        .expect("run pytest");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    eprintln!("{report}");
    assert!(out.status.success(), "pytest failed:\n{report}");
    assert!(!report.contains("skipped"), "no Python test may be skipped here:\n{report}");
}
