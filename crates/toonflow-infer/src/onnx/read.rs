//! Reading: just enough of ONNX to take a model's weights, the initializer tensors of its graph.
//! ONNX files are protocol buffers; this walks the wire format directly instead of pulling in a
//! code generator for the whole schema.

use std::collections::HashMap;

use super::field::{
    DATA_TYPE_FLOAT, GRAPH_INITIALIZER, MODEL_GRAPH, TENSOR_DATA_TYPE, TENSOR_DIMS, TENSOR_FLOAT_DATA, TENSOR_NAME,
    TENSOR_RAW_DATA,
};
use crate::tensorfile::HostTensor;

/// The float initializers of an ONNX model, by name. Other element types are skipped.
pub fn read_initializers(model: &[u8]) -> Result<HashMap<String, HostTensor>, String> {
    let mut tensors = HashMap::new();
    for (field, value) in fields(model)? {
        if let (MODEL_GRAPH, Value::Bytes(graph)) = (field, value) {
            for (field, value) in fields(graph)? {
                if let (GRAPH_INITIALIZER, Value::Bytes(tensor)) = (field, value) {
                    if let Some((name, tensor)) = read_tensor(tensor)? {
                        tensors.insert(name, tensor);
                    }
                }
            }
        }
    }
    if tensors.is_empty() {
        return Err("no float initializers found (not an ONNX model?)".into());
    }
    Ok(tensors)
}

fn read_tensor(bytes: &[u8]) -> Result<Option<(String, HostTensor)>, String> {
    let (mut name, mut shape, mut data_type, mut values) = (String::new(), Vec::new(), 0, Vec::new());
    for (field, value) in fields(bytes)? {
        match (field, value) {
            (TENSOR_DIMS, Value::Varint(d)) => shape.push(d as usize),
            (TENSOR_DIMS, Value::Bytes(packed)) => {
                let mut rest = packed;
                while !rest.is_empty() {
                    let (d, n) = varint(rest)?;
                    shape.push(d as usize);
                    rest = &rest[n..];
                }
            }
            (TENSOR_DATA_TYPE, Value::Varint(t)) => data_type = t,
            (TENSOR_NAME, Value::Bytes(s)) => name = String::from_utf8_lossy(s).into_owned(),
            (TENSOR_RAW_DATA | TENSOR_FLOAT_DATA, Value::Bytes(raw)) => {
                values = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
            }
            _ => {}
        }
    }
    if data_type != DATA_TYPE_FLOAT {
        return Ok(None);
    }
    if values.len() != shape.iter().product::<usize>() {
        return Err(format!("tensor '{name}': {} values for shape {shape:?}", values.len()));
    }
    Ok(Some((name, HostTensor { shape, values })))
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Top-level fields of a protobuf message: (field number, value).
fn fields(mut bytes: &[u8]) -> Result<Vec<(u64, Value<'_>)>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (key, n) = varint(bytes)?;
        bytes = &bytes[n..];
        let value = match key & 7 {
            0 => {
                let (v, n) = varint(bytes)?;
                bytes = &bytes[n..];
                Value::Varint(v)
            }
            1 | 5 => {
                let width = if key & 7 == 1 { 8 } else { 4 };
                bytes = bytes.get(width..).ok_or("truncated fixed-width field")?;
                Value::Fixed
            }
            2 => {
                let (len, n) = varint(bytes)?;
                let end = n.checked_add(len as usize).filter(|&e| e <= bytes.len()).ok_or("truncated field")?;
                let value = &bytes[n..end];
                bytes = &bytes[end..];
                Value::Bytes(value)
            }
            other => return Err(format!("unsupported protobuf wire type {other}")),
        };
        out.push((key >> 3, value));
    }
    Ok(out)
}

fn varint(bytes: &[u8]) -> Result<(u64, usize), String> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("truncated varint".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_bytes(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3 | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn reads_a_hand_built_initializer() {
        let raw: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut tensor = vec![(TENSOR_DIMS << 3) as u8, 2, (TENSOR_DATA_TYPE << 3) as u8, 1];
        tensor.extend(field_bytes(TENSOR_NAME, b"w"));
        tensor.extend(field_bytes(TENSOR_RAW_DATA, &raw));
        let model = field_bytes(MODEL_GRAPH, &field_bytes(GRAPH_INITIALIZER, &tensor));
        let tensors = read_initializers(&model).unwrap();
        assert_eq!(tensors["w"], HostTensor { shape: vec![2], values: vec![1.5, -2.0] });
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let model = field_bytes(MODEL_GRAPH, &[0x2a, 0x7f, 0x01]);
        assert!(read_initializers(&model[..model.len() - 1]).is_err());
        assert!(read_initializers(&[0x3a, 0xff]).is_err());
    }
}
