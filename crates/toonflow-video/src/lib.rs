//! Comic-style video for toonflow: FFmpeg I/O through pipes ([`ffmpeg`]), the decisions made
//! once per frame ([`analysis`]: scene cuts, luma pyramids), frame stylizers ([`stylizer`]),
//! temporal stabilization with optical flow ([`temporal`]), the streaming pipeline that joins
//! them ([`pipeline`]), long videos in parts across machines ([`parts`]), and the warping error of video files ([`quality`]).
#![deny(missing_docs)]

pub mod analysis;
pub mod ffmpeg;
pub mod frames;
pub mod mkv;
pub mod parts;
pub mod pipeline;
pub mod png_frames;
pub mod quality;
pub mod stylizer;
pub mod temporal;
