//! What can go wrong in a training run. Variants wrap their causes, so the whole chain (the
//! file, then why) reaches the user.

use toonflow_infer::modelfile::ModelFileError;
use toonflow_model::vgg::VggError;

use crate::imageset::ImageSetError;

/// An error of a training run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file of the run or the dataset could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint cannot be read back.
    #[error("{path}: damaged checkpoint: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint comes from a run with other settings or data than these.
    #[error("{0}")]
    Resume(String),
    /// A loss became NaN or infinite: training stopped without saving it.
    #[error(
        "{run}: step {step}: the {loss} loss is not a finite number; training stopped {}. Lower the learning \
         rates, or check the data",
        kept_checkpoint(*saved)
    )]
    NonFiniteLoss {
        /// The run folder.
        run: String,
        /// The step that diverged.
        step: usize,
        /// Which loss.
        loss: &'static str,
        /// The step the checkpoint holds, if one was written.
        saved: Option<usize>,
    },
    /// The settings cannot train (a usage error: nothing was run).
    #[error("{0}")]
    Settings(String),
    /// The folder holds no prepared dataset.
    #[error("{path}: no prepared dataset here (no dataset.json; make one with `toonflow prepare`)")]
    NoDataset {
        /// The folder.
        path: String,
    },
    /// The folder is not a prepared dataset.
    #[error("{path}: not a prepared dataset (run `toonflow prepare`)")]
    NotADataset {
        /// Its description file.
        path: String,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },
    /// A folder of training images has none that can be read.
    #[error("{path}: no readable images")]
    NoImages {
        /// The folder.
        path: String,
    },
    /// Scanning a folder of training images.
    #[error(transparent)]
    Folder(#[from] crate::prepare::PrepareError),
    /// An image set of the dataset.
    #[error(transparent)]
    ImageSet(#[from] ImageSetError),
    /// Images given to a run or written by it (sample grids).
    #[error(transparent)]
    Image(#[from] toonflow_imageio::ImageError),
    /// The model file written at each checkpoint.
    #[error(transparent)]
    ModelFile(#[from] ModelFileError),
    /// The VGG16 features of the losses.
    #[error(transparent)]
    Vgg(#[from] VggError),
}

/// Maps an I/O error to [`RunError::Io`] naming `path`.
pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io { path: path.display().to_string(), source }
}

fn kept_checkpoint(saved: Option<usize>) -> String {
    match saved {
        Some(step) => format!("and the last checkpoint (step {step}) is kept"),
        None => "before any checkpoint was written".into(),
    }
}
