//! End-to-end tests of the `toonflow` binary on the committed fixtures (tests/fixtures, built by
//! crates/toonflow-imageio/examples/make_fixtures.rs; provenance in assets/samples/PROVENANCE.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{fixture, s, stderr, toonflow};

/// `toonflow -q stylize FIXTURE -o DEST EXTRA...`
fn stylize_fixture(name: &str, dest: &Path, extra: &[&str]) -> Output {
    let (input, dest) = (fixture(name), dest.to_str().unwrap().to_owned());
    let mut args = vec!["-q", "stylize", input.to_str().unwrap(), "-o", &dest];
    args.extend_from_slice(extra);
    toonflow(&args)
}

/// Every file below `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walk(dir).iter().map(|p| p.strip_prefix(dir).unwrap().display().to_string()).collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn help_lists_the_subcommands_and_exit_codes() {
    let out = toonflow(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in ["stylize", "styles", "Exit codes", "--verbose", "--quiet"] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    let out = toonflow(&["stylize", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in ["--strength", "--style", "--denoise", "--resize", "--max-pixels", "manga", "webtoon"] {
        assert!(help.contains(needle), "stylize --help lacks {needle}");
    }
    let out = toonflow(&["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("toonflow "));
}

#[test]
fn stylizes_one_file_to_the_named_output() {
    let dir = tempfile::tempdir().unwrap();
    for style in ["comic", "webtoon", "manga"] {
        let dest = dir.path().join(format!("{style}.png"));
        let out = stylize_fixture("photo.jpg", &dest, &["--style", style]);
        assert!(out.status.success(), "{style}: {}", stderr(&out));
        let img = image::open(&dest).unwrap();
        assert_eq!((img.width(), img.height()), (240, 160));
    }
    // Manga is black and white.
    let manga = image::open(dir.path().join("manga.png")).unwrap().to_rgb8();
    assert!(manga.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
}

#[test]
fn reads_every_input_format() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["photo.webp", "photo.bmp", "photo.tiff", "photo16.png", "grey.png", "first-frame.gif", "photo.jpg"] {
        let dest = dir.path().join(format!("{name}.png"));
        let out = stylize_fixture(name, &dest, &[]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(image::open(&dest).is_ok(), "{name}: output unreadable");
    }
    // Only the first (red) frame of the GIF is used.
    let gif = image::open(dir.path().join("first-frame.gif.png")).unwrap().to_rgb8();
    let p = gif.get_pixel(32, 24);
    assert!(p[0] > 2 * p[2], "first frame is red, found {p:?}");
}

#[test]
fn applies_exif_orientation_and_keeps_alpha() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("upright.png");
    assert!(stylize_fixture("rotated.jpg", &dest, &[]).status.success());
    let img = image::open(&dest).unwrap();
    assert_eq!((img.width(), img.height()), (32, 64), "stored 64x32 with orientation 6");

    let dest = dir.path().join("alpha.png");
    assert!(stylize_fixture("transparent.png", &dest, &[]).status.success());
    let (src, out) = (image::open(fixture("transparent.png")).unwrap().to_rgba8(), image::open(&dest).unwrap());
    assert!(out.color().has_alpha());
    let out = out.to_rgba8();
    assert!(src.pixels().zip(out.pixels()).all(|(a, b)| a[3] == b[3]), "alpha must pass through unchanged");
}

#[test]
fn strength_zero_keeps_the_photo_and_post_processing_resizes() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("same.png");
    assert!(stylize_fixture("grey.png", &dest, &["--strength", "0"]).status.success());
    let (a, b) = (image::open(fixture("grey.png")).unwrap().to_rgb8(), image::open(&dest).unwrap().to_rgb8());
    let max_diff = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
    assert!(max_diff <= 1, "strength 0 changed the image by {max_diff} levels");

    let dest = dir.path().join("small.jpg");
    let out = stylize_fixture("photo.jpg", &dest, &["--resize", "50%", "--denoise", "median:3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let img = image::open(&dest).unwrap();
    assert_eq!((img.width(), img.height()), (120, 80));
    let dest = dir.path().join("wide.webp");
    assert!(stylize_fixture("photo.jpg", &dest, &["--resize", "300x", "--resize-filter", "area"]).status.success());
    assert_eq!(image::image_dimensions(&dest).unwrap(), (300, 200));
}

#[test]
fn a_folder_batch_goes_past_bad_files_and_mirrors_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("trip/day1")).unwrap();
    for (name, dest) in [
        ("photo.jpg", "cover.jpg"),
        ("photo.webp", "trip/beach.webp"),
        ("photo16.png", "trip/day1/deep.png"),
        ("photo.bmp", "trip/day1/deep.bmp"), // same stem: deep.bmp sorts first and keeps deep.png
        ("corrupt.png", "trip/corrupt.png"),
        ("truncated.jpg", "trip/day1/truncated.jpg"),
        ("empty.png", "empty.png"),
        ("not-an-image.jpg", "trip/not-an-image.jpg"),
        ("bomb.png", "bomb.png"),
    ] {
        std::fs::copy(fixture(name), input.join(dest)).unwrap();
    }
    std::fs::write(input.join("trip/notes.txt"), "not picked up: not an image extension").unwrap();
    let output = dir.path().join("out");
    let out = toonflow(&["stylize", s(&input), "-o", s(&output)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "some inputs failed: {err}");
    assert!(err.contains("4 stylized, 5 failed"), "{err}");
    for (file, reason) in [
        ("trip/corrupt.png", "corrupt or truncated PNG"),
        ("trip/day1/truncated.jpg", "truncated JPEG data"),
        ("empty.png", "file is empty"),
        ("trip/not-an-image.jpg", "not a PNG, JPEG"),
        ("bomb.png", "over the limit"),
    ] {
        let line = err.lines().find(|l| l.contains(file)).unwrap_or_else(|| panic!("no report of {file}: {err}"));
        assert!(line.contains(reason), "{file}: expected '{reason}' in '{line}'");
    }
    assert_eq!(
        tree(&output),
        ["cover.png", "trip/beach.png", "trip/day1/deep-png.png", "trip/day1/deep.png"],
        "outputs mirror the inputs, nothing partial is left behind"
    );
}

#[test]
fn several_files_go_into_a_folder_with_the_chosen_format() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("jpgs");
    let out = toonflow(&[
        "-q",
        "stylize",
        s(&fixture("photo.jpg")),
        s(&fixture("grey.png")),
        "-o",
        s(&output),
        "--format",
        "jpg",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tree(&output), ["grey.jpg", "photo.jpg"]);
}

#[test]
fn unwritable_output_fails_clearly_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "a file where a folder should be").unwrap();
    let dest = blocker.join("out.png");
    let out = toonflow(&["stylize", s(&fixture("photo.jpg")), "-o", s(&dest)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("a-file"), "{}", stderr(&out));
    assert_eq!(tree(dir.path()), ["a-file"]);
}

#[test]
fn pixel_limit_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.png");
    let out = toonflow(&["stylize", s(&fixture("photo.jpg")), "-o", s(&dest), "--max-pixels", "10K"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("240x160 (0.0 megapixels), over the limit"), "{}", stderr(&out));
    assert!(!dest.exists());
}

#[test]
fn usage_errors_exit_with_2_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let photo = fixture("photo.jpg");
    let folder = fixture("");
    for args in [
        vec!["stylize", s(&photo), "-o", "x.png", "--strength", "2"],
        vec!["stylize", s(&photo)],
        vec!["stylize", s(&folder), "-o", s(&dir.path().join("one.png"))],
        vec!["stylize", s(&photo), "-o", s(&dir.path().join("noext"))],
        vec!["stylize", s(&photo), "-o", "x.png", "--denoise", "median:4"],
        vec!["frobnicate"],
    ] {
        let out = toonflow(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(tree(dir.path()), Vec::<String>::new());
}

#[test]
fn missing_inputs_are_reported_and_the_rest_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out");
    let out = toonflow(&["stylize", "no/such/photo.jpg", s(&fixture("photo.jpg")), "-o", s(&output)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no/such/photo.jpg: no such file or folder"), "{}", stderr(&out));
    assert_eq!(tree(&output), ["photo.png"]);
}

#[test]
fn ctrl_c_finishes_images_in_flight_and_starts_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for i in 0..80 {
        std::fs::copy(fixture("photo.jpg"), input.join(format!("{i:02}.jpg"))).unwrap();
    }
    let output = dir.path().join("out");
    // One worker and a 4x upscale make each image take a while, so the signal lands mid-batch.
    let child = Command::new(env!("CARGO_BIN_EXE_toonflow"))
        .args(["stylize", s(&input), "-o", s(&output), "--jobs", "1", "--resize", "400%"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !output.exists() || std::fs::read_dir(&output).unwrap().count() == 0 {
        assert!(start.elapsed().as_secs() < 60, "no output appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("not started (interrupted)"), "{err}");
    let written = tree(&output);
    assert!(!written.is_empty() && written.len() < 80, "{} outputs", written.len());
    for name in &written {
        assert!(name.ends_with(".png"), "leftover temporary file {name}");
        let img = image::open(output.join(name)).unwrap_or_else(|e| panic!("{name} is not a whole image: {e}"));
        assert_eq!((img.width(), img.height()), (960, 640));
    }
}

#[test]
fn never_overwrites_an_input_with_its_own_output() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.png");
    std::fs::copy(fixture("grey.png"), &photo).unwrap();
    let before = std::fs::read(&photo).unwrap();
    let out = toonflow(&["stylize", s(&photo), "-o", s(&photo)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("would overwrite the input"));
    // Folder mode: the input folder as the output folder, same format.
    let out = toonflow(&["stylize", s(dir.path()), "-o", s(dir.path())]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("photo.png: its output would overwrite the input"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&photo).unwrap(), before, "the photo must be untouched");
}

#[test]
fn an_empty_folder_is_not_an_error_but_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = toonflow(&["stylize", s(dir.path()), "-o", s(&dir.path().join("out"))]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("no images found"), "{}", stderr(&out));
}

#[test]
fn a_rerun_into_a_folder_inside_the_input_does_not_restylize_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("photo.jpg"), dir.path().join("photo.jpg")).unwrap();
    let output = dir.path().join("comic");
    for _ in 0..2 {
        let out = toonflow(&["stylize", s(dir.path()), "-o", s(&output)]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains("1 stylized, 0 failed"), "{}", stderr(&out));
    }
    assert_eq!(tree(&output), ["photo.png"]);
}
