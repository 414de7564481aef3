//! Decoding: frames streamed out of an `ffmpeg` child process as raw RGB.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use toonflow_imgproc::Frame;

use super::error::{spawn_error, VideoError};
use super::probe::{Span, VideoInfo};

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

    /// Luma of the frame [`Self::next_frame`] returned last, from its 8-bit samples (the same
    /// as [`toonflow_imgproc::color::luma`] of that frame, at a fraction of the cost).
    pub fn last_luma(&self) -> toonflow_imgproc::Plane {
        toonflow_imgproc::color::luma_srgb8(self.width, self.height, &self.buf)
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
