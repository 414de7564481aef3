//! Temporal stabilization: per-frame stylization flickers, because small changes in the input
//! flip palette choices and ink strokes. Each output is blended with the previous output, warped
//! by the optical flow of the *input* frames onto the current frame, wherever that flow is
//! reliable (forward–backward consistent, and the warped input matches the current input); at
//! occlusions and scene cuts the new stylized frame is used as it is, so moving objects leave
//! no ghost trails.

use rayon::prelude::*;
use std::sync::Arc;
use toonflow_flow::consistency::Reliability;
use toonflow_flow::dis::{compute_flow_between, DisConfig, Pyramid};
use toonflow_flow::warp::warp_backward_n;
use toonflow_flow::Flow;
use toonflow_imgproc::{Frame, Plane};

use crate::analysis::FrameAnalysis;

/// Stabilization mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemporalMode {
    /// Every frame stylized on its own.
    Off,
    /// Blend with the motion-compensated previous output.
    Blend,
}

/// Settings of the [`Stabilizer`].
#[derive(Clone, Debug, PartialEq)]
pub struct TemporalConfig {
    /// Off or blend.
    pub mode: TemporalMode,
    /// Weight of the warped previous output where the flow is reliable (0 to 1); higher is
    /// steadier but slower to follow real changes.
    pub strength: f32,
    /// Optical flow settings.
    pub flow: DisConfig,
    /// Largest input difference (luma, 0 to 1) between a pixel and its motion-compensated
    /// predecessor for the flow there to count as reliable.
    pub max_input_change: f32,
}

impl TemporalConfig {
    /// The optical flow the stabilizer computes, if any: what the frames' pyramids are built for.
    pub fn flow(&self) -> Option<DisConfig> {
        (self.mode == TemporalMode::Blend).then_some(self.flow)
    }
}

impl Default for TemporalConfig {
    fn default() -> Self {
        Self {
            mode: TemporalMode::Blend,
            strength: 0.75,
            // Medium: on bench/video.sh's pan it halves the warping error of the fast preset
            // (0.000020 vs 0.000044) for a tenth of the frame rate. (The first ultrafast preset's
            // vectors at object borders passed the consistency test while wrong and left trails;
            // the ghosting test guards that.)
            flow: DisConfig::medium(),
            max_input_change: 0.1,
        }
    }
}

/// What happened to one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepInfo {
    /// The frame starts a new shot.
    pub scene_cut: bool,
    /// Fraction of pixels blended with the previous output.
    pub reliable: f32,
}

/// Carries the previous input and output from frame to frame (the output shared with whoever
/// else holds it, the encoder, rather than copied).
pub struct Stabilizer {
    cfg: TemporalConfig,
    prev: Option<(Pyramid, Arc<Frame>)>,
}

impl Stabilizer {
    /// A stabilizer with no history.
    pub fn new(cfg: TemporalConfig) -> Self {
        Self { cfg, prev: None }
    }

    /// Stabilizes `styled`, the stylized version of the frame `input` describes, against the
    /// frames before it. The frame's pyramid must have been built for [`TemporalConfig::flow`]
    /// (without one, as when stabilization is off, the frame is passed through).
    pub fn process(&mut self, input: FrameAnalysis, styled: Frame) -> (Arc<Frame>, StepInfo) {
        let mut info = StepInfo { scene_cut: input.scene_cut, ..StepInfo::default() };
        let Some(current) = input.luma.filter(|_| self.cfg.mode == TemporalMode::Blend) else {
            return (Arc::new(styled), info);
        };
        let out = match self.prev.take() {
            Some((prev, prev_out))
                if !input.scene_cut
                    && (prev.base().width(), prev.base().height())
                        == (current.base().width(), current.base().height()) =>
            {
                let (to_prev, to_current) = rayon::join(
                    || compute_flow_between(&current, &prev, &self.cfg.flow),
                    || compute_flow_between(&prev, &current, &self.cfg.flow),
                );
                let weight = self.reliability(current.base(), prev.base(), &to_prev, &to_current);
                info.reliable = (weight.mean() / self.cfg.strength.max(1e-6) as f64) as f32;
                blend(&styled, &prev_out, &to_prev, &weight)
            }
            _ => styled,
        };
        let out = Arc::new(out);
        self.prev = Some((current, Arc::clone(&out)));
        (out, info)
    }

    /// Per pixel weight of the warped previous output: `strength` where the flow is consistent
    /// both ways and explains the input, 0 elsewhere. (The consistency test and the photometric
    /// test sample at the same point, so one pass does both.)
    fn reliability(&self, current: &Plane, prev: &Plane, to_prev: &Flow, to_current: &Flow) -> Plane {
        let test = Reliability {
            backward: to_current,
            second: prev,
            max_change: self.cfg.max_input_change,
            weight: self.cfg.strength.clamp(0.0, 1.0),
        };
        test.plane(to_prev, current)
    }
}

