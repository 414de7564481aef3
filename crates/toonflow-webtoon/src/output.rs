//! The episode's files: `episode.json` (panels, boxes, balloons, times), the pictures
//! (`episode.png` and `slices/NNN.jpg` for a strip; `pages/NNN.png` and `episode.cbz` for
//! pages), moving panels (`moving/NNN.webp`), and `index.html`, one self-contained page with
//! every picture inside it that scrolls the episode and plays the moving panels.

use crate::balloons::Balloon;
use crate::canvas::Canvas;
use crate::episode::{compose, EpisodeError, EpisodeJob, EpisodeReport};
use crate::geom::Rect;
use crate::layout::{slice_cuts, Layout, LayoutKind};
use crate::subtitles::Cue;
use base64::Engine;
use std::io::Write;
use toonflow_fs::StagedDir;
use toonflow_video::ffmpeg::{EncodeOptions, Encoder, Rate, VideoFormat};

/// The names an episode folder holds (what [`write_episode`] and [`write_loop`] make): an
/// existing folder is replaced only if it holds nothing else.
pub fn is_episode_entry(name: &str) -> bool {
    matches!(name, "index.html" | "episode.json" | "episode.png" | "episode.cbz" | "slices" | "pages" | "moving")
}

/// JPEG quality of slices and CBZ pages.
const JPEG_QUALITY: u8 = 90;

/// One panel, as `episode.json` records it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PanelRecord {
    /// Position in reading order.
    pub index: usize,
    /// Its shot.
    pub shot: usize,
    /// Canvas (page) it is on: 0 for a strip.
    pub canvas: usize,
    /// Its box on that canvas, pixels.
    pub rect: Rect,
    /// Start of its moment, seconds.
    pub start: f64,
    /// End of its moment, seconds.
    pub end: f64,
    /// Time of the frame it shows, seconds.
    pub time: f64,
    /// Index of that frame.
    pub frame: usize,
    /// A continuation of the previous panel.
    pub continuation: bool,
    /// The part of the frame shown, fractions.
    pub crop: Rect,
    /// The moving subject's box on the canvas.
    pub subject: Option<Rect>,
    /// Balloons, canvas pixels.
    pub balloons: Vec<Balloon>,
    /// The moving panel's file.
    pub moving: Option<String>,
}

fn io(staged: &StagedDir, name: &str) -> impl Fn(std::io::Error) -> EpisodeError {
    let path = staged.path().join(name);
    move |source| EpisodeError::Io { path: path.clone(), source }
}

/// [`io`] for the encoders' and the archive's own error types.
fn failed<E: std::fmt::Display>(staged: &StagedDir, name: &str) -> impl Fn(E) -> EpisodeError {
    let io = io(staged, name);
    move |e| io(std::io::Error::other(e.to_string()))
}

fn encode(canvas: &Canvas, quality: Option<u8>, staged: &StagedDir, name: &str) -> Result<Vec<u8>, EpisodeError> {
    canvas.encode(quality).map_err(failed(staged, name))
}

/// Writes a moving panel's frames as a looping animated WebP.
pub fn write_loop(staged: &StagedDir, name: &str, frames: &[Canvas], fps: f64) -> Result<(), EpisodeError> {
    let path = staged.path().join(name);
    std::fs::create_dir_all(path.parent().expect("in the folder")).map_err(io(staged, name))?;
    let rate = Rate { num: (fps * 1000.0).round().max(1.0) as u32, den: 1000 };
    let (w, h) = (frames[0].width, frames[0].height);
    let mut encoder = Encoder::open(
        &path,
        VideoFormat::WebP,
        w,
        h,
        rate,
        false,
        &EncodeOptions { crf: None, x264_preset: None, audio_from: None, tags: Vec::new() },
    )?;
    for f in frames {
        encoder.write_frame(&f.to_frame(), None)?;
    }
    encoder.finish()?;
    Ok(())
}

