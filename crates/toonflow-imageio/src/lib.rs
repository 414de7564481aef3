//! Image files in and out for toonflow.
//!
//! Reading sniffs the format from the file's bytes (not its name), refuses images over a pixel
//! limit before decoding them (decompression bombs), applies the EXIF orientation, and accepts
//! 8- and 16-bit, grey and colour, with or without alpha. Writing picks the format from the
//! extension and is atomic: the image goes to a temporary file in the target folder that is
//! renamed over the target only once complete, so a failure never leaves a partial file.
#![deny(missing_docs)]

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use toonflow_imgproc::Frame;

/// Default pixel limit: 64 megapixels, e.g. 8000 x 8000 or an 11K panorama.
pub const DEFAULT_MAX_PIXELS: u64 = 64_000_000;

/// Formats read, by name, for messages.
pub const READ_FORMATS: &str = "PNG, JPEG, WebP, BMP, TIFF or GIF";

/// File extensions picked up when searching folders for images.
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"];

/// Whether a path ends in one of [`IMAGE_EXTENSIONS`] (any case).
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// What can go wrong with an image file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file has no bytes.
    #[error("{path}: file is empty")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The bytes are not an image format toonflow reads.
    #[error("{path}: not a {READ_FORMATS} image")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The image has more pixels than allowed.
    #[error("{path}: image is {width}x{height} ({mp:.1} megapixels), over the limit of {limit_mp:.1} megapixels", mp = *width as f64 * *height as f64 / 1e6, limit_mp = *limit as f64 / 1e6)]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit in pixels.
        limit: u64,
    },
    /// The header or the pixel data could not be decoded.
    #[error("{path}: corrupt or truncated {format} data")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The format the bytes announced.
        format: &'static str,
        /// The decoder's reason.
        #[source]
        source: image::ImageError,
    },
    /// A JPEG whose entropy-coded data stops before its end-of-image marker: decoders fill the
    /// missing part with grey, so it is refused rather than stylized half-empty.
    #[error("{path}: truncated JPEG data (the end-of-image marker is missing)")]
    TruncatedJpeg {
        /// The file.
        path: PathBuf,
    },
    /// The output name asks for a format toonflow does not write.
    #[error("{path}: cannot write format '{extension}' (use png, jpg, webp, bmp or tiff)")]
    UnsupportedOutput {
        /// The file.
        path: PathBuf,
        /// Its extension.
        extension: String,
    },
    /// The encoder failed.
    #[error("{path}: cannot encode {format}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// The target format.
        format: &'static str,
        /// The encoder's reason.
        #[source]
        source: image::ImageError,
    },
}

/// Settings of [`read_image`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Images with more pixels than this are refused before decoding.
    pub max_pixels: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { max_pixels: DEFAULT_MAX_PIXELS }
    }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Gif => "GIF",
        _ => "image",
    }
}

/// Reads an image file into a linear-light frame, upright.
pub fn read_image(path: &Path, opts: &ReadOptions) -> Result<Frame, ImageError> {
    decode_image(&read_bytes(path)?, path, opts)
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, ImageError> {
    std::fs::read(path).map_err(|source| ImageError::Io { path: path.into(), source })
}

/// What a file holds besides the frame [`read_image_with_info`] returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageInfo {
    /// An animated GIF or WebP: the frame is its first.
    pub animated: bool,
}

/// [`read_image`], and whether the file is an animation (of which the first frame was read);
/// telling costs a second frame's decoding for a GIF, so only callers that say so ask.
pub fn read_image_with_info(path: &Path, opts: &ReadOptions) -> Result<(Frame, ImageInfo), ImageError> {
    let bytes = read_bytes(path)?;
    let frame = decode_image(&bytes, path, opts)?;
    Ok((frame, ImageInfo { animated: is_animation(&bytes) }))
}

/// Whether the bytes are a GIF or WebP with more than one frame.
fn is_animation(bytes: &[u8]) -> bool {
    use image::AnimationDecoder;
    match image::guess_format(bytes) {
        Ok(ImageFormat::WebP) => {
            image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).is_ok_and(|d| d.has_animation())
        }
        Ok(ImageFormat::Gif) => image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
            .is_ok_and(|d| d.into_frames().take(2).filter(Result::is_ok).count() == 2),
        _ => false,
    }
}

