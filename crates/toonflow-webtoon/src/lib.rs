//! Webtoon episodes from video: a clip becomes a strip a reader scrolls (or comic pages), with
//! panels where the picture or the dialogue changes, gutters paced by time, lettered speech
//! balloons that keep off the moving subject, and short seamless loops for panels that move.
//!
//! The parts, in the order a run uses them: [`subtitles`] (the lines), [`scan`] (what each frame
//! offers), [`panels`] (which moments, which frames), [`layout`] (boxes, gutters, pages),
//! [`saliency`] (what a balloon must not cover), [`lettering`] and [`balloons`], [`canvas`]
//! (drawing), [`episode`] (the run) and [`output`] (the files).
#![deny(missing_docs)]

pub mod balloons;
pub mod canvas;
pub mod episode;
pub mod geom;
pub mod layout;
pub mod lettering;
pub mod output;
pub mod panels;
pub mod saliency;
pub mod scan;
pub mod subtitles;
