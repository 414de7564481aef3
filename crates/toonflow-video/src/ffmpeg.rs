//! FFmpeg as an external program, driven through pipes: `ffprobe` for the stream's facts,
//! `ffmpeg` decoding to raw RGB on stdout and encoding raw RGB from stdin. A crash in a decoder
//! cannot take toonflow down, every container FFmpeg reads is supported, and nothing is
//! downloaded: the programs come from the system (Debian package `ffmpeg`).

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use toonflow_imgproc::Frame;

/// How to get FFmpeg, for error messages.
pub const INSTALL_HINT: &str = "install FFmpeg (Debian/Ubuntu: `apt-get install ffmpeg`, macOS: `brew install ffmpeg`)";

/// What can go wrong with video files or FFmpeg.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// `ffmpeg` or `ffprobe` is not on the PATH.
    #[error("{program} not found: {INSTALL_HINT}")]
    MissingFfmpeg {
        /// The program looked for.
        program: &'static str,
    },
    /// FFmpeg could not read the input at all.
    #[error("{path}: cannot read video: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// FFmpeg's words.
        reason: String,
    },
    /// The output could not be written.
    #[error("{path}: cannot write video: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The reason.
        reason: String,
    },
    /// The output extension names no video format toonflow writes.
    #[error("{path}: unknown video format '{extension}' (use mp4, webm, gif, webp, apng, or a folder for PNG frames)")]
    UnsupportedOutput {
        /// The file.
        path: PathBuf,
        /// Its extension.
        extension: String,
    },
    /// Stopped by the user (Ctrl-C); nothing was written.
    #[error("{path}: interrupted, no output written")]
    Interrupted {
        /// The output that was not written.
        path: PathBuf,
    },
    /// Reading or writing a pipe failed.
    #[error("{path}: {source}")]
    Io {
        /// The file the pipe belongs to.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn spawn_error(program: &'static str, path: &Path, e: std::io::Error) -> VideoError {
    if e.kind() == std::io::ErrorKind::NotFound {
        VideoError::MissingFfmpeg { program }
    } else {
        VideoError::Io { path: path.into(), source: e }
    }
}

/// A rational frame rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Numerator.
    pub num: u32,
    /// Denominator.
    pub den: u32,
}

impl Rate {
    fn parse(s: &str) -> Option<Rate> {
        let (n, d) = s.split_once('/').unwrap_or((s, "1"));
        let (num, den) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
        (num > 0 && den > 0).then_some(Rate { num, den })
    }

    /// Frames per second.
    pub fn fps(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// Facts about a video file's first video stream (and whether it has audio).
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// Displayed width (after the rotation FFmpeg applies when decoding).
    pub width: usize,
    /// Displayed height.
    pub height: usize,
    /// The stream's frame rate (`r_frame_rate`).
    pub rate: Rate,
    /// The average frame rate; differs from `rate` for variable-frame-rate video.
    pub avg_rate: Rate,
    /// Duration in seconds, when known.
    pub duration: Option<f64>,
    /// Frame count from the container, when it says.
    pub frames: Option<u64>,
    /// Rotation in degrees stored in the file's display matrix.
    pub rotation: i32,
    /// Codec of the first audio stream, `None` without audio.
    pub audio_codec: Option<String>,
}

impl VideoInfo {
    /// Whether the frame rate varies.
    pub fn is_variable_rate(&self) -> bool {
        let (a, b) = (self.rate.fps(), self.avg_rate.fps());
        (a - b).abs() > 0.01 * a
    }