/// The frames of an animated WebP, decoded one at a time: FFmpeg decodes no animated WebP, so
/// this is how toonflow reads its own `.webp` videos back (`eval temporal`, `video --report`).
pub struct WebpAnimation {
    frames: image::Frames<'static>,
    path: PathBuf,
}

impl WebpAnimation {
    /// Opens `path` if it is an animated WebP within the pixel limit; `Ok(None)` for any other
    /// file, which the caller reads another way.
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Option<Self>, ImageError> {
        use image::AnimationDecoder;
        let io = |source| ImageError::Io { path: path.into(), source };
        let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
        let mut magic = [0u8; 16];
        let n = std::io::Read::read(&mut reader, &mut magic).map_err(io)?;
        if image::guess_format(&magic[..n]).ok() != Some(ImageFormat::WebP) {
            return Ok(None);
        }
        std::io::Seek::rewind(&mut reader).map_err(io)?;
        let decode_err = |source| ImageError::Decode { path: path.into(), format: "WebP", source };
        let decoder = image::codecs::webp::WebPDecoder::new(reader).map_err(decode_err)?;
        if !decoder.has_animation() {
            return Ok(None);
        }
        let (width, height) = decoder.dimensions();
        if width as u64 * height as u64 > opts.max_pixels {
            return Err(ImageError::TooLarge { path: path.into(), width, height, limit: opts.max_pixels });
        }
        Ok(Some(Self { frames: decoder.into_frames(), path: path.into() }))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next frame (the whole canvas, as shown), `None` after the last.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ImageError> {
        match self.frames.next() {
            None => Ok(None),
            Some(Err(source)) => Err(ImageError::Decode { path: self.path.clone(), format: "WebP", source }),
            Some(Ok(frame)) => Ok(Some(to_frame(DynamicImage::ImageRgba8(frame.into_buffer())))),
        }
    }
}

/// The image format the first bytes of a file announce, among those toonflow reads.
fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    image::guess_format(bytes).ok().filter(|f| {
        matches!(
            f,
            ImageFormat::Png
                | ImageFormat::Jpeg
                | ImageFormat::WebP
                | ImageFormat::Bmp
                | ImageFormat::Tiff
                | ImageFormat::Gif
        )
    })
}

/// The file extension of the image format `bytes` (a file's first bytes) announce, if toonflow
/// reads it: what an upload is, judged from its content rather than from its name.
pub fn sniff_extension(bytes: &[u8]) -> Option<&'static str> {
    sniff(bytes).map(|f| match f {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpg",
        ImageFormat::WebP => "webp",
        ImageFormat::Bmp => "bmp",
        ImageFormat::Tiff => "tiff",
        _ => "gif",
    })
}

/// Decodes an image held in memory; `path` only names it in errors.
pub fn decode_image(bytes: &[u8], path: &Path, opts: &ReadOptions) -> Result<Frame, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty { path: path.into() });
    }
    let format = sniff(bytes).ok_or_else(|| ImageError::UnknownFormat { path: path.into() })?;
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(ImageError::TruncatedJpeg { path: path.into() });
    }
    let decode_err = |source| ImageError::Decode { path: path.into(), format: format_name(format), source };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // Whatever the header says, no decoder may allocate more than the largest allowed image
    // needs as 16-bit RGBA, plus slack for its own buffers.
    limits.max_alloc = Some(opts.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    let (width, height) = decoder.dimensions();
    if width as u64 * height as u64 > opts.max_pixels {
        return Err(ImageError::TooLarge { path: path.into(), width, height, limit: opts.max_pixels });
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_err)?;
    img.apply_orientation(orientation);
    Ok(to_frame(img))
}

/// Whether a JPEG has an end-of-image marker after its first scan. Marker segments are skipped
/// by their lengths up to the first start-of-scan, so an EXIF thumbnail's markers do not count;
/// inside scan data a 0xFF byte is always stuffed, so the first 0xFF 0xD9 after it is the real
/// end. Bytes appended after the end (motion-photo trailers) are allowed.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if marker == 0xDA {
            return bytes.get(i + 2 + len..).is_some_and(|scan| scan.windows(2).any(|w| w == [0xFF, 0xD9]));
        }
        i += 2 + len;
    }
    false
}

