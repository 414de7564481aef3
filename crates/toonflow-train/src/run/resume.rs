//! Starting or resuming a run: one implementation and one policy for every trainer.
//!
//! A resumed run trains on with the checkpoint's networks, optimizers and random state. It may
//! change its length and cadence; with `--fine-tune` also the settings its trainer names as
//! fine-tunable (loss weights, say); nothing else — anything that shapes the networks, the data
//! pipeline or the optimizer would make the checkpoint describe another run.

use burn::module::Module;
use burn::tensor::Device;
use serde::{de::DeserializeOwned, Serialize};
use toonflow_model::burn;

use super::checkpoint::{Adversaries, RunState, StoredCheckpoint, CHECKPOINT_FORMAT};
use super::{seeded_init, OptimizerConfig, RunDir, RunError};
use crate::ada::AdaState;
use crate::rng::Rng;

/// What a resumed run may change besides its length and cadence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnResume {
    /// Nothing else: a forgotten flag must not silently change a run.
    KeepSettings,
    /// The fine-tunable settings too (e.g. for video); the change is logged.
    FineTune,
}

/// Which top-level settings of a trainer's config a resumed run may change.
#[derive(Clone, Copy, Debug)]
pub struct ResumePolicy {
    /// Always (length and cadence).
    pub free: &'static [&'static str],
    /// Only with [`OnResume::FineTune`], named in messages by the second string.
    pub fine_tune: &'static [(&'static str, &'static str)],
}

/// A trainer's settings, as the run core needs them.
pub trait RunConfig: Clone + Serialize + DeserializeOwned {
    /// What a resumed run may change.
    const RESUME: ResumePolicy;
    /// The seed of a new run.
    fn seed(&self) -> u64;
    /// Adam's settings.
    fn optimizer(&self) -> &OptimizerConfig;
}

/// The top-level settings whose values differ between two configs, in name order.
pub fn changed_settings<C: Serialize>(old: &C, new: &C) -> Vec<String> {
    let (old, new) = (serde_json::to_value(old), serde_json::to_value(new));
    let (Ok(serde_json::Value::Object(old)), Ok(serde_json::Value::Object(new))) = (old, new) else {
        return vec!["(settings)".into()];
    };
    let mut names: Vec<String> = old.keys().chain(new.keys()).filter(|k| old.get(*k) != new.get(*k)).cloned().collect();
    names.sort();
    names.dedup();
    names
}

/// Whether a checkpoint trained with `old` may go on with `new`; if so, the fine-tuned settings
/// among the changed ones (logged as a warning; a longer run or another cadence is not).
fn check_resume<C: RunConfig>(run: &RunDir, old: &C, new: &C, on_resume: OnResume) -> Result<Vec<String>, RunError> {
    let policy = C::RESUME;
    let changed = changed_settings(old, new);
    let fine_tunable = |name: &str| policy.fine_tune.iter().find(|(n, _)| *n == name).map(|(_, shown)| *shown);
    let structural: Vec<&str> =
        changed.iter().map(String::as_str).filter(|n| !policy.free.contains(n) && fine_tunable(n).is_none()).collect();
    if !structural.is_empty() {
        return Err(RunError::Resume(format!(
            "{}: the checkpoint was trained with other settings ({}); use a new run folder, or the same settings \
             to resume",
            run.root.display(),
            structural.join(", ")
        )));
    }
    let tuned: Vec<&str> = changed.iter().filter_map(|n| fine_tunable(n)).collect();
    if !tuned.is_empty() && on_resume != OnResume::FineTune {
        return Err(RunError::Resume(format!(
            "{}: the checkpoint was trained with other {}; resume with the same settings, or pass --fine-tune to go \
             on with the new ones",
            run.root.display(),
            tuned.join(" and ")
        )));
    }
    Ok(tuned.into_iter().map(String::from).collect())
}

/// A run's networks, optimizers and state, wherever it started.
pub struct Session<G, D, C, E> {
    /// Both networks and their optimizers.
    pub nets: Adversaries<G, D>,
    /// Step, time, random state, settings.
    pub state: RunState<C, E>,
}

/// Resumes the run in `run` from its last checkpoint, or starts it. `config` is the effective
/// configuration (resolved once, before); `names` the styles or classes of the data; `init`
/// builds fresh networks for a configuration (seeded by this function for a new run).
pub fn start_or_resume<G: Module, D: Module, C: RunConfig, E: Default + Serialize + DeserializeOwned>(
    run: &RunDir,
    config: C,
    names: &[String],
    on_resume: OnResume,
    device: &Device,
    init: impl Fn(&C) -> (G, D),
) -> Result<Session<G, D, C, E>, RunError> {
    let fresh_nets = |config: &C, g: G, d: D| Adversaries {
        g,
        d,
        opt_g: config.optimizer().adam(),
        opt_d: config.optimizer().adam(),
    };
    match run.load_checkpoint::<C, E>()? {
        Some(StoredCheckpoint { mut state, nets: stored }) => {
            if state.names != names {
                return Err(RunError::Resume(format!(
                    "{}: the checkpoint was trained on other styles or classes ({}; the data has {}); use a new run \
                     folder",
                    run.root.display(),
                    state.names.join(", "),
                    names.join(", ")
                )));
            }
            let tuned = check_resume(run, &state.config, &config, on_resume)?;
            if !tuned.is_empty() {
                tracing::warn!(step = state.step, changed = ?tuned, "fine-tuning: resuming with changed settings");
            }
            state.config = config;
            let (g, d) = init(&state.config);
            let nets = stored.restore(fresh_nets(&state.config, g, d))?;
            tracing::info!(step = state.step, "resuming from checkpoint");
            Ok(Session { nets, state })
        }
        None => {
            let (g, d) = seeded_init(device, config.seed(), || init(&config));
            let state = RunState {
                format: CHECKPOINT_FORMAT,
                step: 0,
                seconds: 0.0,
                rng: Rng::new(config.seed()),
                ada: AdaState::default(),
                names: names.to_vec(),
                extra: E::default(),
                config: config.clone(),
            };
            Ok(Session { nets: fresh_nets(&config, g, d), state })
        }
    }
}
