//! Training operations on the CPU with our own kernels, registered with burn as a backend
//! extension with custom backward passes: convolution ([`conv_kernels`]) and layer norm fused
//! with LeakyReLU ([`norm_kernels`]).
//!
//! Why: burn's CPU backend computes a convolution's gradients by generic rewrites (a transposed
//! convolution for the input, a convolution with the output gradient as kernel for the weight,
//! one convolution per group for depthwise layers) that gather patches slowly, and composes the
//! norm of a dozen elementwise passes; together they made a training step more than twice as
//! slow as PyTorch's. The functions here take our kernels on the CPU backend (with or without
//! autodiff) and burn's own operations on any other device.

pub mod conv_kernels;
pub mod norm_kernels;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, DType, Dispatch, DispatchDevice, Flex, TensorMetadata};
use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::module::conv2d as burn_conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Tensor, TensorData};

use conv_kernels::ConvGeometry;
use norm_kernels::NormGeometry;

/// Symmetric padding of a convolution, per axis: zeros, or the image reflected at its border
/// (without repeating the border sample).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Zero([usize; 2]),
    Reflect([usize; 2]),
}

/// Stride, padding and depthwise-ness of a convolution (the rest comes from the tensors' shapes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    pub stride: [usize; 2],
    pub padding: Padding,
    pub depthwise: bool,
}

impl ConvSpec {
    fn geometry(&self, x: &[usize], weight: &[usize]) -> ConvGeometry {
        ConvGeometry {
            batch: x[0],
            cin: x[1],
            h: x[2],
            w: x[3],
            cout: weight[0],
            kernel: [weight[2], weight[3]],
            stride: self.stride,
            pad: match self.padding {
                Padding::Zero(pad) | Padding::Reflect(pad) => pad,
            },
            reflect: matches!(self.padding, Padding::Reflect(_)),
            depthwise: self.depthwise,
        }
    }
}

/// The operations, for burn's dispatch: implemented for the CPU backend (forward) and for
/// autodiff over it (forward + our backward pass).
#[backend_extension(Flex, Autodiff)]
pub trait TrainOps: Backend {
    /// Convolution without bias (`[batch, cin, h, w]` × `[cout, cin or 1, kh, kw]`).
    fn train_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, spec: ConvSpec) -> FloatTensor<Self>;

    /// Layer norm over channels and space with per-channel `gamma` / `beta`, then LeakyReLU
    /// with `slope` (1 = no activation).
    fn train_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        slope: f32,
    ) -> FloatTensor<Self>;
}

/// The values of a tensor made contiguous by `to_contiguous` (which copies only strided views).
fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32 tensor")
}

fn flex_tensor(data: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

fn dims(t: &FlexTensor) -> [usize; 4] {
    t.shape().dims::<4>()
}

impl TrainOps for Flex {
    fn train_conv2d(x: FlexTensor, weight: FlexTensor, spec: ConvSpec) -> FlexTensor {
        let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
        let g = spec.geometry(&dims(&x), &dims(&weight));
        let y = conv_kernels::forward(&g, values(&x), values(&weight));
        flex_tensor(y, [g.batch, g.cout, g.out_h(), g.out_w()])
    }

    fn train_norm_act(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, slope: f32) -> FlexTensor {
        norm_forward(&x, &gamma, &beta, slope).0
    }
}

fn norm_geometry(x: &FlexTensor, slope: f32) -> NormGeometry {
    let [batch, channels, h, w] = dims(x);
    NormGeometry { batch, channels, plane: h * w, slope }
}

fn norm_forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    slope: f32,
) -> (FlexTensor, norm_kernels::SampleStats) {
    let (x, gamma, beta) = (x.to_contiguous(), gamma.to_contiguous(), beta.to_contiguous());
    let (y, stats) = norm_kernels::forward(&norm_geometry(&x, slope), values(&x), values(&gamma), values(&beta));
    (flex_tensor(y, dims(&x)), stats)
}

#[derive(Debug)]
struct NormActBackward;