/// `out = (1 - w) styled + w warp(prev_out)`, per pixel.
fn blend(styled: &Frame, prev_out: &Frame, to_prev: &Flow, weight: &Plane) -> Frame {
    // Whole planes warped by the vectorized warp (the three at once, sharing each pixel's
    // position and weights), then blended: cheaper than sampling only where the weight is
    // non-zero one pixel at a time.
    let [r, g, b] = &prev_out.rgb;
    let mut rgb = warp_backward_n([r, g, b], to_prev);
    for (warped, cur) in rgb.iter_mut().zip(&styled.rgb) {
        warped.par_rows_mut().enumerate().for_each(|(y, row)| {
            for ((p, &c), &k) in row.iter_mut().zip(cur.row(y)).zip(weight.row(y)) {
                *p = if k == 0.0 { c } else { c + (p.clamp(0.0, 1.0) - c) * k };
            }
        });
    }
    Frame::new(rgb, styled.alpha.clone())
}

/// Test helpers: one frame through analysis, a stylizer and the stabilizer, as the pipeline
/// runs them.
#[cfg(test)]
pub(crate) struct Chain {
    pub analyzer: crate::analysis::FrameAnalyzer,
    pub stabilizer: Stabilizer,
}

#[cfg(test)]
impl Chain {
    pub fn new(cfg: TemporalConfig) -> Self {
        let analyzer = crate::analysis::FrameAnalyzer::new(toonflow_flow::scenecut::DEFAULT_CUT_THRESHOLD, cfg.flow());
        Self { analyzer, stabilizer: Stabilizer::new(cfg) }
    }

    pub fn run(&mut self, frame: &Frame, stylizer: &mut dyn crate::stylizer::FrameStylizer) -> (Arc<Frame>, StepInfo) {
        let analysis = self.analyzer.analyze(frame);
        let styled = stylizer.stylize(frame, analysis.refit_look);
        self.stabilizer.process(analysis, styled)
    }

