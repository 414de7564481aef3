//! The jobs: their records (SQLite, written through), their live progress (memory), the queue
//! and a bounded pool of workers. A worker runs a job as a child `toonflow` process, the same
//! command a user would type: outputs match the command line's exactly, a cancelled job is
//! killed without waiting for it, and a crash in a job (a corrupt upload) ends that job only.

use crate::engine::JobKind;
use crate::store::{JobRecord, JobState, Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Where a job's files live, under the data folder: `jobs/ID/in` (uploads, named by the studio)
/// and `jobs/ID/out` (what the command wrote), and the result (`out/…` or an archive of it).
pub fn job_dir(jobs_dir: &Path, id: &str) -> PathBuf {
    jobs_dir.join(id)
}

/// A job id: 32 random hex digits. Only strings of this shape are ever joined to a path.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `id` has the shape of a job id.
pub fn is_job_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Seconds since 1970.
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// A job as the API shows it: its record and, while it runs, its live progress.
#[derive(Clone, Debug, Serialize)]
pub struct JobView {
    /// The stored record.
    #[serde(flatten)]
    pub record: JobRecord,
    /// What the command is doing (frames, images, panels…).
    pub stage: Option<String>,
    /// Units per second while running.
    pub rate: Option<f64>,
    /// Seconds left, estimated from the rate.
    pub eta_seconds: Option<f64>,
    /// 0 to 1.
    pub progress: Option<f64>,
    /// For a queued job: how many jobs run or wait before it.
    pub queue_position: Option<usize>,
}

/// Progress while a job runs.
#[derive(Clone, Debug, Default)]
struct Live {
    stage: Option<String>,
    /// When the first unit was reported, and how many units it was (the rate's start).
    first: Option<(Instant, u64)>,
    last_event: Option<Instant>,
}

struct Entry {
    record: JobRecord,
    live: Live,
    /// Set while a worker runs it: sending asks the worker to kill the command, and the worker
    /// answers once the command is gone.
    cancel: Option<oneshot::Sender<oneshot::Sender<()>>>,
}

/// What went wrong with a job request.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No job has that id.
    #[error("no job {0}")]
    NotFound(String),
    /// The request does not fit the job's state.
    #[error("{0}")]
    Conflict(String),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The job's files.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// Everything about jobs; shared by the HTTP handlers and the workers.
pub struct Jobs {
    store: Mutex<Store>,
    entries: Mutex<HashMap<String, Entry>>,
    events: broadcast::Sender<String>,
    queue: mpsc::UnboundedSender<String>,
    dir: PathBuf,
    program: PathBuf,
    models: BTreeMap<String, PathBuf>,
    max_pixels: u64,
}

/// Settings of the workers.
pub struct WorkerConfig {
    /// The `toonflow` executable jobs run.
    pub program: PathBuf,
    /// How many jobs run at a time.
    pub workers: usize,
    /// Images over this many pixels are refused (as `stylize --max-pixels`).
    pub max_pixels: u64,
    /// Model names clients may use, and their files.
    pub models: BTreeMap<String, PathBuf>,
}

impl Jobs {
    /// Opens the store, marks what was running when the studio last stopped as interrupted,
    /// queues again what was waiting, and starts the workers.
    pub fn start(store: Store, jobs_dir: PathBuf, config: WorkerConfig) -> Result<Arc<Jobs>, JobError> {
        let (queue, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(1024);
        let mut entries = HashMap::new();
        let mut waiting = Vec::new();
        for mut record in store.all()? {
            if record.state == JobState::Running {
                record.state = JobState::Interrupted;
                record.error = Some("the studio stopped while this job ran; run it again".into());
                store.save(&record)?;
            }
            if record.state == JobState::Queued {
                waiting.push(record.id.clone());
            }
            entries.insert(record.id.clone(), Entry { record, live: Live::default(), cancel: None });
        }
        remove_orphans(&jobs_dir, &entries);
        let jobs = Arc::new(Jobs {
            store: Mutex::new(store),
            entries: Mutex::new(entries),
            events,
            queue,
            dir: jobs_dir,
            program: config.program,
            models: config.models,
            max_pixels: config.max_pixels,
        });
        for id in waiting {
            let _ = jobs.queue.send(id);
        }
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..config.workers.max(1) {
            let (jobs, rx) = (jobs.clone(), rx.clone());
            tokio::spawn(async move {
                loop {
                    let Some(id) = rx.lock().await.recv().await else { return };
                    jobs.run(&id).await;
                }
            });
        }
        Ok(jobs)
    }

    /// The models clients may name.
    pub fn models(&self) -> &BTreeMap<String, PathBuf> {
        &self.models
    }

    /// The folder that holds every job's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Updates as they happen: each a job's view in JSON, or `{"id":…,"deleted":true}`.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.events.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A handler that panicked mid-update leaves whole records (each field is assigned whole).
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a job whose inputs are already in its folder, and queues it.
    pub fn submit(&self, record: JobRecord) -> Result<JobView, JobError> {
        self.store().save(&record)?;
        let id = record.id.clone();
        self.lock().insert(id.clone(), Entry { record, live: Live::default(), cancel: None });
        let _ = self.queue.send(id.clone());
        let view = self.get(&id)?;
        self.publish(&view);
        Ok(view)
    }

    /// One job's view.
    pub fn get(&self, id: &str) -> Result<JobView, JobError> {
        let entries = self.lock();
        let entry = entries.get(id).ok_or_else(|| JobError::NotFound(id.into()))?;
        let position = (entry.record.state == JobState::Queued).then(|| {
            entries
                .values()
                .filter(|e| {
                    e.record.state == JobState::Running
                        || (e.record.state == JobState::Queued
                            && (e.record.created, &e.record.id) < (entry.record.created, &entry.record.id))
                })
                .count()
        });
        Ok(view(entry, position))
    }

    /// Every job, newest first.
    pub fn list(&self) -> Vec<JobView> {
        let entries = self.lock();
        let mut all: Vec<&Entry> = entries.values().collect();
        all.sort_by(|a, b| a.record.created.total_cmp(&b.record.created).then(a.record.id.cmp(&b.record.id)));
        let mut ahead = all.iter().filter(|e| e.record.state == JobState::Running).count();
        let mut views: Vec<JobView> = all
            .iter()
            .map(|e| {
                let position = (e.record.state == JobState::Queued).then(|| {
                    ahead += 1;
                    ahead - 1
                });
                view(e, position)
            })
            .collect();
        views.reverse();
        views
    }

    /// Cancels a queued or running job; once this returns, its command no longer runs.
    pub async fn cancel(&self, id: &str) -> Result<JobView, JobError> {
        let ack = {
            let mut entries = self.lock();
            let entry = entries.get_mut(id).ok_or_else(|| JobError::NotFound(id.into()))?;
            match entry.record.state {
                JobState::Queued => {
                    entry.record.state = JobState::Cancelled;
                    entry.record.finished = Some(now());
                    self.store().save(&entry.record)?;
                    None
                }
                JobState::Running => entry.cancel.take().map(|cancel| {
                    let (tx, rx) = oneshot::channel();
                    let _ = cancel.send(tx);
                    rx
                }),
                state => return Err(JobError::Conflict(format!("job {id} is {}; nothing to cancel", state.name()))),
            }
        };
        if let Some(ack) = ack {
            let _ = ack.await;
        }
        let view = self.get(id)?;
        self.publish(&view);
        Ok(view)
    }

    /// Cancels a job if it is not over, then deletes it and its files.
    pub async fn delete(&self, id: &str) -> Result<(), JobError> {
        if !self.get(id)?.record.state.is_over() {
            // It may have ended in between: then there is nothing left to cancel.
            let _ = self.cancel(id).await;
        }
        self.store().delete(id)?;
        self.lock().remove(id);
        let dir = job_dir(&self.dir, id);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(JobError::Io { what: format!("cannot remove {}", dir.display()), source: e })
            }
            _ => {}
        }
        let _ = self.events.send(serde_json::json!({"id": id, "deleted": true}).to_string());
        Ok(())
    }

    /// Queues an interrupted, failed or cancelled job again, from its uploads.
    pub fn rerun(&self, id: &str) -> Result<JobView, JobError> {
        {
            let mut entries = self.lock();
            let entry = entries.get_mut(id).ok_or_else(|| JobError::NotFound(id.into()))?;
            if !matches!(entry.record.state, JobState::Interrupted | JobState::Failed | JobState::Cancelled) {
                return Err(JobError::Conflict(format!(
                    "job {id} is {}; only an interrupted, failed or cancelled job runs again",
                    entry.record.state.name()
                )));
            }
            let record = &mut entry.record;
            record.state = JobState::Queued;
            (record.started, record.finished, record.error, record.result, record.warping_error) =
                (None, None, None, None, None);
            (record.done, record.total) = (0, None);
            entry.live = Live::default();
            self.store().save(record)?;
        }
        let _ = self.queue.send(id.to_string());
        let view = self.get(id)?;
        self.publish(&view);
        Ok(view)
    }

    fn publish(&self, view: &JobView) {
        let _ = self.events.send(serde_json::to_string(view).expect("views serialize"));
    }

    /// Applies `change` to a job's entry, stores it when `persist`, and tells the subscribers.
    fn change(&self, id: &str, persist: bool, change: impl FnOnce(&mut Entry)) {
        {
            let mut entries = self.lock();
            let Some(entry) = entries.get_mut(id) else { return };
            change(entry);
            if persist {
                if let Err(e) = self.store().save(&entry.record) {
                    tracing::error!("job {id}: {e}");
                }
            }
        }
        if let Ok(view) = self.get(id) {
            self.publish(&view);
        }
    }

    /// Runs a queued job to its end (a worker's loop body).
    async fn run(&self, id: &str) {
        let (cancel_tx, cancel_rx) = oneshot::channel();
        let (kind, options) = {
            let mut entries = self.lock();
            let Some(entry) = entries.get_mut(id) else { return };
            if entry.record.state != JobState::Queued {
                return; // cancelled or deleted while it waited
            }
            entry.record.state = JobState::Running;
            entry.record.started = Some(now());
            entry.live = Live::default();
            entry.cancel = Some(cancel_tx);
            if let Err(e) = self.store().save(&entry.record) {
                tracing::error!("job {id}: {e}");
            }
            (entry.record.kind, entry.record.options.clone())
        };
        if let Ok(view) = self.get(id) {
            self.publish(&view);
        }
        let dir = job_dir(&self.dir, id);
        let outcome = match options.job_args(kind, &self.models) {
            Ok(args) => self.run_command(id, kind, &dir, &args, cancel_rx).await,
            Err(e) => Outcome::Failed(e.to_string()),
        };
        let end = match outcome {
            Outcome::Done { error } => {
                let inputs = self.get(id).map(|v| v.record.inputs).unwrap_or_default();
                let dir = dir.clone();
                match tokio::task::spawn_blocking(move || crate::results::collect(kind, &dir, &inputs)).await {
                    Ok(Ok(result)) => End::Finished { result, error },
                    Ok(Err(e)) => End::Failed(e),
                    Err(e) => End::Failed(format!("collecting the result failed: {e}")),
                }
            }
            Outcome::Failed(e) => End::Failed(e),
            Outcome::Cancelled(ack) => End::Cancelled(ack),
        };
        let mut ack = None;
        self.change(id, true, |entry| {
            let record = &mut entry.record;
            record.finished = Some(now());
            match end {
                End::Finished { result, error } => {
                    record.state = JobState::Finished;
                    record.result = Some(result);
                    record.error = error;
                    if let Some(total) = record.total {
                        record.done = total;
                    }
                }
                End::Failed(error) => {
                    record.state = JobState::Failed;
                    record.error = Some(error);
                }
                End::Cancelled(sender) => {
                    record.state = JobState::Cancelled;
                    ack = Some(sender);
                }
            }
            entry.cancel = None;
            entry.live.stage = None;
        });
        if let Some(ack) = ack {
            let _ = std::fs::remove_dir_all(dir.join("out"));
            let _ = ack.send(());
        }
    }

    /// Runs the job's command, following its progress, until it exits or is cancelled.
    async fn run_command(
        &self,
        id: &str,
        kind: JobKind,
        dir: &Path,
        args: &[String],
        mut cancel: oneshot::Receiver<oneshot::Sender<()>>,
    ) -> Outcome {
        let out = dir.join("out");
        // A run again starts from nothing: what an interrupted run left is not a result.
        let _ = std::fs::remove_dir_all(&out);
        if let Err(e) = std::fs::create_dir_all(&out) {
            return Outcome::Failed(format!("cannot create {}: {e}", out.display()));
        }
        let input = dir.join("in");
        let mut command = tokio::process::Command::new(&self.program);
        command.args(["--quiet", "--progress-json", kind.command()]);
        match kind {
            JobKind::Image => {
                command.arg(&input).arg("-o").arg(&out).arg(format!("--max-pixels={}", self.max_pixels));
            }
            JobKind::Video => {
                command.arg(input.join(crate::upload::VIDEO_NAME)).arg("-o").arg(out.join("comic.mp4")).arg("--report");
            }
            JobKind::Webtoon => {
                command.arg(input.join(crate::upload::VIDEO_NAME)).arg("-o").arg(out.join("episode"));
                let subtitles = input.join(crate::upload::SUBTITLES_NAME);
                if subtitles.is_file() {
                    command.arg("--subtitles").arg(subtitles);
                }
            }
        }
        command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        // Its own process group, so that a cancel reaches the FFmpeg processes it starts too.
        #[cfg(unix)]
        command.process_group(0);
        die_with_parent(&mut command);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return Outcome::Failed(format!("cannot start {}: {e}", self.program.display())),
        };
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let progress = async {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                self.on_progress_line(id, &line);
            }
        };
        let messages = async {
            // The last lines are the ones that say why it failed.
            let mut kept = VecDeque::new();
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if kept.len() == 40 {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
            kept
        };
        let run = async { tokio::join!(child.wait(), progress, messages) };
        tokio::select! {
            (status, (), messages) = run => {
                let messages = self.in_client_names(id, dir, &errors_for_a_person(&messages));
                match status {
                    Ok(s) if s.success() => Outcome::Done { error: None },
                    // Exit 1 from stylize: some images failed; the others are the result.
                    Ok(s) if s.code() == Some(1) && kind == JobKind::Image && has_files(&out) => {
                        Outcome::Done { error: Some(messages) }
                    }
                    Ok(s) => Outcome::Failed(if messages.is_empty() { format!("the command ended with {s}") } else { messages }),
                    Err(e) => Outcome::Failed(format!("waiting for the command: {e}")),
                }
            }
            Ok(ack) = &mut cancel => {
                kill_group(&child);
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
                Outcome::Cancelled(ack)
            }
        }
    }

    /// A message with the studio's paths of the uploads replaced by the names the client gave
    /// them: "holiday.jpg: truncated JPEG data", not a path inside the data folder.
    fn in_client_names(&self, id: &str, dir: &Path, text: &str) -> String {
        let names = self.get(id).map(|v| v.record.inputs).unwrap_or_default();
        let mut text = text.replace("failed: ", "");
        if let Ok(read) = std::fs::read_dir(dir.join("in")) {
            for entry in read.flatten() {
                let stored = entry.file_name().to_string_lossy().to_string();
                let shown = match crate::upload::client_name(&stored, &names) {
                    Some(name) => name,
                    None if stored == crate::upload::SUBTITLES_NAME => "the subtitle file",
                    None => continue,
                };
                text = text.replace(&entry.path().display().to_string(), shown);
            }
        }
        text.replace(&format!("{}/", dir.display()), "")
    }

    /// A line of the command's `--progress-json` output.
    fn on_progress_line(&self, id: &str, line: &str) {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else { return };
        if let Some(w) = event.get("warping_error").and_then(|v| v.as_f64()) {
            self.change(id, true, |entry| entry.record.warping_error = Some(w));
            return;
        }
        let Some(done) = event.get("done").and_then(|v| v.as_u64()) else { return };
        let total = event.get("total").and_then(|v| v.as_u64());
        let stage = event.get("stage").and_then(|v| v.as_str()).map(str::to_string);
        let publish = {
            let mut entries = self.lock();
            let Some(entry) = entries.get_mut(id) else { return };
            let now = Instant::now();
            if entry.live.stage != stage {
                // A new stage counts its own units: its rate starts again.
                entry.live.first = None;
                entry.live.stage = stage;
            }
            entry.live.first.get_or_insert((now, done));
            entry.record.done = done;
            entry.record.total = total;
            // At most ten updates a second per job reach the page; the last one always does.
            let due = entry.live.last_event.is_none_or(|t| now - t >= Duration::from_millis(100));
            let last = total == Some(done);
            if due || last {
                entry.live.last_event = Some(now);
            }
            due || last
        };
        if publish {
            if let Ok(view) = self.get(id) {
                self.publish(&view);
            }
        }
    }
}

