//! A prepared set of equally sized RGB images in one file, read in a single call at training
//! start. Format: a magic line, a JSON header line (`size`, `count`, `names`), then
//! `count * size * size * 3` bytes of sRGB, row-major, pixel-interleaved.

use std::io::{BufRead, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

const MAGIC: &str = "toonflow-imageset 1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Header {
    size: usize,
    count: usize,
    names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    pub size: usize,
    /// Where each image came from (relative source path).
    pub names: Vec<String>,
    pub pixels: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageSetError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not a prepared image set ({reason}); run `toonflow prepare` again")]
    Format { path: String, reason: String },
}

impl ImageSet {
    pub fn new(size: usize) -> Self {
        Self { size, names: Vec::new(), pixels: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn push(&mut self, name: String, rgb: &[u8]) {
        assert_eq!(rgb.len(), self.size * self.size * 3, "image of the wrong size");
        self.names.push(name);
        self.pixels.extend_from_slice(rgb);
    }

    /// The `i`-th image's name.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// The `i`-th image's interleaved sRGB bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.size * self.size * 3;
        &self.pixels[i * n..(i + 1) * n]
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header { size: self.size, count: self.len(), names: self.names.clone() };
        let mut out = format!("{MAGIC}\n{}\n", serde_json::to_string(&header).expect("header")).into_bytes();
        out.extend_from_slice(&self.pixels);
        out
    }

    pub fn read(path: &Path) -> Result<Self, ImageSetError> {
        let shown = path.display().to_string();
        let io = |source| ImageSetError::Io { path: shown.clone(), source };
        let bad = |reason: String| ImageSetError::Format { path: shown.clone(), reason };
        let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
        let mut line = String::new();
        reader.read_line(&mut line).map_err(io)?;
        if line.trim_end() != MAGIC {
            return Err(bad("wrong magic".into()));
        }
        line.clear();
        reader.read_line(&mut line).map_err(io)?;
        let header: Header = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if header.names.len() != header.count {
            return Err(bad("header count and names disagree".into()));
        }
        let expected = header.count * header.size * header.size * 3;
        let mut pixels = Vec::with_capacity(expected);
        reader.read_to_end(&mut pixels).map_err(io)?;
        if pixels.len() != expected {
            return Err(bad(format!("{} pixel bytes, expected {expected} (truncated?)", pixels.len())));
        }
        Ok(Self { size: header.size, names: header.names, pixels })
    }
}
