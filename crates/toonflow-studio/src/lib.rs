//! `toonflow serve`: the web studio. One page (embedded), a JSON API, jobs in SQLite, a bounded
//! pool of workers running the `toonflow` commands themselves.
//!
//! | module | what it holds |
//! |---|---|
//! | [`engine`] | what the studio asks of toonflow (styles, flag checks, preview, file types) |
//! | [`options`] | a job's JSON options and the command flags they become |
//! | [`store`] | the SQLite job table |
//! | [`jobs`] | records, live progress, queue, workers, the child commands |
//! | [`upload`] | multipart uploads streamed to disk |
//! | [`results`] | a finished job's download |
//! | [`http`] | routes, the host/token/origin guard, JSON errors |

pub mod engine;
pub mod http;
pub mod jobs;
pub mod options;
pub mod results;
pub mod store;
pub mod upload;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Previews of larger images are made at about this many pixels (the page shows them at screen
/// size, and the styles are defined at a reference size, so the look is the same).
pub const PREVIEW_PIXELS: u64 = 1_000_000;

/// Settings of `toonflow serve`.
pub struct StudioConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The data folder: `studio.sqlite`, `jobs/`, `models/`.
    pub data: PathBuf,
    /// The API token; `None` on loopback without `--token`.
    pub token: Option<String>,
    /// Largest upload, bytes.
    pub max_upload: u64,
    /// Jobs at a time.
    pub workers: usize,
    /// Largest image, pixels.
    pub max_pixels: u64,
    /// The `toonflow` executable the jobs run.
    pub program: PathBuf,
    /// Trained models offered besides those in `DATA/models`.
    pub models: Vec<PathBuf>,
}

/// Why the studio could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    /// The data folder.
    #[error("{path}: {source}")]
    Data {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The listening socket.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The job database or the jobs.
    #[error(transparent)]
    Jobs(#[from] jobs::JobError),
    /// The job database.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// A new random token.
pub fn new_token() -> String {
    jobs::new_id()
}

/// The models offered: `--model` files and `DATA/models/*.safetensors`, by file stem (made
/// unique).
fn model_names(data: &std::path::Path, extra: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let mut files: Vec<PathBuf> = extra.to_vec();
    if let Ok(read) = std::fs::read_dir(data.join("models")) {
        let mut found: Vec<PathBuf> = read
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "safetensors") && p.is_file())
            .collect();
        found.sort();
        files.extend(found);
    }
    let mut names = BTreeMap::new();
    for file in files {
        let file = std::fs::canonicalize(&file).unwrap_or(file);
        if names.values().any(|f| f == &file) {
            continue;
        }
        let stem = results::safe_name(&file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default());
        let mut name = stem.clone();
        let mut k = 2;
        while names.contains_key(&name) {
            name = format!("{stem}-{k}");
            k += 1;
        }
        names.insert(name, file);
    }
    names
}

/// Runs the studio until Ctrl-C. `ready` is called with the address once it listens.
pub async fn serve(
    config: StudioConfig,
    engine: Arc<dyn engine::Engine>,
    ready: impl FnOnce(SocketAddr, Option<&str>),
) -> Result<(), StudioError> {
    let data_err = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| StudioError::Data { path, source }
    };
    let jobs_dir = config.data.join("jobs");
    std::fs::create_dir_all(&jobs_dir).map_err(data_err(&jobs_dir))?;
    let store = store::Store::open(&config.data.join("studio.sqlite"))?;
    let models = model_names(&config.data, &config.models);
    let model_styles: Vec<(String, Result<Vec<String>, String>)> =
        models.iter().map(|(name, path)| (name.clone(), engine.model_styles(path))).collect();
    let mut styles = http::styles_json(&engine.presets(), &model_styles);
    // The page checks an upload's size before sending it (a refusal mid-upload reads badly).
    styles["max_upload"] = config.max_upload.into();
    let jobs = jobs::Jobs::start(
        store,
        jobs_dir,
        jobs::WorkerConfig { program: config.program, workers: config.workers, max_pixels: config.max_pixels, models },
    )?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StudioError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StudioError::Listen { addr: config.listen, source })?;
    let hosts = if addr.ip().is_loopback() {
        let port = addr.port();
        vec![format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}"), addr.to_string()]
    } else {
        Vec::new()
    };
    let state = Arc::new(http::AppState {
        jobs,
        engine,
        styles,
        token: config.token,
        hosts,
        max_upload: config.max_upload,
        max_pixels: config.max_pixels,
        previews: tokio::sync::Semaphore::new(2),
    });
    ready(addr, state.token.as_deref());
    let server = axum::serve(listener, http::router(state)).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    tokio::select! {
        result = server => result.map_err(|source| StudioError::Listen { addr, source }),
        // Event streams stay open: after a second for the rest to finish, the studio stops
        // (jobs still running are shown as interrupted at the next start).
        () = async {
            let _ = tokio::signal::ctrl_c().await;
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        } => Ok(()),
    }
}
