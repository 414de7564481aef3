//! The HTTP side: the page, the JSON API, and the checks every API call passes (host, token,
//! origin). Errors are JSON: `{"error": "a sentence for a person"}`.

use crate::engine::{Engine, Preset};
use crate::jobs::{is_job_id, job_dir, new_id, now, JobError, Jobs};
use crate::store::{JobRecord, JobState};
use crate::upload::{self, UploadError};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::Stream;
use std::convert::Infallible;
use std::path::{Component, Path};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// What the handlers share.
pub struct AppState {
    /// The jobs.
    pub jobs: Arc<Jobs>,
    /// toonflow's own work.
    pub engine: Arc<dyn Engine>,
    /// The styles list, made once at start.
    pub styles: serde_json::Value,
    /// Required on every API call when set.
    pub token: Option<String>,
    /// Host names the studio answers to (empty: any, when it listens beyond loopback).
    pub hosts: Vec<String>,
    /// Upload limit in bytes.
    pub max_upload: u64,
    /// Pixel limit of images.
    pub max_pixels: u64,
    /// Previews at a time: each is CPU work, and a page moving a slider sends many.
    pub previews: tokio::sync::Semaphore,
}

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> ApiError {
        let status = match &e {
            JobError::NotFound(_) => StatusCode::NOT_FOUND,
            JobError::Conflict(_) => StatusCode::CONFLICT,
            JobError::Store(_) | JobError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> ApiError {
        let status = match &e {
            UploadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UploadError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UploadError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The page, embedded: no CDN, no network.
const PAGE: &str = include_str!("../assets/index.html");

/// The router.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/styles", get(styles))
        .route("/preview", post(preview).layer(DefaultBodyLimit::max(256 << 20)))
        .route("/jobs", get(list_jobs).post(create_job).layer(DefaultBodyLimit::disable()))
        .route("/jobs/{id}", get(get_job).delete(delete_job))
        .route("/jobs/{id}/cancel", post(cancel_job))
        .route("/jobs/{id}/rerun", post(rerun_job))
        .route("/jobs/{id}/result", get(result))
        .route("/jobs/{id}/files/{*path}", get(job_file))
        .route("/events", get(events))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such API call (see the README's API table)") })
        .layer(middleware::from_fn_with_state(state.clone(), guard));
    Router::new()
        .route("/", get(page))
        .nest("/api", api)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such page") })
        .with_state(state)
}

async fn page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(e) = check_host(&state, &headers) {
        return e.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // Only this page's own scripts and the studio's own API: nothing from elsewhere.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' blob: data:; media-src 'self' blob:; frame-ancestors 'none'",
            ),
        ],
        PAGE,
    )
        .into_response()
}

fn check_host(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if state.hosts.is_empty() {
        return Ok(());
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    // A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding) sends its
    // own name here: refused.
    if state.hosts.iter().any(|h| h == host) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::MISDIRECTED_REQUEST, format!("this studio does not answer to host {host:?}")))
    }
}

/// A refusal sent before the request's body was read would reach a client still sending it as
/// a reset connection instead of the message: up to this much is read (and dropped) first.
const DRAINED_BEFORE_REFUSING: usize = 8 << 20;

/// Reads and drops a refused request's body, up to [`DRAINED_BEFORE_REFUSING`].
async fn drain(body: Body) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read > DRAINED_BEFORE_REFUSING {
            break;
        }
    }
}

/// Host, token and origin checks before any API call.
async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    match check(&state, &request) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            drain(request.into_body()).await;
            refusal.into_response()
        }
    }
}

fn check(state: &AppState, request: &Request) -> ApiResult<()> {
    check_host(state, request.headers())?;
    if let Some(token) = &state.token {
        let bearer = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        // EventSource, <img> and download links cannot set headers: a `token` query works too.
        let query = request.uri().query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("token="));
        let given = bearer.or(query).unwrap_or("");
        if !same_secret(given.as_bytes(), token.as_bytes()) {
            let message = if given.is_empty() {
                "this studio needs its token (printed when it started): header Authorization: Bearer TOKEN"
            } else {
                "wrong token"
            };
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, message));
        }
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let headers = request.headers();
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
        let site = headers.get("sec-fetch-site").and_then(|h| h.to_str().ok());
        let same_origin = origin.is_none_or(|o| o == format!("http://{host}"));
        if !same_origin || site.is_some_and(|s| s != "same-origin" && s != "none") {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross-origin request refused: only the studio's own page may change jobs",
            ));
        }
    }
    Ok(())
}

/// Compares in time that does not depend on where the strings differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn styles(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(state.styles.clone())
}

/// The styles list: presets and each model's style ids.
pub fn styles_json(presets: &[Preset], models: &[(String, Result<Vec<String>, String>)]) -> serde_json::Value {
    serde_json::json!({
        "presets": presets,
        "models": models.iter().map(|(name, styles)| match styles {
            Ok(styles) => serde_json::json!({"name": name, "styles": styles}),
            Err(e) => serde_json::json!({"name": name, "styles": [], "error": e}),
        }).collect::<Vec<_>>(),
    })
}

