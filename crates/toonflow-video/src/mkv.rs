//! A minimal Matroska writer for raw RGB frames with timestamps: what lets variable-frame-rate
//! video keep its exact timing through the pipe to FFmpeg (raw video on a pipe has none).
//!
//! Layout: EBML header; a Segment of unknown size (streamed); Info (timestamps in microseconds);
//! one video track, `V_UNCOMPRESSED` with colour space FourCC `RGB` + 24 bits; then one Cluster per
//! frame holding its absolute timestamp and a single key-frame SimpleBlock. Element IDs and layout
//! follow the Matroska specification (RFC 9559).

use std::io::{self, Write};

/// Timestamps are written in microseconds.
pub const TIMESTAMP_SCALE_NS: u64 = 1_000;

fn vint_size(len: u64) -> Vec<u8> {
    // Always 8 bytes: simple, and any size fits.
    let mut out = vec![0x01];
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out
}

fn element(id: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend(vint_size(payload.len() as u64));
    out.extend_from_slice(payload);
    out
}

fn uint(id: &[u8], v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(7);
    element(id, &bytes[first..])
}

/// Writes raw RGB24 frames with timestamps as a Matroska stream.
pub struct MkvRawWriter<W: Write> {
    out: W,
    frame_bytes: usize,
}

impl<W: Write> MkvRawWriter<W> {
    /// Writes the headers for `width x height` RGB24 frames.
    pub fn new(mut out: W, width: usize, height: usize) -> io::Result<Self> {
        let ebml = [
            uint(&[0x42, 0x86], 1),
            uint(&[0x42, 0xF7], 1),
            uint(&[0x42, 0xF2], 4),
            uint(&[0x42, 0xF3], 8),
            element(&[0x42, 0x82], b"matroska"),
            uint(&[0x42, 0x87], 4),
            uint(&[0x42, 0x85], 2),
        ]
        .concat();
        out.write_all(&element(&[0x1A, 0x45, 0xDF, 0xA3], &ebml))?;
        // Segment of unknown size: all ones in the 8-byte size field.
        out.write_all(&[0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])?;
        let info = [
            uint(&[0x2A, 0xD7, 0xB1], TIMESTAMP_SCALE_NS),
            element(&[0x4D, 0x80], b"toonflow"),
            element(&[0x57, 0x41], b"toonflow"),
        ]
        .concat();
        out.write_all(&element(&[0x15, 0x49, 0xA9, 0x66], &info))?;
        let video =
            [uint(&[0xB0], width as u64), uint(&[0xBA], height as u64), element(&[0x2E, 0xB5, 0x24], b"RGB\x18")]
                .concat();
        let track = [
            uint(&[0xD7], 1),
            uint(&[0x73, 0xC5], 1),
            uint(&[0x83], 1),
            element(&[0x86], b"V_UNCOMPRESSED"),
            element(&[0xE0], &video),
        ]
        .concat();
        out.write_all(&element(&[0x16, 0x54, 0xAE, 0x6B], &element(&[0xAE], &track)))?;
        Ok(Self { out, frame_bytes: width * height * 3 })
    }

    /// Writes one frame (`width * height * 3` bytes, RGB) at `timestamp_us`.
    pub fn write_frame(&mut self, timestamp_us: u64, rgb: &[u8]) -> io::Result<()> {
        assert_eq!(rgb.len(), self.frame_bytes, "frame size");
        // SimpleBlock: track 1 (vint 0x81), relative timestamp 0, flags: key frame.
        let mut block_head = vec![0xA3];
        block_head.extend(vint_size((4 + rgb.len()) as u64));
        block_head.extend_from_slice(&[0x81, 0x00, 0x00, 0x80]);
        let timestamp = uint(&[0xE7], timestamp_us);
        let cluster_len = timestamp.len() + block_head.len() + rgb.len();
        self.out.write_all(&[0x1F, 0x43, 0xB6, 0x75])?;
        self.out.write_all(&vint_size(cluster_len as u64))?;
        self.out.write_all(&timestamp)?;
        self.out.write_all(&block_head)?;
        self.out.write_all(rgb)
    }

    /// Flushes and gives the writer back.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