    /// Frames to expect, from the count or from duration times rate.
    pub fn expected_frames(&self) -> Option<u64> {
        self.frames.or_else(|| self.duration.map(|d| (d * self.avg_rate.fps()).round() as u64))
    }
}

/// Reads a video's facts with `ffprobe`.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    if !path.is_file() {
        return Err(VideoError::Unreadable { path: path.into(), reason: "no such file".into() });
    }
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .arg("stream=width,height,r_frame_rate,avg_frame_rate,nb_frames,duration:stream_side_data=rotation:format=duration")
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .output()
        .map_err(|e| spawn_error("ffprobe", path, e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.trim())
            .find(|v| *v != "N/A")
    };
    let unreadable = |reason: String| VideoError::Unreadable { path: path.into(), reason };
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let (Some(width), Some(height)) =
        (field("width").and_then(|v| v.parse::<usize>().ok()), field("height").and_then(|v| v.parse::<usize>().ok()))
    else {
        return Err(unreadable(if stderr.is_empty() { "no video stream".into() } else { stderr }));
    };
    let rate = field("r_frame_rate").and_then(Rate::parse).ok_or_else(|| unreadable("no frame rate".into()))?;
    let avg_rate = field("avg_frame_rate").and_then(Rate::parse).unwrap_or(rate);
    let rotation = field("rotation").and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0).round() as i32;
    let (width, height) = if rotation.rem_euclid(180) == 90 { (height, width) } else { (width, height) };
    let audio = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .map_err(|e| spawn_error("ffprobe", path, e))?;
    let audio_codec = Some(String::from_utf8_lossy(&audio.stdout).trim().to_string()).filter(|c| !c.is_empty());
    Ok(VideoInfo {
        width,
        height,
        rate,
        avg_rate,
        duration: field("duration").and_then(|v| v.parse().ok()),
        frames: field("nb_frames").and_then(|v| v.parse().ok()),
        rotation,
        audio_codec,
    })
}

/// Which part of the input to use.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Span {
    /// Start time in seconds.
    pub start: Option<f64>,
    /// Length in seconds.
    pub duration: Option<f64>,
}

impl Span {
    fn input_args(&self) -> Vec<String> {
        self.start.map(|s| vec!["-ss".into(), format!("{s}")]).unwrap_or_default()
    }

    fn output_args(&self) -> Vec<String> {
        self.duration.map(|d| vec!["-t".into(), format!("{d}")]).unwrap_or_default()
    }
}

/// Decoded frames of a video, streamed from an `ffmpeg` child process: memory holds one frame.
pub struct Decoder {
    path: PathBuf,
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// Presentation times of decoded frames, parsed from FFmpeg's log (when asked for).
    timestamps: Option<std::sync::mpsc::Receiver<f64>>,
    /// FFmpeg's warnings and errors, collected by the log reader.
    log: std::thread::JoinHandle<Vec<String>>,
    width: usize,
    height: usize,
    buf: Vec<u8>,
    first_pts: Option<f64>,
    /// Frames read so far.
    pub frames_read: u64,
}

/// Lines kept from FFmpeg's log for messages.
const LOG_LINES: usize = 20;