async fn preview(State(state): State<Arc<AppState>>, mut multipart: Multipart) -> ApiResult<Response> {
    let mut image = None;
    let mut options = String::new();
    while let Some(field) =
        multipart.next_field().await.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?
    {
        match field.name().unwrap_or("") {
            "file" => {
                image =
                    Some(field.bytes().await.map_err(|e| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()))?)
            }
            "options" => {
                options = field.text().await.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown form field {other:?} (file, options)"),
                ))
            }
        }
    }
    let image = image.ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "no image (form field \"file\")"))?;
    let options = crate::options::JobOptions::parse(&options)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let args =
        options.style_args(state.jobs.models()).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let _permit =
        state.previews.acquire().await.map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let (engine, max_pixels) = (state.engine.clone(), state.max_pixels);
    let png = tokio::task::spawn_blocking(move || engine.preview(&image, &args, max_pixels, crate::PREVIEW_PIXELS))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the preview failed: {e}")))?
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e))?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}

async fn create_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> ApiResult<Response> {
    // A declared size over the limit is refused before a byte is stored.
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_upload + (1 << 20)) {
        return Err(UploadError::TooLarge { limit: upload::human_size(state.max_upload) }.into());
    }
    let id = new_id();
    let dir = job_dir(state.jobs.dir(), &id);
    let received = match upload::receive(&mut multipart, &dir, state.max_upload, &state.engine).await {
        Ok(r) => r,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            upload::drain(&mut multipart, DRAINED_BEFORE_REFUSING as u64).await;
            return Err(e.into());
        }
    };
    // The command's own parser checks every value now, so a bad knob is a 400, not a failed job.
    let checked = received
        .options
        .job_args(received.kind, state.jobs.models())
        .map_err(|e| e.to_string())
        .and_then(|args| state.engine.check(received.kind, &args));
    if let Err(e) = checked {
        let _ = tokio::fs::remove_dir_all(&dir).await;
        return Err(ApiError::new(StatusCode::BAD_REQUEST, e));
    }
    let record = JobRecord::new(id, received.kind, received.options, received.names, now());
    let view = state.jobs.submit(record)?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

fn job_id(id: &str) -> ApiResult<&str> {
    if is_job_id(id) {
        Ok(id)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, format!("no job {id:?}")))
    }
}

async fn list_jobs(State(state): State<Arc<AppState>>) -> Response {
    Json(state.jobs.list()).into_response()
}

async fn get_job(State(state): State<Arc<AppState>>, UrlPath(id): UrlPath<String>) -> ApiResult<Response> {
    Ok(Json(state.jobs.get(job_id(&id)?)?).into_response())
}

async fn delete_job(State(state): State<Arc<AppState>>, UrlPath(id): UrlPath<String>) -> ApiResult<Response> {
    state.jobs.delete(job_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn cancel_job(State(state): State<Arc<AppState>>, UrlPath(id): UrlPath<String>) -> ApiResult<Response> {
    Ok(Json(state.jobs.cancel(job_id(&id)?).await?).into_response())
}

async fn rerun_job(State(state): State<Arc<AppState>>, UrlPath(id): UrlPath<String>) -> ApiResult<Response> {
    Ok(Json(state.jobs.rerun(job_id(&id)?)?).into_response())
}

async fn result(State(state): State<Arc<AppState>>, UrlPath(id): UrlPath<String>) -> ApiResult<Response> {
    let view = state.jobs.get(job_id(&id)?)?;
    let Some(result) = view.record.result.as_deref().filter(|_| view.record.state == JobState::Finished) else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("job {id} is {}; it has no result yet", view.record.state.name()),
        ));
    };
    let name = crate::results::download_name(view.record.kind, &view.record.inputs, result);
    let path = job_dir(state.jobs.dir(), &id).join(result);
    send_file(&path, Some(&name)).await
}

async fn job_file(
    State(state): State<Arc<AppState>>,
    UrlPath((id, path)): UrlPath<(String, String)>,
) -> ApiResult<Response> {
    let view = state.jobs.get(job_id(&id)?)?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("job {id} has no file {path:?}"));
    if view.record.state != JobState::Finished || view.record.kind != crate::engine::JobKind::Webtoon {
        return Err(not_found());
    }
    let root = job_dir(state.jobs.dir(), &id).join("out").join("episode");
    // Plain names only: no `..`, no root, no drive; and what it resolves to must stay inside.
    let relative = Path::new(&path);
    if path.contains('\\') || !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(not_found());
    }
    let file = root.join(relative);
    match (std::fs::canonicalize(&file), std::fs::canonicalize(&root)) {
        (Ok(file), Ok(root)) if file.starts_with(&root) && file.is_file() => send_file(&file, None).await,
        _ => Err(not_found()),
    }
}

/// Streams a file; `download` names it as an attachment.
async fn send_file(path: &Path, download: Option<&str>) -> ApiResult<Response> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, format!("the result file is gone: {e}")))?;
    let length = file.metadata().await.map(|m| m.len()).ok();
    let mime = match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "mp4" => "video/mp4",
        "zip" | "cbz" => "application/zip",
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    };
    let mut response = Response::builder().header(header::CONTENT_TYPE, mime);
    if let Some(n) = length {
        response = response.header(header::CONTENT_LENGTH, n);
    }
    if let Some(name) = download {
        response = response.header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""));
    }
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    response.body(body).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn events(State(state): State<Arc<AppState>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.jobs.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(json) => Event::default().event("job").data(json),
            // Too slow to keep up: the page fetches the whole list again.
            Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
