//! FFmpeg as an external program, driven through pipes: `ffprobe` for the stream's facts
//! ([`probe`]), `ffmpeg` decoding to raw RGB on stdout ([`Decoder`]) and encoding raw RGB from
//! stdin ([`Encoder`], with each [`VideoFormat`]'s codec choices). A crash in a decoder cannot take
//! toonflow down, every container FFmpeg reads is supported, and nothing is downloaded: the
//! programs come from the system (Debian package `ffmpeg`).

mod decode;
mod encode;
mod error;
mod format;
mod probe;

pub use decode::Decoder;
pub use encode::{EncodeOptions, Encoder};
pub use error::{VideoError, INSTALL_HINT, MAX_FRAME_PIXELS};
pub use format::{VideoFormat, DEFAULT_X264_PRESET, X264_PRESETS};
pub use probe::{probe, probe_tag, Rate, Span, VideoInfo};
