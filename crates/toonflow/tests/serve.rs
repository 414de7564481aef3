//! `toonflow serve` through its JSON API, against a real server on an ephemeral loopback port:
//! jobs end to end (outputs equal to the command line's), previews, bad uploads, path traversal,
//! cross-origin calls, the token, cancelling, a kill -9 and restart, and a bounded load.

mod common;
mod studio;

use common::{have_ffmpeg, s, toonflow};
use serde_json::Value;
use std::io::Read;
use std::time::{Duration, Instant};
use studio::{clip, processes_mentioning, sample, Studio};

fn state(job: &Value) -> &str {
    job["state"].as_str().unwrap()
}

#[test]
fn jobs_and_previews_give_exactly_what_the_command_line_gives() {
    let dir = tempfile::tempdir().unwrap();
    let studio = Studio::start(&dir.path().join("data"), &[]);
    let styles = studio.get("/api/styles").json();
    let names: Vec<&str> = styles["presets"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["comic", "webtoon", "manga"]);
    assert_eq!(styles["presets"][1]["saturation"], 1.15);

    // The page: embedded, one document, nothing fetched from elsewhere.
    let page = studio.get("/");
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("toonflow studio") && !html.contains("https://") && !html.contains("http://"));

    let photo = sample("chelsea.jpg");
    let input = dir.path().join("chelsea.jpg");
    std::fs::write(&input, &photo).unwrap();
    let options = r#"{"style": "manga", "colors": 6, "strength": 0.9}"#;
    let cli_out = dir.path().join("cli.png");
    let run = toonflow(&["stylize", s(&input), "-o", s(&cli_out), "--style=manga", "--colors=6", "--strength=0.9"]);
    assert!(run.status.success());
    let cli = std::fs::read(&cli_out).unwrap();

    // A preview of an image under a megapixel is the command's output itself.
    let preview =
        studio.post("/api/preview", &[("options", None, options.as_bytes()), ("file", Some("x.jpg"), &photo)]);
    assert_eq!((preview.status, preview.content_type.as_str()), (200, "image/png"));
    assert!(preview.body == cli, "the preview differs from `toonflow stylize`");

    let id = studio.submit(&[("options", None, options.as_bytes()), ("file", Some("Chelsea the cat.jpg"), &photo)]);
    let job = studio.wait_over(&id);
    assert_eq!(state(&job), "finished", "{job}");
    assert_eq!((job["done"].as_u64(), job["total"].as_u64(), job["progress"].as_f64()), (Some(1), Some(1), Some(1.0)));
    let result = studio.get(&format!("/api/jobs/{id}/result"));
    assert_eq!(result.status, 200);
    assert!(result.body == cli, "the job's result differs from `toonflow stylize`");
    assert_eq!(result.disposition, "attachment; filename=\"Chelsea_the_cat-toonflow.png\"");

    // Several images: one archive, named after the uploads.
    let id = studio.submit(&[
        ("file", Some("a.jpg"), &sample("coffee.jpg")),
        ("file", Some("b.jpg"), &sample("rocket.jpg")),
        ("options", None, br#"{"format": "jpg"}"#),
    ]);
    assert_eq!(state(&studio.wait_over(&id)), "finished");
    let zip = studio.get(&format!("/api/jobs/{id}/result"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.body)).unwrap();
    let mut names: Vec<String> = archive.file_names().map(|n| n.unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, ["a.jpg", "b.jpg"]);
    let mut first = Vec::new();
    archive.by_name("a.jpg").unwrap().read_to_end(&mut first).unwrap();
    assert_eq!(&first[..3], &[0xff, 0xd8, 0xff], "a JPEG");

    // The gallery lists both, newest first; a deleted job and its files are gone.
    let all = studio.get("/api/jobs").json();
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["id"], id);
    assert_eq!(studio.delete(&format!("/api/jobs/{id}")).status, 204);
    assert_eq!(studio.get(&format!("/api/jobs/{id}")).status, 404);
    assert!(!studio.data.join("jobs").join(&id).exists());
}

