//! Optical flow at 720p: time per frame pair and mean end-point error on exactly known motion,
//! toonflow's DIS presets beside OpenCV's DIS presets on the same 8-bit frames in the same run.
//!
//! `bench/setup.sh` once (virtualenv with OpenCV), then `cargo bench -p toonflow-flow --bench flow`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use toonflow_flow::dis::{compute_flow, DisConfig};
use toonflow_flow::warp::warp_with;
use toonflow_flow::Flow;
use toonflow_imageio::{read_image, write_image, ReadOptions};
use toonflow_imgproc::color::luma;
use toonflow_imgproc::resize::{resize_cover, ResizeFilter};
use toonflow_imgproc::{Frame, Plane};

const W: usize = 1280;
const H: usize = 720;
/// Pixels this close to the border are left out of the error (motion there leaves the frame).
const MARGIN: usize = 24;

/// A named motion: `forward(x)` is where the first frame's content at `x` goes.
struct Motion {
    name: &'static str,
    forward: fn(f32, f32) -> (f32, f32),
    inverse: fn(f32, f32) -> (f32, f32),
}

const CX: f32 = W as f32 / 2.0;
const CY: f32 = H as f32 / 2.0;

/// Rotation of the rotation case: 0.5 degrees about the centre (up to 6.4 px at the corners).
const ROT: f32 = 0.5 * std::f32::consts::PI / 180.0;

fn rotate(x: f32, y: f32, angle: f32) -> (f32, f32) {
    let (s, c) = angle.sin_cos();
    (CX + (x - CX) * c - (y - CY) * s, CY + (x - CX) * s + (y - CY) * c)
}

const MOTIONS: [Motion; 6] = [
    Motion { name: "shift 0.4,0.3", forward: |x, y| (x + 0.4, y + 0.3), inverse: |x, y| (x - 0.4, y - 0.3) },
    Motion { name: "shift 2.6,-1.7", forward: |x, y| (x + 2.6, y - 1.7), inverse: |x, y| (x - 2.6, y + 1.7) },
    Motion { name: "shift 7.5,4.2", forward: |x, y| (x + 7.5, y + 4.2), inverse: |x, y| (x - 7.5, y - 4.2) },
    Motion { name: "shift 15.3,-9.6", forward: |x, y| (x + 15.3, y - 9.6), inverse: |x, y| (x - 15.3, y + 9.6) },
    Motion { name: "rotate 0.5deg", forward: |x, y| rotate(x, y, ROT), inverse: |x, y| rotate(x, y, -ROT) },
    Motion {
        name: "zoom 1.01",
        forward: |x, y| (CX + (x - CX) * 1.01, CY + (y - CY) * 1.01),
        inverse: |x, y| (CX + (x - CX) / 1.01, CY + (y - CY) / 1.01),
    },
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn grey_frame(p: &Plane) -> Frame {
    // The plane holds sRGB-encoded luma; store it as an 8-bit grey image.
    let lin = Plane::from_fn(p.width(), p.height(), |x, y| toonflow_imgproc::color::srgb_to_linear(p.get(x, y)));
    Frame::new([lin.clone(), lin.clone(), lin], None)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let root = root();
    let dir = root.join("bench/frames/flow");
    std::fs::create_dir_all(&dir).unwrap();
    let opts = ReadOptions::default();
    let repeats: usize = std::env::var("TOONFLOW_BENCH_REPEATS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let mut cases = Vec::new();
    for photo in ["rocket", "astronaut"] {
        let src = read_image(&root.join(format!("assets/samples/{photo}.jpg")), &opts).unwrap();
        let first = luma(&resize_cover(&src, W, H, ResizeFilter::Lanczos3));
        for m in &MOTIONS {
            let second = warp_with(&first, m.inverse);
            let id = format!("{photo}-{}", m.name.replace([' ', ',', '.'], "_"));
            let (a, b) = (dir.join(format!("{id}-0.png")), dir.join(format!("{id}-1.png")));
            write_image(&grey_frame(&first), &a).unwrap();
            write_image(&grey_frame(&second), &b).unwrap();
            cases.push((photo, m, a, b));
        }
    }
    println!("optical flow at {W}x{H}: median ms per pair of {repeats} runs, mean end-point error (px) inside a {MARGIN}-px margin");
    println!("\n| implementation | preset | ms per pair | mean EPE over {} cases | worst case EPE |", cases.len());
    println!("|---|---|---|---|---|");
    for (name, cfg) in
        [("ultrafast", DisConfig::ultrafast()), ("fast", DisConfig::fast()), ("medium", DisConfig::medium())]
    {
        let (mut times, mut epes) = (Vec::new(), Vec::new());
        for (_, m, a, b) in &cases {
            // The same 8-bit frames OpenCV reads.
            let (i0, i1) = (luma(&read_image(a, &opts).unwrap()), luma(&read_image(b, &opts).unwrap()));
            let mut flow = compute_flow(&i0, &i1, &cfg);
            for _ in 0..repeats {
                let t = Instant::now();
                flow = compute_flow(&i0, &i1, &cfg);
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            let truth = Flow {
                u: Plane::from_fn(W, H, |x, y| (m.forward)(x as f32, y as f32).0 - x as f32),
                v: Plane::from_fn(W, H, |x, y| (m.forward)(x as f32, y as f32).1 - y as f32),
            };
            let inside = |x: usize, y: usize| x >= MARGIN && y >= MARGIN && x + MARGIN < W && y + MARGIN < H;
            epes.push(flow.mean_epe(&truth, Some(&inside)));
        }
        let mean = epes.iter().sum::<f64>() / epes.len() as f64;
        let worst = epes.iter().cloned().fold(0.0, f64::max);
        println!("| toonflow | {name} | {:.1} | {mean:.3} | {worst:.3} |", median(times));
    }

    let python = root.join("bench/.venv/bin/python");
    if !python.exists() {
        eprintln!("OpenCV reference skipped: run bench/setup.sh first");
        return;
    }
    let mut cmd = Command::new(&python);
    cmd.arg(root.join("bench/opencv_flow.py")).arg(repeats.to_string()).arg(MARGIN.to_string());
    for (_, m, a, b) in &cases {
        // Every motion here is affine: x' = a x + b y + tx, y' = c x + d y + ty, read off the
        // images of three points.
        let (o, ex, ey) = ((m.forward)(0.0, 0.0), (m.forward)(1.0, 0.0), (m.forward)(0.0, 1.0));
        let (ma, mb, mc, md) = (ex.0 - o.0, ey.0 - o.0, ex.1 - o.1, ey.1 - o.1);
        cmd.arg(format!("{}:{}:{ma}:{mb}:{mc}:{md}:{}:{}", a.display(), b.display(), o.0, o.1));
    }
    let out = cmd.output().expect("run OpenCV flow reference");
    assert!(out.status.success(), "OpenCV flow reference failed: {}", String::from_utf8_lossy(&out.stderr));
    print!("{}", String::from_utf8_lossy(&out.stdout));
}
