//! Pure image kernels for toonflow, with no file I/O and no machine-learning framework.
//!
//! Frames are planar `f32` linear RGB ([`Frame`]); the kernels run in parallel over rows with
//! rayon. The built-in comic styles ([`comic::stylize`]) are built from the pieces here:
//!
//! ```
//! use toonflow_imgproc::{comic, Frame};
//!
//! let photo = Frame::filled(64, 48, [0.4, 0.3, 0.2]);
//! let styled = comic::stylize(&photo, &comic::ComicConfig::preset(comic::Preset::Comic));
//! assert_eq!((styled.frame.width(), styled.frame.height()), (64, 48));
//! ```
#![deny(missing_docs)]

pub mod blur;
pub mod color;
pub mod comic;
pub mod denoise;
pub mod frame;
pub mod guided;
pub mod knobs;
pub mod lanes;
pub mod lines;
pub mod quantize;
pub mod resize;
pub mod simd;
pub mod tensor;
pub mod tone;

pub use frame::{Frame, Plane};
pub use tensor::ImageTensor;
