//! Running a generator on images of any size: whole for small ones, in overlapping tiles for
//! large ones so that memory stays bounded (a 4K frame never runs out of memory).

use toonflow_imgproc::ImageTensor;

use crate::generator::{CpuGenerator, NormStats, SIZE_MULTIPLE};

/// A generator that can run on one image with given normalization statistics: the CPU path
/// here ([`CpuGenerator`]) or, in the training crate, a burn module on any device.
pub trait GeneratorRun {
    /// Runs the network on one image with the given style index.
    fn run(&self, image: &ImageTensor, style: usize, stats: &mut NormStats) -> ImageTensor;
    /// How far (in input pixels) an output pixel can see: tiles overlap by at least this much.
    fn receptive_radius(&self) -> usize;
}

impl GeneratorRun for CpuGenerator {
    fn run(&self, image: &ImageTensor, style: usize, stats: &mut NormStats) -> ImageTensor {
        let data = self.forward(&image.data, image.height, image.width, Some(style), stats);
        ImageTensor::new(image.width, image.height, data)
    }

    fn receptive_radius(&self) -> usize {
        CpuGenerator::receptive_radius(self)
    }
}

/// How [`run_generator`] splits large images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileConfig {
    /// Images with more pixels than this are tiled.
    pub max_whole_pixels: usize,
    /// Side of the part of each tile that is kept (a multiple of 8).
    pub tile: usize,
    /// Side of the full-resolution crops on which tiled runs record normalization statistics.
    pub stats_crop: usize,
}

impl Default for TileConfig {
    /// One megapixel whole (a 720p frame runs in one piece); 512-pixel tiles beyond.
    fn default() -> Self {
        Self { max_whole_pixels: 1024 * 1024, tile: 512, stats_crop: 512 }
    }
}

/// Stylizes one image. Small images run whole; larger ones run tile by tile with layer-norm
/// statistics pooled over a few full-resolution crops, which keeps the tiles consistent.
pub fn run_generator(g: &impl GeneratorRun, image: &ImageTensor, style: usize, tiles: TileConfig) -> ImageTensor {
    if image.width * image.height <= tiles.max_whole_pixels {
        return g.run(image, style, &mut NormStats::Compute);
    }
    let stats = record_stats(g, image, style, tiles.stats_crop);
    run_tiled(g, image, style, tiles.tile, &stats)
}

/// Layer-norm statistics pooled over full-resolution crops of side `side` spread over the
/// image (a 2x2 grid, or the whole image when it is small). Full resolution matters: a shrunk
/// copy has other spatial frequencies, and the layers respond to them differently.
pub fn record_stats(g: &impl GeneratorRun, image: &ImageTensor, style: usize, side: usize) -> Vec<[f32; 2]> {
    let (cw, ch) = (side.min(image.width), side.min(image.height));
    let spots = |len: usize, crop: usize| if len > crop { vec![0, len - crop] } else { vec![0] };
    let mut pooled: Vec<[f64; 2]> = Vec::new();
    let mut crops = 0;
    for &y0 in &spots(image.height, ch) {
        for &x0 in &spots(image.width, cw) {
            let mut stats = Vec::new();
            let _ = g.run(&image.crop(x0, y0, cw, ch), style, &mut NormStats::Record(&mut stats));
            pooled.resize(stats.len(), [0.0; 2]);
            for (sum, [mean, var]) in pooled.iter_mut().zip(stats) {
                // Pool first and second moments, so the variance includes the spread of means.
                sum[0] += mean as f64;
                sum[1] += var as f64 + (mean as f64).powi(2);
            }
            crops += 1;
        }
    }
    pooled
        .into_iter()
        .map(|[m, sq]| {
            let mean = m / crops as f64;
            [mean as f32, (sq / crops as f64 - mean * mean).max(0.0) as f32]
        })
        .collect()
}

/// Runs the generator tile by tile with fixed normalization statistics. Each tile is enlarged by
/// the network's receptive radius on every side, so the kept part equals what a whole-image run
/// with the same statistics computes.
///
/// # Panics
/// If `tile` is not a multiple of [`SIZE_MULTIPLE`].
pub fn run_tiled(
    g: &impl GeneratorRun,
    image: &ImageTensor,
    style: usize,
    tile: usize,
    stats: &[[f32; 2]],
) -> ImageTensor {
    assert!(tile.is_multiple_of(SIZE_MULTIPLE), "tile side must be a multiple of {SIZE_MULTIPLE}, found {tile}");
    let margin = g.receptive_radius().next_multiple_of(SIZE_MULTIPLE);
    let (w, h) = (image.width, image.height);
    let mut out = vec![0f32; 3 * w * h];
    for ty in (0..h).step_by(tile) {
        for tx in (0..w).step_by(tile) {
            // Origins stay multiples of 8 so every tile sees the same stride-2 sampling grid.
            let (x0, y0) = (tx.saturating_sub(margin), ty.saturating_sub(margin));
            let (x1, y1) = ((tx + tile + margin).min(w), (ty + tile + margin).min(h));
            let input = image.crop(x0, y0, x1 - x0, y1 - y0);
            let styled = g.run(&input, style, &mut NormStats::Replay(stats, 0));
            let (kw, kh) = ((tx + tile).min(w) - tx, (ty + tile).min(h) - ty);
            for c in 0..3 {
                for row in 0..kh {
                    let src = (c * styled.height + (ty - y0 + row)) * styled.width + (tx - x0);
                    let dst = (c * h + ty + row) * w + tx;
                    out[dst..dst + kw].copy_from_slice(&styled.data[src..src + kw]);
                }
            }
        }
    }
    ImageTensor::new(w, h, out)
}