impl Backward<Flex, 3> for NormActBackward {
    type State = (NodeId, NodeId, NodeId, norm_kernels::SampleStats, f32);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x_state, gamma_state, beta_state, stats, slope) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x_state).to_contiguous();
        let gamma = checkpointer.retrieve_node_output::<FlexTensor>(gamma_state).to_contiguous();
        let beta = checkpointer.retrieve_node_output::<FlexTensor>(beta_state).to_contiguous();
        let g = norm_geometry(&x, slope);
        let (dx, dgamma, dbeta) =
            norm_kernels::backward(&g, values(&x), values(&gamma), values(&beta), &stats, values(&dy));
        let vector = |v: Vec<f32>| FlexTensor::from_data(TensorData::new(v, [g.channels]));
        for (node, grad) in
            [(node_x, flex_tensor(dx, dims(&x))), (node_gamma, vector(dgamma)), (node_beta, vector(dbeta))]
        {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 2> for ConvBackward {
    type State = (NodeId, NodeId, ConvSpec);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_weight] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x_state, weight_state, spec) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x_state).to_contiguous();
        let weight = checkpointer.retrieve_node_output::<FlexTensor>(weight_state).to_contiguous();
        let (x_dims, weight_dims) = (dims(&x), dims(&weight));
        let g = spec.geometry(&x_dims, &weight_dims);
        if let Some(node) = node_x {
            let dx = conv_kernels::backward_input(&g, values(&dy), values(&weight));
            grads.register::<Flex>(node.id, flex_tensor(dx, x_dims));
        }
        if let Some(node) = node_weight {
            let dw = conv_kernels::backward_weight(&g, values(&x), values(&dy));
            grads.register::<Flex>(node.id, flex_tensor(dw, weight_dims));
        }
    }
}

impl<C: CheckpointStrategy> TrainOps for Autodiff<Flex, C> {
    fn train_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, spec: ConvSpec) -> FloatTensor<Self> {
        let forward = |x: &FlexTensor, w: &FlexTensor| Flex::train_conv2d(x.clone(), w.clone(), spec);
        match ConvBackward.prepare::<C>([x.node(), weight.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                prep.finish((x_state, weight_state, spec), forward(x.primitive(), weight.primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive(), weight.primitive())),
        }
    }

    fn train_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        slope: f32,
    ) -> FloatTensor<Self> {
        match NormActBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let beta_state = prep.checkpoint(&beta);
                let (y, stats) = norm_forward(x.primitive(), gamma.primitive(), beta.primitive(), slope);
                prep.finish((x_state, gamma_state, beta_state, stats, slope), y)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(norm_forward(x.primitive(), gamma.primitive(), beta.primitive(), slope).0)
            }
        }
    }
}

/// Whether our kernels can take this tensor: `f32` on the CPU backend (with or without autodiff).
fn on_our_kernels(x: &Tensor<4>) -> bool {
    matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_)) && x.dtype() == DType::F32
}

/// Whether our kernels can run this convolution: ungrouped or depthwise.
fn runs_here(x: &Tensor<4>, weight: &Tensor<4>, groups: usize) -> bool {
    let [_, cin, _, _] = x.dims();
    let [cout, _, _, _] = weight.dims();
    on_our_kernels(x) && (groups == 1 || (groups == cin && cin == cout))
}

/// Layer norm over channels and space per sample with per-channel `gamma` / `beta`, then
/// LeakyReLU with `slope` (`None`: no activation), fused on our kernels; `None` where they do
/// not apply (the caller composes it from burn's operations).
pub fn norm_act(x: &Tensor<4>, gamma: &Tensor<1>, beta: &Tensor<1>, slope: Option<f32>) -> Option<Tensor<4>> {
    on_our_kernels(x).then(|| {
        Tensor::from_dispatch(<Dispatch as TrainOps>::train_norm_act(
            x.clone().into_dispatch(),
            gamma.clone().into_dispatch(),
            beta.clone().into_dispatch(),
            slope.unwrap_or(1.0),
        ))
    })
}

/// `conv2d` with symmetric padding and no dilation, on our kernels where they apply (see the
/// module documentation), else on burn's.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    padding: Padding,
    groups: usize,
) -> Tensor<4> {
    if !runs_here(&x, &weight, groups) {
        let (x, pad) = match padding {
            Padding::Zero(pad) => (x, pad),
            Padding::Reflect([ph, pw]) => (x.pad((pw, pw, ph, ph), PadMode::Reflect), [0, 0]),
        };
        return burn_conv2d(x, weight, bias, ConvOptions::new(stride, pad, [1, 1], groups));
    }
    let spec = ConvSpec { stride, padding, depthwise: groups > 1 };
    let y =
        Tensor::from_dispatch(<Dispatch as TrainOps>::train_conv2d(x.into_dispatch(), weight.into_dispatch(), spec));
    match bias {
        Some(b) => {
            let c = b.dims()[0];
            y + b.reshape([1, c, 1, 1])
        }
        None => y,
    }
}

