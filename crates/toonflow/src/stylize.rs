//! `toonflow stylize`: plan the batch (which file goes where), then run it in parallel.

use crate::cli::{FormatArg, StyleArgs, StylizeArgs};
use crate::postprocess::PostProcess;
use crate::UsageError;
use anyhow::{anyhow, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use toonflow_imageio::{has_image_extension, read_image_with_info, write_image, OutputFormat, ReadOptions};
use toonflow_imgproc::comic::{stylize, ComicConfig};
use toonflow_imgproc::knobs::StyleKnobs;

pub use toonflow_imageio::IMAGE_EXTENSIONS;

/// One input and where its output goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The image to read.
    pub input: PathBuf,
    /// The file to write.
    pub output: PathBuf,
}

/// A validated `stylize` run.
#[derive(Debug)]
pub struct Plan {
    /// Work to do.
    pub jobs: Vec<Job>,
    /// Inputs that failed before any work (missing, unreadable folder): path and reason.
    pub failed_early: Vec<(PathBuf, String)>,
    /// The built-in style.
    pub style: ComicConfig,
    /// A trained generator replacing the built-in style.
    pub model: Option<toonflow_infer::model_style::ModelStyle>,
    /// Steps after the style.
    pub post: PostProcess,
    /// Decoding limits.
    pub read: ReadOptions,
}

/// Applies the style flags over their preset.
pub fn style_config(args: &StyleArgs) -> ComicConfig {
    let tone = if args.no_tone { Some(false) } else { args.tone.then_some(true) };
    let knobs = StyleKnobs {
        strength: args.strength,
        colors: args.colors.map(usize::from),
        saturation: args.saturation,
        smoothing: args.smoothing.map(usize::from),
        line_width: args.line_width,
        line_detail: args.line_detail,
        min_line_area: args.min_line_area,
        lines: !args.no_lines,
        tone,
        tone_size: args.tone_size,
    };
    knobs.config(args.style.0)
}

impl Plan {
    /// Validates the flags and lists the work. Errors here are usage errors (exit code 2).
    pub fn new(args: &StylizeArgs) -> Result<Plan> {
        // One input that is not a folder, and an output that is not one: file to file.
        let single_file = args.inputs.len() == 1 && !args.inputs[0].is_dir() && !args.output.is_dir();
        let format = match args.format {
            FormatArg::Png => OutputFormat::Png,
            FormatArg::Jpg => OutputFormat::Jpeg(92),
            FormatArg::Webp => OutputFormat::WebP,
            FormatArg::Bmp => OutputFormat::Bmp,
            FormatArg::Tiff => OutputFormat::Tiff,
        };
        let output_ext = args.output.extension().and_then(|e| e.to_str()).unwrap_or("");
        if single_file {
            if OutputFormat::from_extension(output_ext).is_none() {
                return Err(UsageError(format!(
                    "-o {}: the output file needs an image extension (png, jpg, webp, bmp or tiff)",
                    args.output.display()
                ))
                .into());
            }
        } else if !output_ext.is_empty() && OutputFormat::from_extension(output_ext).is_some() && !args.output.is_dir()
        {
            return Err(UsageError(format!(
                "-o {} names an image file, but the inputs are several images or a folder: give a folder",
                args.output.display()
            ))
            .into());
        }
        let mut planner = Planner::default();
        if single_file {
            let input = &args.inputs[0];
            if !input.exists() {
                planner.failed_early.push((input.clone(), "no such file or folder".into()));
            } else if toonflow_fs::same_file(input, &args.output) {
                return Err(
                    UsageError(format!("-o {}: the output would overwrite the input", args.output.display())).into()
                );
            } else {
                planner.jobs.push(Job { input: input.clone(), output: args.output.clone() });
            }
        } else {
            planner.plan_batch(&args.inputs, &args.output, format);
        }
        for (input, output) in &planner.renamed {
            tracing::warn!(
                "{}: another input already writes its output name; writing {} instead",
                input.display(),
                output.display()
            );
        }
        for repeated in &planner.repeated {
            tracing::warn!("{}: given more than once; stylized once", repeated.display());
        }
        let post = PostProcess {
            denoise: args.denoise.map(|d| d.0),
            resize: args.resize.map(|r| (r, args.resize_filter.into())),
        };
        Ok(Plan {
            jobs: planner.jobs,
            failed_early: planner.failed_early,
            style: style_config(&args.style),
            model: crate::model::load_optional(&args.style)?,
            post,
            read: ReadOptions { max_pixels: args.max_pixels },
        })
    }

