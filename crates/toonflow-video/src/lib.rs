//! Comic-style video for toonflow: FFmpeg I/O through pipes ([`ffmpeg`]), frame stylizers
//! ([`stylizer`]), temporal stabilization with optical flow ([`temporal`]) and the streaming
//! pipeline that joins them ([`pipeline`]).
#![deny(missing_docs)]

pub mod ffmpeg;
pub mod frames;
pub mod mkv;
pub mod pipeline;
pub mod stylizer;
pub mod temporal;
