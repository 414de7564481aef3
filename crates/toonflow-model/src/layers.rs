//! Building blocks shared by the generators and discriminators: padded convolutions, a layer
//! norm whose statistics can be recorded and replayed (for tiled inference, see
//! [`NormStats`]), and spectrally normalized convolutions.

use crate::train_ops::Padding;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, PaddingConfig2d};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Distribution, Tensor};
use toonflow_infer::generator::{NormStats, LEAKY_SLOPE, NORM_EPS};

/// Layer norm over channels and space per sample (GroupNorm with one group, as in AnimeGAN),
/// with a learned per-channel scale and shift.
#[derive(Module, Debug)]
pub struct LayerNorm2d {
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
}

impl LayerNorm2d {
    pub fn new(channels: usize, device: &Device) -> Self {
        Self {
            gamma: Param::from_tensor(Tensor::ones([channels], device)),
            beta: Param::from_tensor(Tensor::zeros([channels], device)),
        }
    }

    pub fn forward(&self, x: Tensor<4>, stats: &mut NormStats) -> Tensor<4> {
        self.forward_act(x, stats, None)
    }

    /// The norm followed by LeakyReLU with this negative slope (`None`: no activation). With
    /// computed statistics on the CPU this is one fused operation (`train_ops::norm_act`).
    pub fn forward_act(&self, x: Tensor<4>, stats: &mut NormStats, slope: Option<f32>) -> Tensor<4> {
        if let NormStats::Compute = stats {
            if let Some(y) = crate::train_ops::norm_act(&x, &self.gamma.val(), &self.beta.val(), slope) {
                return y;
            }
        }
        let y = self.compose(x, stats);
        match slope {
            Some(slope) => leaky_relu(y, slope as f64),
            None => y,
        }
    }

    /// The norm from burn's elementwise operations.
    fn compose(&self, x: Tensor<4>, stats: &mut NormStats) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let normalized = match stats {
            NormStats::Compute => Self::normalize(x),
            NormStats::Record(list) => {
                assert_eq!(b, 1, "norm statistics are recorded for one image at a time");
                let flat = x.clone().reshape([b, c * h * w]);
                let mean = flat.clone().mean_dim(1);
                let var = (flat - mean.clone()).square().mean_dim(1);
                let m = mean.into_scalar::<f32>();
                let v = var.into_scalar::<f32>();
                list.push([m, v]);
                Self::normalize(x)
            }
            NormStats::Replay(list, next) => {
                let [m, v] = list[*next];
                *next += 1;
                (x - m as f64) / (v as f64 + NORM_EPS as f64).sqrt()
            }
        };
        let gamma = self.gamma.val().reshape([1, c, 1, 1]);
        let beta = self.beta.val().reshape([1, c, 1, 1]);
        normalized * gamma + beta
    }

    fn normalize(x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let flat = x.reshape([b, c * h * w]);
        let mean = flat.clone().mean_dim(1); // [b, 1]
        let centered = flat - mean;
        let var = centered.clone().square().mean_dim(1);
        (centered / (var + NORM_EPS as f64).sqrt()).reshape([b, c, h, w])
    }
}

/// Convolution with reflection padding ("same" output size at stride 1).
#[derive(Module, Debug)]
pub struct ReflectConv {
    pub conv: Conv2d,
    pad: usize,
}

impl ReflectConv {
    pub fn new(channels_in: usize, channels_out: usize, kernel: usize, stride: usize, device: &Device) -> Self {
        Self::grouped(channels_in, channels_out, kernel, stride, 1, device)
    }

    pub fn grouped(
        channels_in: usize,
        channels_out: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        device: &Device,
    ) -> Self {
        let conv = Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
            .with_stride([stride, stride])
            .with_groups(groups)
            .with_bias(false)
            .init(device);
        Self { conv, pad: kernel / 2 }
    }