/// Writes every file but the moving panels (already written); returns their names.
pub fn write_episode(
    staged: &StagedDir,
    job: &EpisodeJob,
    layout: &Layout,
    panels: &[PanelRecord],
    pictures: &[Canvas],
    cues: &[Cue],
    report: &EpisodeReport,
) -> Result<Vec<String>, EpisodeError> {
    let canvases = compose(layout, pictures);
    let mut files = Vec::new();
    let put = |name: String, bytes: &[u8], files: &mut Vec<String>| -> Result<(), EpisodeError> {
        if let Some(dir) = std::path::Path::new(&name).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(staged.path().join(dir)).map_err(io(staged, &name))?;
        }
        staged.write_file(&name, bytes).map_err(io(staged, &name))?;
        files.push(name);
        Ok(())
    };
    // (image for the page, its canvas, the rows it covers)
    let mut shown: Vec<(Vec<u8>, usize, usize, usize)> = Vec::new();
    match job.layout.kind {
        LayoutKind::Scroll => {
            let strip = &canvases[0];
            put("episode.png".into(), &encode(strip, None, staged, "episode.png")?, &mut files)?;
            let cuts = slice_cuts(strip.height, &layout.gutters, job.slice_height);
            for (k, w) in cuts.windows(2).enumerate() {
                let name = format!("slices/{:03}.jpg", k + 1);
                let bytes = encode(&strip.rows(w[0], w[1]), Some(JPEG_QUALITY), staged, &name)?;
                put(name, &bytes, &mut files)?;
                shown.push((bytes, 0, w[0], w[1]));
            }
        }
        LayoutKind::Page => {
            let mut cbz = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            for (k, page) in canvases.iter().enumerate() {
                let name = format!("pages/{:03}.png", k + 1);
                put(name.clone(), &encode(page, None, staged, &name)?, &mut files)?;
                let jpeg = encode(page, Some(JPEG_QUALITY), staged, &name)?;
                cbz.start_file(format!("{:03}.jpg", k + 1), stored).map_err(failed(staged, "episode.cbz"))?;
                cbz.write_all(&jpeg).map_err(io(staged, "episode.cbz"))?;
                shown.push((jpeg, k, 0, page.height));
            }
            let bytes = cbz.finish().map_err(failed(staged, "episode.cbz"))?.into_inner();
            put("episode.cbz".into(), &bytes, &mut files)?;
        }
    }
    let moving: Vec<String> = panels.iter().filter_map(|p| p.moving.clone()).collect();
    let json = serde_json::json!({
        "source": job.input.display().to_string(),
        "layout": job.layout.kind,
        "rtl": job.layout.rtl,
        "width": job.layout.width,
        "canvases": layout.canvases.iter().map(|&(w, h)| serde_json::json!({"width": w, "height": h})).collect::<Vec<_>>(),
        "files": files.iter().chain(&moving).collect::<Vec<_>>(),
        "seconds": report.seconds,
        "frames": report.frames,
        "cues": cues,
        "panels": panels,
        "placement": {
            "balloons": panels.iter().map(|p| p.balloons.len()).sum::<usize>(),
            "balloons_in_panels_with_a_subject": report.with_subject,
            "on_subject": report.on_subject.0,
            "naive_top_left_on_subject": report.on_subject.1,
            "hidden_importance": report.hidden_importance.0,
            "naive_top_left_hidden_importance": report.hidden_importance.1,
        },
        "warnings": report.warnings,
    });
    let text = serde_json::to_string_pretty(&json).expect("plain data serializes");
    put("episode.json".into(), text.as_bytes(), &mut files)?;
    let html = html(job, layout, panels, &shown, staged)?;
    put("index.html".into(), html.as_bytes(), &mut files)?;
    files.extend(moving);
    Ok(files)
}

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The page: each canvas a block of its images, the moving panels laid over their boxes in
/// percentages (so the page may scale to a narrow screen), the panels' lines as alt text.
fn html(
    job: &EpisodeJob,
    layout: &Layout,
    panels: &[PanelRecord],
    shown: &[(Vec<u8>, usize, usize, usize)],
    staged: &StagedDir,
) -> Result<String, EpisodeError> {
    let title = job.input.file_stem().map_or("episode".into(), |s| s.to_string_lossy().to_string());
    let mut body = String::new();
    for (c, &(cw, ch)) in layout.canvases.iter().enumerate() {
        body.push_str(&format!("<section class=\"canvas\" data-canvas=\"{c}\">\n"));
        for (bytes, _, y0, y1) in shown.iter().filter(|s| s.1 == c) {
            let lines: Vec<String> = panels
                .iter()
                .filter(|p| p.canvas == c && p.rect.y < *y1 as f32 && p.rect.bottom() > *y0 as f32)
                .flat_map(|p| p.balloons.iter().map(|b| b.text.clone()))
                .collect();
            body.push_str(&format!(
                "<img class=\"base\" alt=\"{}\" src=\"{}\">\n",
                escape(&lines.join(" / ")),
                data_uri("image/jpeg", bytes)
            ));
        }
        for p in panels.iter().filter(|p| p.canvas == c) {
            let Some(name) = &p.moving else { continue };
            let bytes = std::fs::read(staged.path().join(name)).map_err(io(staged, name))?;
            let pct = |v: f32, of: usize| format!("{:.4}%", 100.0 * v / of as f32);
            body.push_str(&format!(
                "<img class=\"moving\" alt=\"\" data-panel=\"{}\" style=\"left:{};top:{};width:{};height:{}\" src=\"{}\">\n",
                p.index,
                pct(p.rect.x, cw),
                pct(p.rect.y, ch),
                pct(p.rect.w, cw),
                pct(p.rect.h, ch),
                data_uri("image/webp", &bytes)
            ));
        }
        body.push_str("</section>\n");
    }
    let width = job.layout.width;
    Ok(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n\
body {{ margin: 0; background: #2b2b2b; }}\n\
main {{ max-width: {width}px; margin: 0 auto; }}\n\
.canvas {{ position: relative; background: #fff; margin-bottom: 24px; }}\n\
.canvas img.base {{ display: block; width: 100%; }}\n\
.canvas img.moving {{ position: absolute; display: block; }}\n\
</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(&title)
    ))
}
