//! Motion between video frames, in pure Rust: dense optical flow in the style of DIS (Kroeger,
//! Timofte, Dai & Van Gool 2016, "Fast Optical Flow using Dense Inverse Search"), backward
//! warping, forward-backward consistency (occlusion) masks and scene-cut detection.
//!
//! Flow convention: `flow(x) = u` means the content at `x` in the first frame is at `x + u` in
//! the second, so `second(x + flow(x)) ≈ first(x)`, and [`warp::warp_backward`] of the second
//! frame by the flow gives back the first.
//!
//! ```
//! use toonflow_flow::{dis::{compute_flow, DisConfig}};
//! use toonflow_imgproc::Plane;
//!
//! let a = Plane::from_fn(64, 48, |x, y| ((x as f32 * 0.3).sin() + (y as f32 * 0.2).cos()) * 0.25 + 0.5);
//! let b = Plane::from_fn(64, 48, |x, y| a.get(x.saturating_sub(1), y));
//! let flow = compute_flow(&a, &b, &DisConfig::default());
//! assert!((flow.u.get(32, 24) - 1.0).abs() < 0.2);
//! ```
#![deny(missing_docs)]

pub mod consistency;
pub mod dis;
pub mod scenecut;
pub mod warp;

use toonflow_imgproc::Plane;

/// A dense flow field: horizontal and vertical displacement in pixels per pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// Horizontal displacement.
    pub u: Plane,
    /// Vertical displacement.
    pub v: Plane,
}

impl Flow {
    /// A field of zeros.
    pub fn zeros(width: usize, height: usize) -> Self {
        Self { u: Plane::new(width, height), v: Plane::new(width, height) }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.u.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.u.height()
    }

    /// Mean end-point error against a reference field over the pixels where `mask` holds
    /// (all pixels when `None`).
    pub fn mean_epe(&self, reference: &Flow, mask: Option<&dyn Fn(usize, usize) -> bool>) -> f64 {
        let (mut sum, mut n) = (0.0f64, 0usize);
        for y in 0..self.height() {
            for x in 0..self.width() {
                if mask.is_none_or(|m| m(x, y)) {
                    let du = self.u.get(x, y) - reference.u.get(x, y);
                    let dv = self.v.get(x, y) - reference.v.get(x, y);
                    sum += ((du * du + dv * dv) as f64).sqrt();
                    n += 1;
                }
            }
        }
        if n == 0 {
            0.0
        } else {
            sum / n as f64
        }
    }
}
