//! `--model FILE` for `stylize` and `video`: a trained generator as the style (run on the
//! burn-free CPU path of toonflow-infer); `toonflow export`: the generator as ONNX.

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

/// Runs `toonflow export`: the model's network as an ONNX file, written atomically.
pub fn export(args: &crate::cli::ExportArgs) -> Result<()> {
    if !args.model.exists() {
        return Err(anyhow!("{}: no such model file", args.model.display()));
    }
    if toonflow_fs::same_file(&args.model, &args.output) {
        return Err(UsageError(format!("-o {}: that is the model file itself", args.output.display())).into());
    }
    let onnx = match toonflow_infer::onnx::export::export_model_file(&args.model, args.style_id.as_deref()) {
        Ok(bytes) => bytes,
        Err(e @ ModelStyleError::UnknownStyle { .. }) => return Err(UsageError(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    toonflow_fs::write_atomic(&args.output, &onnx)
        .map_err(|e| anyhow!("{}: cannot write: {e}", args.output.display()))?;
    tracing::info!(
        "{}: {} bytes of ONNX (opset {})",
        args.output.display(),
        onnx.len(),
        toonflow_infer::onnx::export::OPSET
    );
    Ok(())
}
