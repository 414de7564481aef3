//! Test images and tensor conversions shared by the test binaries.
// Each binary compiles this module on its own and uses only some of it.
#![allow(dead_code)]

use toonflow_imgproc::ImageTensor;
use toonflow_model::burn::tensor::{Device, Tensor};
use toonflow_model::images;

pub fn random_image(w: usize, h: usize, seed: u64) -> ImageTensor {
    // Smooth pattern plus hash noise: structure for the network to respond to.
    let data = (0..3 * w * h)
        .map(|i| {
            let (c, y, x) = (i / (w * h), (i / w) % h, i % w);
            let noise = ((i as u64 ^ seed).wrapping_mul(0x9E3779B97F4A7C15) >> 40) as f32 / (1u64 << 24) as f32;
            (0.6 * ((x as f32 * 0.09 + c as f32).sin() * (y as f32 * 0.05).cos()) + 0.4 * (noise * 2.0 - 1.0))
                .clamp(-1.0, 1.0)
        })
        .collect();
    ImageTensor::new(w, h, data)
}

pub fn smooth_image(w: usize, h: usize) -> ImageTensor {
    let data = (0..3 * w * h)
        .map(|i| {
            let (c, y, x) = (i / (w * h), (i / w) % h, i % w);
            0.8 * ((x as f32 * 0.05 + c as f32).sin() * (y as f32 * 0.03).cos())
        })
        .collect();
    ImageTensor::new(w, h, data)
}

pub fn to_tensor(image: &ImageTensor, device: &Device) -> Tensor<4> {
    images::to_tensor(&[image], device)
}

pub fn output_tensor_to_planar(y: Tensor<4>) -> ImageTensor {
    images::from_tensor(y).remove(0)
}