fn to_frame(img: DynamicImage) -> Frame {
    let (w, h) = (img.width() as usize, img.height() as usize);
    match img {
        DynamicImage::ImageLuma8(b) => Frame::from_srgb8(w, h, 1, b.as_raw()),
        DynamicImage::ImageLumaA8(b) => Frame::from_srgb8(w, h, 2, b.as_raw()),
        DynamicImage::ImageRgb8(b) => Frame::from_srgb8(w, h, 3, b.as_raw()),
        DynamicImage::ImageRgba8(b) => Frame::from_srgb8(w, h, 4, b.as_raw()),
        // 16-bit and float images keep their precision through f32.
        other if other.color().has_alpha() => Frame::from_srgb_f32(w, h, 4, other.into_rgba32f().as_raw()),
        other => Frame::from_srgb_f32(w, h, 3, other.into_rgb32f().as_raw()),
    }
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Lossless, keeps alpha.
    Png,
    /// Lossy at the given quality (1-100); alpha is composited over white.
    Jpeg(u8),
    /// Lossless WebP, keeps alpha.
    WebP,
    /// Windows bitmap, keeps alpha.
    Bmp,
    /// TIFF, keeps alpha.
    Tiff,
}

impl OutputFormat {
    /// The format for a file extension (case-insensitive), `None` if not written.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "png" => Some(Self::Png),
            "jpg" | "jpeg" => Some(Self::Jpeg(92)),
            "webp" => Some(Self::WebP),
            "bmp" => Some(Self::Bmp),
            "tif" | "tiff" => Some(Self::Tiff),
            _ => None,
        }
    }

    /// The format a path's extension asks for.
    pub fn from_path(path: &Path) -> Result<Self, ImageError> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        Self::from_extension(ext)
            .ok_or_else(|| ImageError::UnsupportedOutput { path: path.into(), extension: ext.into() })
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg(_) => "jpg",
            Self::WebP => "webp",
            Self::Bmp => "bmp",
            Self::Tiff => "tif",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Png => "PNG",
            Self::Jpeg(_) => "JPEG",
            Self::WebP => "WebP",
            Self::Bmp => "BMP",
            Self::Tiff => "TIFF",
        }
    }
}

/// Encodes a frame in memory (8-bit sRGB; RGBA when the frame has alpha and the format keeps it).
pub fn encode_image(frame: &Frame, format: OutputFormat) -> Result<Vec<u8>, image::ImageError> {
    let (w, h) = (frame.width() as u32, frame.height() as u32);
    let img = match (&frame.alpha, format) {
        (Some(_), OutputFormat::Jpeg(_)) => {
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, frame.over_white().to_srgb8(false)).expect("size"))
        }
        (Some(_), _) => DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, frame.to_srgb8(true)).expect("size")),
        (None, _) => DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, frame.to_srgb8(false)).expect("size")),
    };
    let mut out = Cursor::new(Vec::new());
    match format {
        OutputFormat::Jpeg(quality) => {
            img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality))?
        }
        OutputFormat::Png => img.write_to(&mut out, ImageFormat::Png)?,
        OutputFormat::WebP => img.write_to(&mut out, ImageFormat::WebP)?,
        OutputFormat::Bmp => img.write_to(&mut out, ImageFormat::Bmp)?,
        OutputFormat::Tiff => img.write_to(&mut out, ImageFormat::Tiff)?,
    }
    Ok(out.into_inner())
}

/// Encodes `frame` in the format its extension names and writes it atomically.
pub fn write_image(frame: &Frame, path: &Path) -> Result<(), ImageError> {
    let format = OutputFormat::from_path(path)?;
    let bytes = encode_image(frame, format).map_err(|source| ImageError::Encode {
        path: path.into(),
        format: format.name(),
        source,
    })?;
    toonflow_fs::write_atomic(path, &bytes).map_err(|source| ImageError::Io { path: path.into(), source })
}

#[cfg(test)]
mod tests;
