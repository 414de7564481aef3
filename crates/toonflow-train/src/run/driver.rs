//! The loop every trainer shares: step, log, sample, checkpoint; stop cleanly on cancel.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::{io_error, RunDir, RunError, RunState, LOG_FILE};

/// One trainer's side of the loop.
pub trait Trainer {
    /// One line of `log.jsonl`.
    type Log: Serialize;
    /// The trainer's settings.
    type Config;
    /// The trainer's own checkpoint state.
    type Extra;
    /// The run's state; the loop counts the steps and their time in it.
    fn state(&mut self) -> &mut RunState<Self::Config, Self::Extra>;
    /// Runs step number `state.step + 1` (the loop then counts it) and returns its log line.
    fn step(&mut self) -> Self::Log;
    /// A step's total generator and discriminator losses, from its log line (the loop stops
    /// the run when one is not a finite number).
    fn losses(log: &Self::Log) -> [(&'static str, f32); 2];
    /// Writes the current step's sample grid.
    fn write_samples(&self, run: &RunDir) -> Result<(), RunError>;
    /// Writes the checkpoint and the model file.
    fn save(&self, run: &RunDir) -> Result<(), RunError>;
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All steps done.
    Finished,
    /// Cancelled (Ctrl-C); the checkpoint holds every completed step.
    Interrupted,
}

/// When the loop stops, samples and saves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    /// Total steps.
    pub steps: usize,
    /// Steps between sample grids (and after the last step).
    pub sample_every: usize,
    /// Steps between checkpoints (and after the last step).
    pub checkpoint_every: usize,
}

/// Steps `trainer` to `cadence.steps`, logging every step, sampling and saving on cadence, and
/// saving before it returns on `cancel`.
pub fn drive<T: Trainer>(
    trainer: &mut T,
    run: &RunDir,
    cadence: &Cadence,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&T::Log),
) -> Result<Outcome, RunError> {
    let mut log = run.open_log(trainer.state().step)?;
    let log_path = run.root.join(LOG_FILE);
    // A run resumed at step n has its checkpoint of step n; a new one has none yet.
    let mut saved = Some(trainer.state().step).filter(|&step| step > 0);
    while trainer.state().step < cadence.steps {
        if cancel.load(Ordering::Relaxed) {
            trainer.save(run)?;
            return Ok(Outcome::Interrupted);
        }
        let started = Instant::now();
        let entry = trainer.step();
        if let Some((loss, _)) = T::losses(&entry).into_iter().find(|(_, value)| !value.is_finite()) {
            // A NaN spreads to every weight at the next update: stop before saving it.
            return Err(RunError::NonFiniteLoss {
                run: run.root.display().to_string(),
                step: trainer.state().step + 1,
                loss,
                saved,
            });
        }
        let state = trainer.state();
        state.step += 1;
        state.seconds += started.elapsed().as_secs_f64();
        let step = state.step;
        writeln!(log, "{}", serde_json::to_string(&entry).expect("log lines are plain data"))
            .map_err(io_error(&log_path))?;
        progress(&entry);
        if step.is_multiple_of(cadence.sample_every.max(1)) || step == cadence.steps {
            trainer.write_samples(run)?;
        }
        if step.is_multiple_of(cadence.checkpoint_every.max(1)) || step == cadence.steps {
            trainer.save(run)?;
            saved = Some(step);
        }
    }
    Ok(Outcome::Finished)
}
