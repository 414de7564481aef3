//! The loop every trainer shares: step, log, sample, checkpoint; stop cleanly on cancel.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::run::{io_error, RunDir, RunError, LOG_FILE};

pub trait Trainer {
    type Log: Serialize;
    /// Steps done so far (restored from a checkpoint when resuming).
    fn steps_done(&self) -> usize;
    /// Runs one step and counts it; `seconds` is the run's training time after it.
    fn step(&mut self, seconds_before: f64) -> Self::Log;
    fn seconds(&self) -> f64;
    fn add_seconds(&mut self, seconds: f64);
    fn write_samples(&self, run: &RunDir) -> Result<(), RunError>;
    fn save(&self, run: &RunDir) -> Result<(), RunError>;
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    /// Cancelled (Ctrl-C); the checkpoint holds every completed step.
    Interrupted,
}

pub struct Cadence {
    pub steps: usize,
    pub sample_every: usize,
    pub checkpoint_every: usize,
}

pub fn drive<T: Trainer>(
    trainer: &mut T,
    run: &RunDir,
    cadence: &Cadence,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&T::Log),
) -> Result<Outcome, RunError> {
    let mut log = run.open_log(trainer.steps_done())?;
    let log_path = run.root.join(LOG_FILE);
    while trainer.steps_done() < cadence.steps {
        if cancel.load(Ordering::Relaxed) {
            trainer.save(run)?;
            return Ok(Outcome::Interrupted);
        }
        let started = Instant::now();
        let entry = trainer.step(trainer.seconds());
        trainer.add_seconds(started.elapsed().as_secs_f64());
        writeln!(log, "{}", serde_json::to_string(&entry).expect("log line")).map_err(io_error(&log_path))?;
        progress(&entry);
        let step = trainer.steps_done();
        if step.is_multiple_of(cadence.sample_every.max(1)) || step == cadence.steps {
            trainer.write_samples(run)?;
        }
        if step.is_multiple_of(cadence.checkpoint_every.max(1)) || step == cadence.steps {
            trainer.save(run)?;
        }
    }
    Ok(Outcome::Finished)
}
