//! `toonflow._native`: what the `toonflow` Python package calls. Images cross as NumPy arrays
//! (`H x W x 3` or `H x W x 4`, uint8 or float in [0, 1]) and are converted exactly as the
//! command line converts the pixels of an 8-bit or float image file, so a stylized array equals
//! the CLI's output file pixel for pixel. The GIL is released while Rust works; errors are
//! Python exceptions carrying the Rust message.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use numpy::ndarray::{Array3, Array4, ArrayViewD};
use numpy::{IntoPyArray, PyArray4, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use toonflow_imgproc::comic::{stylize as stylize_frame, Preset};
use toonflow_imgproc::knobs::{check_unit, StyleKnobs};
use toonflow_imgproc::Frame;
use toonflow_infer::generator::{CpuGenerator, GeneratorConfig, NormStats};
use toonflow_infer::model_style::{style_index, ModelStyle, ModelStyleOptions};
use toonflow_video::ffmpeg::{probe, Span};
use toonflow_video::pipeline::{run, VideoJob};
use toonflow_video::stylizer::{ComicStylizer, FrameStylizer, ModelStylizer};
use toonflow_video::temporal::{TemporalConfig, TemporalMode};

create_exception!(
    _native,
    ToonflowError,
    PyException,
    "A toonflow operation failed (the message says which file and why)."
);

/// A shape as Python prints it: `(5, 5)`, `(7,)`.
fn python_shape(dims: &[usize]) -> String {
    match dims {
        [d] => format!("({d},)"),
        _ => format!("({})", dims.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// An image array as a frame, and whether it came as floats (the result goes back as floats).
fn frame_of(image: &Bound<'_, PyAny>) -> PyResult<(Frame, bool)> {
    fn shape_of(dims: &[usize]) -> PyResult<(usize, usize, usize)> {
        match *dims {
            [h, w, c @ (3 | 4)] if h > 0 && w > 0 => Ok((h, w, c)),
            _ => Err(PyValueError::new_err(format!(
                "image of shape {}: expected (height, width, 3) or (height, width, 4), both sides at least 1",
                python_shape(dims)
            ))),
        }
    }
    fn floats(view: ArrayViewD<'_, f32>) -> PyResult<Vec<f32>> {
        match view.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            Some(v) => Err(PyValueError::new_err(format!("float image with a value of {v}: expected 0 to 1"))),
            None => Ok(view.iter().copied().collect()),
        }
    }
    if let Ok(a) = image.extract::<PyReadonlyArrayDyn<'_, u8>>() {
        let (h, w, c) = shape_of(a.shape())?;
        let data: Vec<u8> = a.as_array().iter().copied().collect();
        return Ok((Frame::from_srgb8(w, h, c, &data), false));
    }
    if let Ok(a) = image.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        let (h, w, c) = shape_of(a.shape())?;
        return Ok((Frame::from_srgb_f32(w, h, c, &floats(a.as_array())?), true));
    }
    if let Ok(a) = image.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        let (h, w, c) = shape_of(a.shape())?;
        let narrowed = a.as_array().mapv(|v| v as f32);
        return Ok((Frame::from_srgb_f32(w, h, c, &floats(narrowed.view())?), true));
    }
    let kind = image.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    let dtype = image.getattr("dtype").map(|d| d.to_string()).unwrap_or(kind);
    Err(PyTypeError::new_err(format!("image of type {dtype}: expected a NumPy array of uint8, float32 or float64")))
}

/// A frame as an array of the input's kind: uint8, or float32 in [0, 1] (8-bit steps, as the
/// CLI's files), with alpha where the input had it.
fn array_of<'py>(py: Python<'py>, frame: &Frame, as_float: bool) -> PyResult<Bound<'py, PyAny>> {
    let (h, w) = (frame.height(), frame.width());
    let c = if frame.alpha.is_some() { 4 } else { 3 };
    let bytes = frame.to_srgb8(c == 4);
    let shape_err = |e: numpy::ndarray::ShapeError| PyValueError::new_err(e.to_string());
    if as_float {
        let values: Vec<f32> = bytes.iter().map(|&v| v as f32 / 255.0).collect();
        Ok(Array3::from_shape_vec((h, w, c), values).map_err(shape_err)?.into_pyarray(py).into_any())
    } else {
        Ok(Array3::from_shape_vec((h, w, c), bytes).map_err(shape_err)?.into_pyarray(py).into_any())
    }
}

fn preset_of(style: &str) -> PyResult<Preset> {
    Preset::from_name(style).ok_or_else(|| {
        let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
        PyValueError::new_err(format!("style '{style}': the built-in styles are {}", names.join(", ")))
    })
}

