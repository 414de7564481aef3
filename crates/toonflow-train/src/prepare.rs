//! `toonflow prepare`: scans photo and style folders, drops what would hurt training (unreadable,
//! tiny, near-duplicate images) with a report, resizes and crops to the training size, makes the
//! edge-smoothed style copies the discriminator learns to reject (CartoonGAN), and writes image
//! sets that training reads in one go.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use toonflow_imageio::{has_image_extension, read_image, ReadOptions};
use toonflow_imgproc::blur::{gaussian_blur, sobel_magnitude};
use toonflow_imgproc::color::luma;
use toonflow_imgproc::frame::{Frame, Plane};
use toonflow_imgproc::resize::{resize_cover, ResizeFilter};

use crate::imageset::ImageSet;

pub const DATASET_FILE: &str = "dataset.json";
pub const REPORT_FILE: &str = "report.json";

/// Settings of [`prepare`].
#[derive(Clone, Debug)]
pub struct PrepareConfig {
    /// Side of the stored square images (training crops are taken from them); 256, the
    /// training crop AnimeGANv2 uses.
    pub size: usize,
    /// Images whose shorter side is below this are dropped (upscaling them would teach blur);
    /// 128, half the stored size.
    pub min_side: usize,
    /// Images whose perceptual hashes differ in at most this many of 64 bits count as
    /// duplicates; 4, the usual dHash threshold for "the same picture, re-encoded or resized".
    pub duplicate_bits: u32,
    /// Photos held out for the sample grids (fixed, never trained on); 4, one grid row.
    pub validation_photos: usize,
}

impl Default for PrepareConfig {
    fn default() -> Self {
        Self { size: 256, min_side: 128, duplicate_bits: 4, validation_photos: 4 }
    }
}

/// What `dataset.json` says about a prepared dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub size: usize,
    pub photos: usize,
    pub validation_photos: usize,
    pub styles: Vec<StyleInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StyleInfo {
    pub name: String,
    pub images: usize,
    /// File of the style images and of their edge-smoothed copies, inside the dataset folder.
    pub file: String,
    pub smoothed_file: String,
}

pub const TRAIN_PHOTOS_FILE: &str = "photos.imageset";
pub const VALIDATION_PHOTOS_FILE: &str = "validation.imageset";

/// One dropped input and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    pub file: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PrepareReport {
    pub kept: usize,
    pub dropped: Vec<Dropped>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}: cannot read folder: {1}")]
    Folder(String, String),
    #[error("{0}: no usable images ({1} dropped, see the report)")]
    Empty(String, usize),
    #[error("{0}: the folder holds other files than a dataset and would be replaced; give a new or empty folder")]
    NotADatasetFolder(String),
    #[error("{path}: cannot write: {source}")]
    Write { path: String, source: std::io::Error },
}

/// A folder of style images and the name the model will know the style by.
#[derive(Clone, Debug)]
pub struct StyleSource {
    pub name: String,
    pub dir: PathBuf,
}

/// Prepares `photos` and the style folders into `out`. Returns the report (also written there).
///
/// The dataset is written into a staging folder beside `out` and swapped in whole, so a failure
/// or a kill leaves `out` as it was. A folder that holds something other than an earlier
/// dataset is refused (it would be replaced). When nothing usable is found, the report is still
/// written — into `out`, unless `out` holds an earlier dataset, which is kept as it is.
pub fn prepare(
    photos: &Path,
    styles: &[StyleSource],
    out: &Path,
    config: &PrepareConfig,
) -> Result<(DatasetInfo, PrepareReport), PrepareError> {
    let write_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| PrepareError::Write { path, source }
    };
    let earlier_dataset = out.join(DATASET_FILE).is_file();
    if out.exists() && !earlier_dataset && std::fs::read_dir(out).map_err(write_err(out))?.next().is_some() {
        return Err(PrepareError::NotADatasetFolder(out.display().to_string()));
    }
    let staged = toonflow_fs::StagedDir::new(out).map_err(write_err(out))?;
    let write = |name: &str, bytes: &[u8]| staged.write_file(name, bytes).map_err(write_err(&out.join(name)));
    let mut report = PrepareReport::default();
    let info = match prepare_into(photos, styles, config, &mut report, &write) {
        Ok(info) => info,
        Err(e) => {
            if !earlier_dataset {
                write(REPORT_FILE, serde_json::to_string_pretty(&report).expect("report").as_bytes())?;
                staged.commit().map_err(write_err(out))?;
            }
            return Err(e);
        }
    };
    write(DATASET_FILE, serde_json::to_string_pretty(&info).expect("info").as_bytes())?;
    write(REPORT_FILE, serde_json::to_string_pretty(&report).expect("report").as_bytes())?;
    staged.commit().map_err(write_err(out))?;
    Ok((info, report))
}

/// Writes one file of the dataset (into its staging folder) by name.
type WriteFile<'a> = dyn Fn(&str, &[u8]) -> Result<(), PrepareError> + 'a;

