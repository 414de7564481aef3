//! Encoding: raw RGB frames streamed into an `ffmpeg` child process that writes a temporary file
//! beside the output, renamed over it only when complete.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use toonflow_imgproc::Frame;

use super::error::{spawn_error, VideoError};
use super::format::VideoFormat;
use super::probe::{Rate, Span};

/// Encoder settings.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodeOptions {
    /// Constant rate factor for MP4 (x264, default 18) and WebM (VP9, default 31); lower is better.
    pub crf: Option<u8>,
    /// x264 preset for MP4 (one of [`super::X264_PRESETS`]; default [`super::DEFAULT_X264_PRESET`]).
    pub x264_preset: Option<String>,
    /// Copy (or, where the container needs it, re-encode) the input's audio.
    pub audio_from: Option<(PathBuf, Span, String)>,
    /// Container tags (key, value): a distributed part says which plan and part it is.
    pub tags: Vec<(String, String)>,
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
        if format == VideoFormat::PngFrames {
            return Err(VideoError::Write {
                path: output.into(),
                reason: "PNG frames are not written by FFmpeg".into(),
            });
        }
        let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("tmp");
        let tmp = toonflow_fs::temp_file_beside(output, &format!(".{ext}")).map_err(io)?.into_temp_path();
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
            cmd.args(["-c:a", format.audio_codec(codec), "-shortest"]);
            audio = true;
        }
        if !audio {
            cmd.args(["-map", "0:v:0"]);
        }
        cmd.args(format.video_args(opts.crf, opts.x264_preset.as_deref()));
        for (key, value) in &opts.tags {
            cmd.arg("-metadata").arg(format!("{key}={value}"));
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
