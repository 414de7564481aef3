//! Quality measures for toonflow's outputs. So far: temporal stability ([`temporal`]).
#![deny(missing_docs)]

pub mod temporal;