#[test]
fn bad_uploads_and_options_are_clear_errors_and_the_studio_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let studio = Studio::start(&dir.path().join("data"), &["--max-upload", "300K", "--max-pixels", "250K"]);
    let photo = sample("astronaut.jpg"); // 512 x 512: over 250K pixels (coffee.jpg is 600 x 400)
    let small = sample("coffee.jpg");
    let cases: Vec<(Vec<studio::Part<'_>>, u16, &str)> = vec![
        (vec![("file", Some("notes.txt"), b"just some text, not a picture")], 415, "notes.txt: neither an image"),
        (vec![("file", Some("empty.png"), b"")], 415, "empty.png: the file is empty"),
        (vec![("options", None, b"{}")], 400, "no file"),
        (vec![("file", Some("a.jpg"), &small), ("options", None, br#"{"colour": 3}"#)], 400, "unknown field `colour`"),
        (vec![("file", Some("a.jpg"), &small), ("options", None, br#"{"strength": 5}"#)], 400, "--strength"),
        (vec![("file", Some("a.jpg"), &small), ("options", None, br#"{"style": "oil"}"#)], 400, "oil"),
        (vec![("file", Some("a.jpg"), &small), ("options", None, br#"{"model": "../../x"}"#)], 400, "no model named"),
        (vec![("file", Some("a.jpg"), &small), ("options", None, br#"{"kind": "video"}"#)], 415, "needs one video"),
        (vec![("file", Some("a.jpg"), &small), ("options", None, br#"{"layout": "page"}"#)], 400, "webtoon jobs"),
        (vec![("file", Some("a.jpg"), &small), ("surprise", None, b"1")], 400, "unknown form field"),
    ];
    for (parts, status, message) in &cases {
        let r = studio.post("/api/jobs", parts);
        assert_eq!(r.status, *status, "{}", String::from_utf8_lossy(&r.body));
        assert!(r.error().contains(message), "{:?} does not say {message:?}", r.error());
    }
    // Too large: 413 and a sentence, whether or not the size was declared up front.
    let big = vec![7u8; 400_000];
    let r = studio.post("/api/jobs", &[("file", Some("big.bin"), &big)]);
    assert_eq!(r.status, 413);
    assert!(r.error().contains("larger than this studio's limit of 300 kB"), "{}", r.error());
    // Nothing refused left files behind.
    assert_eq!(std::fs::read_dir(studio.data.join("jobs")).unwrap().count(), 0);

    // A corrupt image or one over the pixel limit fails its own job, with the reason.
    let truncated = &small[..small.len() / 2];
    let id = studio.submit(&[("file", Some("broken.jpg"), truncated)]);
    let job = studio.wait_over(&id);
    assert_eq!(state(&job), "failed");
    assert!(job["error"].as_str().unwrap().contains("truncated"), "{job}");
    let id = studio.submit(&[("file", Some("big.jpg"), &photo)]);
    let job = studio.wait_over(&id);
    assert!(job["error"].as_str().unwrap().starts_with("big.jpg: image is 512x512"), "{job}");
    // In a batch, the good image is still the result and the bad one is named.
    let id = studio.submit(&[("file", Some("good.jpg"), &small), ("file", Some("broken.jpg"), truncated)]);
    let job = studio.wait_over(&id);
    assert_eq!(state(&job), "finished", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.starts_with("broken.jpg: truncated") && !error.contains("/in/"), "{job}");
    let preview = studio.post("/api/preview", &[("file", Some("t.jpg"), truncated)]);
    assert_eq!(preview.status, 422);
    assert!(preview.error().contains("truncated"), "{}", preview.error());
    // The studio is still there.
    assert_eq!(studio.get("/api/styles").status, 200);
}

#[test]
fn no_path_leaves_the_studio_and_no_other_site_changes_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let studio = Studio::start(&dir.path().join("data"), &[]);
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    // A client's file name is never a path: the upload lands in the job's folder, renamed.
    let id = studio.submit(&[("file", Some("../../../secret.txt.png"), &sample("coffee.jpg"))]);
    assert_eq!(state(&studio.wait_over(&id)), "finished");
    assert_eq!(std::fs::read_to_string(dir.path().join("secret.txt")).unwrap(), "secret");
    let stored: Vec<String> = std::fs::read_dir(studio.data.join("jobs").join(&id).join("in"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(stored, ["001.jpg"]);
    for path in [
        format!("/api/jobs/{id}/files/../../studio.sqlite"),
        format!("/api/jobs/{id}/files/%2e%2e/%2e%2e/studio.sqlite"),
        format!("/api/jobs/{id}/files/..%2f..%2fstudio.sqlite"),
        format!("/api/jobs/{id}/files//etc/passwd"),
        "/api/jobs/..%2f..%2fstudio.sqlite/result".to_string(),
        "/api/jobs/../../etc/passwd".to_string(),
        "/../../etc/passwd".to_string(),
    ] {
        let r = studio.get(&path);
        assert!(r.status == 404 || r.status == 400, "{path}: {}", r.status);
        assert!(!String::from_utf8_lossy(&r.body).contains("root:"), "{path}");
    }
    // Another site's page (or one reached by a rebound name) cannot change jobs.
    let r = studio.post_with(
        "/api/jobs",
        &[("file", Some("a.jpg"), &sample("coffee.jpg"))],
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(r.status, 403);
    assert!(r.error().contains("cross-origin"), "{}", r.error());
    let r = studio.post_with("/api/jobs", &[("file", Some("a.jpg"), b"x")], &[("Sec-Fetch-Site", "cross-site")]);
    assert_eq!(r.status, 403);
    let r = studio.get_with("/api/jobs", &[("Host", "evil.example:8080")]);
    assert_eq!(r.status, 421);
    assert_eq!(studio.get("/api/jobs").json().as_array().unwrap().len(), 1);
}

#[test]
fn with_a_token_every_api_call_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let token = "correct-horse-battery-staple";
    let studio = Studio::start(&dir.path().join("data"), &["--token", token]);
    let r = studio.get("/api/jobs");
    assert_eq!(r.status, 401);
    assert!(r.error().contains("token"), "{}", r.error());
    assert_eq!(studio.get_with("/api/jobs", &[("Authorization", "Bearer wrong-token-wrong-token")]).status, 401);
    assert_eq!(studio.get_with("/api/jobs", &[("Authorization", &format!("Bearer {token}"))]).status, 200);
    assert_eq!(studio.get(&format!("/api/styles?token={token}")).status, 200);
    assert_eq!(studio.post("/api/jobs", &[("file", Some("a.jpg"), &sample("coffee.jpg"))]).status, 401);
    assert_eq!(studio.get("/").status, 200, "the page itself holds no data");
    // A token too short to be one is refused at start.
    let out = toonflow(&["serve", "--token", "short"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn video_jobs_show_progress_can_be_cancelled_and_webtoon_episodes_can_be_read() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let studio = Studio::start(&dir.path().join("data"), &[]);
    let short = std::fs::read(clip(dir.path(), "short.mp4", 2, "160x120")).unwrap();
    let long = std::fs::read(clip(dir.path(), "long.mp4", 60, "320x240")).unwrap();

    let video = studio.submit(&[("file", Some("short.mp4"), &short), ("options", None, br#"{"style": "webtoon"}"#)]);
    let queued = studio.submit(&[("file", Some("long.mp4"), &long)]);
    let job = studio.get(&format!("/api/jobs/{queued}")).json();
    assert_eq!(job["queue_position"], 1, "one job runs, this one waits: {job}");
    let done = studio.wait_over(&video);
    assert_eq!(state(&done), "finished", "{done}");
    assert_eq!(done["total"], 48);
    assert!(done["warping_error"].as_f64().is_some_and(|w| w > 0.0 && w < 0.1), "{done}");
    let mp4 = studio.get(&format!("/api/jobs/{video}/result"));
    assert_eq!(mp4.content_type, "video/mp4");
    let out = dir.path().join("result.mp4");
    std::fs::write(&out, &mp4.body).unwrap();
    let streams = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&streams.stdout).split_whitespace().collect::<Vec<_>>(), ["video", "audio"]);

    // The long one runs, reports frames, a rate and an ETA, and a cancel stops its command.
    let running =
        studio.wait_for(&queued, 120, |j| j["done"].as_u64().is_some_and(|d| d >= 10) && !j["rate"].is_null());
    assert_eq!(running["stage"], "frames");
    assert!(running["total"].as_u64() == Some(1440) && running["eta_seconds"].as_f64().is_some(), "{running}");
    assert!(!processes_mentioning(&queued).is_empty(), "the job's command runs");
    let cancelled = studio.post_empty(&format!("/api/jobs/{queued}/cancel"));
    assert_eq!(cancelled.status, 200);
    assert_eq!(state(&cancelled.json()), "cancelled");
    assert!(processes_mentioning(&queued).is_empty(), "the command is gone once cancel returns");
    assert_eq!(studio.get(&format!("/api/jobs/{queued}/result")).status, 409);
    assert_eq!(studio.post_empty(&format!("/api/jobs/{queued}/cancel")).status, 409);

    // A webtoon job: an archive to download, and the episode's own page to read in place.
    let subtitles = b"1\n00:00:00,200 --> 00:00:01,500\nHello from the studio!\n";
    let episode = studio.submit(&[
        ("file", Some("short.mp4"), &short),
        ("subtitles", Some("lines.srt"), subtitles),
        ("options", None, br#"{"kind": "webtoon", "layout": "scroll"}"#),
    ]);
    let job = studio.wait_over(&episode);
    assert_eq!(state(&job), "finished", "{job}");
    let page = studio.get(&format!("/api/jobs/{episode}/files/index.html"));
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    let json = studio.get(&format!("/api/jobs/{episode}/files/episode.json")).json();
    assert!(json.to_string().contains("Hello from the studio!"), "{json}");
    let zip = studio.get(&format!("/api/jobs/{episode}/result"));
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip.body)).unwrap();
    assert!(archive.file_names().any(|n| n.unwrap() == "episode/index.html"));
}

#[test]
fn a_killed_studio_keeps_finished_results_and_marks_the_running_job_interrupted() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let long = std::fs::read(clip(dir.path(), "long.mp4", 60, "320x240")).unwrap();
    let mut studio = Studio::start(&data, &[]);
    let image = studio.submit(&[("file", Some("cat.jpg"), &sample("chelsea.jpg"))]);
    assert_eq!(state(&studio.wait_over(&image)), "finished");
    let before = studio.get(&format!("/api/jobs/{image}/result")).body;
    let video = studio.submit(&[("file", Some("long.mp4"), &long)]);
    studio.wait_for(&video, 120, |j| j["done"].as_u64().is_some_and(|d| d >= 5));
    let queued = studio.submit(&[("file", Some("coffee.jpg"), &sample("coffee.jpg"))]);

    studio.child.kill().unwrap(); // SIGKILL: no chance to clean up
    studio.child.wait().unwrap();
    let start = Instant::now();
    while !processes_mentioning(&video).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "the job's command outlived the studio");
        std::thread::sleep(Duration::from_millis(50));
    }

    // What a kill in the middle of an upload leaves: a job folder no record names. The next
    // start removes it, and nothing that is not named like a job.
    let cut_off = data.join("jobs").join("0123456789abcdef0123456789abcdef");
    std::fs::create_dir_all(cut_off.join("in")).unwrap();
    std::fs::write(cut_off.join("in").join("001.part"), b"half an upload").unwrap();
    let foreign = data.join("jobs").join("notes");
    std::fs::create_dir_all(&foreign).unwrap();

    let studio = Studio::start(&data, &[]);
    assert!(!cut_off.exists() && foreign.exists());
    let after = studio.get(&format!("/api/jobs/{image}/result"));
    assert_eq!(after.status, 200);
    assert!(after.body == before, "the finished result changed");
    let job = studio.get(&format!("/api/jobs/{video}")).json();
    assert_eq!(state(&job), "interrupted", "{job}");
    // What waited runs now; the interrupted one runs again when asked.
    assert_eq!(state(&studio.wait_over(&queued)), "finished");
    let rerun = studio.post_empty(&format!("/api/jobs/{video}/rerun"));
    assert_eq!(rerun.status, 200);
    studio.wait_for(&video, 120, |j| j["state"] == "running" && j["done"].as_u64().is_some_and(|d| d >= 1));
    assert_eq!(studio.delete(&format!("/api/jobs/{video}")).status, 204);
    assert!(processes_mentioning(&video).is_empty());
    assert!(!data.join("jobs").join(&video).exists());
}

#[test]
fn two_hundred_status_calls_and_twenty_uploads_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let studio = Studio::start(&dir.path().join("data"), &[]);
    let photo = sample("coffee.jpg");
    let first = studio.submit(&[("file", Some("first.jpg"), &photo)]);
    let rss_before = studio.rss_kb();
    let ids: Vec<String> = std::thread::scope(|scope| {
        let uploads: Vec<_> = (0..20)
            .map(|k| {
                let (studio, photo) = (&studio, &photo);
                scope.spawn(move || studio.submit(&[("file", Some(&format!("photo-{k}.jpg")), photo)]))
            })
            .collect();
        let status: Vec<_> = (0..200)
            .map(|_| {
                let (studio, first) = (&studio, &first);
                scope.spawn(move || studio.get(&format!("/api/jobs/{first}")).status)
            })
            .collect();
        for s in status {
            assert_eq!(s.join().unwrap(), 200);
        }
        uploads.into_iter().map(|u| u.join().unwrap()).collect()
    });
    let queued = studio.get("/api/jobs").json();
    let waiting = queued.as_array().unwrap().iter().filter(|j| j["state"] == "queued").count();
    let rss_queued = studio.rss_kb();
    for id in &ids {
        assert_eq!(state(&studio.wait_over(id)), "finished");
    }
    let all = studio.get("/api/jobs").json();
    assert_eq!(all.as_array().unwrap().len(), 21, "every job accounted for");
    let positions: Vec<u64> = queued.as_array().unwrap().iter().filter_map(|j| j["queue_position"].as_u64()).collect();
    assert_eq!(positions.len(), waiting);
    eprintln!("server memory: {rss_before} kB before, {rss_queued} kB with {waiting} jobs queued");
    assert!(
        rss_queued < rss_before + 64 * 1024,
        "uploads are streamed to disk, not held: {rss_before} -> {rss_queued} kB"
    );
}

#[test]
fn trained_models_are_styles_by_name_and_run_as_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = common::tiny_dataset(dir.path());
    let run = dir.path().join("run");
    let out = toonflow(&["-q", "train", s(&data), "-o", s(&run), "--config", s(&config), "--steps", "2"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let model = run.join("model.safetensors");
    let studio_data = dir.path().join("studio");
    std::fs::create_dir_all(studio_data.join("models")).unwrap();
    std::fs::copy(&model, studio_data.join("models").join("my style.safetensors")).unwrap();
    let studio = Studio::start(&studio_data, &["--model", s(&model)]);
    let styles = studio.get("/api/styles").json();
    let models: Vec<(String, Value)> = styles["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_string(), m["styles"].clone()))
        .collect();
    assert_eq!(models.len(), 2, "{styles}");
    assert_eq!(models[0].0, "model");
    assert_eq!(models[1].0, "my_style");
    let style_id = models[0].1[0].as_str().unwrap().to_string();

    let photo = common::fixture("photo.jpg");
    let cli_out = dir.path().join("cli.png");
    let out = toonflow(&[
        "-q",
        "stylize",
        s(&photo),
        "-o",
        s(&cli_out),
        "--model",
        s(&model),
        "--style-id",
        &style_id,
        "--strength=0.7",
        "--keep-colors",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let cli = std::fs::read(&cli_out).unwrap();
    let options = format!(r#"{{"model": "model", "style_id": "{style_id}", "strength": 0.7, "keep_colors": true}}"#);
    let bytes = std::fs::read(&photo).unwrap();
    let preview =
        studio.post("/api/preview", &[("options", None, options.as_bytes()), ("file", Some("p.jpg"), &bytes)]);
    assert_eq!(preview.status, 200, "{}", String::from_utf8_lossy(&preview.body));
    assert!(preview.body == cli, "the model's preview differs from `toonflow stylize --model`");
    let id = studio.submit(&[("options", None, options.as_bytes()), ("file", Some("p.jpg"), &bytes)]);
    assert_eq!(state(&studio.wait_over(&id)), "finished");
    assert!(studio.get(&format!("/api/jobs/{id}/result")).body == cli);
    let r = studio.post(
        "/api/jobs",
        &[("options", None, br#"{"model": "model", "style_id": "nope"}"#), ("file", Some("p.jpg"), &bytes)],
    );
    assert_eq!(r.status, 400);
    assert!(r.error().contains("--style-id nope"), "{}", r.error());
}
