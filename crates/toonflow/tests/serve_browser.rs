//! The studio in a real browser: headless Chromium driven over WebDriver (chromium-driver).
//! A person's path: choose a photo, see the preview, move a slider and see the preview change,
//! run the job, watch its progress reach 100 %, download the result. Screenshots are kept in
//! target/studio-screenshots for a person to look at.

mod common;
mod studio;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use studio::Studio;

/// A WebDriver session on a chromedriver this test started.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

impl Browser {
    fn start(downloads: &Path, profile: &Path) -> Option<Browser> {
        let found = Command::new("chromedriver").arg("--version").output().is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromedriver is missing on CI: .ci/run must install chromium-driver"
            );
            eprintln!("skipped: chromedriver not installed (apt-get install chromium chromium-driver)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let agent = studio::agent();
        let start = Instant::now();
        while agent.get(format!("{base}/status")).call().is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", format!("--user-data-dir={}", profile.display())],
                "prefs": {"download.default_directory": downloads.display().to_string(),
                          "download.prompt_for_download": false}
            }
        }}});
        let mut browser = Browser { driver, base, session: String::new(), agent };
        let created = browser.call("POST", "/session", Some(capabilities));
        browser.session = created["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
        Some(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            _ => self.agent.post(&url).send_json(body.unwrap_or(json!({}))),
        };
        let mut response = response.expect("chromedriver answers");
        let value: Value = response.body_mut().with_config().limit(64 << 20).read_json().unwrap();
        value.get("value").cloned().unwrap_or(value)
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    fn script(&self, code: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": code, "args": []})))
    }

    fn element(&self, css: &str) -> String {
        let found = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no {css}: {found}"))
            .to_string()
    }

    fn send_keys(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/value"), Some(json!({"text": text})));
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), None);
    }

    /// Waits for `code` (a JavaScript expression) to be truthy.
    fn wait(&self, code: &str, seconds: u64) -> Value {
        let start = Instant::now();
        loop {
            let v = self.script(&format!("return {code};"));
            if !(v.is_null() || v == json!(false) || v == json!(0)) {
                return v;
            }
            assert!(start.elapsed() < Duration::from_secs(seconds), "the page never showed {code}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let data = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.agent.delete(format!("{}/session/{}", self.base, self.session)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/studio-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fingerprint of the preview's pixels, read back from the page.
const AFTER_PIXELS: &str = "(() => { const img = document.getElementById('after'); if (!img.naturalWidth) return null;
  const c = document.createElement('canvas'); c.width = 64; c.height = 64; const g = c.getContext('2d');
  g.drawImage(img, 0, 0, 64, 64); const d = g.getImageData(0, 0, 64, 64).data; let h = 0;
  for (let i = 0; i < d.length; i++) h = (h * 31 + d[i]) % 1000000007; return h; })()";

#[test]
fn a_person_drops_a_photo_tunes_it_runs_it_and_downloads_it() {
    let dir = tempfile::tempdir().unwrap();
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let Some(browser) = Browser::start(&downloads, &dir.path().join("profile")) else { return };
    let studio = Studio::start(&dir.path().join("data"), &[]);
    let photo = dir.path().join("chelsea.jpg");
    std::fs::write(&photo, studio::sample("chelsea.jpg")).unwrap();
    let shots = screenshots();

    browser.open(&format!("{}/", studio.url));
    browser.wait("document.getElementById('style').options.length === 3", 20);
    browser.send_keys("#files", photo.to_str().unwrap());
    browser.wait("window.studio.previews >= 1", 60);
    let first = browser.wait(AFTER_PIXELS, 10);
    let first_ms = browser.script("return window.studio.lastPreviewMs;");
    browser.screenshot(&shots.join("1-preview.png"));

    // Moving the palette slider (a click on its middle: 17 colours instead of the preset's 10)
    // changes the picture.
    let before = browser.script("return document.getElementById('colors').value;");
    browser.click("#colors");
    let after = browser.script("return document.getElementById('colors').value;");
    assert_ne!(before, after, "the slider moved");
    browser.wait("window.studio.previews >= 2", 60);
    let second = browser.wait(AFTER_PIXELS, 10);
    assert_ne!(first, second, "the preview changed with the slider");
    browser.screenshot(&shots.join("2-slider-moved.png"));
    eprintln!(
        "preview in the browser: {first_ms} ms, then {} ms",
        browser.script("return window.studio.lastPreviewMs;")
    );

    // Run it; the card's progress reaches 100 % and the job is finished.
    browser.click("#run");
    browser.wait("document.querySelector('.job[data-state=finished][data-progress=\"100\"]')", 120);
    browser.wait("document.querySelector('.job .thumb img') && document.querySelector('.job .thumb img').complete", 20);
    browser.screenshot(&shots.join("3-finished.png"));
    let jobs = studio.get("/api/jobs").json();
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    let id = jobs[0]["id"].as_str().unwrap();
    // The job ran with the options the page showed.
    assert_eq!(jobs[0]["options"]["colors"].to_string(), after.as_str().unwrap());

    // The download link saves the result.
    browser.click(".job a.download");
    let start = Instant::now();
    let saved = loop {
        let done: Vec<PathBuf> = std::fs::read_dir(&downloads)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        if let [one] = done.as_slice() {
            break one.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no download arrived");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(saved.file_name().unwrap(), "chelsea-toonflow.png");
    assert!(std::fs::read(&saved).unwrap() == studio.get(&format!("/api/jobs/{id}/result")).body);

    // A webtoon job (submitted through the API) reads in place: its card's Read opens the episode.
    if !common::have_ffmpeg() {
        return;
    }
    let clip = std::fs::read(studio::clip(dir.path(), "clip.mp4", 2, "320x240")).unwrap();
    let subtitles = b"1\n00:00:00,200 --> 00:00:01,500\nA line read in the studio!\n";
    let episode = studio.submit(&[
        ("file", Some("clip.mp4"), &clip),
        ("subtitles", Some("clip.srt"), subtitles),
        ("options", None, br#"{"kind": "webtoon"}"#),
    ]);
    assert_eq!(studio.wait_over(&episode)["state"], "finished");
    let read = format!("[data-id='{episode}'] .buttons button");
    browser.wait(&format!("document.querySelector(\"{read}\")"), 20);
    browser.click(&read);
    browser.wait("document.getElementById('episode').classList.contains('open')", 10);
    // The episode is the studio's own origin: its document can be read from the page.
    let inside = "document.getElementById('episode-frame').contentDocument";
    let shown = browser.wait(&format!("{inside} && {inside}.querySelectorAll('img.base').length"), 20);
    assert!(shown.as_u64().unwrap() >= 1);
    let alt = browser.script(&format!("return [...{inside}.querySelectorAll('img.base')].map(i => i.alt).join(' ');"));
    assert!(alt.as_str().unwrap().contains("A line read in the studio!"), "{alt}");
    browser.screenshot(&shots.join("4-episode.png"));
}