impl Decoder {
    /// Starts decoding `path` at `info`'s displayed size. With `timestamps`, each frame's
    /// presentation time is reported ([`Decoder::next_frame`]) and frames are passed through as
    /// they are (variable frame rate kept); without, variable-frame-rate input is resampled to
    /// its average rate.
    pub fn open(path: &Path, info: &VideoInfo, span: Span, timestamps: bool) -> Result<Decoder, VideoError> {
        let mut cmd = Command::new("ffmpeg");
        // `level` tags each log line, so warnings can be told from the frame reports.
        cmd.args(["-loglevel", if timestamps { "level+info" } else { "level+warning" }, "-nostdin"]);
        cmd.args(span.input_args()).arg("-i").arg(path).args(span.output_args());
        cmd.args(["-map", "0:v:0", "-an", "-sn"]);
        if timestamps {
            // showinfo logs every frame's pts_time as it leaves the filter graph.
            cmd.args(["-vf", "showinfo", "-fps_mode", "passthrough"]);
        } else if info.is_variable_rate() {
            cmd.args(["-fps_mode", "cfr", "-r", &info.avg_rate.to_string()]);
        } else {
            cmd.args(["-fps_mode", "passthrough"]);
        }
        cmd.args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error("ffmpeg", path, e))?;
        let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("piped"));
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut kept = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("pts_time:").nth(1).filter(|_| line.contains("showinfo")) {
                    if let Some(t) = rest.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()) {
                        let _ = tx.send(t);
                    }
                } else if (line.starts_with("[warning]") || line.starts_with("[error]") || line.starts_with("[fatal]"))
                    && kept.len() < LOG_LINES
                {
                    kept.push(line.split_once("] ").map_or(line.as_str(), |(_, m)| m).trim().to_string());
                }
            }
            kept
        });
        Ok(Decoder {
            path: path.into(),
            child,
            stdout,
            timestamps: timestamps.then_some(rx),
            log,
            width: info.width,
            height: info.height,
            buf: vec![0; info.width * info.height * 3],
            first_pts: None,
            frames_read: 0,
        })
    }

    /// The next frame and, when asked for at [`Decoder::open`], its presentation time in
    /// seconds from the first frame. `Ok(None)` at the end. A stream cut short (truncated file)
    /// ends early: [`Decoder::finish`] then reports FFmpeg's complaint as a warning.
    pub fn next_frame(&mut self) -> Result<Option<(Frame, Option<f64>)>, VideoError> {
        let mut filled = 0;
        while filled < self.buf.len() {
            match self.stdout.read(&mut self.buf[filled..]) {
                Ok(0) => return Ok(None), // end, or a partial last frame that is dropped
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(VideoError::Io { path: self.path.clone(), source: e }),
            }
        }
        self.frames_read += 1;
        // The filter logs a frame before FFmpeg writes it out, so its time is already queued.
        let pts = self.timestamps.as_ref().and_then(|rx| rx.recv().ok()).map(|t| {
            let first = *self.first_pts.get_or_insert(t);
            t - first
        });
        Ok(Some((Frame::from_srgb8(self.width, self.height, 3, &self.buf), pts)))
    }

    /// Waits for FFmpeg. `Ok(Some(warning))` when it complained but frames were decoded (a
    /// damaged or truncated file); an error when nothing could be decoded.
    pub fn finish(mut self) -> Result<Option<String>, VideoError> {
        drop(self.stdout);
        let status = self.child.wait().map_err(|e| VideoError::Io { path: self.path.clone(), source: e })?;
        let log = self.log.join().unwrap_or_default().into_iter().take(5).collect::<Vec<_>>().join("; ");
        match (self.frames_read, status.success(), log.is_empty()) {
            (0, _, _) => Err(VideoError::Unreadable {
                path: self.path,
                reason: if log.is_empty() { "no frames decoded".into() } else { log },
            }),
            (_, true, true) => Ok(None),
            _ => Ok(Some(format!(
                "{}: decoded {} frames, then FFmpeg reported: {}",
                self.path.display(),
                self.frames_read,
                if log.is_empty() { format!("exit status {status}") } else { log }
            ))),
        }
    }
}

/// Output formats for video.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoFormat {
    /// H.264 in MP4, yuv420p.
    Mp4,
    /// VP9 in WebM.
    WebM,
    /// GIF with a palette generated for the clip.
    Gif,
    /// Animated WebP.
    WebP,
    /// Animated PNG.
    Apng,
    /// A folder of numbered PNG frames.
    PngFrames,
}

impl VideoFormat {
    /// The format an output path asks for: by extension, a folder for no extension.
    pub fn from_path(path: &Path) -> Result<VideoFormat, VideoError> {
        let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            None => Ok(VideoFormat::PngFrames),
            Some(_) if path.is_dir() => Ok(VideoFormat::PngFrames),
            Some("mp4" | "m4v" | "mov") => Ok(VideoFormat::Mp4),
            Some("webm") => Ok(VideoFormat::WebM),
            Some("gif") => Ok(VideoFormat::Gif),
            Some("webp") => Ok(VideoFormat::WebP),
            Some("apng") => Ok(VideoFormat::Apng),
            Some(other) => Err(VideoError::UnsupportedOutput { path: path.into(), extension: other.into() }),
        }
    }

    /// Whether the container carries audio.
    pub fn has_audio(self) -> bool {
        matches!(self, VideoFormat::Mp4 | VideoFormat::WebM)
    }

    fn muxer(self) -> &'static str {
        match self {
            VideoFormat::Mp4 => "mp4",
            VideoFormat::WebM => "webm",
            VideoFormat::Gif => "gif",
            VideoFormat::WebP => "webp",
            VideoFormat::Apng => "apng",
            VideoFormat::PngFrames => "image2",
        }
    }
}

