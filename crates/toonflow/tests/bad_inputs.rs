//! Every subcommand on a small corpus of bad inputs (empty, text, truncated, a header that
//! lies about its size, 1x1, extreme aspect ratios, animation, a folder named like an image, a
//! damaged model file). For each run: no panic, the documented exit code, nothing at or beside
//! the output path unless the run succeeded, and every input byte-identical afterwards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use image::{Rgb, RgbImage};

mod common;
use common::have_ffmpeg;

/// Exit codes the help documents: 0 done, 1 some inputs failed, 2 usage error.
const DOCUMENTED: [i32; 3] = [0, 1, 2];

fn png_bytes(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8]));
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
    bytes
}

/// The bad (and borderline) inputs, and whether each is a readable image.
fn make_corpus(dir: &Path, with_video: bool) -> Vec<(PathBuf, bool)> {
    std::fs::create_dir_all(dir).unwrap();
    let mut corpus = Vec::new();
    let mut add = |name: &str, bytes: &[u8], readable: bool| {
        std::fs::write(dir.join(name), bytes).unwrap();
        corpus.push((dir.join(name), readable));
    };
    let good = png_bytes(64, 48);
    add("empty.png", b"", false);
    add("text.jpg", b"hello world", false);
    add("truncated.png", &good[..good.len() / 2], false);
    // A BMP header (width and height at bytes 18 and 22; no checksum) claiming 100000 x 100000.
    let mut lying = Vec::new();
    RgbImage::new(8, 8).write_to(&mut std::io::Cursor::new(&mut lying), image::ImageFormat::Bmp).unwrap();
    lying[18..22].copy_from_slice(&100_000i32.to_le_bytes());
    lying[22..26].copy_from_slice(&100_000i32.to_le_bytes());
    add("lying.bmp", &lying, false);
    add("one.png", &png_bytes(1, 1), true);
    add("thin.png", &png_bytes(1, 1500), true);
    add("wide.png", &png_bytes(1500, 2), true);
    add("png-named.jpg", &good, true);
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        for i in 0..2u8 {
            let frame = image::RgbaImage::from_pixel(16, 12, image::Rgba([40 * i, 90, 200, 255]));
            encoder.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    add("anim.gif", &gif, true);
    std::fs::create_dir_all(dir.join("folder.png")).unwrap();
    if with_video {
        let clip = dir.join("clip.mp4");
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-frames:v", "20"])
            .args(["-pix_fmt", "yuv420p", "-c:v", "libx264"])
            .arg(&clip)
            .status()
            .unwrap();
        assert!(status.success());
        let bytes = std::fs::read(&clip).unwrap();
        std::fs::remove_file(&clip).unwrap();
        add("truncated.mp4", &bytes[..bytes.len() * 2 / 5], false);
        add("empty.mp4", b"", false);
    }
    corpus
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Runs one case: `args` with `{out}` standing for the output path inside a fresh folder.
/// Checks everything the module promises and returns the exit code.
fn check(corpus_dir: &Path, scratch: &Path, case: usize, args: &[&str]) -> i32 {
    let out_dir = scratch.join(format!("case-{case}"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = args.iter().find_map(|a| a.strip_prefix("{out}")).map(|rest| out_dir.join(format!("out{rest}")));
    let args: Vec<String> = args
        .iter()
        .map(|a| match (a.strip_prefix("{out}"), &out) {
            (Some(_), Some(o)) => o.display().to_string(),
            _ => a.to_string(),
        })
        .collect();
    let before = snapshot(corpus_dir);
    let run = Command::new(env!("CARGO_BIN_EXE_toonflow")).args(&args).output().expect("run toonflow");
    let stderr = String::from_utf8_lossy(&run.stderr);
    let what = format!("toonflow {}", args.join(" "));
    let code = run.status.code().unwrap_or_else(|| panic!("{what}: killed by a signal\n{stderr}"));
    assert!(!stderr.contains("panicked"), "{what}: panicked\n{stderr}");
    assert!(DOCUMENTED.contains(&code), "{what}: exit {code}\n{stderr}");
    assert!(code == 0 || !stderr.trim().is_empty(), "{what}: failed without a message");
    assert!(before == snapshot(corpus_dir), "{what}: an input changed, or a file appeared among them");
    let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    match &out {
        // A run that failed as a whole leaves nothing; one that wrote writes only its output.
        Some(o) if code == 2 || !o.exists() => assert!(left.is_empty(), "{what}: exit {code} left {left:?}"),
        Some(o) => assert_eq!(left, [o.file_name().unwrap()], "{what}: more than the output beside it"),
        None => assert!(left.is_empty(), "{what}: wrote {left:?}"),
    }
    code
}

#[test]
fn every_subcommand_survives_bad_inputs_without_panics_or_damage() {
    let root = tempfile::tempdir().unwrap();
    let video = have_ffmpeg();
    let corpus_dir = root.path().join("corpus");
    let corpus = make_corpus(&corpus_dir, video);
    let scratch = root.path().join("scratch");
    let good = root.path().join("good.png");
    std::fs::write(&good, png_bytes(40, 30)).unwrap();
    let c = |p: &Path| p.display().to_string();
    let mut case = 0;
    let mut run = |args: &[&str]| {
        case += 1;
        check(&corpus_dir, &scratch, case, args)
    };

    for (file, readable) in &corpus {
        let f = c(file);
        let expected = if *readable { 0 } else { 1 };
        assert_eq!(run(&["stylize", &f, "-o", "{out}.png"]), expected, "stylize {f}");
        assert_eq!(run(&["stylize", &f, "-o", "{out}.jpg", "--style", "manga", "--resize", "50%"]), expected);
        // Not a model file, whatever else it is.
        assert_eq!(run(&["stylize", &c(&good), "--model", &f, "-o", "{out}.png"]), 1, "--model {f}");
        assert_ne!(run(&["gan", "sample", &f, "-o", "{out}.png"]), 0, "gan sample {f}");
        if video {
            // Still images are one-frame videos to FFmpeg; the rest cannot be decoded.
            let code = run(&["video", &f, "-o", "{out}.mp4"]);
            assert!(*readable || code == 1, "video {f}: exit {code}");
            run(&["eval", "temporal", &f, &f]);
            let code = run(&["webtoon", &f, "-o", "{out}", "--no-motion"]);
            assert!(*readable || code == 1, "webtoon {f}: exit {code}");
            // Any file as subtitles: text or not, the episode or a clear error.
            let code = run(&["webtoon", &f, "-o", "{out}", "--subtitles", &f, "--no-motion"]);
            assert!(code <= 1, "webtoon --subtitles {f}: exit {code}");
        }
    }
    let dir = c(&corpus_dir);
    // A folder batch stylizes the readable files and names the rest: exit 1, outputs written.
    assert_eq!(run(&["stylize", &dir, "-o", "{out}"]), 1);
    assert_eq!(run(&["eval", "content", "--inputs", &dir, "--outputs", &dir]), 1);
    run(&["eval", "style", "--outputs", &dir, "--style", &dir]);
    assert_ne!(run(&["prepare", "--photos", &dir, "--style", &dir, "-o", "{out}"]), 0);
    assert_ne!(run(&["train", &dir, "-o", "{out}", "--steps", "1"]), 0);
    // The DCGAN takes any image it can read (scaled to 64x64): a step on the readable ones.
    assert_eq!(run(&["gan", "train", &dir, "-o", "{out}", "--steps", "1"]), 0);
}
