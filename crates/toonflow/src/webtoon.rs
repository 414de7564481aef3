//! `toonflow webtoon`: a video as a webtoon episode (toonflow-webtoon), in any style.

use crate::cli::{LayoutArg, PageSizeArg, WebtoonArgs};
use crate::UsageError;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::AtomicBool;
use toonflow_flow::scenecut::DEFAULT_CUT_THRESHOLD;
use toonflow_video::temporal::TemporalConfig;
use toonflow_webtoon::episode::{make_episode, EpisodeError, EpisodeJob, SubtitleSource};
use toonflow_webtoon::layout::{LayoutConfig, LayoutKind, PageSize};
use toonflow_webtoon::panels::PanelConfig;

/// Runs `toonflow webtoon`.
pub fn webtoon(args: &WebtoonArgs, quiet: bool, cancel: &AtomicBool) -> Result<()> {
    if let Some(subs) = &args.subtitles {
        if !subs.is_file() {
            return Err(UsageError(format!("--subtitles {}: no such file", subs.display())).into());
        }
    }
    let (info, span) = crate::video::probe_span(&args.input, args.start, args.duration)?;
    let job = EpisodeJob {
        input: args.input.clone(),
        output: args.output.clone(),
        span,
        subtitles: args.subtitles.clone().map_or(SubtitleSource::FromVideo, SubtitleSource::File),
        panels: PanelConfig {
            max_panels: args.panels.map(|n| n as usize),
            min_seconds: args.panel_seconds,
            motion: !args.no_motion,
            ..PanelConfig::default()
        },
        layout: LayoutConfig {
            kind: match args.layout {
                LayoutArg::Scroll => LayoutKind::Scroll,
                LayoutArg::Page => LayoutKind::Page,
            },
            width: args.width as f32,
            rtl: args.rtl,
            page: match args.page_size {
                PageSizeArg::A4 => PageSize::A4,
                PageSizeArg::B5 => PageSize::B5,
            },
        },
        slice_height: args.slice_height as usize,
        cut_threshold: DEFAULT_CUT_THRESHOLD,
        temporal: TemporalConfig::default(),
    };
    let mut stylizer = crate::video::frame_stylizer(&args.style)?;
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg} [{bar:30}] {pos}/{len}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let progress = |stage: &str, done: u64, expected: Option<u64>| {
        bar.set_message(stage.to_string());
        bar.set_length(expected.unwrap_or(0).max(done));
        bar.set_position(done);
        crate::progress::report(stage, done, expected);
    };
    let report = match make_episode(&job, &info, stylizer.as_mut(), &progress, cancel) {
        Err(e @ (EpisodeError::WouldOverwriteInput { .. } | EpisodeError::WouldReplace { .. })) => {
            return Err(UsageError(e.to_string()).into())
        }
        other => other.with_context(|| format!("{}", args.input.display()))?,
    };
    bar.finish_and_clear();
    for warning in &report.warnings {
        tracing::warn!("{warning}");
    }
    if !quiet {
        let total: f64 = report.stage_times.iter().map(|(_, d)| d.as_secs_f64()).sum();
        let stages: Vec<String> =
            report.stage_times.iter().map(|(name, d)| format!("{name} {:.1} s", d.as_secs_f64())).collect();
        eprintln!(
            "toonflow: {} panels ({} moving, {} balloons) from {:.1} s of video to {} in {:.1} s ({}; {:.1} s per minute of video)",
            report.panels,
            report.moving,
            report.balloons,
            report.seconds,
            args.output.display(),
            total,
            stages.join(", "),
            total / report.seconds.max(1e-9) * 60.0
        );
        if report.balloons > 0 {
            eprintln!(
                "toonflow: importance of the picture under the balloons: {:.3} (top-left placement: {:.3})",
                report.hidden_importance.0, report.hidden_importance.1
            );
        }
        if report.with_subject > 0 {
            eprintln!(
                "toonflow: balloons over the moving subject: {} of {} (top-left placement: {})",
                report.on_subject.0, report.with_subject, report.on_subject.1
            );
        }
    }
    Ok(())
}
