//! One training step of the photo-to-comic GAN: the AnimeGAN family of losses, with adaptive
//! discriminator augmentation and the adaptive adversarial weight.

use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use toonflow_model::burn;
use toonflow_model::generator::over_base;
use toonflow_model::images;
use toonflow_model::loss;

use super::data::Batch;
use super::Job;
use crate::ada;

/// One line of `log.jsonl`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    pub step: usize,
    pub phase: String,
    /// Training time of the run when this step began.
    pub seconds: f64,
    pub g_total: f32,
    pub content: f32,
    pub style: f32,
    pub color: f32,
    pub total_variation: f32,
    pub g_adversarial: f32,
    pub equivariance: f32,
    pub noise_robustness: f32,
    /// The structure loss (0 where it is off).
    #[serde(default)]
    pub structure: f32,
    pub d_total: f32,
    /// Fraction of real patches D calls real and generated patches it calls fake.
    pub d_accuracy_real: f32,
    pub d_accuracy_fake: f32,
    pub ada_p: f32,
    pub ada_rt: f32,
    pub adversarial_weight: f32,
}

fn scalar(t: &Tensor<1>) -> f32 {
    t.clone().into_scalar::<f32>()
}

impl Job<'_> {
    /// One step: content-only during the warm-up, then a discriminator and a generator update.
    pub(super) fn train_step(&mut self) -> StepLog {
        let (vgg, device) = (self.vgg, self.device);
        let config = self.state.config.clone();
        let batch = Batch::draw(&config, self.data, &mut self.state.rng, device);
        let w = &config.weights;
        let features = |x: Tensor<4>| match vgg {
            Some(vgg) => vgg.forward(x),
            None => x,
        };
        let labels = Some(&batch.labels);
        let mut log = StepLog {
            ada_p: self.state.ada.p,
            adversarial_weight: self.state.extra.adversarial_k,
            ..Default::default()
        };

        // The pull toward the photo's drawing by a built-in style, in both phases: it is what
        // teaches flat regions and outlines early.
        let structure_loss = |fake: &Tensor<4>| {
            let target = batch.structure.clone()?;
            Some((fake.clone() - target).abs().mean() * w.structure as f64)
        };
        if self.state.step < config.warmup_steps {
            log.phase = "warmup".into();
            let fake = over_base(self.nets.g.forward(batch.photos.clone(), labels), batch.base.as_ref());
            let structure = structure_loss(&fake);
            let mut total = (features(fake) - features(batch.photos.clone()).detach()).abs().mean() * w.content as f64;
            log.content = scalar(&total);
            if let Some(structure) = structure {
                log.structure = scalar(&structure);
                total = total + structure;
            }
            log.g_total = scalar(&total);
            let grads = GradientsParams::from_grads(total.backward(), &self.nets.g);
            self.nets.g = self.nets.opt_g.step(config.optimizer.lr_generator, self.nets.g.clone(), grads);
            return log;
        }
        log.phase = "adversarial".into();
        let adv = config.adversarial;
        let p = if config.ada.enabled { self.state.ada.p } else { 0.0 };

        // One generator pass serves both steps: D sees it detached, and G's weights do not
        // change before its own step. `drawn` is the network's own output (without its base).
        let drawn = self.nets.g.forward(batch.photos.clone(), labels);
        let fake = over_base(drawn.clone(), batch.base.as_ref());

        // Discriminator step.
        self.nets.d = self.nets.d.clone().power_iteration();
        let rng = &mut self.state.rng;
        let real_logits = self.nets.d.forward(ada::augment(batch.style.clone(), p, rng), labels);
        let fake_logits = self.nets.d.forward(ada::augment(fake.clone().detach(), p, rng), labels);
        let grey_logits = self.nets.d.forward(ada::augment(loss::grayscale(batch.style.clone()), p, rng), labels);
        let smooth_logits = self.nets.d.forward(ada::augment(batch.smoothed.clone(), p, rng), labels);
        let d_loss = adv.d_real(real_logits.clone())
            + adv.d_fake(fake_logits.clone())
            + adv.d_fake(grey_logits) * w.grayscale as f64
            + adv.d_fake(smooth_logits) * w.edge_smoothed as f64;
        log.d_total = scalar(&d_loss);
        let real = images::values(real_logits);
        let fake_scores = images::values(fake_logits);
        let threshold = adv.decision_threshold();
        log.d_accuracy_real = real.iter().filter(|&&v| v > threshold).count() as f32 / real.len() as f32;
        log.d_accuracy_fake = fake_scores.iter().filter(|&&v| v < threshold).count() as f32 / fake_scores.len() as f32;
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.nets.d);
        self.nets.d = self.nets.opt_d.step(config.optimizer.lr_discriminator, self.nets.d.clone(), grads);
        self.state.ada.observe(&config.ada, &real, threshold, config.batch);
        log.ada_rt = self.state.ada.rt;

        // Generator step.
        let k = self.state.extra.adversarial_k;
        let g_adv = adv.g(self.nets.d.forward(ada::augment(fake.clone(), p, &mut self.state.rng), labels))
            * (w.adversarial * k) as f64;
        let photo_features = features(batch.photos.clone()).detach();
        let fake_grey_features = features(loss::grayscale(fake.clone()));
        let style_grey_features = features(loss::grayscale(batch.style.clone())).detach();
        let content = (features(fake.clone()) - photo_features).abs().mean() * w.content as f64;
        let style = loss::style_loss(fake_grey_features, style_grey_features) * w.style as f64;
        let color = loss::color_loss(batch.photos.clone(), fake.clone()) * w.color as f64;
        let tv = loss::total_variation(fake.clone()) * w.total_variation as f64;
        let mut total = g_adv.clone() + content.clone() + style.clone() + color.clone() + tv.clone();
        if w.equivariance > 0.0 {
            // On the network's own output: a base style's steadiness is the style's.
            let eq = self.equivariance_loss(&batch.photos, &drawn, labels) * w.equivariance as f64;
            log.equivariance = scalar(&eq);
            total = total + eq;
        }
        if let Some(structure) = structure_loss(&fake) {
            log.structure = scalar(&structure);
            total = total + structure;
        }
        if w.noise_robustness > 0.0 {
            let noisy = self.noise_robustness_loss(&batch.photos, &drawn, labels) * w.noise_robustness as f64;
            log.noise_robustness = scalar(&noisy);
            total = total + noisy;
        }
        log.g_adversarial = scalar(&g_adv);
        log.content = scalar(&content);
        log.style = scalar(&style);
        log.color = scalar(&color);
        log.total_variation = scalar(&tv);
        log.g_total = scalar(&total);
        let grads = GradientsParams::from_grads(total.backward(), &self.nets.g);
        self.nets.g = self.nets.opt_g.step(config.optimizer.lr_generator, self.nets.g.clone(), grads);

        let aw = &config.adaptive_weight;
        if aw.enabled {
            let balanced = (log.d_accuracy_real + log.d_accuracy_fake) / 2.0;
            let k = self.state.extra.adversarial_k * (aw.rate * (balanced - aw.target_accuracy)).exp();
            self.state.extra.adversarial_k = k.clamp(aw.min, aw.max);
        }
        log
    }
}
