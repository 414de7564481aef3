//! Time of the temporal stabilizer alone per 720p frame (flow both ways, consistency and
//! photometric tests, warp and blend), on a pan over a bundled photo; the frame analysis it
//! reads (luma, scene cut, pyramid: the decode stage's work in the pipeline) is timed apart:
//! `cargo run --release -p toonflow-video --example stabilizer_bench`.

use std::path::Path;
use std::time::Instant;
use toonflow_flow::scenecut::DEFAULT_CUT_THRESHOLD;
use toonflow_imageio::{read_image, ReadOptions};
use toonflow_imgproc::resize::{resize_cover, ResizeFilter};
use toonflow_imgproc::Plane;
use toonflow_video::analysis::FrameAnalyzer;
use toonflow_video::temporal::{Stabilizer, TemporalConfig};

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/samples/rocket.jpg");
    let photo = read_image(&path, &ReadOptions::default()).expect("bundled sample photo");
    let n = 40;
    let big = resize_cover(&photo, 1280 + 2 * n, 720 + n, ResizeFilter::Bilinear);
    // Frame t pans 2 px right and 1 px down from frame t - 1.
    let frame = |t: usize| big.map_planes(|p| Plane::from_fn(1280, 720, |x, y| p.get(x + 2 * t, y + t)));
    let config = TemporalConfig::default();
    let mut analyzer = FrameAnalyzer::new(DEFAULT_CUT_THRESHOLD, config.flow());
    let mut stabilizer = Stabilizer::new(config);
    // The first frame has no history; the rest are timed.
    let first = frame(0);
    stabilizer.process(analyzer.analyze(&first), first.clone());
    let (mut analysis_time, mut total) = (0.0, 0.0);
    for t in 1..=n {
        let frame = frame(t);
        let styled = frame.clone();
        let t = Instant::now();
        let analysis = analyzer.analyze(&frame);
        analysis_time += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (out, _) = stabilizer.process(analysis, styled);
        total += t.elapsed().as_secs_f64();
        std::hint::black_box(out);
    }
    println!(
        "stabilizer at 1280x720: {:.1} ms per frame, frame analysis {:.1} ms (mean of {n})",
        total * 1e3 / n as f64,
        analysis_time * 1e3 / n as f64
    );
}
