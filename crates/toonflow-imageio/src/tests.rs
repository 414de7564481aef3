use super::*;
use toonflow_imgproc::Plane;

fn rgb_frame(w: usize, h: usize, f: impl Fn(usize, usize) -> [f32; 3] + Sync) -> Frame {
    let rgb = std::array::from_fn(|c| Plane::from_fn(w, h, |x, y| f(x, y)[c]));
    Frame::new(rgb, None)
}

/// A JPEG with an EXIF APP1 segment holding only the orientation tag.
pub(crate) fn jpeg_with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // big-endian TIFF header, IFD at 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // padding, next IFD = 0
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
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A decompression bomb's shape: a PNG whose header announces `w x h` pixels, followed by a
/// tiny IDAT; decoding it for real would allocate `w * h * 3` bytes.
pub(crate) fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), (b"IEND", &[])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    out
}

#[test]
fn exif_orientation_is_applied() {
    // 32x16: left half red, right half blue. Orientation 6 means "rotate 90 degrees clockwise
    // to display": upright it is 16x32 with red on top.
    let frame = rgb_frame(32, 16, |x, _| if x < 16 { [0.8, 0.0, 0.0] } else { [0.0, 0.0, 0.8] });
    let jpeg = encode_image(&frame, OutputFormat::Jpeg(95)).unwrap();
    let rotated = decode_image(&jpeg_with_orientation(&jpeg, 6), Path::new("r.jpg"), &ReadOptions::default()).unwrap();
    assert_eq!((rotated.width(), rotated.height()), (16, 32));
    let (r, b) = (&rotated.rgb[0], &rotated.rgb[2]);
    assert!(r.get(8, 4) > 0.5 && b.get(8, 4) < 0.1, "top must be red");
    assert!(b.get(8, 28) > 0.5 && r.get(8, 28) < 0.1, "bottom must be blue");
    let plain = decode_image(&jpeg, Path::new("p.jpg"), &ReadOptions::default()).unwrap();
    assert_eq!((plain.width(), plain.height()), (32, 16));
}

#[test]
fn sixteen_bit_png_keeps_precision() {
    // Two 16-bit greys one 8-bit step apart apart decode to different, ordered values.
    let img = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(4, 1, |x, _| {
        let v = 30_000 + 100 * x as u16;
        image::Rgb([v, v, v])
    });
    let mut png = Cursor::new(Vec::new());
    DynamicImage::ImageRgb16(img).write_to(&mut png, ImageFormat::Png).unwrap();
    let frame = decode_image(png.get_ref(), Path::new("16.png"), &ReadOptions::default()).unwrap();
    let row = frame.rgb[0].row(0);
    assert!(row.windows(2).all(|w| w[1] > w[0]), "{row:?}");
    let expected = toonflow_imgproc::color::srgb_to_linear(30_000.0 / 65_535.0);
    assert!((row[0] - expected).abs() < 1e-5);
}

#[test]
fn alpha_round_trips_through_png_and_is_flattened_for_jpeg() {
    let mut frame = rgb_frame(8, 8, |_, _| [0.0, 0.0, 0.0]);
    frame.alpha = Some(Plane::from_fn(8, 8, |x, _| if x < 4 { 0.0 } else { 1.0 }));
    let png = encode_image(&frame, OutputFormat::Png).unwrap();
    let back = decode_image(&png, Path::new("a.png"), &ReadOptions::default()).unwrap();
    assert_eq!(back.alpha, frame.alpha);
    let jpeg = encode_image(&frame, OutputFormat::Jpeg(95)).unwrap();
    let flat = decode_image(&jpeg, Path::new("a.jpg"), &ReadOptions::default()).unwrap();
    assert!(flat.alpha.is_none());
    assert!(flat.rgb[1].get(1, 4) > 0.9, "transparent part becomes white");
    assert!(flat.rgb[1].get(6, 4) < 0.05, "opaque part stays black");
}

#[test]
fn bad_inputs_get_errors_that_name_the_file_and_the_reason() {
    let opts = ReadOptions::default();
    let p = Path::new("photos/x.png");
    let msg = |bytes: &[u8]| decode_image(bytes, p, &opts).unwrap_err().to_string();
    assert_eq!(msg(b""), "photos/x.png: file is empty");
    assert!(msg(b"hello, I am text").contains("photos/x.png: not a PNG, JPEG"));
    let frame = rgb_frame(64, 64, |x, y| [x as f32 / 64.0, y as f32 / 64.0, 0.5]);
    let png = encode_image(&frame, OutputFormat::Png).unwrap();
    let truncated = msg(&png[..png.len() / 2]);
    assert!(truncated.starts_with("photos/x.png: corrupt or truncated PNG data"), "{truncated}");
    let mut corrupt = png.clone();
    for b in &mut corrupt[40..200] {
        *b ^= 0x5A;
    }
    assert!(msg(&corrupt).contains("corrupt or truncated PNG"));
}

#[test]
fn images_over_the_pixel_limit_are_refused_before_decoding() {
    let bomb = png_bomb(100_000, 100_000);
    let err = decode_image(&bomb, Path::new("bomb.png"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ImageError::TooLarge { width: 100_000, height: 100_000, .. }));
    assert_eq!(
        err.to_string(),
        "bomb.png: image is 100000x100000 (10000.0 megapixels), over the limit of 64.0 megapixels"
    );
    let small = encode_image(&rgb_frame(40, 30, |_, _| [0.5; 3]), OutputFormat::Png).unwrap();
    let opts = ReadOptions { max_pixels: 1000 };
    assert!(matches!(decode_image(&small, Path::new("s.png"), &opts), Err(ImageError::TooLarge { .. })));
}

#[test]
fn every_format_round_trips() {
    let frame = rgb_frame(24, 10, |x, y| [x as f32 / 24.0, y as f32 / 10.0, 0.25]);
    for format in [OutputFormat::Png, OutputFormat::WebP, OutputFormat::Bmp, OutputFormat::Tiff, OutputFormat::Jpeg(95)] {
        let bytes = encode_image(&frame, format).unwrap();
        let back = decode_image(&bytes, Path::new("f"), &ReadOptions::default()).unwrap();
        assert_eq!((back.width(), back.height()), (24, 10), "{format:?}");
        let tolerance = if matches!(format, OutputFormat::Jpeg(_)) { 0.05 } else { 0.01 };
        assert!((back.rgb[0].mean() - frame.rgb[0].mean()).abs() < tolerance, "{format:?}");
    }
}

#[test]
fn failed_writes_leave_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let frame = rgb_frame(4, 4, |_, _| [0.5; 3]);
    let err = write_image(&frame, &dir.path().join("out.xyz")).unwrap_err();
    assert!(err.to_string().contains("cannot write format 'xyz'"));
    let err = write_image(&frame, &dir.path().join("missing/out.png")).unwrap_err();
    assert!(err.to_string().contains("missing/out.png"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    write_image(&frame, &dir.path().join("ok.png")).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("ok.png")]);
}
