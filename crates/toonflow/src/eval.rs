//! `toonflow eval`: quality figures — style distance, content kept, temporal stability.

use crate::cli::{EvalContentArgs, EvalStyleArgs, EvalTemporalArgs};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use toonflow_eval::content::{colour_cast, edge_agreement, ssim_luma};
use toonflow_eval::frechet::{frechet_distance, GaussianStats};
use toonflow_eval::kid::kernel_distance;
use toonflow_eval::srgb_planes;
use toonflow_eval::swd::{sliced_wasserstein, SwdConfig};
use toonflow_imageio::{has_image_extension, read_image, ReadOptions};
use toonflow_imgproc::resize::{resize_cover, resize_frame, ResizeFilter};
use toonflow_imgproc::{Frame, ImageTensor, Plane};
use toonflow_model::burn::tensor::Device;
use toonflow_model::vgg::{Vgg16, REGIONS_PER_IMAGE};
use toonflow_video::ffmpeg::Span;
use toonflow_video::quality::FileWarpingError;

/// Warping error of `output` against `input` (see [`toonflow_video::quality`]); its warnings
/// (a truncated input, frame counts that differ) are logged.
pub fn warping_error(input: &Path, output: &Path, span: Span) -> Result<FileWarpingError> {
    let measured = toonflow_video::quality::warping_error(input, output, span)?;
    for warning in &measured.warnings {
        tracing::warn!("{warning}");
    }
    Ok(measured)
}

