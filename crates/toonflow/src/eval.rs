//! `toonflow eval`: quality figures — style distance, content kept, temporal stability.

use crate::cli::{EvalContentArgs, EvalStyleArgs, EvalTemporalArgs};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use toonflow_eval::content::{edge_agreement, ssim_luma};
use toonflow_eval::frechet::{frechet_distance, GaussianStats};
use toonflow_eval::srgb_planes;
use toonflow_eval::swd::{sliced_wasserstein, SwdConfig};
use toonflow_eval::temporal::{WarpingError, WarpingErrorReport};
use toonflow_flow::dis::DisConfig;
use toonflow_imageio::{has_image_extension, read_image, ReadOptions};
use toonflow_imgproc::resize::{resize_cover, resize_frame, ResizeFilter};
use toonflow_imgproc::{Frame, Plane};
use toonflow_model::burn::tensor::{Device, Tensor, TensorData};
use toonflow_model::vgg::Vgg16;
use toonflow_video::ffmpeg::Span;
use toonflow_video::frames::FrameSource;

/// Warping error of `output` against `input`, streaming both (input frames are resized to the
/// output's size when they differ). Warnings (truncated inputs) are logged.
pub fn warping_error(input: &Path, output: &Path, span: Span) -> Result<(WarpingErrorReport, u64)> {
    let mut inputs = FrameSource::open(input, span)?;
    let mut outputs = FrameSource::open(output, Span::default())?;
    let mut acc = WarpingError::new(DisConfig::medium());
    let mut frames = 0u64;
    loop {
        let (a, b) = match (inputs.next_frame()?, outputs.next_frame()?) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => break,
            (a, _) => {
                tracing::warn!(
                    "{} has {} frames than {}; compared the first {frames}",
                    output.display(),
                    if a.is_some() { "fewer" } else { "more" },
                    input.display()
                );
                break;
            }
        };
        let a = if (a.width(), a.height()) != (b.width(), b.height()) {
            resize_frame(&a, b.width(), b.height(), ResizeFilter::Area)
        } else {
            a
        };
        acc.push(&a, &b);
        frames += 1;
    }
    for warning in [inputs.finish()?, outputs.finish()?].into_iter().flatten() {
        tracing::warn!("{warning}");
    }
    if frames < 2 {
        bail!("{}: need at least two frames to measure temporal stability", output.display());
    }
    Ok((acc.report(), frames))
}

/// `toonflow eval temporal`.
pub fn temporal(args: &EvalTemporalArgs) -> Result<()> {
    let (report, frames) = warping_error(&args.input, &args.output, Span::default())?;
    if args.json {
        let pairs: Vec<String> = report.per_pair.iter().map(|v| format!("{v:.6e}")).collect();
        println!(
            "{{\"warping_error\": {:.6e}, \"frames\": {frames}, \"per_pair\": [{}]}}",
            report.mean,
            pairs.join(", ")
        );
    } else {
        println!(
            "warping error: {:.6} over {} frame pairs (sRGB 0..1 squared; lower is steadier)",
            report.mean,
            frames - 1
        );
    }
    Ok(())
}

/// Image files in `dir` and its subfolders, sorted by path.
fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!("{}: not a folder", dir.display());
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("{}: cannot read the folder", dir.display()))?;
        if entry.file_type().is_file() && has_image_extension(entry.path()) {
            files.push(entry.into_path());
        }
    }
    if files.is_empty() {
        bail!("{}: no images (png, jpg, webp, bmp, tiff, gif) in this folder", dir.display());
    }
    Ok(files)
}

/// Reads `paths` in parallel; an unreadable file is reported by name and left out.
fn read_all(paths: &[PathBuf]) -> Vec<(PathBuf, Frame)> {
    let results: Vec<_> = paths.par_iter().map(|p| (p.clone(), read_image(p, &ReadOptions::default()))).collect();
    results
        .into_iter()
        .filter_map(|(path, result)| match result {
            Ok(frame) => Some((path, frame)),
            Err(e) => {
                tracing::warn!("skipped: {e}");
                None
            }
        })
        .collect()
}

/// Side the style measures scale and centre-crop every image to.
const STYLE_SIDE: usize = 256;

/// The readable images of a folder as sRGB planes of `STYLE_SIDE`².
fn style_set(dir: &Path) -> Result<Vec<[Plane; 3]>> {
    let frames = read_all(&image_files(dir)?);
    if frames.is_empty() {
        bail!("{}: none of the images could be read", dir.display());
    }
    Ok(frames
        .par_iter()
        .map(|(_, f)| srgb_planes(&resize_cover(f, STYLE_SIDE, STYLE_SIDE, ResizeFilter::Area)))
        .collect())
}