/// Encoder settings.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodeOptions {
    /// Constant rate factor for MP4 (x264, default 18) and WebM (VP9, default 31); lower is better.
    pub crf: Option<u8>,
    /// Copy (or, where the container needs it, re-encode) the input's audio.
    pub audio_from: Option<(PathBuf, Span, String)>,
}

/// How frames reach the encoder: raw RGB at a constant rate, or raw RGB in Matroska with a
/// timestamp per frame (variable frame rate).
enum EncoderInput {
    Raw(ChildStdin),
    Timed(crate::mkv::MkvRawWriter<ChildStdin>),
}

/// Streams frames into an `ffmpeg` encoder writing a temporary file beside the output; the file
/// is renamed over the output only by [`Encoder::finish`], so an error, a kill or Ctrl-C never
/// leaves a partial video.
pub struct Encoder {
    output: PathBuf,
    child: Child,
    stdin: Option<EncoderInput>,
    tmp: tempfile::TempPath,
    stderr_log: tempfile::NamedTempFile,
    width: usize,
    height: usize,
    /// Frames written so far.
    pub frames_written: u64,
}

impl Encoder {
    /// Starts an encoder for `width x height` frames at `rate`, or, with `timed`, at the
    /// timestamps given to [`Encoder::write_frame`] (variable frame rate kept exactly).
    pub fn open(
        output: &Path,
        format: VideoFormat,
        width: usize,
        height: usize,
        rate: Rate,
        timed: bool,
        opts: &EncodeOptions,
    ) -> Result<Encoder, VideoError> {
        let io = |e: std::io::Error| VideoError::Io { path: output.into(), source: e };
        let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("tmp");
        let tmp = toonflow_imageio::temp_file_beside(output, &format!(".{ext}")).map_err(io)?.into_temp_path();
        let stderr_log = tempfile::NamedTempFile::new().map_err(io)?;
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-v", "error", "-nostdin", "-y"]);
        if timed {
            cmd.args(["-f", "matroska", "-i", "-"]);
        } else {
            cmd.args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &format!("{width}x{height}")]);
            cmd.args(["-r", &rate.to_string(), "-i", "-"]);
        }
        let mut audio = false;
        if let (Some((src, span, codec)), true) = (&opts.audio_from, format.has_audio()) {
            cmd.args(span.input_args()).arg("-i").arg(src).args(span.output_args());
            cmd.args(["-map", "0:v:0", "-map", "1:a:0"]);
            // Copy the audio when the container takes its codec; otherwise re-encode it.
            let copy = match format {
                VideoFormat::Mp4 => matches!(codec.as_str(), "aac" | "mp3" | "alac" | "ac3" | "opus"),
                _ => matches!(codec.as_str(), "opus" | "vorbis"),
            };
            let audio_codec = match (copy, format) {
                (true, _) => "copy",
                (false, VideoFormat::Mp4) => "aac",
                (false, _) => "libopus",
            };
            cmd.args(["-c:a", audio_codec, "-shortest"]);
            audio = true;
        }
        if !audio {
            cmd.args(["-map", "0:v:0"]);
        }
        match format {
            VideoFormat::Mp4 => {
                let crf = opts.crf.unwrap_or(18).to_string();
                // yuv420p needs even sides: pad odd ones by a pixel rather than crop.
                cmd.args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "medium"]);
                cmd.args(["-crf", &crf, "-pix_fmt", "yuv420p", "-movflags", "+faststart"]);
            }
            VideoFormat::WebM => {
                let crf = opts.crf.unwrap_or(31).to_string();
                cmd.args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libvpx-vp9", "-crf", &crf, "-b:v", "0"]);
                cmd.args(["-pix_fmt", "yuv420p", "-row-mt", "1"]);
            }
            VideoFormat::Gif => {
                // One palette for the clip, from the pixels that change (stats_mode=diff).
                cmd.args([
                    "-filter_complex",
                    "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=3",
                ]);
                cmd.args(["-loop", "0"]);
            }
            VideoFormat::WebP => {
                cmd.args(["-c:v", "libwebp_anim", "-quality", "85", "-loop", "0"]);
            }
            VideoFormat::Apng => {
                cmd.args(["-c:v", "apng", "-plays", "0"]);
            }
            VideoFormat::PngFrames => unreachable!("PNG frames are written without FFmpeg"),
        }
        if timed {
            cmd.args(["-fps_mode", "passthrough"]);
        }
        cmd.args(["-f", format.muxer()]).arg(&tmp);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(stderr_log.reopen().map_err(io)?)
            .spawn()
            .map_err(|e| spawn_error("ffmpeg", output, e))?;
        let pipe = child.stdin.take().expect("piped");
        let stdin = Some(if timed {
            EncoderInput::Timed(crate::mkv::MkvRawWriter::new(pipe, width, height).map_err(io)?)
        } else {
            EncoderInput::Raw(pipe)
        });
        Ok(Encoder { output: output.into(), child, stdin, tmp, stderr_log, width, height, frames_written: 0 })
    }

    /// Appends a frame (same size as announced), at `pts` seconds for a timed encoder.
    pub fn write_frame(&mut self, frame: &Frame, pts: Option<f64>) -> Result<(), VideoError> {
        assert_eq!((frame.width(), frame.height()), (self.width, self.height), "frame size changed mid-stream");
        let bytes = frame.to_srgb8(false);
        let written = match self.stdin.as_mut().expect("open until finish") {
            EncoderInput::Raw(pipe) => pipe.write_all(&bytes),
            EncoderInput::Timed(mkv) => {
                let us = (pts.unwrap_or(0.0).max(0.0) * 1e6).round() as u64;
                mkv.write_frame(us, &bytes)
            }
        };
        if let Err(e) = written {
            return Err(self.failure(format!("FFmpeg stopped reading frames ({e})")));
        }
        self.frames_written += 1;
        Ok(())
    }

    fn failure(&mut self, fallback: String) -> VideoError {
        drop(self.stdin.take());
        let _ = self.child.wait();
        let mut log = String::new();
        let _ = std::fs::File::open(self.stderr_log.path()).and_then(|mut f| f.read_to_string(&mut log));
        let reason = log.trim().lines().take(5).collect::<Vec<_>>().join("; ");
        VideoError::Write { path: self.output.clone(), reason: if reason.is_empty() { fallback } else { reason } }
    }

    /// Closes the stream, waits for FFmpeg and renames the finished file over the output.
    pub fn finish(mut self) -> Result<u64, VideoError> {
        drop(self.stdin.take());
        let status = self.child.wait().map_err(|e| VideoError::Io { path: self.output.clone(), source: e })?;
        if !status.success() {
            return Err(self.failure(format!("FFmpeg exited with {status}")));
        }
        self.tmp.persist(&self.output).map_err(|e| VideoError::Io { path: self.output.clone(), source: e.error })?;
        Ok(self.frames_written)
    }

    /// Stops without keeping anything: kills FFmpeg, removes the temporary file.
    pub fn abort(mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The folder-of-PNG-frames output: `frame_000001.png`, ... written atomically one by one.
pub struct PngFrameWriter {
    dir: PathBuf,
    /// Frames written so far.
    pub frames_written: u64,
}

impl PngFrameWriter {
    /// Creates the folder.
    pub fn open(dir: &Path) -> Result<PngFrameWriter, VideoError> {
        std::fs::create_dir_all(dir).map_err(|e| VideoError::Io { path: dir.into(), source: e })?;
        Ok(PngFrameWriter { dir: dir.into(), frames_written: 0 })
    }

    /// Writes the next frame.
    pub fn write_frame(&mut self, frame: &Frame) -> Result<(), VideoError> {
        let path = self.dir.join(format!("frame_{:06}.png", self.frames_written + 1));
        toonflow_imageio::write_image(frame, &path)
            .map_err(|e| VideoError::Write { path: path.clone(), reason: e.to_string() })?;
        self.frames_written += 1;
        Ok(())
    }
}