    /// The files the plan writes.
    pub fn outputs(&self) -> Vec<PathBuf> {
        self.jobs.iter().map(|j| j.output.clone()).collect()
    }
}

/// Lists a batch's jobs so that every input is read once and every output written once.
#[derive(Default)]
struct Planner {
    jobs: Vec<Job>,
    failed_early: Vec<(PathBuf, String)>,
    /// Every input by what it is (a file given twice, or through a link, is one input).
    inputs: HashMap<toonflow_fs::FileId, PathBuf>,
    /// Outputs already given to a job.
    taken: HashSet<PathBuf>,
    /// Inputs whose output got another name, and that name.
    renamed: Vec<(PathBuf, PathBuf)>,
    /// Inputs named again (as themselves, by another path or through a link).
    repeated: Vec<PathBuf>,
}

impl Planner {
    /// The jobs of inputs (files and folder trees) writing into the folder `out`.
    fn plan_batch(&mut self, inputs: &[PathBuf], out: &Path, format: OutputFormat) {
        let out_dir = toonflow_fs::file_id(out);
        for input in inputs {
            if input.is_dir() {
                // Never descend into the output folder (a previous run's outputs), unless it is
                // the input folder itself.
                let is_output_dir = |e: &walkdir::DirEntry| {
                    e.depth() > 0
                        && e.file_type().is_dir()
                        && out_dir.is_some()
                        && toonflow_fs::file_id(e.path()) == out_dir
                };
                let walk = walkdir::WalkDir::new(input).sort_by_file_name().into_iter();
                for entry in walk.filter_entry(|e| !is_output_dir(e)) {
                    let entry = match entry {
                        Ok(e) => e,
                        Err(e) => {
                            let path = e.path().unwrap_or(input).to_path_buf();
                            self.failed_early.push((path, e.to_string()));
                            continue;
                        }
                    };
                    let path = entry.path();
                    if entry.file_type().is_file() && has_image_extension(path) {
                        let rel = path.strip_prefix(input).unwrap_or(path);
                        self.add(path, &out.join(rel), format);
                    }
                }
            } else if input.exists() {
                let name = Path::new(input.file_name().unwrap_or(input.as_os_str()));
                self.add(input, &out.join(name), format);
            } else {
                self.failed_early.push((input.clone(), "no such file or folder".into()));
            }
        }
        // Never replace a photo by a stylized copy (`-o` pointing into an input folder with the
        // same format, or at a link to an input).
        let inputs = &self.inputs;
        let (jobs, clobbering): (Vec<Job>, Vec<Job>) = std::mem::take(&mut self.jobs)
            .into_iter()
            .partition(|j| toonflow_fs::file_id(&j.output).is_none_or(|id| !inputs.contains_key(&id)));
        self.jobs = jobs;
        for job in clobbering {
            self.failed_early.push((job.input, "its output would overwrite the input; choose another -o".into()));
        }
    }

    /// Adds a job writing `target` with the format's extension, unless the input is already in.
    /// A taken output name gets the input's extension (`a.jpg` and `a.png` give `a.png` and
    /// `a-png.png`), then a number (`a-jpg-2.png`), so no two jobs write one file.
    fn add(&mut self, input: &Path, target: &Path, format: OutputFormat) {
        if let Some(id) = toonflow_fs::file_id(input) {
            if self.inputs.contains_key(&id) {
                self.repeated.push(input.to_path_buf());
                return;
            }
            self.inputs.insert(id, input.to_path_buf());
        }
        let ext = format.extension();
        let mut output = target.with_extension(ext);
        if self.taken.contains(&output) {
            let stem = target.file_stem().unwrap_or_default().to_string_lossy();
            let own = target.extension().unwrap_or_default().to_string_lossy();
            output = target.with_file_name(format!("{stem}-{own}.{ext}"));
            let mut n = 2;
            while self.taken.contains(&output) {
                output = target.with_file_name(format!("{stem}-{own}-{n}.{ext}"));
                n += 1;
            }
            self.renamed.push((input.to_path_buf(), output.clone()));
        }
        self.taken.insert(output.clone());
        self.jobs.push(Job { input: input.to_path_buf(), output });
    }
}

