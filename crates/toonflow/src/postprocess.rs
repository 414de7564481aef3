//! The classic post-processing steps and the text forms the command line gives them
//! (`--denoise median:3`, `--resize 1280x`).

use std::fmt;
use std::str::FromStr;
use toonflow_imgproc::denoise::Denoise;
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};
use toonflow_imgproc::Frame;

/// `--denoise KIND[:SIZE]`: `mean` or `median`, odd window size 3 to 31 (default 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenoiseSpec(pub Denoise);

impl FromStr for DenoiseSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, size) = s.split_once(':').unwrap_or((s, "3"));
        let size: usize = size.parse().map_err(|_| format!("window size '{size}' is not a number"))?;
        if size.is_multiple_of(2) || !(3..=31).contains(&size) {
            return Err(format!("window size must be odd, from 3 to 31 (found {size})"));
        }
        match kind {
            "mean" => Ok(Self(Denoise::Mean(size))),
            "median" => Ok(Self(Denoise::Median(size))),
            _ => Err(format!("unknown filter '{kind}' (use mean or median)")),
        }
    }
}

/// `--resize`: `WxH` (exact), `Wx` or `xH` (the other side follows the aspect ratio), or `N%`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ResizeSpec {
    /// Exact size.
    Exact(usize, usize),
    /// This width, height by aspect ratio.
    Width(usize),
    /// This height, width by aspect ratio.
    Height(usize),
    /// Both sides times this factor.
    Scale(f64),
}

impl ResizeSpec {
    /// The output size for an input of `w x h`, at least 1x1.
    pub fn target(&self, w: usize, h: usize) -> (usize, usize) {
        let round = |v: f64| (v.round() as usize).max(1);
        match *self {
            Self::Exact(tw, th) => (tw, th),
            Self::Width(tw) => (tw, round(h as f64 * tw as f64 / w as f64)),
            Self::Height(th) => (round(w as f64 * th as f64 / h as f64), th),
            Self::Scale(f) => (round(w as f64 * f), round(h as f64 * f)),
        }
    }
}

impl FromStr for ResizeSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let side = |v: &str| -> Result<usize, String> {
            match v.parse::<usize>() {
                Ok(n) if (1..=65_535).contains(&n) => Ok(n),
                _ => Err(format!("'{v}' is not a size from 1 to 65535")),
            }
        };
        if let Some(pct) = s.strip_suffix('%') {
            return match pct.parse::<f64>() {
                Ok(p) if p > 0.0 && p <= 1000.0 => Ok(Self::Scale(p / 100.0)),
                _ => Err(format!("'{s}' is not a percentage from 0 to 1000")),
            };
        }
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(|| format!("'{s}' is not WxH, Wx, xH or N%"))?;
        match (w.is_empty(), h.is_empty()) {
            (false, false) => Ok(Self::Exact(side(w)?, side(h)?)),
            (false, true) => Ok(Self::Width(side(w)?)),
            (true, false) => Ok(Self::Height(side(h)?)),
            (true, true) => Err(format!("'{s}' gives neither width nor height")),
        }
    }
}

impl fmt::Display for ResizeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(w, h) => write!(f, "{w}x{h}"),
            Self::Width(w) => write!(f, "{w}x"),
            Self::Height(h) => write!(f, "x{h}"),
            Self::Scale(s) => write!(f, "{}%", s * 100.0),
        }
    }
}

/// What runs after stylization, in this order: denoise, then resize.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PostProcess {
    /// Optional denoising filter.
    pub denoise: Option<Denoise>,
    /// Optional resize and its filter.
    pub resize: Option<(ResizeSpec, ResizeFilter)>,
}

impl PostProcess {
    /// The size `apply` will produce for an input of `w x h`.
    pub fn output_size(&self, w: usize, h: usize) -> (usize, usize) {
        self.resize.map_or((w, h), |(spec, _)| spec.target(w, h))
    }

    /// Runs the steps.
    pub fn apply(&self, frame: Frame) -> Frame {
        let frame = match self.denoise {
            Some(d) => d.apply(&frame),
            None => frame,
        };
        match self.resize {
            Some((spec, filter)) => {
                let (w, h) = spec.target(frame.width(), frame.height());
                resize_frame(&frame, w, h, filter)
            }
            None => frame,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denoise_specs_parse() {
        assert_eq!("median:5".parse(), Ok(DenoiseSpec(Denoise::Median(5))));
        assert_eq!("mean".parse(), Ok(DenoiseSpec(Denoise::Mean(3))));
        assert!("median:4".parse::<DenoiseSpec>().unwrap_err().contains("odd"));
        assert!("gauss:3".parse::<DenoiseSpec>().unwrap_err().contains("unknown filter"));
    }

    #[test]
    fn resize_specs_parse_and_keep_aspect() {
        assert_eq!("1280x".parse::<ResizeSpec>().unwrap().target(1920, 1080), (1280, 720));
        assert_eq!("x720".parse::<ResizeSpec>().unwrap().target(1920, 1080), (1280, 720));
        assert_eq!("640x480".parse::<ResizeSpec>().unwrap().target(1920, 1080), (640, 480));
        assert_eq!("50%".parse::<ResizeSpec>().unwrap().target(451, 300), (226, 150));
        assert!("x".parse::<ResizeSpec>().is_err());
        assert!("0x10".parse::<ResizeSpec>().is_err());
        assert!("big".parse::<ResizeSpec>().is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Text that looks like a spec often enough to reach every branch of the parsers.
        fn spec_text() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[0-9x%:.eE+-]{0,12}",
                "(mean|median|gauss)?:?-?[0-9]{0,22}",
                "-?[0-9]{0,22}(\\.[0-9]{0,4})?[xX%]?-?[0-9]{0,22}",
            ]
        }

        proptest! {
            /// Whatever the user types, the parsers answer with a value or a message, and every
            /// value they accept prints back to itself and gives a real size for any real input.
            #[test]
            fn resize_specs_parse_without_panics_and_give_real_sizes(
                text in spec_text(),
                w in 1usize..=65_535,
                h in 1usize..=65_535,
            ) {
                match text.parse::<ResizeSpec>() {
                    Ok(spec) => {
                        prop_assert_eq!(spec.to_string().parse::<ResizeSpec>(), Ok(spec));
                        let (tw, th) = spec.target(w, h);
                        prop_assert!(tw >= 1 && th >= 1);
                        // A side the spec leaves free follows the input's aspect ratio, to the
                        // nearest pixel.
                        let (fw, fh) = (w as f64, h as f64);
                        let near = |got: usize, want: f64| (got as f64 - want.max(1.0)).abs() <= 0.5 + 1e-9;
                        match spec {
                            ResizeSpec::Exact(..) => {}
                            ResizeSpec::Width(_) => prop_assert!(near(th, fh * tw as f64 / fw)),
                            ResizeSpec::Height(_) => prop_assert!(near(tw, fw * th as f64 / fh)),
                            ResizeSpec::Scale(f) => prop_assert!(near(tw, fw * f) && near(th, fh * f)),
                        }
                    }
                    Err(message) => prop_assert!(!message.is_empty()),
                }
            }

            #[test]
            fn denoise_specs_parse_without_panics_to_odd_windows(text in spec_text()) {
                match text.parse::<DenoiseSpec>() {
                    Ok(DenoiseSpec(Denoise::Mean(n) | Denoise::Median(n))) => {
                        prop_assert!(n % 2 == 1 && (3..=31).contains(&n));
                    }
                    Err(message) => prop_assert!(!message.is_empty()),
                }
            }
        }
    }
}