    /// With the frame itself as its stylized version.
    pub fn identity(&mut self, frame: &Frame) -> (Arc<Frame>, StepInfo) {
        let analysis = self.analyzer.analyze(frame);
        self.stabilizer.process(analysis, frame.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stylizer::{ComicStylizer, FrameStylizer};
    use std::path::Path;
    use toonflow_eval::temporal::WarpingError;
    use toonflow_imgproc::comic::{ComicConfig, Preset};
    use toonflow_imgproc::resize::{resize_cover, ResizeFilter};

    /// A clip of `n` frames of a sample photo moved by `motion(t)` pixels, with fresh sensor
    /// noise on every frame (what makes per-frame stylization flicker).
    fn clip(n: usize, motion: impl Fn(usize) -> (f32, f32)) -> Vec<Frame> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/samples/astronaut.jpg");
        let photo = toonflow_imageio::read_image(&path, &Default::default()).unwrap();
        let photo = resize_cover(&photo, 256, 192, ResizeFilter::Area);
        (0..n)
            .map(|t| {
                let (dx, dy) = motion(t);
                photo.map_planes(|p| {
                    let moved = toonflow_flow::warp::warp_with(p, |x, y| (x - dx, y - dy));
                    Plane::from_fn(p.width(), p.height(), |x, y| {
                        // Deterministic noise, different on every frame.
                        let mut v = (x as u32).wrapping_mul(0x9E37_79B1)
                            ^ (y as u32).wrapping_mul(0x85EB_CA77)
                            ^ (t as u32).wrapping_mul(0x27D4_EB2F);
                        v ^= v >> 15;
                        v = v.wrapping_mul(0x2C1B_3C6D);
                        v ^= v >> 12;
                        let noise = ((v & 0xFFFF) as f32 / 65535.0 - 0.5) * 0.06;
                        (moved.get(x, y) + noise).clamp(0.0, 1.0)
                    })
                })
            })
            .collect()
    }

    fn warping_error(inputs: &[Frame], mode: TemporalMode) -> f64 {
        let cfg = ComicConfig { tone: None, ..ComicConfig::preset(Preset::Comic) };
        let mut stylizer = ComicStylizer::new(cfg, false);
        let mut chain = Chain::new(TemporalConfig { mode, ..TemporalConfig::default() });
        let mut measure = WarpingError::new(DisConfig::medium());
        for frame in inputs {
            let (out, _) = chain.run(frame, &mut stylizer);
            measure.push(frame, &out);
        }
        measure.report().mean
    }

    #[test]
    fn stabilization_cuts_flicker_on_a_static_scene_and_on_a_pan() {
        for (name, motion) in [("static", (0.0f32, 0.0f32)), ("pan", (1.7, 0.6))] {
            let inputs = clip(8, |t| (motion.0 * t as f32, motion.1 * t as f32));
            let (off, blend) = (warping_error(&inputs, TemporalMode::Off), warping_error(&inputs, TemporalMode::Blend));
            eprintln!("{name}: warping error {blend:.6} stabilized, {off:.6} per frame");
            assert!(blend < 0.6 * off, "{name}: warping error {blend:.6} with stabilization vs {off:.6} without");
        }
    }

    #[test]
    fn stabilized_manga_is_screened_after_blending_so_dots_stay_crisp() {
        let inputs = clip(5, |t| (1.3 * t as f32, 0.0));
        let mut stylizer = ComicStylizer::new(ComicConfig::preset(Preset::Manga), false);
        let finish = stylizer.finisher().expect("manga screens after stabilization");
        let mut chain = Chain::new(TemporalConfig::default());
        let mut last = None;
        for frame in &inputs {
            let (out, _) = chain.run(frame, &mut stylizer);
            last = Some(finish(&out));
        }
        // As black and white as the still-image style: greys only on anti-aliased dot edges.
        let grey_fraction = |f: &Frame| {
            let data = f.rgb[1].data();
            data.iter().filter(|&&v| v > 0.15 && v < 0.85).count() as f32 / data.len() as f32
        };
        let still = toonflow_imgproc::comic::stylize(inputs.last().unwrap(), &ComicConfig::preset(Preset::Manga)).frame;
        let (video, print) = (grey_fraction(&last.unwrap()), grey_fraction(&still));
        assert!(
            video < 1.3 * print + 0.02,
            "{:.1}% grey pixels vs {:.1}% in the still style",
            video * 100.0,
            print * 100.0
        );
    }

    #[test]
    fn a_scene_cut_resets_the_history() {
        let a = clip(2, |_| (0.0, 0.0));
        let other = toonflow_imageio::read_image(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/samples/rocket.jpg"),
            &Default::default(),
        )
        .unwrap();
        let b = resize_cover(&other, 256, 192, ResizeFilter::Area);
        let mut chain = Chain::new(TemporalConfig::default());
        chain.identity(&a[0]);
        let (_, same_shot) = chain.identity(&a[1]);
        let (out, cut) = chain.identity(&b);
        assert!(!same_shot.scene_cut && same_shot.reliable > 0.5, "{same_shot:?}");
        assert!(cut.scene_cut);
        assert_eq!(*out, b, "after a cut the new frame is used as it is");
    }
}

#[cfg(test)]
mod ghosting {
    use super::*;
    use crate::stylizer::ComicStylizer;
    use toonflow_imgproc::comic::{ComicConfig, Preset};

    /// A textured background with a dark square moving 6 px right per frame.
    fn frame(t: usize) -> Frame {
        let (w, h) = (200, 120);
        let x0 = 30 + 6 * t;
        Frame::new(
            std::array::from_fn(|c| {
                Plane::from_fn(w, h, |x, y| {
                    if (x0..x0 + 40).contains(&x) && (40..80).contains(&y) {
                        0.02
                    } else {
                        0.45 + 0.2 * ((0.15 * x as f32 + 0.1 * y as f32 + c as f32).sin())
                    }
                })
            }),
            None,
        )
    }

    #[test]
    fn a_moving_object_leaves_no_trail() {
        let cfg = ComicConfig { tone: None, ..ComicConfig::preset(Preset::Comic) };
        let (mut plain, mut steady) = (ComicStylizer::new(cfg.clone(), false), ComicStylizer::new(cfg, false));
        let mut chain = Chain::new(TemporalConfig::default());
        let mut plain_chain = Chain::new(TemporalConfig { mode: TemporalMode::Off, ..TemporalConfig::default() });
        for t in 0..8 {
            let input = frame(t);
            let (reference, _) = plain_chain.run(&input, &mut plain);
            let (out, _) = chain.run(&input, &mut steady);
            if t < 3 {
                continue;
            }
            // The strip the square left in the last two frames is background again: the
            // stabilized output must show background there, not a dark smear.
            let x0 = 30 + 6 * t;
            let (mut diff, mut n) = (0.0f32, 0);
            for y in 45..75 {
                for x in x0 - 12..x0 - 2 {
                    diff += (out.rgb[1].get(x, y) - reference.rgb[1].get(x, y)).abs();
                    n += 1;
                }
            }
            let mean = diff / n as f32;
            assert!(mean < 0.03, "frame {t}: trail behind the square, mean difference {mean:.3}");
        }
    }
}
