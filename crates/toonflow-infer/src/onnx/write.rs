//! Writing: protocol-buffer messages of the ONNX schema, built field by field. Repeated scalars
//! are written unpacked, which every protobuf reader accepts for the proto2 schema ONNX uses.

use super::field::*;

/// One message's encoded fields.
#[derive(Clone, Debug, Default)]
pub struct Message(Vec<u8>);

impl Message {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u64, wire_type: u64) {
        self.varint(field << 3 | wire_type);
    }

    /// An integer field (int32, int64 or enum: negative values as ten-byte varints).
    pub fn int(mut self, field: u64, v: i64) -> Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    /// A float field.
    pub fn float(mut self, field: u64, v: f32) -> Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A bytes field.
    pub fn bytes(mut self, field: u64, b: &[u8]) -> Self {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    /// A string field.
    pub fn string(self, field: u64, s: &str) -> Self {
        self.bytes(field, s.as_bytes())
    }

    /// An embedded message.
    pub fn message(self, field: u64, m: Message) -> Self {
        self.bytes(field, &m.0)
    }
}

/// A node attribute.
pub enum Attribute<'a> {
    Int(&'a str, i64),
    Float(&'a str, f32),
    Ints(&'a str, &'a [i64]),
    Text(&'a str, &'a str),
}

impl Attribute<'_> {
    pub fn encode(&self) -> Message {
        match *self {
            Attribute::Int(name, v) => named(name, ATTRIBUTE_TYPE_INT).int(ATTRIBUTE_I, v),
            Attribute::Float(name, v) => named(name, ATTRIBUTE_TYPE_FLOAT).float(ATTRIBUTE_F, v),
            Attribute::Ints(name, vs) => {
                vs.iter().fold(named(name, ATTRIBUTE_TYPE_INTS), |m, &v| m.int(ATTRIBUTE_INTS, v))
            }
            Attribute::Text(name, s) => named(name, ATTRIBUTE_TYPE_STRING).string(ATTRIBUTE_S, s),
        }
    }
}

fn named(name: &str, kind: i64) -> Message {
    Message::new().string(ATTRIBUTE_NAME, name).int(ATTRIBUTE_TYPE, kind)
}

/// A float tensor (an initializer), its values as little-endian raw data.
pub fn float_tensor(name: &str, dims: &[usize], values: &[f32]) -> Message {
    assert_eq!(dims.iter().product::<usize>(), values.len(), "tensor '{name}': values for its shape");
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    dims.iter()
        .fold(Message::new(), |m, &d| m.int(TENSOR_DIMS, d as i64))
        .int(TENSOR_DATA_TYPE, DATA_TYPE_FLOAT as i64)
        .string(TENSOR_NAME, name)
        .bytes(TENSOR_RAW_DATA, &raw)
}

/// An int64 tensor (shapes, pads, axes).
pub fn int64_tensor(name: &str, values: &[i64]) -> Message {
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    Message::new()
        .int(TENSOR_DIMS, values.len() as i64)
        .int(TENSOR_DATA_TYPE, DATA_TYPE_INT64 as i64)
        .string(TENSOR_NAME, name)
        .bytes(TENSOR_RAW_DATA, &raw)
}

/// A dimension of a graph input or output: fixed, or named (dynamic).
pub enum Dim<'a> {
    Fixed(usize),
    Named(&'a str),
}

/// A float tensor's name, element type and shape, as graph inputs and outputs declare them.
pub fn float_value_info(name: &str, dims: &[Dim]) -> Message {
    let shape = dims.iter().fold(Message::new(), |m, d| {
        m.message(
            SHAPE_DIM,
            match *d {
                Dim::Fixed(v) => Message::new().int(DIM_VALUE, v as i64),
                Dim::Named(p) => Message::new().string(DIM_PARAM, p),
            },
        )
    });
    let tensor = Message::new().int(TYPE_TENSOR_ELEM_TYPE, DATA_TYPE_FLOAT as i64).message(TYPE_TENSOR_SHAPE, shape);
    Message::new().string(VALUE_INFO_NAME, name).message(VALUE_INFO_TYPE, Message::new().message(TYPE_TENSOR, tensor))
}

/// A graph under construction: nodes in topological order (the order they are added in) and
/// initializers; each node's output is named after its position.
#[derive(Default)]
pub struct GraphBuilder {
    nodes: Vec<Message>,
    initializers: Vec<Message>,
    count: usize,
}

impl GraphBuilder {
    /// Adds a node; returns the name of its output.
    pub fn node(&mut self, op: &str, inputs: &[&str], attributes: &[Attribute]) -> String {
        let output = format!("{}_{}", op.to_lowercase(), self.count + 1);
        self.node_into(op, inputs, attributes, &output);
        output
    }

    /// Adds a node whose output has the given name (a graph output).
    pub fn node_into(&mut self, op: &str, inputs: &[&str], attributes: &[Attribute], output: &str) {
        self.count += 1;
        let node = inputs.iter().fold(Message::new(), |m, i| m.string(NODE_INPUT, i));
        let node =
            attributes.iter().fold(node.string(NODE_OUTPUT, output), |m, a| m.message(NODE_ATTRIBUTE, a.encode()));
        self.nodes.push(node.string(NODE_NAME, output).string(NODE_OP_TYPE, op));
    }

    /// Adds a float initializer; returns its name.
    pub fn float(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(float_tensor(name, dims, values));
        name.to_string()
    }

    /// Adds an int64 initializer; returns its name.
    pub fn int64(&mut self, name: &str, values: &[i64]) -> String {
        self.initializers.push(int64_tensor(name, values));
        name.to_string()
    }

    /// The graph message, with its inputs and outputs declared.
    pub fn finish(self, name: &str, inputs: Vec<Message>, outputs: Vec<Message>) -> Message {
        let graph = self.nodes.into_iter().fold(Message::new(), |m, n| m.message(GRAPH_NODE, n));
        let graph =
            self.initializers.into_iter().fold(graph.string(GRAPH_NAME, name), |m, t| m.message(GRAPH_INITIALIZER, t));
        let graph = inputs.into_iter().fold(graph, |m, i| m.message(GRAPH_INPUT, i));
        outputs.into_iter().fold(graph, |m, o| m.message(GRAPH_OUTPUT, o))
    }
}

/// A model: the graph, the operator set it uses, and metadata (key, value) pairs.
pub fn model(graph: Message, opset: i64, doc: &str, metadata: &[(&str, String)]) -> Message {
    let ir_version = 8; // the IR version of opsets 17 and 18
    let opset = Message::new().string(OPSET_DOMAIN, "").int(OPSET_VERSION, opset);
    let model = Message::new()
        .int(MODEL_IR_VERSION, ir_version)
        .string(MODEL_PRODUCER_NAME, "toonflow")
        .string(MODEL_PRODUCER_VERSION, env!("CARGO_PKG_VERSION"))
        .string(MODEL_DOC_STRING, doc)
        .message(MODEL_GRAPH, graph)
        .message(MODEL_OPSET_IMPORT, opset);
    metadata.iter().fold(model, |m, (k, v)| {
        m.message(MODEL_METADATA_PROPS, Message::new().string(ENTRY_KEY, k).string(ENTRY_VALUE, v))
    })
}
