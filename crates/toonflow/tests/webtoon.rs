//! `toonflow webtoon` end to end on a synthetic clip whose truth is known: three shots (dark,
//! mid, bright), a textured square moving through the first and the last, and a subtitle file
//! with a malformed cue. Needs FFmpeg; the page test needs Chromium (both skipped without them,
//! except on CI, where .ci/run installs them).

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{have_ffmpeg, s, stderr, toonflow};

const W: usize = 320;
const H: usize = 180;
const FPS: usize = 10;
const SHOT: usize = 20;
const SQUARE: usize = 48;

/// Where the square is at frame `f` (top-left, pixels), in the shots that have it.
fn square_at(f: usize) -> Option<(usize, usize)> {
    let t = f % SHOT;
    match f / SHOT {
        0 => Some((30 + 9 * t, 40)),
        2 => Some((200, 10 + 5 * t)),
        _ => None,
    }
}

/// Runs FFmpeg quietly, overwriting its output; the test fails if FFmpeg does.
fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).status().unwrap();
    assert!(status.success(), "ffmpeg {args:?}");
}

fn make_clip(path: &Path) {
    let mut child = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &format!("{W}x{H}")])
        .args(["-r", &FPS.to_string(), "-i", "-", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "12"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.as_mut().unwrap();
    for f in 0..3 * SHOT {
        let level = [60.0, 130.0, 200.0][f / SHOT];
        let mut frame = vec![0u8; W * H * 3];
        for y in 0..H {
            for x in 0..W {
                let texture =
                    30.0 * ((x as f32 * 0.21).sin() * (y as f32 * 0.17).cos()) + 12.0 * ((x * 7 + y * 13) % 5) as f32;
                let mut rgb = [level + texture, level * 0.9 + texture, level * 0.7 + texture];
                if let Some((sx, sy)) = square_at(f) {
                    if (sx..sx + SQUARE).contains(&x) && (sy..sy + SQUARE).contains(&y) {
                        let check = if ((x - sx) / 8 + (y - sy) / 8) % 2 == 0 { 255.0 } else { 20.0 };
                        rgb = [check, 40.0, 40.0];
                    }
                }
                for c in 0..3 {
                    frame[3 * (y * W + x) + c] = rgb[c].clamp(0.0, 255.0) as u8;
                }
            }
        }
        stdin.write_all(&frame).unwrap();
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

const SRT: &str = "1\n00:00:00,300 --> 00:00:01,500\nHello from the first shot!\n\n\
2\n00:00:02,500 --> 00:00:03,500\n[Later, somewhere brighter.]\n\n\
3\n00:00:03,000 -> 00:00:03,400\nA cue with a broken arrow.\n\n\
4\n00:00:04,300 --> 00:00:04,900\nLook out!\n\n\
5\n00:00:05,100 --> 00:00:05,900\nThis is a much longer line of dialogue, one that goes on and on about the square that keeps \
falling down the screen, far more than one balloon of a single panel can hold, so the episode has to continue it in \
the next panel instead of cutting it short. And it goes on: the square falls, and falls, and the speaker will not stop \
talking about it, about its colour, its checks, its speed, the way it never once looks back, the way the screen seems \
to make room for it, and how nobody in the whole town has ever seen a square fall quite like that one, not once, not \
ever, not in a hundred years of squares falling down screens. Still talking. Still the square. Still falling.\n";

struct Clip {
    _dir: tempfile::TempDir,
    video: PathBuf,
    srt: PathBuf,
    root: PathBuf,
}

fn clip() -> Clip {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("three-shots.mp4");
    make_clip(&video);
    let srt = dir.path().join("lines.srt");
    std::fs::write(&srt, SRT).unwrap();
    let root = dir.path().to_path_buf();
    Clip { _dir: dir, video, srt, root }
}

/// `toonflow webtoon` on the clip's video into `root/name`, which must succeed; the episode's
/// folder and what the run printed.
fn made(c: &Clip, name: &str, extra: &[&str]) -> (PathBuf, String) {
    let out = c.root.join(name);
    let mut args = vec!["webtoon", s(&c.video), "-o", s(&out)];
    args.extend_from_slice(extra);
    let run = toonflow(&args);
    assert!(run.status.success(), "{}", stderr(&run));
    (out, stderr(&run))
}

fn episode(json_dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(json_dir.join("episode.json")).unwrap()).unwrap()
}

fn rect(v: &Value) -> [f64; 4] {
    [v["x"].as_f64().unwrap(), v["y"].as_f64().unwrap(), v["w"].as_f64().unwrap(), v["h"].as_f64().unwrap()]
}

fn overlap(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let h = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    w.max(0.0) * h.max(0.0)
}

#[test]
fn a_clip_becomes_an_episode_whose_panels_and_balloons_follow_shots_and_lines() {
    if !have_ffmpeg() {
        return;
    }
    let c = clip();
    let (out, said) = made(&c, "episode", &["--subtitles", s(&c.srt), "--slice-height", "600"]);
    // The malformed cue is named by its line and skipped; the rest are used.
    assert!(said.contains("lines.srt:10:"), "{said}");
    let ep = episode(&out);
    let panels = ep["panels"].as_array().unwrap();
    let cues = ep["cues"].as_array().unwrap();
    assert_eq!(cues.len(), 4);

    // Panels in time order, shots in order, every shot drawn.
    let shots: Vec<u64> = panels.iter().map(|p| p["shot"].as_u64().unwrap()).collect();
    assert!(shots.windows(2).all(|w| w[0] <= w[1]), "{shots:?}");
    assert_eq!(shots.first(), Some(&0));
    assert_eq!(shots.last(), Some(&2));
    assert!(shots.contains(&1));
    let times: Vec<f64> = panels.iter().map(|p| p["time"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // Each shot's frames come from that shot.
    for p in panels {
        let frame = p["frame"].as_u64().unwrap() as usize;
        assert_eq!(frame / SHOT, p["shot"].as_u64().unwrap() as usize, "{p}");
    }

    // Every line is lettered whole, in cue order, in balloons inside their panels; the long
    // line runs on into a continuation panel.
    let mut lettered = vec![String::new(); cues.len()];
    let mut order = Vec::new();
    for p in panels {
        let r = rect(&p["rect"]);
        for b in p["balloons"].as_array().unwrap() {
            let body = rect(&b["body"]);
            assert!(overlap(body, r) >= body[2] * body[3] - 1.0, "balloon {body:?} leaves panel {r:?}");
            let cue = b["cue"].as_u64().unwrap() as usize;
            let text = &mut lettered[cue];
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(b["text"].as_str().unwrap());
            order.push(cue);
        }
    }
    for (cue, text) in cues.iter().zip(&lettered) {
        assert_eq!(cue["text"].as_str().unwrap(), text);
    }
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    assert!(panels.iter().any(|p| p["continuation"].as_bool().unwrap()), "the long line continues");
    let narration = panels.iter().flat_map(|p| p["balloons"].as_array().unwrap()).find(|b| b["narration"] == true);
    assert_eq!(narration.unwrap()["text"], "Later, somewhere brighter.");

    // No balloon covers the square (its true position at the panel's frame, on the canvas).
    let mut checked = 0;
    for p in panels {
        let frame = p["frame"].as_u64().unwrap() as usize;
        let Some((sx, sy)) = square_at(frame) else { continue };
        let (r, crop) = (rect(&p["rect"]), rect(&p["crop"]));
        let to_canvas = |fx: f64, fy: f64| {
            (r[0] + (fx / W as f64 - crop[0]) / crop[2] * r[2], r[1] + (fy / H as f64 - crop[1]) / crop[3] * r[3])
        };
        let (x0, y0) = to_canvas(sx as f64, sy as f64);
        let (x1, y1) = to_canvas((sx + SQUARE) as f64, (sy + SQUARE) as f64);
        let square = [x0, y0, x1 - x0, y1 - y0];
        for b in p["balloons"].as_array().unwrap() {
            let body = rect(&b["body"]);
            assert_eq!(
                overlap(body, square),
                0.0,
                "balloon {body:?} over the square {square:?} in panel {}",
                p["index"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "{checked} balloons in panels with the square");

    // The strip and its slices: the limit kept, all rows present, the episode's width.
    let strip = image::open(out.join("episode.png")).unwrap();
    let mut rows = 0;
    let slices: Vec<PathBuf> = ep["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .filter(|f| f.starts_with("slices/"))
        .map(|f| out.join(f))
        .collect();
    assert!(slices.len() >= 2);
    for slice in &slices {
        let img = image::open(slice).unwrap();
        assert_eq!(img.width(), 800);
        assert!(img.height() <= 600, "{}: {}", slice.display(), img.height());
        rows += img.height();
    }
    assert_eq!(rows, strip.height());
    // Moving panels: the square's shots loop.
    let moving: Vec<&Value> = panels.iter().filter(|p| !p["moving"].is_null()).collect();
    assert!(moving.iter().any(|p| p["shot"] == 0) && moving.iter().all(|p| p["shot"] != 1), "{moving:?}");
    for p in &moving {
        assert!(out.join(p["moving"].as_str().unwrap()).is_file());
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!html.contains("http:") && !html.contains("https:"), "the page loads nothing from a network");
}

#[test]
fn pages_read_right_to_left_and_come_as_a_cbz() {
    if !have_ffmpeg() {
        return;
    }
    let c = clip();
    let (out, _) =
        made(&c, "pages", &["--subtitles", s(&c.srt), "--layout", "page", "--rtl", "--page-size", "b5", "--no-motion"]);
    let ep = episode(&out);
    let panels = ep["panels"].as_array().unwrap();
    assert!(panels.iter().all(|p| p["moving"].is_null()));
    let mut pairs = 0;
    for w in panels.windows(2) {
        let (a, b) = (rect(&w[0]["rect"]), rect(&w[1]["rect"]));
        if w[0]["canvas"] == w[1]["canvas"] && a[1] == b[1] {
            assert!(b[0] < a[0], "right to left: {a:?} then {b:?}");
            pairs += 1;
        }
    }
    assert!(pairs >= 1, "some row holds two panels");
    let cbz = std::fs::read(out.join("episode.cbz")).unwrap();
    assert_eq!(&cbz[..4], b"PK\x03\x04");
    let pages = ep["canvases"].as_array().unwrap().len();
    for k in 1..=pages {
        let page = image::open(out.join(format!("pages/{k:03}.png"))).unwrap();
        let ratio = page.height() as f64 / page.width() as f64;
        assert!((ratio - 257.0 / 182.0).abs() < 0.01, "B5 proportions: {ratio}");
    }
}

#[test]
fn bad_inputs_are_clear_errors_and_leave_nothing() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let out = dir.path().join("ep");
    let run = toonflow(&["webtoon", s(&empty), "-o", s(&out)]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).contains("empty.mp4"), "{}", stderr(&run));
    assert!(!out.exists());
    let run = toonflow(&["webtoon", s(&empty), "-o", s(&out), "--subtitles", s(&dir.path().join("none.srt"))]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let c = clip();
    // No subtitles at all: said once, panels without balloons.
    let (out, said) = made(&c, "silent", &["--no-motion"]);
    assert_eq!(said.matches("no subtitles").count(), 1, "{said}");
    let ep = episode(&out);
    assert!(ep["panels"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["balloons"].as_array().unwrap().is_empty() && p["moving"].is_null()));
    // The episode folder may not hold the input.
    let run = toonflow(&["webtoon", s(&c.video), "-o", s(&c.root)]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(c.video.is_file());
    // A file, or a folder of someone's files, at the output path is refused and kept; an
    // earlier episode is replaced whole.
    let file = c.root.join("notes.txt");
    std::fs::write(&file, "mine").unwrap();
    let folder = c.root.join("photos");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("holiday.jpg"), "mine").unwrap();
    for taken in [&file, &folder] {
        let run = toonflow(&["webtoon", s(&c.video), "-o", s(taken), "--no-motion"]);
        assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    assert_eq!(std::fs::read_to_string(folder.join("holiday.jpg")).unwrap(), "mine");
    let (again, _) = made(&c, "silent", &["--no-motion", "--layout", "page"]);
    assert!(again.join("episode.cbz").is_file() && !again.join("episode.png").exists(), "replaced whole");
    // Subtitles inside the episode folder are an input the swap would delete: refused.
    let inside = again.join("episode.json");
    let run = toonflow(&["webtoon", s(&c.video), "-o", s(&again), "--subtitles", s(&inside), "--no-motion"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(inside.is_file());
    // An empty subtitle file: the episode, and a word that it had no lines.
    let empty_srt = c.root.join("empty.srt");
    std::fs::write(&empty_srt, "").unwrap();
    let (_, said) = made(&c, "unsaid", &["--subtitles", s(&empty_srt), "--no-motion"]);
    assert!(said.contains("empty.srt: no usable subtitle cues"), "{said}");
    // Binary junk as subtitles: named, nothing written.
    let junk = c.root.join("junk.srt");
    std::fs::write(&junk, [0xff, 0xfe, 0x00, 0x9f]).unwrap();
    let out = c.root.join("ep");
    let run = toonflow(&["webtoon", s(&c.video), "-o", s(&out), "--subtitles", s(&junk)]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).contains("junk.srt") && !out.exists(), "{}", stderr(&run));
}

/// Chromium when installed (CI installs it; elsewhere the test is skipped without it).
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "Chromium is missing on CI: .ci/run must install it");
        eprintln!("skipped: Chromium not installed (apt-get install chromium)");
    }
    found
}

/// A headless screenshot of `page` after `ms` of virtual time; Chromium's log beside it.
fn screenshot(browser: &str, page: &Path, ms: u32, dir: &Path) -> (image::RgbImage, String) {
    let shot = dir.join(format!("shot-{ms}.png"));
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"])
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", dir.join(format!("profile-{ms}")).display()))
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=800,1600", &format!("--virtual-time-budget={ms}")])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let picture = image::open(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}); Chromium said:\n{log}"));
    (picture.to_rgb8(), log)
}

#[test]
fn the_page_shows_the_panels_and_plays_the_moving_ones_in_chromium() {
    if !have_ffmpeg() {
        return;
    }
    let Some(browser) = chromium() else { return };
    let c = clip();
    let (out, _) = made(&c, "episode", &["--subtitles", s(&c.srt)]);
    let ep = episode(&out);
    let page = out.join("index.html");
    let (a, log) = screenshot(browser, &page, 300, &c.root);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    // The still panels show what episode.png holds (JPEG slices, so within a tolerance).
    let strip = image::open(out.join("episode.png")).unwrap().to_rgb8();
    let panels = ep["panels"].as_array().unwrap();
    let mut compared = 0;
    for p in panels.iter().filter(|p| p["moving"].is_null()) {
        let r = rect(&p["rect"]);
        let (x, y) = ((r[0] + r[2] / 2.0) as u32, (r[1] + r[3] / 2.0) as u32);
        if y >= a.height() {
            continue;
        }
        let (shot, want) = (a.get_pixel(x, y).0, strip.get_pixel(x, y).0);
        assert!(
            shot.iter().zip(want).all(|(s, w)| (*s as i32 - w as i32).abs() <= 24),
            "panel {}: {shot:?} vs {want:?}",
            p["index"]
        );
        compared += 1;
    }
    assert!(compared >= 1);
    // The moving panels change between two screenshots a second apart (a later pair is tried
    // when the first came before the animations had started on a busy machine).
    let moving: Vec<[f64; 4]> = panels
        .iter()
        .filter(|p| !p["moving"].is_null())
        .map(|p| rect(&p["rect"]))
        .filter(|r| r[1] + r[3] < a.height() as f64)
        .collect();
    assert!(!moving.is_empty(), "a moving panel on screen");
    let changed = |a: &image::RgbImage, b: &image::RgbImage| {
        let mut n = 0;
        for r in &moving {
            for y in r[1] as u32 + 4..(r[1] + r[3]) as u32 - 4 {
                for x in r[0] as u32 + 4..(r[0] + r[2]) as u32 - 4 {
                    n += a.get_pixel(x, y).0.iter().zip(b.get_pixel(x, y).0).any(|(p, q)| p.abs_diff(q) > 20) as u32;
                }
            }
        }
        n
    };
    let mut counts = Vec::new();
    for (t0, t1) in [(300, 1300), (1500, 2500)] {
        let first = if t0 == 300 { a.clone() } else { screenshot(browser, &page, t0, &c.root).0 };
        let (second, _) = screenshot(browser, &page, t1, &c.root);
        counts.push(changed(&first, &second));
        if counts.last() > Some(&200) {
            break;
        }
    }
    assert!(counts.last() > Some(&200), "the moving panels changed in {counts:?} pixels");
}

#[test]
fn the_videos_own_subtitle_stream_gives_the_lines() {
    if !have_ffmpeg() {
        return;
    }
    let c = clip();
    let mkv = c.root.join("with-subtitles.mkv");
    ffmpeg(&["-i", s(&c.video), "-i", s(&c.srt), "-map", "0:v", "-map", "1", "-c:v", "copy", "-c:s", "srt", s(&mkv)]);
    let out = c.root.join("episode");
    let run = toonflow(&["webtoon", s(&mkv), "-o", s(&out), "--no-motion"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let ep = episode(&out);
    let cues: Vec<&str> = ep["cues"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(cues.len(), 4, "{cues:?}");
    assert_eq!(cues[0], "Hello from the first shot!");
    assert!(!stderr(&run).contains("no subtitles"));
}

#[test]
fn ctrl_c_leaves_no_episode() {
    if !have_ffmpeg() {
        return;
    }
    let c = clip();
    // Six times the clip, so the drawing is under way when the interrupt comes.
    let long = c.root.join("long.mp4");
    ffmpeg(&["-stream_loop", "5", "-i", s(&c.video), "-c", "copy", s(&long)]);
    let before: Vec<_> = std::fs::read_dir(&c.root).unwrap().map(|e| e.unwrap().file_name()).collect();
    let child = Command::new(env!("CARGO_BIN_EXE_toonflow"))
        .args(["-q", "webtoon", s(&long), "--subtitles", s(&c.srt), "-o", s(&c.root.join("episode"))])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The staging folder appears when the drawing starts.
    let start = std::time::Instant::now();
    while std::fs::read_dir(&c.root).unwrap().count() <= before.len() {
        assert!(start.elapsed().as_secs() < 60, "drawing never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let mut after: Vec<_> = std::fs::read_dir(&c.root).unwrap().map(|e| e.unwrap().file_name()).collect();
    after.sort();
    let mut before = before;
    before.sort();
    assert_eq!(after, before, "only the inputs remain");
}
