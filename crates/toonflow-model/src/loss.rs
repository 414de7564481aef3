//! Losses for adversarial image-to-image training (CartoonGAN / AnimeGAN recipe) and the DCGAN.
//! Images are `[b, 3, h, w]` in [-1, 1]; discriminator outputs are logits of any shape.

use burn::tensor::activation::relu;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use toonflow_imgproc::color::LUMA_WEIGHTS;

/// Which adversarial objective to train with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdversarialLoss {
    /// Binary cross-entropy on logits, as in the classic DCGAN (non-saturating for G).
    Bce,
    /// Least squares (Mao et al. 2017): targets 1 and 0.
    Lsgan,
    /// Hinge loss (Lim & Ye 2017; used with spectral norm by Miyato et al.).
    Hinge,
}

impl AdversarialLoss {
    /// The output value that separates "real" from "fake" (LSGAN's targets are 1 and 0).
    pub fn decision_threshold(self) -> f32 {
        match self {
            Self::Bce | Self::Hinge => 0.0,
            Self::Lsgan => 0.5,
        }
    }

    /// Discriminator loss for logits it should call real.
    pub fn d_real<const D: usize>(self, logits: Tensor<D>) -> Tensor<1> {
        match self {
            Self::Bce => softplus(-logits).mean(),
            Self::Lsgan => (logits - 1.0).square().mean(),
            Self::Hinge => relu(-logits + 1.0).mean(),
        }
    }

    /// Discriminator loss for logits it should call fake.
    pub fn d_fake<const D: usize>(self, logits: Tensor<D>) -> Tensor<1> {
        match self {
            Self::Bce => softplus(logits).mean(),
            Self::Lsgan => logits.square().mean(),
            Self::Hinge => relu(logits + 1.0).mean(),
        }
    }

    /// Generator loss: make the discriminator call its output real.
    pub fn g<const D: usize>(self, logits: Tensor<D>) -> Tensor<1> {
        match self {
            Self::Bce => softplus(-logits).mean(),
            Self::Lsgan => (logits - 1.0).square().mean(),
            Self::Hinge => (-logits).mean(),
        }
    }
}

/// log(1 + eˣ), computed without overflow: max(x, 0) + log(1 + e^-|x|).
pub fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    relu(x.clone()) + (-x.abs()).exp().log1p()
}

/// Luma (toonflow's one formula, [`LUMA_WEIGHTS`]) of images in [-1, 1], as `[b, 1, h, w]`.
pub fn luma(x: Tensor<4>) -> Tensor<4> {
    let [b, _, h, w] = x.dims();
    let [wr, wg, wb] = LUMA_WEIGHTS.map(f64::from);
    let r = x.clone().slice([0..b, 0..1, 0..h, 0..w]);
    let g = x.clone().slice([0..b, 1..2, 0..h, 0..w]);
    let bl = x.slice([0..b, 2..3, 0..h, 0..w]);
    r * wr + g * wg + bl * wb
}

/// Grey copy with three equal channels (what the style loss compares: texture, not colour).
pub fn grayscale(x: Tensor<4>) -> Tensor<4> {
    let [b, _, h, w] = x.dims();
    luma(x).expand([b, 3, h, w])
}

/// Gram matrices of feature maps `[b, c, h, w]` → `[b, c, c]`, normalized by c·h·w.
pub fn gram(features: Tensor<4>) -> Tensor<3> {
    let [b, c, h, w] = features.dims();
    let f = features.reshape([b, c, h * w]);
    f.clone().matmul(f.swap_dims(1, 2)) / (c * h * w) as f64
}

/// L1 distance between Gram matrices of two feature maps.
pub fn style_loss(a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    (gram(a) - gram(b)).abs().mean()
}

/// Colour loss in YUV (AnimeGAN): L1 on luma, Huber on the two chroma channels.
pub fn color_loss(photo: Tensor<4>, generated: Tensor<4>) -> Tensor<1> {
    let (py, pu, pv) = yuv(photo);
    let (gy, gu, gv) = yuv(generated);
    (py - gy).abs().mean() + huber(pu - gu) + huber(pv - gv)
}

