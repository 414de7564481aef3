//! A generator as an ONNX graph (opset 17), so trained models leave toonflow: ONNX Runtime,
//! TensorRT or a browser run them without toonflow.
//!
//! The graph is the network of [`CpuGenerator::forward`] node for node: an `image` input of
//! `[batch, 3, height, width]` RGB in [-1, 1] (sRGB samples `v` as `v / 127.5 - 1`), any height
//! and width of at least 8 (padded by reflection to a multiple of 8 inside the graph and cropped
//! back), and a `drawing` output of the same shape. A conditional model's style is chosen at
//! export and built into the graph. A model that draws over a built-in style
//! ([`GeneratorConfig::base_style`]) takes that style's drawing of the photo as a second input,
//! `base`, and adds it as toonflow does. What toonflow does around the network stays outside:
//! running at the trained size with guided upsampling, `--strength`, `--keep-colors`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::write::{float_value_info, model, Attribute, Dim, GraphBuilder};
use crate::generator::{ConvSpec, CpuGenerator, GeneratorConfig, LEAKY_SLOPE, NORM_EPS, SIZE_MULTIPLE};
use crate::model_style::{style_index, ModelStyleError};
use crate::modelfile::{read_model_file, ModelFileError, ModelKind};
use crate::tensorfile::HostTensor;

/// The ONNX operator set the graph is written for.
pub const OPSET: i64 = 17;

/// The graph's input, output and (for models with a base style) base input names.
pub const INPUT: &str = "image";
/// See [`INPUT`].
pub const OUTPUT: &str = "drawing";
/// See [`INPUT`].
pub const BASE_INPUT: &str = "base";

/// Reads a generator model file and writes its network as an ONNX model (the file's bytes).
/// `style_id` names the style of a conditional model (its first when `None`).
pub fn export_model_file(path: &Path, style_id: Option<&str>) -> Result<Vec<u8>, ModelStyleError> {
    let file = read_model_file::<GeneratorConfig>(path, ModelKind::Generator)?;
    let style = style_index(&file.info.styles, style_id, path)?;
    let weights_error = |reason| ModelFileError::Weights { path: path.display().to_string(), reason };
    // The same checks as loading it to run: every tensor there, with its shape.
    CpuGenerator::from_tensors(&file.config, &file.tensors).map_err(weights_error)?;
    let mut metadata = vec![
        ("toonflow.config", serde_json::to_string(&file.config).expect("configs are plain data")),
        ("toonflow.input", "RGB in [-1, 1], NCHW, sides of at least 8 pixels".to_string()),
    ];
    if let Some(name) = file.info.styles.get(style) {
        metadata.push(("toonflow.style", name.clone()));
    }
    Ok(generator_graph(&file.config, &file.tensors, style, &metadata))
}