/// Symmetric zero padding of an undilated convolution module, where it has one.
fn symmetric_padding(conv: &Conv2d) -> Option<[usize; 2]> {
    let [kh, kw] = conv.kernel_size;
    let pad = match conv.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => [top, left],
        PaddingConfig2d::Same if kh % 2 == 1 && kw % 2 == 1 && conv.stride == [1, 1] => [kh / 2, kw / 2],
        _ => return None,
    };
    (conv.dilation == [1, 1]).then_some(pad)
}

/// A burn [`Conv2d`] module's forward pass through [`conv2d`]; modules with dilation or
/// asymmetric padding take burn's path.
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match symmetric_padding(conv) {
        Some(pad) => conv2d(x, conv.weight.val(), bias(conv), conv.stride, Padding::Zero(pad), conv.groups),
        None => conv.forward(x),
    }
}

fn bias(conv: &Conv2d) -> Option<Tensor<1>> {
    conv.bias.as_ref().map(|b| b.val())
}

/// [`forward`] with a weight derived from the module's (a spectrally normalized one, say).
/// Panics for dilated or asymmetrically padded modules.
pub fn forward_with_weight(conv: &Conv2d, weight: Tensor<4>, x: Tensor<4>) -> Tensor<4> {
    let pad = symmetric_padding(conv).expect("a convolution with symmetric padding and no dilation");
    conv2d(x, weight, bias(conv), conv.stride, Padding::Zero(pad), conv.groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    fn scale(t: &Tensor<4>) -> f32 {
        t.clone().abs().max().into_scalar::<f32>().max(1.0)
    }

    /// Output, input gradient and weight gradient of our kernels against burn's convolution.
    #[test]
    fn forward_and_gradients_match_burns_convolution() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let (zero, reflect) = (Padding::Zero, Padding::Reflect);
        // (batch, cin, cout, h, w, kernel, stride, padding, groups)
        let cases = [
            (2, 3, 5, 11, 9, [3, 3], [1, 1], zero([1, 1]), 1),
            (3, 4, 6, 13, 10, [3, 3], [2, 2], zero([1, 1]), 1),
            (1, 3, 4, 12, 15, [7, 7], [1, 1], zero([0, 0]), 1),
            (2, 5, 3, 9, 8, [1, 1], [1, 1], zero([0, 0]), 1),
            (1, 2, 3, 8, 9, [3, 5], [2, 1], zero([2, 0]), 1),
            (2, 6, 6, 10, 11, [3, 3], [1, 1], zero([0, 0]), 6),
            (3, 4, 4, 9, 12, [3, 3], [2, 2], zero([1, 1]), 4),
            (2, 5, 4, 16, 14, [4, 4], [2, 2], zero([1, 1]), 1),
            (3, 8, 1, 4, 4, [4, 4], [1, 1], zero([0, 0]), 1),
            (2, 3, 5, 11, 9, [7, 7], [1, 1], reflect([3, 3]), 1),
            (3, 4, 6, 13, 10, [3, 3], [2, 2], reflect([1, 1]), 1),
            (1, 2, 3, 6, 9, [5, 3], [1, 2], reflect([2, 1]), 1),
            (2, 6, 6, 10, 11, [3, 3], [1, 1], reflect([1, 1]), 6),
            (3, 4, 4, 5, 4, [3, 3], [2, 2], reflect([2, 2]), 4),
        ];
        for (batch, cin, cout, h, w, kernel, stride, padding, groups) in cases {
            let x = Tensor::<4>::random([batch, cin, h, w], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let weight = Tensor::<4>::random(
                [cout, cin / groups, kernel[0], kernel[1]],
                Distribution::Normal(0.0, 0.5),
                &device,
            )
            .require_grad();
            let bias = Tensor::<1>::random([cout], Distribution::Normal(0.0, 1.0), &device).require_grad();
            assert!(runs_here(&x, &weight, groups), "our kernels take this case");
            let ours = conv2d(x.clone(), weight.clone(), Some(bias.clone()), stride, padding, groups);
            let (padded, pad) = match padding {
                Padding::Zero(pad) => (x.clone(), pad),
                Padding::Reflect([ph, pw]) => (x.clone().pad((pw, pw, ph, ph), PadMode::Reflect), [0, 0]),
            };
            let options = ConvOptions::new(stride, pad, [1, 1], groups);
            let reference = burn_conv2d(padded, weight.clone(), Some(bias.clone()), options);
            assert_eq!(ours.dims(), reference.dims());
            let case = format!(
                "{batch}x{cin}x{h}x{w} -> {cout}, kernel {kernel:?}, stride {stride:?}, {padding:?}, groups {groups}"
            );
            let tol = 1e-5 * scale(&reference);
            assert!(max_abs_diff(ours.clone(), reference.clone()) <= tol, "output, {case}");

            // A random linear loss, so every output element has its own gradient.
            let r = Tensor::<4>::random(reference.dims(), Distribution::Normal(0.0, 1.0), &device);
            let grads_ours = (ours * r.clone()).sum().backward();
            let grads_ref = (reference * r).sum().backward();
            for (name, ours, reference) in [
                ("input", x.grad(&grads_ours).unwrap(), x.grad(&grads_ref).unwrap()),
                ("weight", weight.grad(&grads_ours).unwrap(), weight.grad(&grads_ref).unwrap()),
            ] {
                let tol = 1e-5 * scale(&reference);
                assert!(max_abs_diff(ours, reference) <= tol, "{name} gradient, {case}");
            }
            let (b_ours, b_ref) = (bias.grad(&grads_ours).unwrap(), bias.grad(&grads_ref).unwrap());
            assert!((b_ours - b_ref).abs().max().into_scalar::<f32>() <= 1e-3, "bias gradient, {case}");
        }
    }

    /// Without autodiff the same kernels run; with a batch larger than the thread count images
    /// split across threads, which must not change the result.
    #[test]
    fn inference_and_large_batches_agree_with_burn() {
        let device = Device::flex();
        for batch in [1, 5] {
            let x = Tensor::<4>::random([batch, 8, 17, 19], Distribution::Normal(0.0, 1.0), &device);
            let weight = Tensor::<4>::random([16, 8, 3, 3], Distribution::Normal(0.0, 0.3), &device);
            let ours = conv2d(x.clone(), weight.clone(), None, [1, 1], Padding::Zero([1, 1]), 1);
            let reference = burn_conv2d(x, weight, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
            assert!(max_abs_diff(ours, reference.clone()) <= 1e-5 * scale(&reference), "batch {batch}");
        }
    }

    /// The fused norm + LeakyReLU against the same layer composed of burn's operations.
    #[test]
    fn fused_norm_matches_the_composed_layer() {
        use burn::tensor::activation::leaky_relu;
        let device = Device::flex().autodiff();
        device.seed(4);
        for (shape, slope) in [([2, 5, 7, 9], Some(0.2)), ([3, 4, 6, 5], None), ([1, 3, 16, 16], Some(0.2))] {
            let x = (Tensor::<4>::random(shape, Distribution::Normal(0.5, 2.0), &device)).require_grad();
            let c = shape[1];
            let gamma = Tensor::<1>::random([c], Distribution::Normal(1.0, 0.5), &device).require_grad();
            let beta = Tensor::<1>::random([c], Distribution::Normal(0.0, 0.5), &device).require_grad();
            let ours = norm_act(&x, &gamma, &beta, slope).expect("CPU backend");
            let [b, _, h, w] = shape;
            let flat = x.clone().reshape([b, c * h * w]);
            let centered = flat.clone() - flat.mean_dim(1);
            let var = centered.clone().square().mean_dim(1);
            let normalized = (centered / (var + norm_kernels::EPS).sqrt()).reshape(shape);
            let z = normalized * gamma.clone().reshape([1, c, 1, 1]) + beta.clone().reshape([1, c, 1, 1]);
            let reference = match slope {
                Some(s) => leaky_relu(z, s as f64),
                None => z,
            };
            assert!(max_abs_diff(ours.clone(), reference.clone()) <= 1e-4, "output, {shape:?}");
            let r = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
            let grads_ours = (ours * r.clone()).sum().backward();
            let grads_ref = (reference * r).sum().backward();
            let dx = max_abs_diff(x.grad(&grads_ours).unwrap(), x.grad(&grads_ref).unwrap());
            assert!(dx <= 1e-4, "input gradient {dx}, {shape:?}");
            for (name, p) in [("gamma", &gamma), ("beta", &beta)] {
                let d = (p.grad(&grads_ours).unwrap() - p.grad(&grads_ref).unwrap()).abs().max().into_scalar::<f32>();
                assert!(d <= 1e-3, "{name} gradient {d}, {shape:?}");
            }
        }
    }
}
