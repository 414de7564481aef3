//! Time of each kernel of the comic style on a 720p frame, on the baseline instruction set and
//! with runtime dispatch (see `toonflow_imgproc::simd`), alternated in the same run so both see
//! the same machine: `cargo run --release -p toonflow-imgproc --example kernel_bench`.
//!
//! The `toonflow` binary keeps freed memory for reuse (`keep_freed_memory`, glibc's mallopt);
//! this example does not, so on glibc its planes are mapped fresh and page-faulted on each run,
//! which the command line does not pay. For the times the command line sees, give glibc the
//! same settings: `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=2147483647`
//! (one thread, 720p: the whole preset 116 ms without them and 71 ms with them, one run after
//! the other).

use std::time::Instant;
use toonflow_imgproc::color::frame_to_oklab;
use toonflow_imgproc::comic::{stylize, stylize_with_palette, ComicConfig, Preset};
use toonflow_imgproc::guided::{guided_filter_self, GuidedConfig};
use toonflow_imgproc::lines::{xdog, XdogConfig};
use toonflow_imgproc::quantize::{assign_labels, majority_filter};
use toonflow_imgproc::simd::{set_level, Level};
use toonflow_imgproc::{Frame, Plane};

/// A photo-like test frame: smooth gradients, a few hard-edged shapes and fine texture.
fn frame(w: usize, h: usize) -> Frame {
    let rgb = std::array::from_fn(|c| {
        Plane::from_fn(w, h, |x, y| {
            let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
            let disc = ((u - 0.4).powi(2) + (v - 0.5).powi(2)) < 0.05;
            let bar = (0.7..0.8).contains(&u);
            let base = if disc {
                0.7 - 0.2 * c as f32
            } else if bar {
                0.2 + 0.3 * c as f32
            } else {
                0.3 + 0.3 * u * v
            };
            let texture = 0.05 * ((x as f32 * 0.9 + c as f32).sin() * (y as f32 * 1.3).cos());
            (base + texture).clamp(0.0, 1.0)
        })
    });
    Frame::new(rgb, None)
}

fn median_ms(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let (w, h) = (1280, 720);
    let src = frame(w, h);
    let cfg = ComicConfig::preset(Preset::Comic);
    let lab = frame_to_oklab(&src);
    let palette = stylize(&src, &cfg).palette;
    let labels = assign_labels(&lab, &palette);
    let bytes = src.to_srgb8(false);
    let guided = GuidedConfig { radius: 8, eps: 0.003, subsample: 4, passes: 2 };
    let xcfg = XdogConfig::default();
    type Kernel<'a> = (&'static str, Box<dyn FnMut() + 'a>);
    let mut kernels: Vec<Kernel> = vec![
        ("sRGB8 to linear", Box::new(|| drop(std::hint::black_box(Frame::from_srgb8(w, h, 3, &bytes))))),
        ("linear to Oklab", Box::new(|| drop(std::hint::black_box(frame_to_oklab(&src))))),
        ("guided filter", Box::new(|| drop(std::hint::black_box(guided_filter_self(&lab, &guided))))),
        ("palette assignment", Box::new(|| drop(std::hint::black_box(assign_labels(&lab, &palette))))),
        ("majority filter", Box::new(|| drop(std::hint::black_box(majority_filter(&labels, w, h))))),
        ("XDoG", Box::new(|| drop(std::hint::black_box(xdog(&lab[0], &xcfg))))),
        ("linear to sRGB8", Box::new(|| drop(std::hint::black_box(src.to_srgb8(false))))),
        (
            "comic, palette held",
            Box::new(|| drop(std::hint::black_box(stylize_with_palette(&src, &cfg, Some(&palette))))),
        ),
        ("comic", Box::new(|| drop(std::hint::black_box(stylize(&src, &cfg))))),
    ];
    let repeats = 15;
    println!("kernels at {w}x{h}, {} threads, median of {repeats} runs\n", rayon::current_num_threads());
    println!("| kernel | baseline ms | dispatched ms | speed-up |");
    println!("|---|---|---|---|");
    for (name, kernel) in &mut kernels {
        set_level(Level::Baseline);
        let base = median_ms(repeats, &mut *kernel);
        set_level(Level::Avx2);
        let best = median_ms(repeats, &mut *kernel);
        println!("| {name} | {base:.2} | {best:.2} | {:.2}x |", base / best);
    }
}
