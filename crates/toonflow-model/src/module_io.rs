//! burn modules' weights as named host tensors ([`toonflow_infer::tensorfile`]), by field path
//! (`blocks.3.expand.conv.conv.weight`): what model files store and what the CPU inference path
//! reads back by name.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use toonflow_infer::tensorfile::HostTensor;

/// Every float parameter and buffer of a module, by path.
pub fn module_tensors<M: Module>(module: &M) -> Vec<(String, HostTensor)> {
    struct Collect {
        path: Vec<String>,
        out: Vec<(String, HostTensor)>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let shape = tensor.dims().to_vec();
            let values = crate::images::values(tensor);
            self.out.push((self.path.join("."), HostTensor { shape, values }));
        }
    }
    let mut collect = Collect { path: Vec::new(), out: Vec::new() };
    module.visit(&mut collect);
    collect.out
}

/// Replaces a module's float parameters and buffers with the named tensors. Every parameter must
/// be present with the same shape, and every tensor must be used; parameter ids are kept
/// (optimizer state stays attached). The error says what does not fit.
pub fn load_module_tensors<M: Module>(module: M, tensors: &HashMap<String, HostTensor>) -> Result<M, String> {
    struct Load<'a> {
        path: Vec<String>,
        tensors: &'a HashMap<String, HostTensor>,
        error: Option<String>,
        used: usize,
    }
    impl ModuleMapper for Load<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let name = self.path.join(".");
            let (id, current, mapper) = param.consume();
            let require_grad = current.is_require_grad();
            let Some(host) = self.tensors.get(&name) else {
                self.error.get_or_insert(format!("missing tensor '{name}'"));
                return Param::from_mapped_value(id, current, mapper);
            };
            if host.shape != current.dims().to_vec() {
                self.error.get_or_insert(format!(
                    "tensor '{name}' has shape {:?}, the model expects {:?}",
                    host.shape,
                    current.dims()
                ));
                return Param::from_mapped_value(id, current, mapper);
            }
            self.used += 1;
            let device = current.device();
            let mut value = Tensor::<D>::from_data(TensorData::new(host.values.clone(), host.shape.clone()), &device);
            if require_grad {
                value = value.require_grad();
            }
            Param::from_mapped_value(id, value, mapper)
        }
    }
    let mut load = Load { path: Vec::new(), tensors, error: None, used: 0 };
    let module = module.map(&mut load);
    if let Some(error) = load.error {
        return Err(error);
    }
    if load.used != tensors.len() {
        return Err(format!("the file has {} tensors, the model {}", tensors.len(), load.used));
    }
    Ok(module)
}
