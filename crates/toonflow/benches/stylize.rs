//! Benchmark of the built-in comic style at 720p and 1080p, stage by stage, beside OpenCV's
//! common cartoonify recipe and `cv2.stylization` run on the same frames in the same run.
//!
//! `bench/setup.sh` once (virtualenv with OpenCV, foliage frame), then
//! `cargo bench -p toonflow --bench stylize`. Without the virtualenv only toonflow is timed.
//!
//! Besides time it reports "specks": dark blobs under 64 pixels that the style added (ink where
//! the photo was not dark), per megapixel, the squiggle noise naive cartoonizers draw on foliage.
//! toonflow's are counted on a render without screentone, whose dots are small blobs by design.

// The allocator settings of the toonflow program, so the bench times what the CLI runs.
#[path = "../src/allocator.rs"]
mod allocator;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use toonflow_imageio::{read_image, write_image, ReadOptions};
use toonflow_imgproc::color::frame_lightness;
use toonflow_imgproc::comic::{stylize, ComicConfig, Preset};
use toonflow_imgproc::lines::remove_small_blobs;
use toonflow_imgproc::resize::{resize_cover, ResizeFilter};
use toonflow_imgproc::{Frame, Plane};

const SIZES: [(usize, usize, &str); 2] = [(1280, 720, "720p"), (1920, 1080, "1080p")];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Tiles a texture with mirroring, keeping its native scale (no blur from upsampling).
fn tile(src: &Frame, w: usize, h: usize) -> Frame {
    let mirror = |v: usize, n: usize| if (v / n).is_multiple_of(2) { v % n } else { n - 1 - v % n };
    src.map_planes(|p| Plane::from_fn(w, h, |x, y| p.get(mirror(x, p.width()), mirror(y, p.height()))))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Dark blobs under 64 pixels that the style added, per megapixel.
fn specks_per_mp(source: &Frame, styled: &Frame) -> f64 {
    let (ls, lo) = (frame_lightness(source), frame_lightness(styled));
    let mut ink = Plane::from_fn(source.width(), source.height(), |x, y| {
        let (s, o) = (ls.get(x, y), lo.get(x, y));
        if o < 0.3 && s - o > 0.2 {
            1.0
        } else {
            0.0
        }
    });
    let specks = remove_small_blobs(&mut ink, 0.5, 64);
    specks as f64 / (source.width() * source.height()) as f64 * 1e6
}

struct Timing {
    total_ms: f64,
    stages: Vec<(&'static str, f64)>,
}

fn time_toonflow(frame: &Frame, repeats: usize, out: &Path) -> Timing {
    let cfg = ComicConfig::preset(Preset::Comic);
    let bytes = frame.to_srgb8(false);
    let (w, h) = (frame.width(), frame.height());
    let mut totals = Vec::new();
    let mut stages: BTreeMap<usize, (&'static str, Vec<f64>)> = BTreeMap::new();
    let mut last = None;
    for i in 0..repeats + 1 {
        let start = Instant::now();
        let t0 = Instant::now();
        let input = Frame::from_srgb8(w, h, 3, &bytes);
        let decode = t0.elapsed();
        let styled = stylize(&input, &cfg);
        let t1 = Instant::now();
        let encoded = styled.frame.to_srgb8(false);
        let encode = t1.elapsed();
        let total = start.elapsed();
        std::hint::black_box(&encoded);
        if i == 0 {
            continue; // warm-up: thread pool start, page faults
        }
        totals.push(total.as_secs_f64() * 1e3);
        let all = std::iter::once(("sRGB to linear", decode))
            .chain(styled.times.0.iter().copied())
            .chain(std::iter::once(("linear to sRGB", encode)));
        for (k, (name, d)) in all.enumerate() {
            stages.entry(k).or_insert((name, Vec::new())).1.push(d.as_secs_f64() * 1e3);
        }
        last = Some(styled.frame);
    }
    write_image(&last.expect("ran"), out).expect("write bench output");
    // Specks are counted on the lines alone: screentone dots are small dark blobs by design.
    let lines_only = stylize(frame, &ComicConfig { tone: None, ..cfg });
    write_image(&lines_only.frame, &out.with_extension("lines.png")).expect("write bench output");
    Timing { total_ms: median(totals), stages: stages.into_values().map(|(n, v)| (n, median(v))).collect() }
}

fn main() {
    allocator::keep_freed_memory();
    let root = root();
    let frames_dir = root.join("bench/frames");
    let out_dir = root.join("bench/out");
    std::fs::create_dir_all(&out_dir).expect("create bench/out");
    let opts = ReadOptions::default();
    let mut sources: Vec<(String, Frame, bool)> = ["rocket", "astronaut"]
        .iter()
        .map(|n| (n.to_string(), read_image(&root.join(format!("assets/samples/{n}.jpg")), &opts).unwrap(), false))
        .collect();
    match read_image(&frames_dir.join("src/grass.png"), &opts) {
        Ok(grass) => sources.push(("grass".into(), grass, true)),
        Err(_) => eprintln!("no foliage frame (bench/frames/src/grass.png): run bench/setup.sh"),
    }
    let repeats: usize = std::env::var("TOONFLOW_BENCH_REPEATS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    println!(
        "toonflow stylize benchmark: comic preset, {} threads, median of {repeats} runs",
        rayon::current_num_threads()
    );
    let mut rows = Vec::new();
    let mut frame_paths = Vec::new();
    for (name, src, is_texture) in &sources {
        for (w, h, label) in SIZES {
            let frame = if *is_texture { tile(src, w, h) } else { resize_cover(src, w, h, ResizeFilter::Lanczos3) };
            let id = format!("{name}-{label}");
            let path = frames_dir.join(format!("{id}.png"));
            write_image(&frame, &path).expect("write bench frame");
            let timing = time_toonflow(&frame, repeats, &out_dir.join(format!("{id}.toonflow.png")));
            frame_paths.push(path);
            rows.push((id, frame, timing));
        }
    }

    // The OpenCV side, same frames, same machine, same run.
    let python = root.join("bench/.venv/bin/python");
    let mut reference: BTreeMap<(String, String), f64> = BTreeMap::new();
    if python.exists() {
        let out = Command::new(&python)
            .arg(root.join("bench/opencv_reference.py"))
            .arg(&out_dir)
            .arg(repeats.to_string())
            .args(&frame_paths)
            .output()
            .expect("run OpenCV reference");
        assert!(out.status.success(), "OpenCV reference failed: {}", String::from_utf8_lossy(&out.stderr));
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let parts: Vec<&str> = line.split('\t').collect();
            let times: Vec<f64> = parts[2].split(',').map(|t| t.parse().unwrap()).collect();
            reference.insert((parts[0].into(), parts[1].into()), median(times));
        }
    } else {
        eprintln!("OpenCV reference skipped: run bench/setup.sh first");
    }

    println!("\n| frame | toonflow ms | OpenCV cartoonify ms | ratio | cv2.stylization ms | ratio | specks/MP toonflow | cartoonify | stylization |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (id, frame, timing) in &rows {
        let ours = read_image(&out_dir.join(format!("{id}.toonflow.lines.png")), &opts).unwrap();
        let mut line = format!("| {id} | {:.1} |", timing.total_ms);
        let mut specks = vec![format!("{:.0}", specks_per_mp(frame, &ours))];
        for method in ["cartoonify", "stylization"] {
            match reference.get(&(id.clone(), method.to_string())) {
                Some(ms) => {
                    line += &format!(" {ms:.1} | {:.2}x |", ms / timing.total_ms);
                    let theirs = read_image(&out_dir.join(format!("{id}.{method}.png")), &opts).unwrap();
                    specks.push(format!("{:.0}", specks_per_mp(frame, &theirs)));
                }
                None => {
                    line += " - | - |";
                    specks.push("-".into());
                }
            }
        }
        println!("{line} {} |", specks.join(" | "));
    }
    println!("\n(ratio = reference time / toonflow time: above 1 means toonflow is faster)");

    println!("\nWhere toonflow's time goes (median ms per stage):\n");
    let header: Vec<&str> = rows[0].2.stages.iter().map(|(n, _)| *n).collect();
    println!("| frame | {} | total |", header.join(" | "));
    println!("|---|{}---|", "---|".repeat(header.len()));
    for (id, _, timing) in &rows {
        let cells: Vec<String> = timing.stages.iter().map(|(_, ms)| format!("{ms:.1}")).collect();
        println!("| {id} | {} | {:.1} |", cells.join(" | "), timing.total_ms);
    }
}