/// VGG16 block4_conv3 activations of each image, averaged over a 3x3 grid of overlapping
/// half-size windows: nine 512-d vectors per image (one global average per image would leave
/// a covariance of a few dozen samples in 512 dimensions).
fn vgg_region_features(vgg: &Vgg16, images: &[[Plane; 3]], device: &Device) -> Vec<Vec<f32>> {
    const BATCH: usize = 4;
    let mut vectors = Vec::with_capacity(9 * images.len());
    for chunk in images.chunks(BATCH) {
        let data: Vec<f32> =
            chunk.iter().flat_map(|im| im.iter().flat_map(|p| p.data().iter().map(|v| v * 2.0 - 1.0))).collect();
        let x = Tensor::<4>::from_data(TensorData::new(data, [chunk.len(), 3, STYLE_SIDE, STYLE_SIDE]), device);
        let y = vgg.forward(x);
        let [b, c, h, w] = y.dims();
        let host = y.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 activations");
        let (wh, ww) = (h / 2, w / 2);
        for i in 0..b {
            for (wy, wx) in (0..3).flat_map(|a| (0..3).map(move |b| (a, b))) {
                let (y0, x0) = (wy * h / 4, wx * w / 4);
                let vector = (0..c)
                    .map(|ch| {
                        let plane = &host[(i * c + ch) * h * w..][..h * w];
                        let sum: f32 = (y0..y0 + wh).map(|yy| plane[yy * w + x0..][..ww].iter().sum::<f32>()).sum();
                        sum / (wh * ww) as f32
                    })
                    .collect();
                vectors.push(vector);
            }
        }
    }
    vectors
}

/// `toonflow eval style`.
pub fn style(args: &EvalStyleArgs) -> Result<()> {
    let (outputs, style) = (style_set(&args.outputs)?, style_set(&args.style)?);
    let device = Device::flex();
    let vgg = Vgg16::load(&device)?;
    let features = |set: &[[Plane; 3]]| GaussianStats::from_vectors(&vgg_region_features(&vgg, set, &device));
    let fid = frechet_distance(&features(&outputs), &features(&style));
    let swd = sliced_wasserstein(&outputs, &style, &SwdConfig::default());
    if args.json {
        let report = serde_json::json!({
            "fid_vgg": fid,
            "swd": swd.mean,
            "swd_per_level": swd.per_level,
            "swd_level_sizes": swd.level_sizes,
            "outputs": outputs.len(),
            "style_images": style.len(),
        });
        println!("{report}");
    } else {
        let levels: Vec<String> =
            swd.level_sizes.iter().zip(&swd.per_level).map(|(s, v)| format!("{s}px {v:.1}")).collect();
        println!(
            "fid_vgg: {fid:.2} (VGG16 features; not comparable with Inception FID)\n\
             swd: {:.1} (x1000; per level: {})\n\
             {} outputs against {} style images; lower is closer",
            swd.mean,
            levels.join(", "),
            outputs.len(),
            style.len()
        );
    }
    Ok(())
}

/// `path` relative to `root` without its extension: what pairs an output with its input.
fn pairing_key(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).with_extension("")
}

/// Pairs each output with the input at the same relative path, extension aside (`stylize`
/// mirrors a folder tree and may change the format); unmatched outputs are reported.
fn content_pairs(inputs: &Path, outputs: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let by_key: std::collections::HashMap<PathBuf, PathBuf> =
        image_files(inputs)?.into_iter().map(|p| (pairing_key(inputs, &p), p)).collect();
    let mut pairs = Vec::new();
    for output in image_files(outputs)? {
        match by_key.get(&pairing_key(outputs, &output)) {
            Some(input) => pairs.push((input.clone(), output)),
            None => tracing::warn!("{}: no input of the same name in {}; skipped", output.display(), inputs.display()),
        }
    }
    if pairs.is_empty() {
        bail!("no output in {} has an input of the same name in {}", outputs.display(), inputs.display());
    }
    Ok(pairs)
}

/// `toonflow eval content`.
pub fn content(args: &EvalContentArgs) -> Result<()> {
    let pairs = content_pairs(&args.inputs, &args.outputs)?;
    let scored: Vec<(String, f64, f64)> = pairs
        .par_iter()
        .filter_map(|(input, output)| {
            let read = |p: &Path| read_image(p, &ReadOptions::default()).map_err(|e| tracing::warn!("skipped: {e}"));
            let (a, b) = (read(input).ok()?, read(output).ok()?);
            let a = if (a.width(), a.height()) != (b.width(), b.height()) {
                resize_frame(&a, b.width(), b.height(), ResizeFilter::Area)
            } else {
                a
            };
            let name = output.strip_prefix(&args.outputs).unwrap_or(output).display().to_string();
            Some((name, ssim_luma(&a, &b), edge_agreement(&a, &b)))
        })
        .collect();
    if scored.is_empty() {
        bail!("none of the {} image pairs could be read", pairs.len());
    }
    let n = scored.len() as f64;
    let ssim = scored.iter().map(|s| s.1).sum::<f64>() / n;
    let edges = scored.iter().map(|s| s.2).sum::<f64>() / n;
    if args.json {
        let images: Vec<_> = scored
            .iter()
            .map(|(name, s, e)| serde_json::json!({"image": name, "ssim": s, "edge_agreement": e}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"ssim": ssim, "edge_agreement": edges, "pairs": scored.len(), "images": images})
        );
    } else {
        for (name, s, e) in &scored {
            println!("{name}: ssim {s:.3}, edge agreement {e:.3}");
        }
        println!(
            "mean over {} pairs: ssim {ssim:.3}, edge agreement {edges:.3} (higher keeps more of the input)",
            scored.len()
        );
    }
    Ok(())
}
