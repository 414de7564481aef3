//! The job store: one SQLite file under `--data`. Every state change is written before it is
//! shown, so a restart never loses a finished result; live progress stays in memory.

use crate::engine::JobKind;
use crate::options::JobOptions;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// A worker runs it.
    Running,
    /// Done; its result can be downloaded.
    Finished,
    /// It ended with an error (the error says why).
    Failed,
    /// Cancelled by a user.
    Cancelled,
    /// The studio stopped while it ran; it can be run again.
    Interrupted,
}

impl JobState {
    const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Finished,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Interrupted,
    ];

    /// The name stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Interrupted => "interrupted",
        }
    }

    /// Whether the job will not change any more by itself.
    pub fn is_over(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

/// One job as stored.
#[derive(Clone, Debug, Serialize)]
pub struct JobRecord {
    /// Random; names its folder too.
    pub id: String,
    /// Which command runs it.
    pub kind: JobKind,
    /// Where it is.
    pub state: JobState,
    /// What the user chose.
    pub options: JobOptions,
    /// The uploaded files' names as the client gave them: shown, never used as paths.
    pub inputs: Vec<String>,
    /// Seconds since 1970.
    pub created: f64,
    /// When a worker started it.
    pub started: Option<f64>,
    /// When it ended.
    pub finished: Option<f64>,
    /// Why it failed, or which inputs failed in a batch that otherwise finished.
    pub error: Option<String>,
    /// The result's file name inside the job's output folder.
    pub result: Option<String>,
    /// Video: the warping error of the result (lower is steadier).
    pub warping_error: Option<f64>,
    /// Work units done (images or frames) when it ended.
    pub done: u64,
    /// Work units in all, when known.
    pub total: Option<u64>,
}

impl JobRecord {
    /// A new queued job.
    pub fn new(id: String, kind: JobKind, options: JobOptions, inputs: Vec<String>, created: f64) -> JobRecord {
        JobRecord {
            id,
            kind,
            state: JobState::Queued,
            options,
            inputs,
            created,
            started: None,
            finished: None,
            error: None,
            result: None,
            warping_error: None,
            done: 0,
            total: None,
        }
    }
}

/// Errors of the store: SQLite's, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("job database: {what}: {source}")]
pub struct StoreError {
    what: &'static str,
    #[source]
    source: rusqlite::Error,
}

fn ctx(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError { what, source }
}

/// The open database.
pub struct Store {
    db: Connection,
}

const COLUMNS: &str =
    "id, kind, state, options, inputs, created, started, finished, error, result, warping_error, done, total";

impl Store {
    /// Opens (or creates) the database file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = Connection::open(path).map_err(ctx("open"))?;
        // WAL: readers never wait for the writer, and a kill -9 mid-write loses nothing committed.
        db.pragma_update(None, "journal_mode", "WAL").map_err(ctx("set journal mode"))?;
        db.pragma_update(None, "synchronous", "NORMAL").map_err(ctx("set synchronous"))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                state TEXT NOT NULL,
                options TEXT NOT NULL,
                inputs TEXT NOT NULL,
                created REAL NOT NULL,
                started REAL,
                finished REAL,
                error TEXT,
                result TEXT,
                warping_error REAL,
                done INTEGER NOT NULL DEFAULT 0,
                total INTEGER
            );",
        )
        .map_err(ctx("create table"))?;
        Ok(Store { db })
    }

    /// Writes a job whole: a new one, or a change of its state and outcome.
    pub fn save(&self, job: &JobRecord) -> Result<(), StoreError> {
        self.db
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO jobs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ),
                params![
                    job.id,
                    job.kind.name(),
                    job.state.name(),
                    serde_json::to_string(&job.options).expect("options serialize"),
                    serde_json::to_string(&job.inputs).expect("names serialize"),
                    job.created,
                    job.started,
                    job.finished,
                    job.error,
                    job.result,
                    job.warping_error,
                    job.done as i64,
                    job.total.map(|t| t as i64),
                ],
            )
            .map_err(ctx("save job"))?;
        Ok(())
    }

    /// Removes a job.
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.db.execute("DELETE FROM jobs WHERE id = ?1", params![id]).map_err(ctx("delete job"))?;
        Ok(())
    }

    /// One job.
    pub fn get(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        self.db
            .query_row(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), params![id], row_to_job)
            .optional()
            .map_err(ctx("read job"))
    }

    /// Every job, oldest first. A row this version cannot read (edited by hand) is skipped.
    pub fn all(&self) -> Result<Vec<JobRecord>, StoreError> {
        let mut stmt =
            self.db.prepare(&format!("SELECT {COLUMNS} FROM jobs ORDER BY created, id")).map_err(ctx("list jobs"))?;
        let rows = stmt.query_map([], row_to_job).map_err(ctx("list jobs"))?;
        Ok(rows.filter_map(|r| r.map_err(|e| tracing::warn!("job database: a row skipped: {e}")).ok()).collect())
    }
}

fn row_to_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    let bad = |column: usize, what: String| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, what.into())
    };
    let kind: String = row.get(1)?;
    let state: String = row.get(2)?;
    let options: String = row.get(3)?;
    let inputs: String = row.get(4)?;
    Ok(JobRecord {
        id: row.get(0)?,
        kind: JobKind::from_name(&kind).ok_or_else(|| bad(1, format!("unknown kind {kind}")))?,
        state: JobState::ALL
            .into_iter()
            .find(|s| s.name() == state)
            .ok_or_else(|| bad(2, format!("unknown state {state}")))?,
        options: serde_json::from_str(&options).map_err(|e| bad(3, e.to_string()))?,
        inputs: serde_json::from_str(&inputs).map_err(|e| bad(4, e.to_string()))?,
        created: row.get(5)?,
        started: row.get(6)?,
        finished: row.get(7)?,
        error: row.get(8)?,
        result: row.get(9)?,
        warping_error: row.get(10)?,
        done: row.get::<_, i64>(11)? as u64,
        total: row.get::<_, Option<i64>>(12)?.map(|t| t as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("studio.sqlite");
        let options = JobOptions { strength: Some(0.5), ..JobOptions::default() };
        let mut job = JobRecord::new("abc".into(), JobKind::Video, options, vec!["clip's name.mp4".into()], 1.5);
        {
            let store = Store::open(&path).unwrap();
            store.save(&job).unwrap();
            job.state = JobState::Finished;
            job.result = Some("comic.mp4".into());
            job.warping_error = Some(0.01);
            store.save(&job).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let back = store.get("abc").unwrap().unwrap();
        assert_eq!(back.state, JobState::Finished);
        assert_eq!(back.options, job.options);
        assert_eq!(back.inputs, job.inputs);
        assert_eq!(back.warping_error, Some(0.01));
        assert_eq!(store.all().unwrap().len(), 1);
        store.delete("abc").unwrap();
        assert!(store.get("abc").unwrap().is_none());
    }
}
