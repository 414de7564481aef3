//! A prepared dataset in memory, and the batches a step trains on.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use toonflow_model::burn;

use super::TrainConfig;
use rayon::prelude::*;
use toonflow_imgproc::comic::{self, ComicConfig, Preset};
use toonflow_imgproc::Frame;

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
    /// Each training photo drawn by a built-in style, where the structure loss is on.
    pub structure: Option<ImageSet>,
    /// Each training photo drawn by the generator's base style, where it has one.
    pub base: Option<ImageSet>,
    /// Each validation photo drawn by the base style (for the sample grids).
    pub validation_base: Option<ImageSet>,
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
            structure: None,
            base: None,
            validation_base: None,
        })
    }

    /// Adds the structure targets: every training photo drawn by `preset` at its prepared size.
    pub fn with_structure(mut self, preset: Preset) -> Data {
        self.structure = Some(drawn_by(&self.photos, preset));
        self
    }

    /// Adds the base drawings a generator with a base style draws over: every training and
    /// validation photo drawn by `preset` at its prepared size.
    pub fn with_base(mut self, preset: Preset) -> Data {
        self.base = Some(drawn_by(&self.photos, preset));
        self.validation_base = Some(drawn_by(&self.validation, preset));
        self
    }
}

/// Every image of `set` drawn by `preset` at the set's size.
fn drawn_by(set: &ImageSet, preset: Preset) -> ImageSet {
    let size = set.size;
    let config = ComicConfig::preset(preset);
    let drawn: Vec<Vec<u8>> = (0..set.len())
        .into_par_iter()
        .map(|i| comic::stylize(&Frame::from_srgb8(size, size, 3, set.image(i)), &config).frame.to_srgb8(false))
        .collect();
    let mut out = ImageSet::new(size);
    for (i, rgb) in drawn.iter().enumerate() {
        out.push(format!("{} ({})", set.name(i), preset.name()), rgb);
    }
    out
}

/// One batch: augmented photos, and style images with their smoothed copies, per item style.
pub(super) struct Batch {
    pub photos: Tensor<4>,
    /// The photos' structure targets, the same windows (when the dataset has them).
    pub structure: Option<Tensor<4>>,
    /// The photos' base drawings, the same windows (when the generator has a base style).
    pub base: Option<Tensor<4>>,
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
        let (mut structure, mut base) = (Vec::new(), Vec::new());
        let flip = config.photo_augment.flip;
        let paired_sets: Vec<&ImageSet> = [&data.structure, &data.base].into_iter().flatten().collect();
        for _ in 0..b {
            let index = rng.below(data.photos.len());
            // The same window of the photo and of its structure target and base drawing (drawn
            // from copies of the generator, so runs without them draw exactly what they drew
            // before).
            let twin = rng.clone();
            let mut p = random_crop(&data.photos, index, crop, flip, rng);
            let mut paired: Vec<Vec<f32>> =
                paired_sets.iter().map(|set| random_crop(set, index, crop, flip, &mut twin.clone())).collect();
            augment_photo(&mut p, &mut paired, crop, &config.photo_augment, rng);
            photos.extend(p);
            let mut paired = paired.into_iter();
            if data.structure.is_some() {
                structure.extend(paired.next().unwrap_or_default());
            }
            if data.base.is_some() {
                base.extend(paired.next().unwrap_or_default());
            }
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
            structure: (!structure.is_empty()).then(|| tensor(structure)),
            base: (!base.is_empty()).then(|| tensor(base)),
            photos: tensor(photos),
            style: tensor(style),
            smoothed: tensor(smoothed),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::PhotoAugment;
    use toonflow_model::images;

    /// Photos with a different gradient each, and one style image.
    fn data(size: usize) -> Data {
        let mut photos = ImageSet::new(size);
        for i in 0..3 {
            let rgb: Vec<u8> = (0..size * size * 3)
                .map(|j| ((j / 3 % size) * 7 + (j / 3 / size) * 3 + j % 3 * 50 + i * 40) as u8)
                .collect();
            photos.push(format!("p{i}"), &rgb);
        }
        let mut style = ImageSet::new(size);
        style.push("s".into(), &vec![128; size * size * 3]);
        let smoothed = style.clone();
        Data {
            photos,
            validation: ImageSet::new(size),
            styles: vec![(style, smoothed)],
            names: vec!["s".into()],
            structure: None,
            base: None,
            validation_base: None,
        }
    }

    #[test]
    fn batches_pair_each_photo_crop_with_the_same_window_of_its_structure_target() {
        let config = TrainConfig {
            batch: 6,
            crop: 16,
            // Mirrors and rotations move both; colour and noise changes would be the photo's alone.
            photo_augment: PhotoAugment { color_jitter: 0.0, max_noise: 0.0, ..PhotoAugment::default() },
            ..TrainConfig::default()
        };
        let device = Device::flex();
        let plain = data(32);
        // Targets and bases equal to the photos show the alignment exactly.
        let paired = Data { structure: Some(plain.photos.clone()), base: Some(plain.photos.clone()), ..data(32) };
        for seed in 0..4 {
            let with = Batch::draw(&config, &paired, &mut Rng::new(seed), &device);
            let without = Batch::draw(&config, &plain, &mut Rng::new(seed), &device);
            let photos = images::values(with.photos.clone());
            assert_eq!(images::values(with.structure.unwrap()), photos, "seed {seed}");
            assert_eq!(images::values(with.base.unwrap()), photos, "seed {seed}");
            // Targets change nothing else a batch draws.
            assert!(without.structure.is_none() && without.base.is_none());
            assert_eq!(images::values(without.photos), photos, "seed {seed}");
            assert_eq!(images::values(without.style), images::values(with.style), "seed {seed}");
        }
    }

    #[test]
    fn structure_targets_are_the_photos_drawn_by_the_preset() {
        let d = data(32).with_structure(Preset::Manga);
        let targets = d.structure.as_ref().unwrap();
        assert_eq!((targets.len(), targets.size), (3, 32));
        let want =
            comic::stylize(&Frame::from_srgb8(32, 32, 3, d.photos.image(1)), &ComicConfig::preset(Preset::Manga));
        assert_eq!(targets.image(1), want.frame.to_srgb8(false).as_slice());
        assert_eq!(targets.name(1), "p1 (manga)");
        let based = d.with_base(Preset::Comic);
        assert_eq!(based.base.as_ref().unwrap().name(1), "p1 (comic)");
        assert_eq!(based.structure.as_ref().unwrap().name(1), "p1 (manga)");
    }
}
