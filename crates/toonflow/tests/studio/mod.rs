//! What the studio tests share: a `toonflow serve` on an ephemeral loopback port, an HTTP
//! client, multipart bodies, a clip.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running studio; killed when dropped.
pub struct Studio {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub data: PathBuf,
    agent: ureq::Agent,
}

/// An HTTP answer: status, headers we look at, body.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub disposition: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", String::from_utf8_lossy(&self.body)))
            .to_string()
    }
}

/// One multipart part: field name, file name (None for a text field), bytes.
pub type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----toonflowtestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.expect("the studio answers");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let body = response.body_mut().with_config().limit(1 << 30).read_to_vec().expect("a body");
    Reply { status: response.status().as_u16(), content_type, disposition, body }
}

impl Studio {
    /// Starts `toonflow serve` on a free loopback port with its data in `data`.
    pub fn start(data: &Path, extra: &[&str]) -> Studio {
        let mut child = Command::new(env!("CARGO_BIN_EXE_toonflow"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start toonflow serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("toonflow studio: ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                let mut err = String::new();
                let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
                panic!("no address from toonflow serve: {line:?} {err}")
            })
            .split("/?")
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        Studio { child, url, data: data.to_path_buf(), agent: agent() }
    }

    pub fn get(&self, path: &str) -> Reply {
        reply(self.agent.get(format!("{}{path}", self.url)).call())
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.get(format!("{}{path}", self.url));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        reply(request.call())
    }

    pub fn post(&self, path: &str, parts: &[Part<'_>]) -> Reply {
        self.post_with(path, parts, &[])
    }

    pub fn post_with(&self, path: &str, parts: &[Part<'_>], headers: &[(&str, &str)]) -> Reply {
        let (content_type, body) = multipart(parts);
        let mut request = self.agent.post(format!("{}{path}", self.url)).header("Content-Type", &content_type);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        reply(request.send(&body[..]))
    }

    pub fn post_empty(&self, path: &str) -> Reply {
        reply(self.agent.post(format!("{}{path}", self.url)).send_empty())
    }

    pub fn delete(&self, path: &str) -> Reply {
        reply(self.agent.delete(format!("{}{path}", self.url)).call())
    }

    /// Submits a job; returns its id.
    pub fn submit(&self, parts: &[Part<'_>]) -> String {
        let r = self.post("/api/jobs", parts);
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["id"].as_str().unwrap().to_string()
    }

    /// Polls a job until `done(job)` or the time runs out.
    pub fn wait_for(&self, id: &str, seconds: u64, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let job = self.get(&format!("/api/jobs/{id}")).json();
            if done(&job) {
                return job;
            }
            assert!(start.elapsed() < Duration::from_secs(seconds), "job {id} did not get there in {seconds} s: {job}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until the job is over (finished, failed, cancelled, interrupted).
    pub fn wait_over(&self, id: &str) -> Value {
        self.wait_for(id, 300, |j| !matches!(j["state"].as_str(), Some("queued" | "running")))
    }

    /// The server's resident memory, kB.
    pub fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .unwrap()
            .trim()
            .trim_end_matches(" kB")
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Studio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A committed sample photo.
pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/samples").join(name)).unwrap()
}

/// A test clip with sound (FFmpeg's test pattern), `seconds` long.
pub fn clip(dir: &Path, name: &str, seconds: u32, size: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=24:duration={seconds}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={seconds}"))
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

/// Processes whose command line mentions `needle` (a job's folder): the job commands alive.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if String::from_utf8_lossy(&cmdline).contains(needle) && pid != std::process::id() {
            // A zombie (exited, not yet reaped) no longer runs.
            let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            if !state.split(") ").nth(1).is_some_and(|s| s.starts_with('Z')) {
                found.push(pid);
            }
        }
    }
    found
}