/// `toonflow eval temporal`.
pub fn temporal(args: &EvalTemporalArgs) -> Result<()> {
    let FileWarpingError { report, frames, .. } = warping_error(&args.input, &args.output, Span::default())?;
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

/// The readable images of a folder, scaled and centre-cropped to `STYLE_SIDE`².
fn style_set(dir: &Path) -> Result<Vec<Frame>> {
    let frames = read_all(&image_files(dir)?);
    if frames.is_empty() {
        bail!("{}: none of the images could be read", dir.display());
    }
    // Transparent drawings are judged as printed, on white paper, whatever colour their
    // transparent pixels happen to hold.
    Ok(frames
        .par_iter()
        .map(|(_, f)| resize_cover(&f.over_white(), STYLE_SIDE, STYLE_SIDE, ResizeFilter::Area))
        .collect())
}

/// `toonflow eval style`.
pub fn style(args: &EvalStyleArgs) -> Result<()> {
    let (outputs, style) = (style_set(&args.outputs)?, style_set(&args.style)?);
    let device = Device::flex();
    let vgg = Vgg16::load(&device)?;
    let features = |set: &[Frame]| {
        let images: Vec<ImageTensor> = set.iter().map(ImageTensor::from_frame).collect();
        vgg.region_features(&images, &device)
    };
    let (output_features, style_features) = (features(&outputs), features(&style));
    let fid =
        frechet_distance(&GaussianStats::from_vectors(&output_features), &GaussianStats::from_vectors(&style_features));
    // The jackknife leaves one image out at a time: each set needs two.
    let kid = (outputs.len() >= 2 && style.len() >= 2)
        .then(|| kernel_distance(&output_features, &style_features, REGIONS_PER_IMAGE));
    let planes = |set: &[Frame]| -> Vec<[Plane; 3]> { set.iter().map(srgb_planes).collect() };
    let swd = sliced_wasserstein(&planes(&outputs), &planes(&style), &SwdConfig::default());
    if args.json {
        let report = serde_json::json!({
            "fid_vgg": fid,
            "kid_vgg": kid.map(|k| k.kid),
            "kid_vgg_standard_error": kid.map(|k| k.standard_error),
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
        let kid = kid.map_or("needs two images in each set".into(), |k| {
            format!("{:.4} ± {:.4} (± one standard error over images)", k.kid, k.standard_error)
        });
        println!(
            "fid_vgg: {fid:.2} (VGG16 features; not comparable with Inception FID)\n\
             kid_vgg: {kid}\n\
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
/// mirrors a folder tree and may change the format); unmatched outputs are reported and counted.
fn content_pairs(inputs: &Path, outputs: &Path) -> Result<(Vec<(PathBuf, PathBuf)>, usize)> {
    let by_key: std::collections::HashMap<PathBuf, PathBuf> =
        image_files(inputs)?.into_iter().map(|p| (pairing_key(inputs, &p), p)).collect();
    let (mut pairs, mut unmatched) = (Vec::new(), 0);
    for output in image_files(outputs)? {
        match by_key.get(&pairing_key(outputs, &output)) {
            Some(input) => pairs.push((input.clone(), output)),
            None => {
                tracing::warn!("{}: no input of the same name in {}; skipped", output.display(), inputs.display());
                unmatched += 1;
            }
        }
    }
    if pairs.is_empty() {
        bail!("no output in {} has an input of the same name in {}", outputs.display(), inputs.display());
    }
    Ok((pairs, unmatched))
}

/// Smallest output side the content measures say anything about (SSIM's window is 11 px).
const MIN_CONTENT_SIDE: usize = 16;

/// Why an output cannot be compared with its input, if it cannot: it must be the input's
/// picture at any scale (its aspect ratio, to the pixel) and large enough to measure.
fn incomparable(input: &Frame, output: &Frame) -> Option<String> {
    let ((wi, hi), (wo, ho)) = ((input.width(), input.height()), (output.width(), output.height()));
    if wo.min(ho) < MIN_CONTENT_SIDE {
        return Some(format!("{wo}x{ho} is too small to measure (under {MIN_CONTENT_SIDE} px)"));
    }
    // The height a resize to this width gives, within a pixel of rounding either way.
    let expected = (wo as f64 * hi as f64 / wi as f64).round() as usize;
    if expected.abs_diff(ho) > 1 && (ho as f64 * wi as f64 / hi as f64).round() as usize != wo {
        return Some(format!("{wo}x{ho} is not the input's {wi}x{hi} at any scale"));
    }
    None
}

/// `toonflow eval content`. Returns whether every output was scored (unmatched, unreadable or
/// incomparable ones are named, left out of the means, and make the exit code 1).
pub fn content(args: &EvalContentArgs) -> Result<bool> {
    let (pairs, unmatched) = content_pairs(&args.inputs, &args.outputs)?;
    let scored: Vec<(String, f64, f64, f64)> = pairs
        .par_iter()
        .filter_map(|(input, output)| {
            let read = |p: &Path| read_image(p, &ReadOptions::default()).map_err(|e| tracing::warn!("skipped: {e}"));
            let (a, b) = (read(input).ok()?, read(output).ok()?);
            if let Some(why) = incomparable(&a, &b) {
                tracing::warn!("skipped: {}: {why}", output.display());
                return None;
            }
            let a = if (a.width(), a.height()) != (b.width(), b.height()) {
                resize_frame(&a, b.width(), b.height(), ResizeFilter::Area)
            } else {
                a
            };
            let name = output.strip_prefix(&args.outputs).unwrap_or(output).display().to_string();
            Some((name, ssim_luma(&a, &b), edge_agreement(&a, &b), colour_cast(&a, &b)))
        })
        .collect();
    if scored.is_empty() {
        bail!("none of the {} image pairs could be scored (see the warnings)", pairs.len());
    }
    let n = scored.len() as f64;
    let ssim = scored.iter().map(|s| s.1).sum::<f64>() / n;
    let edges = scored.iter().map(|s| s.2).sum::<f64>() / n;
    let cast = scored.iter().map(|s| s.3).sum::<f64>() / n;
    if args.json {
        let images: Vec<_> = scored
            .iter()
            .map(|(name, s, e, c)| serde_json::json!({"image": name, "ssim": s, "edge_agreement": e, "colour_cast": c}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"ssim": ssim, "edge_agreement": edges, "colour_cast": cast, "pairs": scored.len(), "skipped": unmatched + pairs.len() - scored.len(), "images": images})
        );
    } else {
        for (name, s, e, c) in &scored {
            println!("{name}: ssim {s:.3}, edge agreement {e:.3}, colour cast {c:.4}");
        }
        println!(
            "mean over {} pairs: ssim {ssim:.3}, edge agreement {edges:.3} (higher keeps more of the input), \
             colour cast {cast:.4} (Oklab chroma moved; 0 keeps the input's colour)",
            scored.len()
        );
    }
    let skipped = unmatched + pairs.len() - scored.len();
    if skipped > 0 {
        tracing::warn!("{skipped} outputs were not scored (see above)");
    }
    Ok(skipped == 0)
}
