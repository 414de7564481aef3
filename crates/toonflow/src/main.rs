//! The `toonflow` command: parses flags, picks the work, reports. The work itself lives in the
//! library crates.

mod allocator;
mod cli;
mod eval;
mod model;
mod postprocess;
mod progress;
mod serve;
mod stylize;
mod train;
mod video;
mod video_parts;
mod webtoon;

use anyhow::Result;
use clap::Parser;
use cli::{Cli, Command, EvalCommand, GanCommand};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use toonflow_imgproc::comic::{ComicConfig, Preset};

/// A mistake in the command line: reported with exit code 2, before any work.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Exit codes (documented in `--help`).
const EXIT_FAILED_INPUTS: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("toonflow: {}", report(&err));
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILED_INPUTS)
            }
        }
    }
}

/// clap's message without its usage lines: the sentence that says what is wrong.
pub fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid options");
    first.trim_start_matches("error: ").to_string()
}

/// An error and its causes on one line, each cause added only when the text so far does not
/// already say it (some decoders repeat their cause inside their own message).
pub fn report(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if text.is_empty() {
            text = cause;
        } else if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .init();
}

/// The exit of a command that writes one output whole or not at all: 130 when interrupted
/// (whatever the command returned, as the interruption caused it), its result otherwise.
fn whole_or_nothing(result: Result<()>, interrupted: Option<ExitCode>, what: &str) -> Result<ExitCode> {
    match interrupted {
        Some(code) => {
            eprintln!("toonflow: interrupted, {what}");
            Ok(code)
        }
        None => result.map(|()| ExitCode::SUCCESS),
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    init_logging(&cli);
    if cli.progress_json {
        progress::enable();
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        // First Ctrl-C: finish what is in flight (outputs are written whole or not at all),
        // start nothing new. A second one exits at once.
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
        });
    }
    let interrupted_code = || interrupted.load(Ordering::SeqCst).then(|| ExitCode::from(EXIT_INTERRUPTED));
    match &cli.command {
        // A single output written whole or not at all: an interrupted run says so and exits 130.
        Command::Video(command) => {
            let result = match (&command.parts, &command.run) {
                (Some(step), _) => video_parts::run(step, cli.quiet, &interrupted),
                (None, Some(args)) => video::video(args, cli.quiet, &interrupted),
                (None, None) => {
                    Err(UsageError("toonflow video: give a video and -o, or plan, part or join".into()).into())
                }
            };
            whole_or_nothing(result, interrupted_code(), "no output written")
        }
        Command::Webtoon(args) => {
            whole_or_nothing(webtoon::webtoon(args, cli.quiet, &interrupted), interrupted_code(), "no episode written")
        }
        Command::Serve(args) => serve::serve(args).map(|()| ExitCode::SUCCESS),
        Command::Export(args) => model::export(args).map(|()| ExitCode::SUCCESS),
        Command::Eval(EvalCommand::Temporal(args)) => eval::temporal(args).map(|()| ExitCode::SUCCESS),
        Command::Eval(EvalCommand::Style(args)) => eval::style(args).map(|()| ExitCode::SUCCESS),
        Command::Eval(EvalCommand::Content(args)) => {
            eval::content(args).map(|all| if all { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILED_INPUTS) })
        }
        Command::Prepare(args) => train::run_prepare(args, cli.quiet).map(|()| ExitCode::SUCCESS),
        Command::Train(args) => {
            let interrupted = train::run_train(args, cli.quiet, &interrupted)?;
            Ok(if interrupted { ExitCode::from(EXIT_INTERRUPTED) } else { ExitCode::SUCCESS })
        }
        Command::Gan(GanCommand::Train(args)) => {
            let interrupted = train::run_gan_train(args, cli.quiet, &interrupted)?;
            Ok(if interrupted { ExitCode::from(EXIT_INTERRUPTED) } else { ExitCode::SUCCESS })
        }
        Command::Gan(GanCommand::Sample(args)) => train::run_gan_sample(args).map(|()| ExitCode::SUCCESS),
        Command::FetchVgg16 => train::run_fetch_vgg16(cli.quiet).map(|()| ExitCode::SUCCESS),
        Command::Styles => {
            for preset in Preset::ALL {
                let cfg = ComicConfig::preset(preset);
                println!(
                    "{:<8} {} (palette {}, lines {}, tone {})",
                    preset.name(),
                    preset.description(),
                    cfg.colours,
                    cfg.lines.map_or("off".into(), |l| format!("width {}", l.sigma)),
                    if cfg.tone.is_some() { "on" } else { "off" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Stylize(args) => {
            if let Some(n) = args.jobs {
                // More threads than cores only add contention; a huge count would exhaust the
                // system's threads.
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                let threads = n.clamp(1, cores);
                if threads != n {
                    tracing::warn!("--jobs {n}: this machine has {cores} cores; using {threads} threads");
                }
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build_global()
                    .map_err(|e| UsageError(format!("--jobs {n}: {e}")))?;
            }
            let plan = stylize::Plan::new(args)?;
            if plan.jobs.is_empty() && plan.failed_early.is_empty() {
                tracing::warn!("no images found in the inputs (searched for {})", stylize::IMAGE_EXTENSIONS.join(", "));
            }
            let summary = stylize::run(&plan, !cli.quiet, &interrupted);
            if !cli.quiet {
                eprintln!(
                    "toonflow: {} stylized, {} failed{} in {:.1} s",
                    summary.done,
                    summary.failed.len(),
                    if summary.skipped > 0 {
                        format!(", {} not started (interrupted)", summary.skipped)
                    } else {
                        String::new()
                    },
                    summary.elapsed.as_secs_f64()
                );
            }
            for (input, reason) in &summary.failed {
                let path = input.display().to_string();
                // Library errors already start with the path; do not print it twice.
                if reason.starts_with(&path) {
                    eprintln!("  failed: {reason}");
                } else {
                    eprintln!("  failed: {path}: {reason}");
                }
            }
            Ok(if let Some(code) = interrupted_code() {
                code
            } else if summary.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED_INPUTS)
            })
        }
    }
}
