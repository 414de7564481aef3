//! [`ImageTensor`]s (the one frame ↔ network bridge, in toonflow-imgproc) as burn tensors.

use burn::tensor::{Device, Tensor, TensorData};
use toonflow_imgproc::ImageTensor;

/// A batch `[n, 3, h, w]` of images of one size.
///
/// # Panics
/// If the batch is empty or the images differ in size.
pub fn to_tensor(images: &[&ImageTensor], device: &Device) -> Tensor<4> {
    let (w, h) = (images[0].width, images[0].height);
    assert!(images.iter().all(|i| (i.width, i.height) == (w, h)), "a batch of images of different sizes");
    let data: Vec<f32> = images.iter().flat_map(|i| i.data.iter().copied()).collect();
    Tensor::from_data(TensorData::new(data, [images.len(), 3, h, w]), device)
}

/// The images of a batch `[n, 3, h, w]`.
pub fn from_tensor(batch: Tensor<4>) -> Vec<ImageTensor> {
    let [_, _, h, w] = batch.dims();
    let values = values(batch);
    values.chunks(3 * h * w).map(|image| ImageTensor::new(w, h, image.to_vec())).collect()
}

/// A tensor's values as `f32`, row-major.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().expect("float tensors convert to f32")
}