/// Reads, filters and writes the image sets; the dataset's description is the result.
fn prepare_into(
    photos: &Path,
    styles: &[StyleSource],
    config: &PrepareConfig,
    report: &mut PrepareReport,
    write: &WriteFile<'_>,
) -> Result<DatasetInfo, PrepareError> {
    let photo_set = load_folder(photos, config, report)?;
    // The held-out photos are the first few in name order: stable across re-runs.
    let held = config.validation_photos.min(photo_set.len().saturating_sub(1));
    let mut validation = ImageSet::new(config.size);
    let mut train = ImageSet::new(config.size);
    for i in 0..photo_set.len() {
        let target = if i < held { &mut validation } else { &mut train };
        target.push(photo_set.names[i].clone(), photo_set.image(i));
    }
    write(TRAIN_PHOTOS_FILE, &train.to_bytes())?;
    write(VALIDATION_PHOTOS_FILE, &validation.to_bytes())?;

    let mut style_infos = Vec::new();
    for (index, style) in styles.iter().enumerate() {
        let set = load_folder(&style.dir, config, report)?;
        let mut smoothed = ImageSet::new(config.size);
        let copies: Vec<Vec<u8>> =
            (0..set.len()).into_par_iter().map(|i| smooth_edges(set.image(i), config.size)).collect();
        for (name, copy) in set.names.iter().zip(&copies) {
            smoothed.push(name.clone(), copy);
        }
        let file = format!("style{index}.imageset");
        let smoothed_file = format!("style{index}-smoothed.imageset");
        write(&file, &set.to_bytes())?;
        write(&smoothed_file, &smoothed.to_bytes())?;
        style_infos.push(StyleInfo { name: style.name.clone(), images: set.len(), file, smoothed_file });
    }
    Ok(DatasetInfo { size: config.size, photos: train.len(), validation_photos: validation.len(), styles: style_infos })
}

/// Image files under `dir`, recursively, in name order.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>, PrepareError> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| PrepareError::Folder(dir.display().to_string(), e.to_string()))?;
        if entry.file_type().is_file() && has_image_extension(entry.path()) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// Reads, filters, resizes and de-duplicates one folder.
fn load_folder(dir: &Path, config: &PrepareConfig, report: &mut PrepareReport) -> Result<ImageSet, PrepareError> {
    let files = image_files(dir)?;
    let loaded: Vec<Result<(Vec<u8>, u64), String>> = files.par_iter().map(|path| load_one(path, config)).collect();
    let mut set = ImageSet::new(config.size);
    let mut hashes: Vec<(u64, String)> = Vec::new();
    let dropped_before = report.dropped.len();
    for (path, result) in files.iter().zip(loaded) {
        let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        let shown = path.display().to_string();
        match result {
            Err(reason) => report.dropped.push(Dropped { file: shown, reason }),
            Ok((rgb, hash)) => {
                if let Some((_, twin)) = hashes.iter().find(|(h, _)| (h ^ hash).count_ones() <= config.duplicate_bits) {
                    report.dropped.push(Dropped { file: shown, reason: format!("near-duplicate of {twin}") });
                    continue;
                }
                hashes.push((hash, shown));
                set.push(name, &rgb);
                report.kept += 1;
            }
        }
    }
    if set.is_empty() {
        return Err(PrepareError::Empty(dir.display().to_string(), report.dropped.len() - dropped_before));
    }
    Ok(set)
}

fn load_one(path: &Path, config: &PrepareConfig) -> Result<(Vec<u8>, u64), String> {
    let frame = read_image(path, &ReadOptions::default()).map_err(|e| {
        // The error already names the file; the report lists it beside, so keep the reason only.
        let text = e.to_string();
        text.strip_prefix(&format!("{}: ", path.display())).unwrap_or(&text).to_string()
    })?;
    let (w, h) = (frame.width(), frame.height());
    if w.min(h) < config.min_side {
        return Err(format!("too small ({w}x{h}, shorter side under {})", config.min_side));
    }
    // Transparent drawings (clip art) become opaque on white paper.
    let frame = frame.over_white();
    let hash = difference_hash(&frame);
    let square = resize_cover(&frame, config.size, config.size, ResizeFilter::Area);
    Ok((square.to_srgb8(false), hash))
}

/// 64-bit difference hash (dHash): brightness gradients of a 9x8 thumbnail. Survives
/// re-encoding and resizing; a few differing bits mean the same picture.
pub fn difference_hash(frame: &Frame) -> u64 {
    let thumb = luma(&toonflow_imgproc::resize::resize_frame(frame, 9, 8, ResizeFilter::Area));
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            hash = hash << 1 | u64::from(thumb.get(x + 1, y) > thumb.get(x, y));
        }
    }
    hash
}

/// CartoonGAN's edge-smoothed copy: strong edges found with a Sobel filter, widened, and blurred
/// there only. The discriminator is shown these as fakes, so it learns that comic art has crisp
/// lines.
pub fn smooth_edges(rgb: &[u8], size: usize) -> Vec<u8> {
    let frame = Frame::from_srgb8(size, size, 3, rgb);
    let magnitude = sobel_magnitude(&luma(&frame));
    // Edge pixels, widened by 2 px (a box max).
    let edge = |x: usize, y: usize| magnitude.get(x, y) > 0.4;
    let mask = Plane::from_fn(size, size, |x, y| {
        let near = (y.saturating_sub(2)..(y + 3).min(size))
            .any(|yy| (x.saturating_sub(2)..(x + 3).min(size)).any(|xx| edge(xx, yy)));
        if near {
            1.0
        } else {
            0.0
        }
    });
    let blurred = frame.map_planes(|p| gaussian_blur(p, 1.5));
    let rgb = [0, 1, 2].map(|c| {
        let data = frame.rgb[c]
            .data()
            .iter()
            .zip(blurred.rgb[c].data())
            .zip(mask.data())
            .map(|((&v, &b), &m)| v + m * (b - v))
            .collect();
        Plane::from_vec(size, size, data)
    });
    Frame::new(rgb, None).to_srgb8(false)
}