/// The style knobs a call accepts as keywords: `toonflow stylize`'s flags, underscored.
const KNOB_NAMES: &str =
    "colors, saturation, smoothing, line_width, line_detail, min_line_area, lines, tone, tone_size";

/// The built-in styles' adjustments from a call's other keywords (`**knobs`), checked by the
/// CLI's rules. A keyword that is no knob is a TypeError naming the knobs; None keeps the
/// preset's setting.
fn knobs_of(strength: f32, keywords: Option<&Bound<'_, PyDict>>) -> PyResult<StyleKnobs> {
    fn value<'py, T>(name: &str, v: &Bound<'py, PyAny>) -> PyResult<Option<T>>
    where
        T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
    {
        if v.is_none() {
            return Ok(None);
        }
        v.extract::<T>().map(Some).map_err(|e| PyTypeError::new_err(format!("{name}: {e}")))
    }
    let mut knobs = StyleKnobs { strength, ..StyleKnobs::default() };
    for (key, v) in keywords.into_iter().flatten() {
        let name: String = key.extract()?;
        match name.as_str() {
            "colors" => knobs.colors = value(&name, &v)?,
            "saturation" => knobs.saturation = value(&name, &v)?,
            "smoothing" => knobs.smoothing = value(&name, &v)?,
            "line_width" => knobs.line_width = value(&name, &v)?,
            "line_detail" => knobs.line_detail = value(&name, &v)?,
            "min_line_area" => knobs.min_line_area = value(&name, &v)?,
            "lines" => knobs.lines = value(&name, &v)?.unwrap_or(true),
            "tone" => knobs.tone = value(&name, &v)?,
            "tone_size" => knobs.tone_size = value(&name, &v)?,
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "unexpected keyword '{name}': the style knobs are {KNOB_NAMES}"
                )))
            }
        }
    }
    knobs.check().map_err(PyValueError::new_err)?;
    Ok(knobs)
}

/// Stylizes an image with a built-in style.
#[pyfunction]
#[pyo3(signature = (image, style="comic", strength=1.0, **knobs))]
fn stylize<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    style: &str,
    strength: f32,
    knobs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let preset = preset_of(style)?;
    let knobs = knobs_of(strength, knobs)?;
    let (frame, as_float) = frame_of(image)?;
    let cfg = knobs.config(preset);
    let styled = py.detach(move || stylize_frame(&frame, &cfg).frame);
    array_of(py, &styled, as_float)
}

/// The built-in styles: name, description, palette size, line width (None: no lines), tone.
#[pyfunction]
fn styles<'py>(py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
    Preset::ALL
        .iter()
        .map(|&preset| {
            let cfg = StyleKnobs::default().config(preset);
            let d = PyDict::new(py);
            d.set_item("name", preset.name())?;
            d.set_item("description", preset.description())?;
            d.set_item("colors", cfg.colours)?;
            d.set_item("line_width", cfg.lines.map(|l| l.sigma))?;
            d.set_item("tone", cfg.tone.is_some())?;
            Ok(d)
        })
        .collect()
}

/// A trained generator, loaded once.
#[pyclass(frozen, module = "toonflow._native")]
struct Model {
    path: PathBuf,
    generator: CpuGenerator,
    config: GeneratorConfig,
    styles: Vec<String>,
}

#[pymethods]
impl Model {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let shown = path.clone();
        let (generator, config, info) =
            py.detach(move || CpuGenerator::load(&shown)).map_err(|e| ToonflowError::new_err(e.to_string()))?;
        Ok(Self { path, generator, config, styles: info.styles })
    }

    /// The style names of a conditional model (empty for a single-style one).
    #[getter]
    fn styles(&self) -> Vec<String> {
        self.styles.clone()
    }

    /// Stylizes an image as `toonflow stylize --model` does.
    #[pyo3(signature = (image, style_id=None, strength=1.0, keep_colors=false, full_resolution=false))]
    fn stylize<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        style_id: Option<String>,
        strength: f32,
        keep_colors: bool,
        full_resolution: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_unit("strength", strength).map_err(PyValueError::new_err)?;
        let style = style_index(&self.styles, style_id.as_deref(), &self.path)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let options = ModelStyleOptions { style_id, strength, keep_colors, full_resolution };
        let (frame, as_float) = frame_of(image)?;
        let model = ModelStyle::new(self.generator.clone(), self.config.clone(), style, &options);
        let styled = py.detach(move || model.apply(&frame));
        array_of(py, &styled, as_float)
    }

    /// The network alone on a float32 batch `(N, 3, H, W)` in [-1, 1] (what `toonflow export`
    /// writes as ONNX), with no resizing or blending around it.
    #[pyo3(signature = (batch, style_id=None))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        batch: PyReadonlyArrayDyn<'py, f32>,
        style_id: Option<String>,
    ) -> PyResult<Bound<'py, PyArray4<f32>>> {
        let [n, 3, h, w] = *batch.shape() else {
            return Err(PyValueError::new_err(format!(
                "batch of shape {}: expected (N, 3, H, W)",
                python_shape(batch.shape())
            )));
        };
        let style = style_index(&self.styles, style_id.as_deref(), &self.path)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let input: Vec<f32> = batch.as_array().iter().copied().collect();
        let generator = &self.generator;
        let out = py.detach(|| {
            input
                .chunks_exact(3 * h * w)
                .flat_map(|image| generator.forward(image, h, w, Some(style), &mut NormStats::Compute))
                .collect::<Vec<f32>>()
        });
        let array = Array4::from_shape_vec((n, 3, h, w), out).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(array.into_pyarray(py))
    }

    fn __repr__(&self) -> String {
        format!("Model({:?}, styles={:?})", self.path.display().to_string(), self.styles)
    }
}

