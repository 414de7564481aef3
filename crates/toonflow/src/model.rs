//! Trained generators as styles: `--model FILE` for `stylize` and `video`.

use std::path::Path;

use anyhow::{anyhow, Result};
use toonflow_imgproc::color::{linear_to_oklab, linear_to_srgb, oklab_to_linear};
use toonflow_imgproc::frame::{Frame, Plane};
use toonflow_model::burn::tensor::Device;
use toonflow_model::cpu::CpuGenerator;
use toonflow_model::generator::Generator;
use toonflow_model::inference::{run_generator, PlanarImage, TileConfig};
use toonflow_model::modelfile::{self, ModelInfo};
use toonflow_video::stylizer::FrameStylizer;

use crate::UsageError;

/// A loaded generator with the style it runs and how strongly it is applied.
#[derive(Clone, Debug)]
pub struct GanStyle {
    /// The generator on the channels-last CPU path (the model files are read with burn).
    generator: CpuGenerator,
    style: usize,
    strength: f32,
    keep_colors: bool,
}

impl GanStyle {
    pub fn load(path: &Path, style_id: Option<&str>, strength: f32, keep_colors: bool) -> Result<Self> {
        let device = Device::flex();
        let (generator, _, info): (Generator, _, ModelInfo) = modelfile::load_generator(path, &device)?;
        let style = match style_id {
            None => 0,
            Some(name) => info.styles.iter().position(|s| s == name).ok_or_else(|| {
                UsageError(format!(
                    "--style-id {name}: {} has the styles {}",
                    path.display(),
                    if info.styles.is_empty() { "(none named)".to_string() } else { info.styles.join(", ") }
                ))
            })?,
        };
        Ok(Self { generator: generator.to_cpu(), style, strength, keep_colors })
    }

    /// Stylizes a linear-light frame; alpha is kept, `strength` blends with the input in linear
    /// light (the same blend as the built-in styles).
    pub fn apply(&self, frame: &Frame) -> Frame {
        let (w, h) = (frame.width(), frame.height());
        let mut data = Vec::with_capacity(3 * w * h);
        for plane in &frame.rgb {
            data.extend(plane.data().iter().map(|&v| linear_to_srgb(v.clamp(0.0, 1.0)) * 2.0 - 1.0));
        }
        let styled = run_generator(
            &self.generator,
            &PlanarImage { width: w, height: h, data },
            self.style,
            TileConfig::default(),
        );
        let n = w * h;
        let mut interleaved = vec![0f32; 3 * n];
        for c in 0..3 {
            for i in 0..n {
                interleaved[i * 3 + c] = ((styled.data[c * n + i] + 1.0) / 2.0).clamp(0.0, 1.0);
            }
        }
        let mut out = Frame::from_srgb_f32(w, h, 3, &interleaved);
        if self.keep_colors {
            out = with_colors_of(&out, frame);
        }
        let s = self.strength;
        let rgb = [0, 1, 2].map(|c| {
            let blended =
                out.rgb[c].data().iter().zip(frame.rgb[c].data()).map(|(&o, &i)| s * o + (1.0 - s) * i).collect();
            Plane::from_vec(w, h, blended)
        });
        Frame::new(rgb, frame.alpha.clone())
    }
}

/// `lightness`'s Oklab L with `colors`' a and b (same size): the style's shading in the photo's
/// colours.
fn with_colors_of(lightness: &Frame, colors: &Frame) -> Frame {
    let (w, h) = (lightness.width(), lightness.height());
    let pixel = |f: &Frame, i: usize| [0, 1, 2].map(|c| f.rgb[c].data()[i]);
    let mixed: Vec<[f32; 3]> = (0..w * h)
        .map(|i| {
            let [l, _, _] = linear_to_oklab(pixel(lightness, i));
            let [_, a, b] = linear_to_oklab(pixel(colors, i));
            oklab_to_linear([l, a, b])
        })
        .collect();
    let plane = |c: usize| Plane::from_vec(w, h, mixed.iter().map(|p| p[c].clamp(0.0, 1.0)).collect());
    Frame::new([plane(0), plane(1), plane(2)], None)
}

impl FrameStylizer for GanStyle {
    fn stylize(&mut self, frame: &Frame) -> Frame {
        self.apply(frame)
    }
}

/// Loads `--model` when given.
pub fn load_optional(args: &crate::cli::StyleArgs) -> Result<Option<GanStyle>> {
    match &args.model {
        None => Ok(None),
        Some(path) if !path.exists() => Err(anyhow!("{}: no such model file", path.display())),
        Some(path) => GanStyle::load(path, args.style_id.as_deref(), args.strength, args.keep_colors).map(Some),
    }
}