/// The ONNX model of a generator whose tensors [`CpuGenerator::from_tensors`] accepts.
pub fn generator_graph(
    config: &GeneratorConfig,
    tensors: &HashMap<String, HostTensor>,
    style: usize,
    metadata: &[(&str, String)],
) -> Vec<u8> {
    let mut net = Network { graph: GraphBuilder::default(), tensors, constants: BTreeSet::new() };
    let (padded, size) = net.pad_to_multiple(INPUT);
    let mut x = padded;
    for (i, spec) in config.encoder().into_iter().enumerate() {
        x = net.conv_norm_act(&x, &format!("encoder.{i}"), spec);
    }
    let (mid, hidden) = (config.quarter_channels(), config.block_hidden_channels());
    for i in 0..config.residual_blocks {
        let path = format!("blocks.{i}");
        let h = net.conv_norm_act(&x, &format!("{path}.expand"), conv_spec(mid, hidden, 1));
        let h = net.conv(&h, &format!("{path}.depthwise"), conv_spec(hidden, hidden, 3), hidden);
        let h = net.norm(&h, &format!("{path}.depthwise_norm"), true);
        let h = net.conv(&h, &format!("{path}.project"), conv_spec(hidden, mid, 1), 1);
        let mut h = net.norm(&h, &format!("{path}.project_norm"), false);
        if config.styles > 1 {
            h = net.modulate(&h, &path, style, mid);
        }
        x = net.graph.node("Add", &[&x, &h], &[]);
    }
    let stages = [("decoder_quarter", config.decoder_quarter()), ("decoder_half", config.decoder_half())];
    for (name, specs) in stages {
        for (i, spec) in specs.into_iter().enumerate() {
            x = net.conv_norm_act(&x, &format!("{name}.{i}"), spec);
        }
        x = net.upsample2(&x);
    }
    for (i, spec) in config.decoder_full().into_iter().enumerate() {
        x = net.conv_norm_act(&x, &format!("decoder_full.{i}"), spec);
    }
    let rgb = net.conv(&x, "to_rgb", config.to_rgb(), 1);
    let rgb = net.graph.node("Tanh", &[&rgb], &[]);
    let origin = net.constant_ints("crop_starts", &[0, 0]);
    let axes = net.constant_ints("crop_axes", &[2, 3]);
    let mut y = net.graph.node("Slice", &[&rgb, &origin, &size, &axes], &[]);
    let image_dims = [Dim::Named("batch"), Dim::Fixed(3), Dim::Named("height"), Dim::Named("width")];
    let mut inputs = vec![float_value_info(INPUT, &image_dims)];
    if config.base_style.is_some() {
        let sum = net.graph.node("Add", &[&y, BASE_INPUT], &[]);
        let (low, high) = (net.constant_float("clip_min", -1.0), net.constant_float("clip_max", 1.0));
        y = net.graph.node("Clip", &[&sum, &low, &high], &[]);
        inputs.push(float_value_info(BASE_INPUT, &image_dims));
    }
    let mut graph = net.graph;
    graph.node_into("Identity", &[&y], &[], OUTPUT);
    let doc = "toonflow generator: image (RGB in [-1, 1], NCHW) to drawing (the same)";
    let graph = graph.finish("toonflow_generator", inputs, vec![float_value_info(OUTPUT, &image_dims)]);
    model(graph, OPSET, doc, metadata).into_bytes()
}

fn conv_spec(channels_in: usize, channels_out: usize, kernel: usize) -> ConvSpec {
    ConvSpec { channels_in, channels_out, kernel, stride: 1 }
}

/// The graph being built, with the model's tensors to take weights from by name.
struct Network<'a> {
    graph: GraphBuilder,
    tensors: &'a HashMap<String, HostTensor>,
    /// Shared constants already added.
    constants: BTreeSet<String>,
}

