//! `toonflow eval style` and `eval content` on sets with known answers: crops of the sample
//! photos, the same crops colour-shifted, and flat clip-art discs. The style test needs the
//! VGG16 weights; it is skipped without them, except on CI.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use toonflow_model::vgg::cache_dir;
use toonflow_model::vgg::weights::ONNX_FILE;

mod common;
use common::{s, toonflow};

fn json(args: &[&str]) -> serde_json::Value {
    let out = toonflow(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Three 160-px crops of each sample photo, alternately into two halves.
fn photo_halves(root: &Path) -> (PathBuf, PathBuf) {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/samples");
    let halves = (root.join("photos-a"), root.join("photos-b"));
    std::fs::create_dir_all(&halves.0).unwrap();
    std::fs::create_dir_all(&halves.1).unwrap();
    let mut k = 0;
    for name in ["astronaut", "chelsea", "coffee", "rocket"] {
        let photo = image::open(samples.join(format!("{name}.jpg"))).unwrap().to_rgb8();
        let (w, h) = photo.dimensions();
        for i in 0..3u32 {
            let crop = image::imageops::crop_imm(&photo, i * (w - 160) / 2, i * (h - 160) / 2, 160, 160).to_image();
            let half = if k % 2 == 0 { &halves.0 } else { &halves.1 };
            crop.save(half.join(format!("{name}-{i}.png"))).unwrap();
            k += 1;
        }
    }
    halves
}

/// The images of `from` with red raised and blue lowered by `amount` (of 255).
fn colour_shifted(from: &Path, to: &Path, amount: u8) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let mut img = image::open(&path).unwrap().to_rgb8();
        for p in img.pixels_mut() {
            *p = Rgb([p[0].saturating_add(amount), p[1], p[2].saturating_sub(amount)]);
        }
        img.save(to.join(path.file_name().unwrap())).unwrap();
    }
}

/// Flat-coloured discs with black outlines on a light ground.
fn clip_art(dir: &Path, count: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        let img = RgbImage::from_fn(160, 160, |x, y| {
            let r = ((x as f32 - 60.0 - 8.0 * i as f32).powi(2) + (y as f32 - 80.0).powi(2)).sqrt();
            if (r - 45.0).abs() < 3.0 {
                Rgb([0, 0, 0])
            } else if r < 45.0 {
                Rgb([220, 40 * i as u8, 60])
            } else {
                Rgb([250, 240, 215])
            }
        });
        img.save(dir.join(format!("disc-{i}.png"))).unwrap();
    }
}

/// Whether the VGG16 weights are there; see the module comment.
fn have_vgg16() -> bool {
    let found = cache_dir().join(ONNX_FILE).exists();
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must fetch the VGG16 weights (toonflow fetch-vgg16)");
        eprintln!("skipped: VGG16 weights not fetched (run toonflow fetch-vgg16)");
    }
    found
}

#[test]
fn style_distances_answer_known_cases() {
    if !have_vgg16() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (a, b) = photo_halves(root.path());
    let discs = root.path().join("discs");
    clip_art(&discs, 6);
    let style = |outputs: &Path, style: &Path| {
        let v = json(&["eval", "style", "--outputs", s(outputs), "--style", s(style), "--json"]);
        (v["fid_vgg"].as_f64().unwrap(), v["swd"].as_f64().unwrap())
    };

    let (fid_same, swd_same) = style(&a, &a);
    let (fid_halves, swd_halves) = style(&a, &b);
    let (fid_families, swd_families) = style(&a, &discs);
    assert!(fid_same < 1e-6 * fid_halves && swd_same < 1e-9, "identical sets: {fid_same}, {swd_same}");
    assert!(fid_halves < fid_families, "fid_vgg: halves {fid_halves}, photos vs discs {fid_families}");
    assert!(swd_halves < swd_families, "swd: halves {swd_halves}, photos vs discs {swd_families}");

    let shifted: Vec<(f64, f64)> = [16u8, 40, 80]
        .iter()
        .map(|&amount| {
            let dir = root.path().join(format!("shift-{amount}"));
            colour_shifted(&a, &dir, amount);
            style(&a, &dir)
        })
        .collect();
    assert!(shifted.windows(2).all(|w| w[1].0 > w[0].0 && w[1].1 > w[0].1), "growing shift: {shifted:?}");
    assert!(shifted[0].0 > fid_same && shifted[0].1 > swd_same);

    // The kernel distance (unbiased, with its standard error over images): halves of one set
    // are within noise of each other, photos and clip art far beyond it.
    let kid = |outputs: &Path, style: &Path| {
        let v = json(&["eval", "style", "--outputs", s(outputs), "--style", s(style), "--json"]);
        (v["kid_vgg"].as_f64().unwrap(), v["kid_vgg_standard_error"].as_f64().unwrap())
    };
    let ((halves, halves_se), (families, families_se)) = (kid(&a, &b), kid(&a, &discs));
    assert!(halves < 3.0 * halves_se, "halves: {halves} ± {halves_se}");
    assert!(families > 3.0 * families_se && families > halves, "families: {families} ± {families_se}");
}

