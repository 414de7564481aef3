//! `toonflow video plan | part | join`: a long video in parts, each part anywhere
//! (toonflow_video::parts holds the how; this is the command line around it).

use crate::cli::{Cli, Command, JoinArgs, PartArgs, PlanArgs, VideoArgs, VideoCommand, VideoPartsCommand};
use crate::video::{frame_bar, run_job, video_job};
use crate::UsageError;
use anyhow::{Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use toonflow_video::ffmpeg::{probe, EncodeOptions};
use toonflow_video::parts::{join, make_plan, part_job, part_path, plan_folder, warm_up_for, Plan, PlanOptions};

/// Runs one step.
pub fn run(step: &VideoPartsCommand, quiet: bool, cancel: &AtomicBool) -> Result<()> {
    match step {
        VideoPartsCommand::Plan(args) => plan(args, quiet, cancel),
        VideoPartsCommand::Part(args) => part(args, quiet, cancel),
        VideoPartsCommand::Join(args) => join_parts(args, quiet, cancel),
    }
}

/// The plan's `toonflow video` flags, parsed as the command parses them (a usage error names
/// the flag). Flags about one run's span or report have no meaning for parts and are refused.
fn settings(input: &Path, output: &Path, settings: &[String]) -> Result<VideoArgs> {
    let head: [std::ffi::OsString; 5] = ["toonflow".into(), "video".into(), input.into(), "-o".into(), output.into()];
    let cli = Cli::try_parse_from(head.into_iter().chain(settings.iter().map(Into::into)))
        .map_err(|e| UsageError(format!("the video flags after --: {}", crate::clap_message(&e))))?;
    let Command::Video(VideoCommand { run: Some(args), .. }) = cli.command else {
        return Err(UsageError("the flags after -- must be toonflow video's".into()).into());
    };
    if args.start.is_some() || args.duration.is_some() || args.report {
        return Err(UsageError(
            "--start, --duration and --report are for one run; a plan covers the whole video (cut it first with ffmpeg)".into(),
        )
        .into());
    }
    Ok(args)
}

fn plan(args: &PlanArgs, quiet: bool, cancel: &AtomicBool) -> Result<()> {
    if toonflow_fs::same_file(&args.input, &args.output) {
        return Err(UsageError(format!("-o {}: that is the video itself", args.output.display())).into());
    }
    let video_args = settings(&args.input, Path::new("joined.mp4"), &args.settings)?;
    let info = probe(&args.input)?;
    // The styles and models are loaded now, so a bad one fails here, not on every machine.
    crate::video::frame_stylizer(&video_args.style)?;
    let job = video_job(&video_args, &info, Default::default());
    let options = PlanOptions {
        resize: job.resize,
        cut_threshold: job.cut_threshold,
        part_frames: args.part_frames,
        warm_up: args.warm_up.unwrap_or_else(|| warm_up_for(&job.temporal)),
        settings: args.settings.clone(),
    };
    let bar = frame_bar(quiet, info.expected_frames());
    let progress = |done: u64| {
        bar.set_position(done);
        crate::progress::report("frames", done, info.expected_frames());
    };
    let plan = make_plan(&args.input, &info, &options, &progress, cancel)?;
    bar.finish_and_clear();
    plan.write(&args.output)?;
    if !quiet {
        eprintln!(
            "toonflow: {} frames, {} shots, {} parts (plan {}) in {}",
            plan.frames,
            plan.shots.len(),
            plan.parts.len(),
            plan.id,
            args.output.display()
        );
    }
    if crate::progress::enabled() {
        println!("{}", serde_json::json!({ "plan": plan.id, "parts": plan.parts.len(), "frames": plan.frames }));
    }
    Ok(())
}

/// The video on this machine: `--input`, or where the plan saw it.
fn input_of(plan: &Plan, input: &Option<PathBuf>) -> PathBuf {
    input.clone().unwrap_or_else(|| plan.input.clone())
}

fn part(args: &PartArgs, quiet: bool, cancel: &AtomicBool) -> Result<()> {
    let plan = Plan::read(&args.plan)?;
    let input = input_of(&plan, &args.input);
    let output = args.output.clone().unwrap_or_else(|| part_path(plan_folder(&args.plan), args.index));
    let video_args = settings(&input, &output, &plan.settings)?;
    let info = probe(&input)?;
    let mut job = video_job(&video_args, &info, Default::default());
    part_job(&plan, args.index, &args.plan, &mut job, &info).with_context(|| format!("part {}", args.index))?;
    let bar = frame_bar(quiet, job.segment.as_ref().map(|s| s.frames - s.warm_up));
    let report = run_job(&job, &info, &video_args.style, &bar, cancel)?;
    if !quiet {
        eprintln!(
            "toonflow: part {} ({} frames) to {} at {:.1} fps",
            args.index,
            report.frames,
            output.display(),
            report.fps()
        );
    }
    Ok(())
}

fn join_parts(args: &JoinArgs, quiet: bool, cancel: &AtomicBool) -> Result<()> {
    let plan = Plan::read(&args.plan)?;
    let input = input_of(&plan, &args.input);
    let video_args = settings(&input, &args.output, &plan.settings)?;
    let folder = args.parts.as_deref().unwrap_or(plan_folder(&args.plan));
    let parts: Vec<PathBuf> = (0..plan.parts.len()).map(|k| part_path(folder, k)).collect();
    if let Some(missing) = parts.iter().find(|p| !p.is_file()) {
        return Err(anyhow::anyhow!("{}: missing; run `toonflow video part` for it first", missing.display()));
    }
    let opts =
        EncodeOptions { crf: video_args.crf, x264_preset: video_args.x264_preset, audio_from: None, tags: Vec::new() };
    let bar = frame_bar(quiet, Some(plan.frames));
    let progress = |done: u64| {
        bar.set_position(done);
        crate::progress::report("frames", done, Some(plan.frames));
    };
    let frames = join(&plan, &input, &parts, &args.output, opts, &progress, cancel)?;
    bar.finish_and_clear();
    if !quiet {
        eprintln!("toonflow: {} parts, {frames} frames joined into {}", parts.len(), args.output.display());
    }
    Ok(())
}
