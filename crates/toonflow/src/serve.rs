//! `toonflow serve`: the studio (toonflow-studio) with toonflow's own commands as its engine:
//! the same flag parser checks a job's options, the same decoders judge an upload, the same
//! styles draw the preview.

use crate::cli::{Cli, Command, ServeArgs, StyleArgs};
use crate::stylize::style_config;
use anyhow::{Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toonflow_imageio::{decode_image, encode_image, sniff_extension, OutputFormat, ReadOptions};
use toonflow_imgproc::comic::{stylize, ComicConfig, Preset};
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};
use toonflow_studio::engine::{Engine, JobKind, Preset as StudioPreset, Upload};
use toonflow_studio::StudioConfig;

/// The style flags alone, parsed as every command parses them.
#[derive(Parser)]
#[command(name = "preview", no_binary_name = true)]
struct PreviewFlags {
    #[command(flatten)]
    style: StyleArgs,
}

struct CommandEngine;

impl Engine for CommandEngine {
    fn presets(&self) -> Vec<StudioPreset> {
        Preset::ALL
            .into_iter()
            .map(|preset| {
                let cfg = ComicConfig::preset(preset);
                // As the flags take them (1.15, not the float's 1.149999976…).
                let shown = |v: f32| (v as f64 * 1e4).round() / 1e4;
                StudioPreset {
                    name: preset.name().into(),
                    description: preset.description().into(),
                    colors: cfg.colours,
                    saturation: shown(cfg.saturation),
                    smoothing: cfg.smoothing.radius,
                    line_width: cfg.lines.map(|l| shown(l.sigma)),
                    line_detail: cfg.lines.map(|l| shown(l.p)),
                    tone: cfg.tone.is_some(),
                }
            })
            .collect()
    }

    fn model_styles(&self, model: &Path) -> Result<Vec<String>, String> {
        let (_, _, info) = toonflow_infer::generator::CpuGenerator::load(model).map_err(|e| e.to_string())?;
        Ok(info.styles)
    }

    fn check(&self, kind: JobKind, args: &[String]) -> Result<(), String> {
        let argv = ["toonflow", kind.command(), "INPUT", "-o", "OUTPUT"].into_iter().map(String::from);
        let cli = Cli::try_parse_from(argv.chain(args.iter().cloned())).map_err(|e| crate::clap_message(&e))?;
        let style = match &cli.command {
            Command::Stylize(a) => &a.style,
            Command::Video(crate::cli::VideoCommand { run: Some(a), .. }) => &a.style,
            Command::Webtoon(a) => &a.style,
            _ => return Ok(()),
        };
        // A model and its style id are checked by loading it, as the command will.
        crate::model::load_optional(style).map(|_| ()).map_err(|e| crate::report(&e))
    }

    fn preview(
        &self,
        image: &[u8],
        style_args: &[String],
        max_pixels: u64,
        preview_pixels: u64,
    ) -> Result<Vec<u8>, String> {
        let flags = PreviewFlags::try_parse_from(style_args).map_err(|e| crate::clap_message(&e))?;
        let frame = decode_image(image, Path::new("the preview image"), &ReadOptions { max_pixels })
            .map_err(|e| crate::report(&e.into()))?;
        let pixels = (frame.width() * frame.height()) as u64;
        let frame = if pixels > preview_pixels {
            let scale = (preview_pixels as f64 / pixels as f64).sqrt();
            let (w, h) =
                ((frame.width() as f64 * scale).round().max(1.0), (frame.height() as f64 * scale).round().max(1.0));
            resize_frame(&frame, w as usize, h as usize, ResizeFilter::Area)
        } else {
            frame
        };
        let styled = match crate::model::load_optional(&flags.style).map_err(|e| crate::report(&e))? {
            Some(model) => model.apply(&frame),
            None => stylize(&frame, &style_config(&flags.style)).frame,
        };
        encode_image(&styled, OutputFormat::Png).map_err(|e| format!("encoding the preview: {e}"))
    }

    fn inspect(&self, file: &Path) -> Result<Upload, String> {
        let mut head = [0u8; 64];
        let n = {
            use std::io::Read;
            let mut f = std::fs::File::open(file).map_err(|e| e.to_string())?;
            f.read(&mut head).map_err(|e| e.to_string())?
        };
        if n == 0 {
            return Err("the file is empty".into());
        }
        if let Some(ext) = sniff_extension(&head[..n]) {
            return Ok(Upload::Image(ext));
        }
        match toonflow_video::ffmpeg::probe(file) {
            Ok(_) => Ok(Upload::Video),
            // The studio's own path of the file means nothing to the person who uploaded it.
            Err(e) => Err(format!(
                "neither an image toonflow reads (PNG, JPEG, WebP, BMP, TIFF, GIF) nor a video FFmpeg reads ({})",
                crate::report(&e.into()).replace(&format!("{}: ", file.display()), "")
            )),
        }
    }
}

/// The default data folder.
fn default_data() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").context("no --data given and HOME is not set")?).join(".local/share")
        }
    };
    Ok(base.join("toonflow").join("studio"))
}

/// Runs `toonflow serve`.
pub fn serve(args: &ServeArgs) -> Result<()> {
    let data = match &args.data {
        Some(dir) => dir.clone(),
        None => default_data()?,
    };
    for model in &args.models {
        if !model.is_file() {
            return Err(crate::UsageError(format!("--model {}: no such file", model.display())).into());
        }
    }
    let token = match (&args.token, args.listen.ip().is_loopback()) {
        (Some(token), _) => Some(token.clone()),
        (None, true) => None,
        (None, false) => Some(toonflow_studio::new_token()),
    };
    let config = StudioConfig {
        listen: args.listen,
        data: data.clone(),
        token,
        max_upload: args.max_upload,
        workers: args.workers as usize,
        max_pixels: args.max_pixels,
        program: std::env::current_exe().context("cannot find the toonflow executable the jobs run")?,
        models: args.models.clone(),
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the server")?;
    runtime.block_on(toonflow_studio::serve(config, Arc::new(CommandEngine), |addr, token| {
        let url = match token {
            Some(token) => format!("http://{addr}/?token={token}"),
            None => format!("http://{addr}/"),
        };
        // stdout, one line: scripts (and the tests) read the address from it.
        println!("toonflow studio: {url}");
        eprintln!("toonflow: studio data in {}; Ctrl-C stops it", data.display());
    }))?;
    Ok(())
}
