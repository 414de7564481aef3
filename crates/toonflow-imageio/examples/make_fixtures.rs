//! Rebuilds the committed sample photos and test fixtures (see assets/samples/PROVENANCE.md).
//!
//! `cargo run -p toonflow-imageio --example make_fixtures -- SKIMAGE_DATA_DIR`
//! where SKIMAGE_DATA_DIR is `skimage/data` from the scikit-image wheel (`pip download
//! scikit-image --no-deps`, then unzip). Run from the workspace root.

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, Frame as GifFrame, ImageFormat, Rgba, RgbaImage};
use std::fs;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let src = std::env::args().nth(1).ok_or("usage: make_fixtures SKIMAGE_DATA_DIR")?;
    let src = Path::new(&src);
    let samples = Path::new("assets/samples");
    let fixtures = Path::new("tests/fixtures");
    fs::create_dir_all(samples)?;
    fs::create_dir_all(fixtures)?;

    // Sample photos, public domain or CC0, re-encoded as JPEG to keep the repository small.
    for (name, file) in
        [("astronaut", "astronaut.png"), ("chelsea", "chelsea.png"), ("coffee", "coffee.png"), ("rocket", "rocket.jpg")]
    {
        let img = image::open(src.join(file))?.to_rgb8();
        write_jpeg(&DynamicImage::ImageRgb8(img), &samples.join(format!("{name}.jpg")), 90)?;
    }

    // Small derived fixtures for the command-line tests.
    let chelsea = image::open(src.join("chelsea.png"))?;
    let photo = chelsea.resize_exact(240, 160, FilterType::Lanczos3);
    write_jpeg(&photo, &fixtures.join("photo.jpg"), 90)?;
    let coffee = image::open(src.join("coffee.png"))?.resize_exact(120, 80, FilterType::Lanczos3);
    coffee.save_with_format(fixtures.join("photo.webp"), ImageFormat::WebP)?;
    coffee.save_with_format(fixtures.join("photo.bmp"), ImageFormat::Bmp)?;
    coffee.save_with_format(fixtures.join("photo.tiff"), ImageFormat::Tiff)?;
    DynamicImage::ImageRgb16(coffee.to_rgb16()).save_with_format(fixtures.join("photo16.png"), ImageFormat::Png)?;
    DynamicImage::ImageLuma8(coffee.to_luma8()).save_with_format(fixtures.join("grey.png"), ImageFormat::Png)?;

    // Transparent outside a centred disc.
    let mut rgba = coffee.to_rgba8();
    for (x, y, px) in rgba.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 - 60.0, y as f32 - 40.0);
        px[3] = if dx * dx + dy * dy < 35.0 * 35.0 { 255 } else { 0 };
    }
    DynamicImage::ImageRgba8(rgba).save_with_format(fixtures.join("transparent.png"), ImageFormat::Png)?;

    // Two-frame GIF: red first, blue second; only the first frame should be read.
    let mut gif = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut gif);
        for colour in [[200, 30, 30, 255], [30, 30, 200, 255]] {
            enc.encode_frame(GifFrame::new(RgbaImage::from_pixel(64, 48, Rgba(colour))))?;
        }
    }
    fs::write(fixtures.join("first-frame.gif"), gif)?;

    // EXIF orientation 6: stored 64x32 (left red, right blue), displayed 32x64 with red on top.
    let sideways =
        RgbaImage::from_fn(64, 32, |x, _| if x < 32 { Rgba([220, 20, 20, 255]) } else { Rgba([20, 20, 220, 255]) });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 95).encode_image(&DynamicImage::ImageRgba8(sideways).to_rgb8())?;
    fs::write(fixtures.join("rotated.jpg"), jpeg_with_orientation(&jpeg, 6))?;

    // Bad inputs.
    let good_jpeg = fs::read(fixtures.join("photo.jpg"))?;
    fs::write(fixtures.join("truncated.jpg"), &good_jpeg[..good_jpeg.len() * 2 / 5])?;
    let mut png = Vec::new();
    photo.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)?;
    for b in &mut png[100..400] {
        *b ^= 0x5A;
    }
    fs::write(fixtures.join("corrupt.png"), png)?;
    fs::write(fixtures.join("empty.png"), b"")?;
    fs::write(fixtures.join("not-an-image.jpg"), b"This is a text file with a .jpg name.\n")?;
    fs::write(fixtures.join("bomb.png"), png_bomb(100_000, 100_000))?;
    Ok(())
}

fn write_jpeg(img: &DynamicImage, path: &Path, quality: u8) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality).encode_image(&img.to_rgb8())?;
    fs::write(path, out)?;
    Ok(())
}

/// A JPEG with an EXIF APP1 segment holding only the orientation tag.
fn jpeg_with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec(); // big-endian TIFF header, first IFD at 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // tag: Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // type: SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // value padding, next IFD = none
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// CRC-32 as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A decompression bomb's shape: a PNG whose header announces `w x h` pixels followed by a tiny
/// IDAT; decoding it for real would allocate `w * h * 3` bytes.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let chunks: [(&[u8], &[u8]); 3] =
        [(b"IHDR", &ihdr), (b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), (b"IEND", &[])];
    for (kind, data) in chunks {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    out
}