/// Stylizes a video file into another (format by extension), as `toonflow video` does.
/// `progress(done, total)` is called after each frame (total None when unknown); an exception
/// from it, or Ctrl-C, stops the run and leaves no output. Returns a report.
#[pyfunction]
#[pyo3(signature = (src, dst, *, style="comic", strength=1.0, model=None, style_id=None, temporal="blend",
    temporal_strength=0.75, start=None, duration=None, crf=None, x264_preset=None, progress=None, **knobs))]
#[allow(clippy::too_many_arguments)]
fn video<'py>(
    py: Python<'py>,
    src: PathBuf,
    dst: PathBuf,
    style: &str,
    strength: f32,
    model: Option<PathBuf>,
    style_id: Option<String>,
    temporal: &str,
    temporal_strength: f32,
    start: Option<f64>,
    duration: Option<f64>,
    crf: Option<u8>,
    x264_preset: Option<String>,
    progress: Option<Py<PyAny>>,
    knobs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let preset = preset_of(style)?;
    let knobs = knobs_of(strength, knobs)?;
    let mode = match temporal {
        "blend" => TemporalMode::Blend,
        "off" => TemporalMode::Off,
        other => return Err(PyValueError::new_err(format!("temporal '{other}': expected 'blend' or 'off'"))),
    };
    let temporal = TemporalConfig {
        mode,
        strength: check_unit("temporal_strength", temporal_strength).map_err(PyValueError::new_err)?,
        ..TemporalConfig::default()
    };
    let stylizer: Box<dyn FrameStylizer> = match &model {
        Some(path) => {
            let options = ModelStyleOptions { style_id, strength, ..ModelStyleOptions::default() };
            let shown = path.clone();
            let loaded = py.detach(move || ModelStyle::load(&shown, &options));
            Box::new(ModelStylizer::new(loaded.map_err(|e| ToonflowError::new_err(e.to_string()))?))
        }
        None => Box::new(ComicStylizer::new(knobs.config(preset), knobs.tone == Some(true))),
    };
    let job = VideoJob {
        input: src.clone(),
        output: dst,
        span: Span { start, duration },
        resize: None,
        crf,
        x264_preset,
        temporal,
        cut_threshold: toonflow_flow::scenecut::DEFAULT_CUT_THRESHOLD,
        tags: Vec::new(),
        segment: None,
    };
    let cancel = AtomicBool::new(false);
    let failure: Mutex<Option<PyErr>> = Mutex::new(None);
    let report_progress = |done: u64, total: Option<u64>| {
        Python::attach(|py| {
            let result = py.check_signals().and_then(|()| match &progress {
                Some(callback) => callback.call1(py, (done, total)).map(drop),
                None => Ok(()),
            });
            if let Err(e) = result {
                *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                cancel.store(true, Ordering::Relaxed);
            }
        })
    };
    let outcome = py.detach(|| probe(&src).and_then(|info| run(&job, &info, stylizer, &report_progress, &cancel)));
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let report = outcome.map_err(|e| ToonflowError::new_err(format!("{}: {e}", src.display())))?;
    let d = PyDict::new(py);
    d.set_item("frames", report.frames)?;
    d.set_item("scene_cuts", report.scene_cuts)?;
    d.set_item("fps", report.fps())?;
    d.set_item("warnings", report.warnings)?;
    Ok(d)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ToonflowError", m.py().get_type::<ToonflowError>())?;
    m.add_function(wrap_pyfunction!(stylize, m)?)?;
    m.add_function(wrap_pyfunction!(styles, m)?)?;
    m.add_function(wrap_pyfunction!(video, m)?)?;
    m.add_class::<Model>()?;
    Ok(())
}
