use super::*;
use toonflow_imgproc::Plane;

fn rgb_frame(w: usize, h: usize, f: impl Fn(usize, usize) -> [f32; 3] + Sync) -> Frame {
    let rgb = std::array::from_fn(|c| Plane::from_fn(w, h, |x, y| f(x, y)[c]));
    Frame::new(rgb, None)
}

/// A committed fixture (built by `examples/make_fixtures.rs`).
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/", $name))
    };
}

#[test]
fn exif_orientation_is_applied() {
    // Stored 64x32, left half red, right half blue, with orientation 6 ("rotate 90 degrees
    // clockwise to display"): upright it is 32x64 with red on top.
    let rotated = decode_image(fixture!("rotated.jpg"), Path::new("rotated.jpg"), &ReadOptions::default()).unwrap();
    assert_eq!((rotated.width(), rotated.height()), (32, 64));
    let (r, b) = (&rotated.rgb[0], &rotated.rgb[2]);
    assert!(r.get(16, 8) > 0.5 && b.get(16, 8) < 0.1, "top must be red");
    assert!(b.get(16, 56) > 0.5 && r.get(16, 56) < 0.1, "bottom must be blue");
}

#[test]
fn sixteen_bit_png_keeps_precision() {
    // 16-bit greys closer than one 8-bit step decode to different, ordered values.
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
    // A JPEG cut short decodes to a half-grey picture in lenient decoders: it must be refused.
    let jpeg = fixture!("photo.jpg");
    assert!(decode_image(jpeg, p, &opts).is_ok());
    for cut in [jpeg.len() / 3, jpeg.len() - 2] {
        assert_eq!(msg(&jpeg[..cut]), "photos/x.png: truncated JPEG data (the end-of-image marker is missing)");
    }
    assert_eq!(msg(&jpeg[..50]), "photos/x.png: truncated JPEG data (the end-of-image marker is missing)");
}

#[test]
fn images_over_the_pixel_limit_are_refused_before_decoding() {
    let bomb = fixture!("bomb.png");
    let err = decode_image(bomb, Path::new("bomb.png"), &ReadOptions::default()).unwrap_err();
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
    for format in [OutputFormat::Png, OutputFormat::WebP, OutputFormat::Bmp, OutputFormat::Tiff, OutputFormat::Jpeg(95)]
    {
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

#[cfg(unix)]
#[test]
fn outputs_get_the_mode_of_any_new_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"x").unwrap();
    let out = dir.path().join("out.png");
    write_image(&rgb_frame(4, 4, |_, _| [0.5; 3]), &out).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out), mode(&plain));
}

#[test]
fn animations_are_told_from_stills() {
    assert!(is_animation(fixture!("first-frame.gif")), "the two-frame fixture");
    assert!(!is_animation(fixture!("photo.webp")) && !is_animation(fixture!("photo.jpg")));
    let mut one = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut one);
        enc.encode_frame(image::Frame::new(image::RgbaImage::new(4, 4))).unwrap();
    }
    assert!(!is_animation(&one), "a one-frame GIF is a still");
}
