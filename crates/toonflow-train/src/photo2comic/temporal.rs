//! Temporal regularization of the generator, for video: equivariance to small camera motion and
//! robustness to sensor noise.

use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn::tensor::{Int, Tensor, TensorData};
use toonflow_model::burn;

use super::Job;

impl Job<'_> {
    /// |G(T(x)) − T(G(x))| for a random small similarity transform T, away from the borders
    /// (where T brings in padding).
    pub(super) fn equivariance_loss(
        &mut self,
        x: &Tensor<4>,
        gx: &Tensor<4>,
        labels: Option<&Tensor<1, Int>>,
    ) -> Tensor<1> {
        let [b, _, h, w] = x.dims();
        let t = &self.state.config.temporal;
        let rng = &mut self.state.rng;
        let mut grid = Vec::with_capacity(b * h * w * 2);
        for _ in 0..b {
            let angle = rng.range(-t.max_rotation, t.max_rotation).to_radians();
            let zoom = 1.0 + rng.range(-t.max_zoom, t.max_zoom);
            let (dx, dy) = (2.0 * rng.range(-t.max_shift, t.max_shift), 2.0 * rng.range(-t.max_shift, t.max_shift));
            let (sin, cos) = angle.sin_cos();
            for y in 0..h {
                for x in 0..w {
                    // Normalized coordinates of pixel centres (align_corners = false).
                    let (u, v) = ((2 * x + 1) as f32 / w as f32 - 1.0, (2 * y + 1) as f32 / h as f32 - 1.0);
                    grid.push((cos * u - sin * v) / zoom + dx);
                    grid.push((sin * u + cos * v) / zoom + dy);
                }
            }
        }
        let grid = Tensor::<4>::from_data(TensorData::new(grid, [b, h, w, 2]), self.device);
        let options =
            GridSampleOptions::new(InterpolateMode::Bilinear).with_padding_mode(GridSamplePaddingMode::Border);
        let warp = |img: Tensor<4>| img.grid_sample_2d(grid.clone(), options.clone());
        let lhs = self.nets.g.forward(warp(x.clone()), labels);
        let rhs = warp(gx.clone());
        let (my, mx) = (h / 8, w / 8);
        (lhs - rhs).slice([0..b, 0..3, my..h - my, mx..w - mx]).abs().mean()
    }

    /// |G(x + n) − G(x)| for Gaussian noise n.
    pub(super) fn noise_robustness_loss(
        &mut self,
        x: &Tensor<4>,
        gx: &Tensor<4>,
        labels: Option<&Tensor<1, Int>>,
    ) -> Tensor<1> {
        let dims = x.dims();
        let sigma = self.state.config.temporal.noise;
        let rng = &mut self.state.rng;
        let noise: Vec<f32> = (0..dims.iter().product::<usize>()).map(|_| sigma * rng.normal()).collect();
        let noisy = x.clone() + Tensor::<4>::from_data(TensorData::new(noise, dims), self.device);
        (self.nets.g.forward(noisy, labels) - gx.clone()).abs().mean()
    }
}
