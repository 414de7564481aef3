//! `--model FILE` for `stylize` and `video`: a trained generator as the style (run on the
//! burn-free CPU path of toonflow-infer).

use anyhow::{anyhow, Result};
use toonflow_infer::model_style::{ModelStyle, ModelStyleError, ModelStyleOptions};

use crate::UsageError;

/// Loads `--model` when given. An unknown `--style-id` is a usage error.
pub fn load_optional(args: &crate::cli::StyleArgs) -> Result<Option<ModelStyle>> {
    let Some(path) = &args.model else { return Ok(None) };
    if !path.exists() {
        return Err(anyhow!("{}: no such model file", path.display()));
    }
    let options = ModelStyleOptions {
        style_id: args.style_id.clone(),
        strength: args.strength,
        keep_colors: args.keep_colors,
        full_resolution: args.full_resolution,
    };
    match ModelStyle::load(path, &options) {
        Ok(style) => Ok(Some(style)),
        Err(e @ ModelStyleError::UnknownStyle { .. }) => Err(UsageError(e.to_string()).into()),
        Err(e) => Err(e.into()),
    }
}
