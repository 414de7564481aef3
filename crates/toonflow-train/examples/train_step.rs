//! The GAN bench's training step alone, repeated, for profiling:
//! `cargo run --release -p toonflow-train --example train_step -- 5`.

// The allocator setting of the toonflow binary, so this measures what the binary runs.
#[path = "../../toonflow/src/allocator.rs"]
mod allocator;

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use toonflow_model::burn;
use toonflow_model::discriminator::DiscriminatorConfig;
use toonflow_model::generator::{Generator, GeneratorConfig};
use toonflow_model::loss::AdversarialLoss;

fn main() {
    allocator::keep_freed_memory();
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let device = Device::flex().autodiff();
    device.seed(5);
    let mut g = Generator::new(&GeneratorConfig::default(), &device);
    let mut d = DiscriminatorConfig::default().init(&device);
    let (mut opt_g, mut opt_d) = (AdamConfig::new().with_beta_1(0.5).init(), AdamConfig::new().with_beta_1(0.5).init());
    let data: Vec<f32> = (0..4 * 3 * 256 * 256).map(|i| ((i as f32) * 0.001).sin() * 0.8).collect();
    let photos = Tensor::<4>::from_data(TensorData::new(data, [4, 3, 256, 256]), &device);
    let style = photos.clone().flip([3]);
    let adv = AdversarialLoss::Lsgan;
    for _ in 0..reps {
        let t = Instant::now();
        d = d.clone().power_iteration();
        let fake = g.forward(photos.clone(), None).detach();
        let d_loss = adv.d_real(d.forward(style.clone(), None)) + adv.d_fake(d.forward(fake, None));
        let grads = GradientsParams::from_grads(d_loss.backward(), &d);
        d = opt_d.step(2e-4, d.clone(), grads);
        let t_d = t.elapsed().as_secs_f64() * 1e3;
        let fake = g.forward(photos.clone(), None);
        let g_loss = adv.g(d.forward(fake.clone(), None)) + (fake - photos.clone()).abs().mean();
        let grads = GradientsParams::from_grads(g_loss.backward(), &g);
        g = opt_g.step(2e-4, g.clone(), grads);
        println!("step {:.0} ms (D part {t_d:.0} ms)", t.elapsed().as_secs_f64() * 1e3);
    }
}
