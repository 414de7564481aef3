//! Timed lines of dialogue: SubRip (`.srt`) and WebVTT (`.vtt`) files, or a video's own subtitle
//! stream (FFmpeg converts it to SubRip). A malformed cue is skipped with a warning that names
//! its line; the rest are used.

use std::path::Path;
use std::process::Command;

/// One timed line (or lines) of text.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Cue {
    /// Start, seconds from the video's start.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// The text, markup removed, its lines joined by spaces.
    pub text: String,
    /// Text in square brackets: a narrator's caption, not a speaker's line.
    pub narration: bool,
}

/// Cues read from a file, and the problems met on the way.
#[derive(Clone, Debug, Default)]
pub struct Subtitles {
    /// The usable cues, by start time.
    pub cues: Vec<Cue>,
    /// One message per skipped cue, naming the file and line.
    pub warnings: Vec<String>,
}

/// A subtitle file that cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum SubtitleError {
    /// Not readable.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not text.
    #[error("{path}: not a text file (subtitles are UTF-8 SubRip or WebVTT)")]
    NotText {
        /// The file.
        path: std::path::PathBuf,
    },
}

/// Reads an `.srt` or `.vtt` file (told apart by the `WEBVTT` header, not the name).
pub fn read(path: &Path) -> Result<Subtitles, SubtitleError> {
    let bytes = std::fs::read(path).map_err(|source| SubtitleError::Io { path: path.into(), source })?;
    let text = String::from_utf8(bytes).map_err(|_| SubtitleError::NotText { path: path.into() })?;
    Ok(parse(&text, &path.display().to_string()))
}

/// The first subtitle stream of a video, `None` when it has none.
pub fn from_video(path: &Path) -> Option<Subtitles> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:s:0", "-f", "srt", "-"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    (out.status.success() && !text.trim().is_empty())
        .then(|| parse(&text, &format!("{} (subtitle stream)", path.display())))
}

/// Parses SubRip or WebVTT text; `name` prefixes the warnings.
pub fn parse(text: &str, name: &str) -> Subtitles {
    let text = text.trim_start_matches('\u{feff}');
    let mut subs = Subtitles::default();
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut i = 0;
    // A WebVTT header block and NOTE / STYLE / REGION blocks carry no cues.
    let skip_block = |l: &str| l.starts_with("WEBVTT") || l.starts_with("NOTE") || l == "STYLE" || l == "REGION";
    while i < lines.len() {
        // A block runs to the next blank line.
        let start = i;
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
        let block = &lines[start..i];
        i += 1;
        let Some(timing_at) = block.iter().position(|l| l.contains("-->")) else {
            match block {
                // A numbered cue whose timing line is broken: name that line.
                [number, timing, ..] if number.trim().parse::<u64>().is_ok() => subs.warnings.push(format!(
                    "{name}:{}: unreadable timing \"{}\", cue skipped",
                    start + 2,
                    timing.trim()
                )),
                [first, ..] if !skip_block(first.trim()) => subs.warnings.push(format!(
                    "{name}:{}: no timing line (\"{}\"), cue skipped",
                    start + 1,
                    first.trim()
                )),
                _ => {}
            }
            continue;
        };
        if block.first().is_some_and(|l| skip_block(l.trim())) && timing_at > 0 {
            continue;
        }
        let line_no = start + timing_at + 1;
        let Some((from, to)) = parse_timing(block[timing_at]) else {
            subs.warnings
                .push(format!("{name}:{line_no}: unreadable timing \"{}\", cue skipped", block[timing_at].trim()));
            continue;
        };
        if to <= from {
            subs.warnings.push(format!("{name}:{line_no}: the cue ends before it starts, skipped"));
            continue;
        }
        let text = block[timing_at + 1..].iter().map(|l| strip_markup(l)).filter(|l| !l.is_empty()).collect::<Vec<_>>();
        if text.is_empty() {
            subs.warnings.push(format!("{name}:{line_no}: the cue has no text, skipped"));
            continue;
        }
        let text = text.join(" ");
        let narration = text.starts_with('[') && text.ends_with(']');
        let text = if narration { text[1..text.len() - 1].trim().to_string() } else { text };
        subs.cues.push(Cue { start: from, end: to, text, narration });
    }
    subs.cues.sort_by(|a, b| a.start.total_cmp(&b.start));
    subs
}

/// `00:01:02,500 --> 00:01:04,000` (SubRip) or `01:02.500 --> 01:04.000 align:start` (WebVTT).
fn parse_timing(line: &str) -> Option<(f64, f64)> {
    let (a, b) = line.split_once("-->")?;
    let b = b.split_whitespace().next()?;
    Some((parse_time(a.trim())?, parse_time(b)?))
}

fn parse_time(s: &str) -> Option<f64> {
    let s = s.replace(',', ".");
    let parts: Vec<&str> = s.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [h, m, sec] => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?, *sec),
        [m, sec] => (0, m.parse::<u32>().ok()?, *sec),
        _ => return None,
    };
    let sec: f64 = sec.parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0 && *v < 60.0)?;
    (m < 60).then_some(h as f64 * 3600.0 + m as f64 * 60.0 + sec)
}

/// Removes `<i>`-style tags and `{\an8}`-style overrides.
fn strip_markup(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut depth: Option<char> = None;
    for c in line.chars() {
        match (depth, c) {
            (None, '<') => depth = Some('>'),
            (None, '{') => depth = Some('}'),
            (Some(close), c) if c == close => depth = None,
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_subrip_with_markup_narration_and_bad_cues() {
        let srt = "1\n00:00:01,000 --> 00:00:02,500\n<i>Hello</i> there,\nfriend!\n\n2\n00:00:03,000 --> 00:00:02,000\nBackwards\n\n3\nnot a timing\nText\n\n4\n00:00:04,000 --> 00:00:05,000\n[Meanwhile, downtown]\n";
        let subs = parse(srt, "a.srt");
        assert_eq!(subs.cues.len(), 2);
        assert_eq!(subs.cues[0], Cue { start: 1.0, end: 2.5, text: "Hello there, friend!".into(), narration: false });
        assert_eq!(subs.cues[1].text, "Meanwhile, downtown");
        assert!(subs.cues[1].narration);
        assert_eq!(subs.warnings.len(), 2, "{:?}", subs.warnings);
        assert!(subs.warnings[0].starts_with("a.srt:7:"), "{}", subs.warnings[0]);
        assert!(subs.warnings[1].starts_with("a.srt:11:"), "{}", subs.warnings[1]);
    }

    #[test]
    fn reads_webvtt_with_settings_and_header_blocks() {
        let vtt = "\u{feff}WEBVTT\n\nNOTE a comment\n\n00:01.000 --> 00:02.000 align:start\n{\\an8}Hi\n\nid-2\n01:00:00.000 --> 01:00:01.250\nLater\n";
        let subs = parse(vtt, "b.vtt");
        assert!(subs.warnings.is_empty(), "{:?}", subs.warnings);
        assert_eq!(subs.cues.len(), 2);
        assert_eq!((subs.cues[0].start, subs.cues[0].text.as_str()), (1.0, "Hi"));
        assert_eq!((subs.cues[1].start, subs.cues[1].end), (3600.0, 3601.25));
    }
}