#[test]
fn content_scores_pair_outputs_with_inputs_by_name() {
    let root = tempfile::tempdir().unwrap();
    let (a, _) = photo_halves(root.path());
    let same = json(&["eval", "content", "--inputs", s(&a), "--outputs", s(&a), "--json"]);
    assert_eq!(same["pairs"], 6);
    assert!((same["ssim"].as_f64().unwrap() - 1.0).abs() < 1e-6, "{same}");
    assert!((same["edge_agreement"].as_f64().unwrap() - 1.0).abs() < 1e-9, "{same}");
    assert!(same["colour_cast"].as_f64().unwrap() < 1e-9, "{same}");

    // A strongly shifted copy keeps the edges but not the luminance structure exactly; an
    // output without a matching input is skipped with a warning naming it, and the exit code
    // says that not every output was scored.
    let shifted = root.path().join("shifted");
    colour_shifted(&a, &shifted, 80);
    clip_art(&shifted, 1);
    let out = toonflow(&["eval", "content", "--inputs", s(&a), "--outputs", s(&shifted), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("disc-0.png"), "the unmatched output is named");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["pairs"].as_u64(), v["skipped"].as_u64()), (Some(6), Some(1)));
    let (ssim, edges) = (v["ssim"].as_f64().unwrap(), v["edge_agreement"].as_f64().unwrap());
    assert!(ssim < 1.0 && ssim > 0.5 && edges > 0.8, "{v}");
    assert!(v["colour_cast"].as_f64().unwrap() > 0.01, "a strong colour shift is a cast: {v}");

    // Folder trees pair by relative path, as `stylize` mirrors them.
    let (tree_in, tree_out) = (root.path().join("tree-in"), root.path().join("tree-out"));
    colour_shifted(&a, &tree_in.join("sub"), 0);
    colour_shifted(&a, &tree_out.join("sub"), 0);
    let tree = json(&["eval", "content", "--inputs", s(&tree_in), "--outputs", s(&tree_out), "--json"]);
    assert_eq!(tree["pairs"], 6);
    assert!((tree["ssim"].as_f64().unwrap() - 1.0).abs() < 1e-6, "{tree}");

    let empty = root.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = toonflow(&["eval", "content", "--inputs", s(&a), "--outputs", s(&empty)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no images"));
}

/// Cut-out drawings (a disc on transparency) whose transparent pixels hide `hidden`.
fn cut_outs(dir: &Path, hidden: [u8; 3]) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..4u32 {
        let img = image::RgbaImage::from_fn(96, 96, |x, y| {
            let r = ((x as f32 - 40.0 - 4.0 * i as f32).powi(2) + (y as f32 - 48.0).powi(2)).sqrt();
            if r < 30.0 {
                image::Rgba([200, 30 * i as u8, 60, 255])
            } else {
                image::Rgba([hidden[0], hidden[1], hidden[2], 0])
            }
        });
        img.save(dir.join(format!("cut-{i}.png"))).unwrap();
    }
}

#[test]
fn style_distances_see_transparent_drawings_on_white_whatever_they_hide() {
    if !have_vgg16() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (black, green) = (root.path().join("black"), root.path().join("green"));
    cut_outs(&black, [0, 0, 0]);
    cut_outs(&green, [0, 255, 0]);
    let v = json(&["eval", "style", "--outputs", s(&black), "--style", s(&green), "--json"]);
    let (fid, swd) = (v["fid_vgg"].as_f64().unwrap(), v["swd"].as_f64().unwrap());
    assert!(fid.abs() < 1e-3 && swd.abs() < 1e-9, "the hidden colour entered the measures: fid {fid}, swd {swd}");
}
