//! Forward + backward of each convolution shape of the generator at batch 4, 256x256, through
//! burn's convolution and through `toonflow_model::train_ops` (our kernels), side by side:
//! `cargo run --release -p toonflow-train --example conv_layers`.

// The allocator setting of the toonflow binary, so this measures what the binary runs.
#[path = "../../toonflow/src/allocator.rs"]
mod allocator;

use std::time::Instant;

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};
use toonflow_model::burn;
use toonflow_model::train_ops;

fn main() {
    allocator::keep_freed_memory();
    let device = Device::flex().autodiff();
    // (cin, cout, kernel, stride, groups, input side incl. padding)
    let layers = [
        (3, 32, 7, 1, 1, 262),
        (32, 64, 3, 2, 1, 258),
        (64, 64, 3, 1, 1, 130),
        (64, 128, 3, 2, 1, 130),
        (128, 128, 3, 1, 1, 66),
        (128, 256, 1, 1, 1, 64),
        (256, 256, 3, 1, 256, 66),
        (256, 128, 1, 1, 1, 64),
        (128, 64, 3, 1, 1, 130),
        (64, 32, 3, 1, 1, 258),
        (32, 32, 7, 1, 1, 262),
        (32, 3, 1, 1, 1, 256),
    ];
    println!("{:<28} {:>10} {:>10} {:>8}", "layer (fwd + bwd, ms)", "burn", "ours", "ratio");
    for (cin, cout, k, s, groups, side) in layers {
        let x = Tensor::<4>::random([4, cin, side, side], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let w = Tensor::<4>::random([cout, cin / groups, k, k], Distribution::Normal(0.0, 0.1), &device).require_grad();
        let run = |ours: bool| {
            let y = if ours {
                train_ops::conv2d(x.clone(), w.clone(), None, [s, s], train_ops::Padding::Zero([0, 0]), groups)
            } else {
                conv2d(x.clone(), w.clone(), None, ConvOptions::new([s, s], [0, 0], [1, 1], groups))
            };
            let _ = (y.clone() * y).sum().backward();
        };
        let mut ms = [0.0; 2];
        for (i, ours) in [false, true].into_iter().enumerate() {
            run(ours);
            let t = Instant::now();
            for _ in 0..3 {
                run(ours);
            }
            ms[i] = t.elapsed().as_secs_f64() * 1e3 / 3.0;
        }
        let name = format!("{cin}->{cout} {k}x{k}/{s} g{groups} @{side}");
        println!("{name:<28} {:>10.1} {:>10.1} {:>7.2}x", ms[0], ms[1], ms[0] / ms[1]);
    }
}
