//! ONNX, written and read without a code generator for the whole schema: [`export`] writes a
//! generator as an ONNX graph (`toonflow export`), [`read_initializers`] takes the weights out
//! of a file (the VGG16 weights for the perceptual loss come as ONNX).

pub mod export;
mod read;
mod write;

pub use read::read_initializers;

/// Field numbers and enum values from onnx.proto, for the messages toonflow writes or reads.
mod field {
    pub const MODEL_IR_VERSION: u64 = 1;
    pub const MODEL_PRODUCER_NAME: u64 = 2;
    pub const MODEL_PRODUCER_VERSION: u64 = 3;
    pub const MODEL_DOC_STRING: u64 = 6;
    pub const MODEL_GRAPH: u64 = 7;
    pub const MODEL_OPSET_IMPORT: u64 = 8;
    pub const MODEL_METADATA_PROPS: u64 = 14;

    pub const OPSET_DOMAIN: u64 = 1;
    pub const OPSET_VERSION: u64 = 2;

    pub const ENTRY_KEY: u64 = 1;
    pub const ENTRY_VALUE: u64 = 2;

    pub const GRAPH_NODE: u64 = 1;
    pub const GRAPH_NAME: u64 = 2;
    pub const GRAPH_INITIALIZER: u64 = 5;
    pub const GRAPH_INPUT: u64 = 11;
    pub const GRAPH_OUTPUT: u64 = 12;

    pub const NODE_INPUT: u64 = 1;
    pub const NODE_OUTPUT: u64 = 2;
    pub const NODE_NAME: u64 = 3;
    pub const NODE_OP_TYPE: u64 = 4;
    pub const NODE_ATTRIBUTE: u64 = 5;

    pub const ATTRIBUTE_NAME: u64 = 1;
    pub const ATTRIBUTE_F: u64 = 2;
    pub const ATTRIBUTE_I: u64 = 3;
    pub const ATTRIBUTE_S: u64 = 4;
    pub const ATTRIBUTE_INTS: u64 = 8;
    pub const ATTRIBUTE_TYPE: u64 = 20;
    pub const ATTRIBUTE_TYPE_FLOAT: i64 = 1;
    pub const ATTRIBUTE_TYPE_INT: i64 = 2;
    pub const ATTRIBUTE_TYPE_STRING: i64 = 3;
    pub const ATTRIBUTE_TYPE_INTS: i64 = 7;

    pub const TENSOR_DIMS: u64 = 1;
    pub const TENSOR_DATA_TYPE: u64 = 2;
    pub const TENSOR_FLOAT_DATA: u64 = 4;
    pub const TENSOR_NAME: u64 = 8;
    pub const TENSOR_RAW_DATA: u64 = 9;
    pub const DATA_TYPE_FLOAT: u64 = 1;
    pub const DATA_TYPE_INT64: u64 = 7;

    pub const VALUE_INFO_NAME: u64 = 1;
    pub const VALUE_INFO_TYPE: u64 = 2;
    pub const TYPE_TENSOR: u64 = 1;
    pub const TYPE_TENSOR_ELEM_TYPE: u64 = 1;
    pub const TYPE_TENSOR_SHAPE: u64 = 2;
    pub const SHAPE_DIM: u64 = 1;
    pub const DIM_VALUE: u64 = 1;
    pub const DIM_PARAM: u64 = 2;
}