/// How a run ended.
pub struct Summary {
    /// Outputs written.
    pub done: usize,
    /// Inputs that failed, with the reason (which names the file).
    pub failed: Vec<(PathBuf, String)>,
    /// Jobs not started because of Ctrl-C.
    pub skipped: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs one job: read, stylize, post-process, write.
fn run_job(job: &Job, plan: &Plan) -> Result<()> {
    let (frame, info) = read_image_with_info(&job.input, &plan.read)?;
    if info.animated {
        tracing::warn!(
            "{}: an animation; its first frame is stylized (`toonflow video` takes all)",
            job.input.display()
        );
    }
    let (w, h) = plan.post.output_size(frame.width(), frame.height());
    if (w as u64) * (h as u64) > plan.read.max_pixels {
        return Err(anyhow!(
            "{}: --resize would make it {w}x{h}, over the limit of {} pixels",
            job.input.display(),
            plan.read.max_pixels
        ));
    }
    if let Some(model) = &plan.model {
        let started = Instant::now();
        let out = plan.post.apply(model.apply(&frame));
        tracing::info!(
            "{}: {}x{} stylized by the model in {:.1} ms",
            job.input.display(),
            frame.width(),
            frame.height(),
            started.elapsed().as_secs_f64() * 1e3
        );
        return write_output(&out, &job.output);
    }
    let styled = stylize(&frame, &plan.style);
    let times: Vec<String> =
        styled.times.0.iter().map(|(stage, d)| format!("{stage} {:.1} ms", d.as_secs_f64() * 1e3)).collect();
    tracing::info!(
        "{}: {}x{} stylized in {:.1} ms ({})",
        job.input.display(),
        frame.width(),
        frame.height(),
        styled.times.total().as_secs_f64() * 1e3,
        times.join(", ")
    );
    write_output(&plan.post.apply(styled.frame), &job.output)
}

fn write_output(frame: &toonflow_imgproc::frame::Frame, output: &Path) -> Result<()> {
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("{}: cannot create folder", parent.display()))?;
    }
    write_image(frame, output)?;
    Ok(())
}

/// Runs the plan; stops starting new images once `interrupted` is set.
pub fn run(plan: &Plan, progress: bool, interrupted: &AtomicBool) -> Summary {
    let start = Instant::now();
    // What killed runs left beside these outputs (their temporary files) goes first.
    toonflow_fs::remove_stale_temporaries(&plan.outputs());
    let bar = if progress { ProgressBar::new(plan.jobs.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} images, ETA {eta} {wide_msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let total = plan.jobs.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    crate::progress::report("images", 0, Some(total));
    let results: Vec<Option<(PathBuf, Result<()>)>> = plan
        .jobs
        .par_iter()
        .map(|job| {
            if interrupted.load(Ordering::Relaxed) {
                return None;
            }
            bar.set_message(job.input.display().to_string());
            let result = run_job(job, plan);
            bar.inc(1);
            crate::progress::report("images", done.fetch_add(1, Ordering::Relaxed) + 1, Some(total));
            Some((job.input.clone(), result))
        })
        .collect();
    bar.finish_and_clear();
    let mut summary = Summary { done: 0, failed: plan.failed_early.clone(), skipped: 0, elapsed: Duration::ZERO };
    for r in results {
        match r {
            None => summary.skipped += 1,
            Some((_, Ok(()))) => summary.done += 1,
            Some((input, Err(e))) => summary.failed.push((input, crate::report(&e))),
        }
    }
    summary.elapsed = start.elapsed();
    summary
}
