//! `--progress-json`: progress as JSON lines on stdout for programs that run toonflow (the
//! studio). Decided once at start; the commands report through here beside their bars.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);

/// Turns the JSON lines on.
pub fn enable() {
    JSON.store(true, Ordering::Relaxed);
}

/// Whether the JSON lines are on.
pub fn enabled() -> bool {
    JSON.load(Ordering::Relaxed)
}

fn emit(value: serde_json::Value) {
    if enabled() {
        // One write per line, so lines from parallel workers never interleave.
        let _ = writeln!(std::io::stdout().lock(), "{value}");
    }
}

/// `done` units of `stage` (images, frames, …) out of `total`, when known.
pub fn report(stage: &str, done: u64, total: Option<u64>) {
    emit(serde_json::json!({ "stage": stage, "done": done, "total": total }));
}

/// A video's warping error (`video --report`).
pub fn warping_error(mean: f64, pairs: u64) {
    emit(serde_json::json!({ "warping_error": mean, "pairs": pairs }));
}
