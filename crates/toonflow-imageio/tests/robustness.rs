//! Property tests: damaged and hostile image files through the decoder. Every file decodes or
//! gives an error naming it — never a panic, never an allocation past the pixel limit.

use std::path::Path;

use proptest::prelude::*;
use toonflow_imageio::{decode_image, encode_image, OutputFormat, ReadOptions};
use toonflow_imgproc::Frame;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)).unwrap()
}

const FIXTURES: [&str; 8] = [
    "photo.jpg",
    "photo.webp",
    "photo.bmp",
    "photo.tiff",
    "photo16.png",
    "grey.png",
    "first-frame.gif",
    "transparent.png",
];

/// A small limit, so a header that claims a huge image is refused before decoding.
fn opts() -> ReadOptions {
    ReadOptions { max_pixels: 4_000_000 }
}

/// Decodes, checking the result is an error that names the file or a frame of sane size.
fn decode_is_safe(bytes: &[u8]) -> Result<(), TestCaseError> {
    match decode_image(bytes, Path::new("fuzzed.img"), &opts()) {
        Ok(frame) => {
            prop_assert!(frame.width() > 0 && frame.height() > 0);
            prop_assert!((frame.width() * frame.height()) as u64 <= opts().max_pixels);
        }
        Err(e) => prop_assert!(e.to_string().starts_with("fuzzed.img: "), "{e}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Bytes flipped anywhere (headers, sizes, compressed data).
    #[test]
    fn flipped_bytes(index in 0..FIXTURES.len(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = fixture(FIXTURES[index]);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value | 1;
        }
        decode_is_safe(&bytes)?;
    }

    /// Cut short anywhere, including inside the header.
    #[test]
    fn truncated(index in 0..FIXTURES.len(), keep in any::<prop::sample::Index>()) {
        let bytes = fixture(FIXTURES[index]);
        decode_is_safe(&bytes[..keep.index(bytes.len())])?;
    }

    /// Bytes that are nothing at all, or start like a format and go on as noise.
    #[test]
    fn noise(prefix in prop::sample::select(vec![&b""[..], b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\0\0\0\0WEBP", b"GIF89a", b"BM", b"II*\0"]), rest in prop::collection::vec(any::<u8>(), 0..512)) {
        let bytes: Vec<u8> = prefix.iter().copied().chain(rest).collect();
        decode_is_safe(&bytes)?;
    }

    /// Images of any size down to 1x1 and extreme aspect ratios survive a write and a read.
    #[test]
    fn every_size_round_trips(w in 1usize..300, h in 1usize..4, tall in any::<bool>(), png in any::<bool>()) {
        let (w, h) = if tall { (h, w) } else { (w, h) };
        let frame = Frame::filled(w, h, [0.2, 0.5, 0.8]);
        let format = if png { OutputFormat::Png } else { OutputFormat::Jpeg(90) };
        let bytes = encode_image(&frame, format).unwrap();
        let back = decode_image(&bytes, Path::new("size.img"), &opts()).unwrap();
        prop_assert_eq!((back.width(), back.height()), (w, h));
    }
}

/// PNG headers that claim 0, 1, and enormous sides (the chunk's CRC recomputed, so only the
/// size is wrong).
#[test]
fn png_headers_with_extreme_sizes_are_refused_or_read() {
    let good = fixture("grey.png");
    for (w, h) in [(0u32, 16u32), (16, 0), (1, 1), (1, 1 << 20), (u32::MAX, u32::MAX), (1 << 16, 1 << 16)] {
        let mut png = good.clone();
        png[16..20].copy_from_slice(&w.to_be_bytes());
        png[20..24].copy_from_slice(&h.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        match decode_image(&png, Path::new("sized.png"), &opts()) {
            Ok(frame) => assert!(frame.width() > 0 && frame.height() > 0),
            Err(e) => assert!(e.to_string().starts_with("sized.png: "), "{e}"),
        }
    }
}

/// The PNG chunk checksum (CRC-32, ISO 3309), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