/// How a job's command ended.
enum Outcome {
    /// It succeeded (with the failures of some images of a batch).
    Done {
        error: Option<String>,
    },
    Failed(String),
    /// Killed on request; the sender tells the canceller it is gone.
    Cancelled(oneshot::Sender<()>),
}

/// How the job ended, its result collected.
enum End {
    Finished { result: String, error: Option<String> },
    Failed(String),
    Cancelled(oneshot::Sender<()>),
}

fn view(entry: &Entry, queue_position: Option<usize>) -> JobView {
    let record = entry.record.clone();
    let running = record.state == JobState::Running;
    let rate = entry.live.first.filter(|_| running).and_then(|(since, first)| {
        let seconds = since.elapsed().as_secs_f64();
        (seconds > 0.2 && record.done > first).then(|| (record.done - first) as f64 / seconds)
    });
    let progress = match record.total {
        Some(total) if total > 0 => Some((record.done as f64 / total as f64).min(1.0)),
        _ if record.state == JobState::Finished => Some(1.0),
        _ => None,
    };
    let eta_seconds = match (rate, record.total) {
        (Some(rate), Some(total)) if rate > 0.0 => Some(total.saturating_sub(record.done) as f64 / rate),
        _ => None,
    };
    JobView { stage: entry.live.stage.clone().filter(|_| running), rate, eta_seconds, progress, queue_position, record }
}

