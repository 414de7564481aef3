//! A prepared dataset in memory, and the batches a step trains on.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use toonflow_model::burn;

use super::TrainConfig;
use crate::augment::{augment_photo, random_crop};
use crate::imageset::ImageSet;
use crate::prepare::{DatasetInfo, DATASET_FILE, TRAIN_PHOTOS_FILE, VALIDATION_PHOTOS_FILE};
use crate::rng::Rng;
use crate::run::{io_error, RunError};

/// What `dataset.json` of a prepared dataset says.
pub fn read_dataset_info(dir: &Path) -> Result<DatasetInfo, RunError> {
    let path = dir.join(DATASET_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RunError::NoDataset { path: dir.display().to_string() },
        _ => io_error(&path)(e),
    })?;
    let info: DatasetInfo = serde_json::from_str(&text)
        .map_err(|source| RunError::NotADataset { path: path.display().to_string(), source })?;
    if info.styles.is_empty() {
        return Err(RunError::Settings(format!("{}: the dataset has no style images", dir.display())));
    }
    Ok(info)
}

/// The image sets of a prepared dataset.
pub(super) struct Data {
    pub photos: ImageSet,
    pub validation: ImageSet,
    /// Each style's images and their edge-smoothed copies.
    pub styles: Vec<(ImageSet, ImageSet)>,
    pub names: Vec<String>,
}

impl Data {
    /// Reads the image sets `info` lists from `dir`.
    pub fn load(dir: &Path, info: &DatasetInfo) -> Result<Data, RunError> {
        let read = |name: &str| ImageSet::read(&dir.join(name));
        let mut styles = Vec::new();
        for style in &info.styles {
            styles.push((read(&style.file)?, read(&style.smoothed_file)?));
        }
        Ok(Data {
            photos: read(TRAIN_PHOTOS_FILE)?,
            validation: read(VALIDATION_PHOTOS_FILE)?,
            styles,
            names: info.styles.iter().map(|s| s.name.clone()).collect(),
        })
    }
}

/// One batch: augmented photos, and style images with their smoothed copies, per item style.
pub(super) struct Batch {
    pub photos: Tensor<4>,
    pub style: Tensor<4>,
    pub smoothed: Tensor<4>,
    pub labels: Tensor<1, Int>,
}

impl Batch {
    /// A random batch, drawn from `rng`.
    pub fn draw(config: &TrainConfig, data: &Data, rng: &mut Rng, device: &Device) -> Batch {
        let (b, crop) = (config.batch, config.crop);
        let mut photos = Vec::with_capacity(b * 3 * crop * crop);
        let (mut style, mut smoothed, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..b {
            let mut p = random_crop(&data.photos, rng.below(data.photos.len()), crop, config.photo_augment.flip, rng);
            augment_photo(&mut p, crop, &config.photo_augment, rng);
            photos.extend(p);
            let label = rng.below(data.styles.len());
            let (set, smooth) = &data.styles[label];
            let index = rng.below(set.len());
            // The same crop of the style image and of its smoothed copy.
            let mut twin = rng.clone();
            style.extend(random_crop(set, index, crop, true, rng));
            smoothed.extend(random_crop(smooth, index, crop, true, &mut twin));
            labels.push(label as i64);
        }
        let tensor = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [b, 3, crop, crop]), device);
        Batch {
            photos: tensor(photos),
            style: tensor(style),
            smoothed: tensor(smoothed),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
        }
    }
}