    /// A stride-1 convolution whose weights start at zero (its output is zero until trained).
    pub fn zeros(channels_in: usize, channels_out: usize, kernel: usize, device: &Device) -> Self {
        let conv = Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
            .with_bias(false)
            .with_initializer(Initializer::Zeros)
            .init(device);
        Self { conv, pad: kernel / 2 }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let (conv, p) = (&self.conv, self.pad);
        let bias = conv.bias.as_ref().map(|b| b.val());
        crate::train_ops::conv2d(x, conv.weight.val(), bias, conv.stride, Padding::Reflect([p, p]), conv.groups)
    }
}

/// Convolution → layer norm → LeakyReLU: AnimeGAN's basic block.
#[derive(Module, Debug)]
pub struct ConvNormAct {
    pub conv: ReflectConv,
    pub norm: LayerNorm2d,
}

impl ConvNormAct {
    pub fn new(channels_in: usize, channels_out: usize, kernel: usize, stride: usize, device: &Device) -> Self {
        Self {
            conv: ReflectConv::new(channels_in, channels_out, kernel, stride, device),
            norm: LayerNorm2d::new(channels_out, device),
        }
    }

    pub fn forward(&self, x: Tensor<4>, stats: &mut NormStats) -> Tensor<4> {
        self.norm.forward_act(self.conv.forward(x), stats, Some(LEAKY_SLOPE))
    }
}

/// A convolution whose weight is divided by its largest singular value (Miyato et al. 2018),
/// estimated by power iteration. The left singular vector `u` is state, not a trained
/// parameter: [`SpectralConv::power_iteration`] refines it once per discriminator step.
#[derive(Module, Debug)]
pub struct SpectralConv {
    pub conv: Conv2d,
    pub u: Param<Tensor<1>>,
}

impl SpectralConv {
    pub fn new(channels_in: usize, channels_out: usize, kernel: usize, stride: usize, device: &Device) -> Self {
        let conv = Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(kernel / 2, kernel / 2, kernel / 2, kernel / 2))
            .init(device);
        let u = Tensor::random([channels_out], Distribution::Normal(0.0, 1.0), device);
        let u = Param::from_tensor(l2_normalize(u)).set_require_grad(false);
        Self { conv, u }
    }

    fn weight_matrix(&self) -> Tensor<2> {
        let [o, i, kh, kw] = self.conv.weight.val().dims();
        self.conv.weight.val().reshape([o, i * kh * kw])
    }

    /// σ(W) ≈ uᵀ W v with v = normalize(Wᵀ u); u and v carry no gradient.
    fn sigma(&self) -> Tensor<1> {
        let w = self.weight_matrix();
        let u = self.u.val().detach();
        let v = l2_normalize(w.clone().detach().transpose().matmul(u.clone().unsqueeze_dim(1)).squeeze_dim(1));
        let wv = w.matmul(v.unsqueeze_dim(1)).squeeze_dim::<1>(1);
        (u * wv).sum()
    }

    /// One step of power iteration on the current weight.
    pub fn power_iteration(mut self) -> Self {
        let w = self.weight_matrix().detach();
        let u = self.u.val().detach();
        let v = l2_normalize(w.clone().transpose().matmul(u.unsqueeze_dim(1)).squeeze_dim(1));
        let u = l2_normalize(w.matmul(v.unsqueeze_dim(1)).squeeze_dim(1));
        let id = self.u.id;
        self.u = Param::initialized(id, u).set_require_grad(false);
        self
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        // W / σ(W) is weight-sized; dividing the output instead would touch every activation.
        let weight = self.conv.weight.val() / self.sigma().reshape([1, 1, 1, 1]);
        crate::train_ops::forward_with_weight(&self.conv, weight, x)
    }
}

pub(crate) fn l2_normalize(v: Tensor<1>) -> Tensor<1> {
    let norm = v.clone().square().sum().sqrt() + 1e-12;
    v / norm
}
