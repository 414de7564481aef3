//! Quality measures for toonflow's outputs: how close a set of outputs is to a style
//! ([`frechet`] and [`kid`] on features, [`swd`] on patches), how much of each input an output keeps
//! ([`content`]), and how steady a stylized video is ([`temporal`]).
#![deny(missing_docs)]

pub mod content;
pub mod frechet;
pub mod kid;
pub mod swd;
pub mod temporal;

use toonflow_imgproc::color::linear_to_srgb;
use toonflow_imgproc::{Frame, Plane};

/// The frame's colour planes sRGB-encoded in [0, 1]: the measures compare what a viewer sees.
pub fn srgb_planes(f: &Frame) -> [Plane; 3] {
    f.rgb.clone().map(|mut p| {
        p.map_inplace(|v| linear_to_srgb(v.clamp(0.0, 1.0)));
        p
    })
}