impl Network<'_> {
    fn tensor(&self, name: &str) -> &HostTensor {
        &self.tensors[name]
    }

    fn constant_ints(&mut self, name: &str, values: &[i64]) -> String {
        if self.constants.insert(name.to_string()) {
            self.graph.int64(name, values);
        }
        name.to_string()
    }

    fn constant_float(&mut self, name: &str, value: f32) -> String {
        if self.constants.insert(name.to_string()) {
            self.graph.float(name, &[], &[value]);
        }
        name.to_string()
    }

    /// Pads the input on the right and bottom to a multiple of [`SIZE_MULTIPLE`], as the CPU
    /// path does; returns the padded tensor and the input's `[height, width]`, to crop to.
    fn pad_to_multiple(&mut self, input: &str) -> (String, String) {
        let shape = self.graph.node("Shape", &[input], &[]);
        let (start, end, first) = (
            self.constant_ints("hw_start", &[2]),
            self.constant_ints("hw_end", &[4]),
            self.constant_ints("axis0", &[0]),
        );
        let size = self.graph.node("Slice", &[&shape, &start, &end, &first], &[]);
        let multiple = self.constant_ints("size_multiple", &[SIZE_MULTIPLE as i64]);
        let rest = self.graph.node("Mod", &[&size, &multiple], &[]);
        let short = self.graph.node("Sub", &[&multiple, &rest], &[]);
        let pad = self.graph.node("Mod", &[&short, &multiple], &[]);
        let before = self.constant_ints("pads_none", &[0; 6]);
        let pads = self.graph.node("Concat", &[&before, &pad], &[Attribute::Int("axis", 0)]);
        let padded = self.graph.node("Pad", &[input, &pads], &[Attribute::Text("mode", "reflect")]);
        (padded, size)
    }

    /// A convolution with reflection padding of `kernel / 2` and no bias.
    fn conv(&mut self, x: &str, path: &str, spec: ConvSpec, groups: usize) -> String {
        let name = format!("{path}.conv.weight");
        let weight = self.tensor(&name).clone();
        let w = self.graph.float(&name, &weight.shape, &weight.values);
        let (k, p) = (spec.kernel as i64, (spec.kernel / 2) as i64);
        let padded;
        let x = if p > 0 {
            let pads = self.constant_ints(&format!("pads_reflect_{p}"), &[0, 0, p, p, 0, 0, p, p]);
            padded = self.graph.node("Pad", &[x, &pads], &[Attribute::Text("mode", "reflect")]);
            padded.as_str()
        } else {
            x
        };
        let stride = spec.stride as i64;
        let attributes = [
            Attribute::Ints("kernel_shape", &[k, k]),
            Attribute::Ints("strides", &[stride, stride]),
            Attribute::Int("group", groups as i64),
        ];
        self.graph.node("Conv", &[x, &w], &attributes)
    }

    /// The mean over channels, height and width, as means of rows, then of columns, then of
    /// channels: one f32 sum over a whole 720p map (millions of terms, as ONNX Runtime adds
    /// them) drifts by 1e-3 from the true mean, which toonflow's f64 moments give.
    fn mean_per_image(&mut self, x: &str) -> String {
        let mut mean = x.to_string();
        for axis in [3, 2, 1] {
            let axes = [Attribute::Ints("axes", &[axis]), Attribute::Int("keepdims", 1)];
            mean = self.graph.node("ReduceMean", &[&mean], &axes);
        }
        mean
    }

    /// Layer norm over channels, height and width (per image), a per-channel scale and shift,
    /// and LeakyReLU where `leaky`.
    fn norm(&mut self, x: &str, path: &str, leaky: bool) -> String {
        let mean = self.mean_per_image(x);
        let centred = self.graph.node("Sub", &[x, &mean], &[]);
        let squares = self.graph.node("Mul", &[&centred, &centred], &[]);
        let variance = self.mean_per_image(&squares);
        let eps = self.constant_float("norm_eps", NORM_EPS);
        let variance = self.graph.node("Add", &[&variance, &eps], &[]);
        let sd = self.graph.node("Sqrt", &[&variance], &[]);
        let normed = self.graph.node("Div", &[&centred, &sd], &[]);
        let scaled = self.per_channel("Mul", &normed, &format!("{path}.gamma"));
        let y = self.per_channel("Add", &scaled, &format!("{path}.beta"));
        if leaky {
            self.graph.node("LeakyRelu", &[&y], &[Attribute::Float("alpha", LEAKY_SLOPE)])
        } else {
            y
        }
    }

    /// `op` of `x` and a per-channel tensor of the model, shaped `[C, 1, 1]` to broadcast.
    fn per_channel(&mut self, op: &str, x: &str, name: &str) -> String {
        let values = self.tensor(name).values.clone();
        let v = self.graph.float(name, &[values.len(), 1, 1], &values);
        self.graph.node(op, &[x, &v], &[])
    }

    fn conv_norm_act(&mut self, x: &str, path: &str, spec: ConvSpec) -> String {
        let y = self.conv(x, &format!("{path}.conv"), spec, 1);
        self.norm(&y, &format!("{path}.norm"), true)
    }

    /// The chosen style's scale and shift of a residual block's output (as the CPU path applies
    /// its modulation table's row).
    fn modulate(&mut self, x: &str, path: &str, style: usize, channels: usize) -> String {
        let row = &self.tensor(&format!("{path}.style_modulation")).values[style * 2 * channels..][..2 * channels];
        let scale: Vec<f32> = row[..channels].iter().map(|s| s + 1.0).collect();
        let shift = row[channels..].to_vec();
        let scale = self.graph.float(&format!("{path}.style_scale"), &[channels, 1, 1], &scale);
        let shift = self.graph.float(&format!("{path}.style_shift"), &[channels, 1, 1], &shift);
        let scaled = self.graph.node("Mul", &[x, &scale], &[]);
        self.graph.node("Add", &[&scaled, &shift], &[])
    }

    /// Bilinear doubling with half-pixel centres (the CPU path's `upsample2`).
    fn upsample2(&mut self, x: &str) -> String {
        if self.constants.insert("upsample_scales".into()) {
            self.graph.float("upsample_scales", &[4], &[1.0, 1.0, 2.0, 2.0]);
        }
        let attributes =
            [Attribute::Text("mode", "linear"), Attribute::Text("coordinate_transformation_mode", "half_pixel")];
        self.graph.node("Resize", &[x, "", "upsample_scales"], &attributes)
    }
}