/// The command's messages without its own name, the lines that matter for a person.
fn errors_for_a_person(lines: &VecDeque<String>) -> String {
    let kept: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_prefix("toonflow: ").unwrap_or(l))
        .collect();
    kept.join("\n")
}

fn has_files(dir: &Path) -> bool {
    walk_files(dir).next().is_some()
}

/// The files under `dir`, in name order.
pub fn walk_files(dir: &Path) -> impl Iterator<Item = PathBuf> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
}

/// Removes job folders no record names: the uploads of a request the studio was killed during
/// (the record is written once the upload is whole). Only folders named like job ids are
/// touched.
fn remove_orphans(jobs_dir: &Path, entries: &HashMap<String, Entry>) {
    let Ok(read) = std::fs::read_dir(jobs_dir) else { return };
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if is_job_id(&name) && !entries.contains_key(&name) && entry.path().is_dir() {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => tracing::info!("removed {}: an upload cut off by an earlier stop", entry.path().display()),
                Err(e) => tracing::warn!("cannot remove {}: {e}", entry.path().display()),
            }
        }
    }
}

/// Kills the command and every process of its group (its FFmpeg decoders and encoder).
fn kill_group(child: &tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group the command leads (it
        // was started with process_group(0)); it reads no memory of ours.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = child;
}

/// The job's command dies with the studio: a studio killed with `kill -9` leaves no command
/// running unseen, and its job is shown as interrupted at the next start.
fn die_with_parent(command: &mut tokio::process::Command) {
    #[cfg(target_os = "linux")]
    // SAFETY: the closure runs in the forked child before exec and only calls prctl, which is
    // async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}