/// YUV (BT.601 analog: Y is [`luma`], U and V its colour differences) of images in [-1, 1].
fn yuv(x: Tensor<4>) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
    // From [-1, 1] to [0, 1] first, so the transform is the textbook one.
    let x = (x + 1.0) / 2.0;
    let y = luma(x.clone());
    let [b, _, h, w] = x.dims();
    let r = x.clone().slice([0..b, 0..1, 0..h, 0..w]);
    let g = x.clone().slice([0..b, 1..2, 0..h, 0..w]);
    let bl = x.slice([0..b, 2..3, 0..h, 0..w]);
    let u = r.clone() * -0.14714 + g.clone() * -0.28886 + bl.clone() * 0.436;
    let v = r * 0.615 + g * -0.51499 + bl * -0.10001;
    (y, u, v)
}

/// Huber loss with δ = 1 on a difference tensor.
fn huber<const D: usize>(diff: Tensor<D>) -> Tensor<1> {
    let a = diff.abs();
    let quadratic = a.clone().clamp_max(1.0);
    let linear = a - quadratic.clone();
    (quadratic.square() * 0.5 + linear).mean()
}

/// Total variation: mean absolute difference between neighbouring pixels.
pub fn total_variation(x: Tensor<4>) -> Tensor<1> {
    let [b, c, h, w] = x.dims();
    let dy = x.clone().slice([0..b, 0..c, 1..h, 0..w]) - x.clone().slice([0..b, 0..c, 0..h - 1, 0..w]);
    let dx = x.clone().slice([0..b, 0..c, 0..h, 1..w]) - x.slice([0..b, 0..c, 0..h, 0..w - 1]);
    dy.abs().mean() + dx.abs().mean()
}

/// Weights of each term of the generator's objective. The defaults put every term near 1 at the
/// start of adversarial training with our VGG16 block4_conv3 features (their L1 distances run
/// 10–30, so content gets 0.05), measured on the demo dataset; AnimeGANv2 balances the same
/// terms with a large adversarial weight instead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossWeights {
    /// Generator: the adversarial term (times the adaptive weight k); 1.
    pub adversarial: f32,
    /// Generator: L1 between VGG features of photo and output; 0.05 (see above).
    pub content: f32,
    /// Generator: L1 between Gram matrices of grey VGG features of output and style; 1.
    pub style: f32,
    /// Generator: the YUV colour loss against the photo; 2 (AnimeGANv2's colour weight is
    /// larger than its style weight too).
    pub color: f32,
    /// Generator: total variation of the output; 1.
    pub total_variation: f32,
    /// Discriminator: weight of style images with blurred edges shown as fakes; 0.5
    /// (CartoonGAN's edge-promoting loss, weighted below the real/fake terms).
    pub edge_smoothed: f32,
    /// Discriminator: weight of grey style images shown as fakes (AnimeGAN: D must see
    /// colour); 0.2.
    pub grayscale: f32,
    /// Equivariance: G(T(x)) ≈ T(G(x)) for small random shifts, rotations and zooms; 0 (off;
    /// `--temporal` sets 1).
    pub equivariance: f32,
    /// Noise robustness: G(x + n) ≈ G(x); 0 (off; `--temporal` sets 1).
    pub noise_robustness: f32,
    /// Generator: L1, on pixels, between the output and the photo drawn by a built-in style
    /// (the config's `structure_style`): pseudo-pairs whose targets have flat regions and
    /// outlines, in the spirit of White-box Cartoonization's structure representation and
    /// Scenimefy's pseudo-paired data, while the discriminator pulls toward the drawings.
    /// Pixels, not VGG features: block4_conv3 sees 1/8 resolution, too coarse for a line.
    /// 0 (off).
    pub structure: f32,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            adversarial: 1.0,
            content: 0.05,
            style: 1.0,
            color: 2.0,
            total_variation: 1.0,
            edge_smoothed: 0.5,
            grayscale: 0.2,
            equivariance: 0.0,
            noise_robustness: 0.0,
            structure: 0.0,
        }
    }
}
