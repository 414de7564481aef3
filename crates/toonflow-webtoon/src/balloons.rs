//! Speech balloons and narration boxes: sized to their text, placed where they hide the least of
//! the picture (never over the moving subject when there is room elsewhere), in reading order,
//! tails pointing at the likely speaker, drawn with antialiased outlines.

use crate::canvas::{Canvas, BLACK, WHITE};
use crate::geom::Rect;
use crate::lettering::{Lettering, TextBlock};

/// Narration boxes are filled with this cream.
const CAPTION: [u8; 3] = [255, 246, 206];
/// Space between a balloon and the panel's border, and between balloons.
const INSET: f32 = 10.0;
/// Balloons may cover at most this share of a panel; more lines go to a continuation panel.
const MAX_COVER: f32 = 0.45;

/// A line to letter: a cue's text or part of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Index of its cue.
    pub cue: usize,
    /// The text (a whole cue, or a part when one cue needed more than a panel).
    pub text: String,
    /// A narrator's caption (a box) rather than a speech balloon.
    pub narration: bool,
}

/// A placed balloon.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Balloon {
    /// Index of its cue.
    pub cue: usize,
    /// The text it holds, whole.
    pub text: String,
    /// A narration box (`true`) or a speech balloon.
    pub narration: bool,
    /// The body's bounding box, in canvas pixels.
    pub body: Rect,
    /// Where the tail points (speech only).
    pub tail: Option<(f32, f32)>,
    /// The lettering.
    #[serde(skip)]
    pub block: TextBlock,
}

/// Sizes of the lettering for one episode.
#[derive(Clone, Copy, Debug)]
pub struct BalloonStyle {
    /// Font size in pixels.
    pub size: f32,
    /// Smallest size lines may shrink to before they move to a continuation panel.
    pub min_size: f32,
}

impl BalloonStyle {
    /// Lettering for an episode `width` pixels wide (22 px text at 800).
    pub fn for_width(width: f32) -> Self {
        let size = (width / 800.0 * 22.0).clamp(14.0, 48.0);
        Self { size, min_size: size * 0.8 }
    }
}

/// What a panel shows, for placing its balloons: its box on the canvas and what in it matters.
pub struct PanelScene<'a> {
    /// The panel's box on the canvas.
    pub panel: Rect,
    /// Mean importance of the picture under a canvas rectangle, `[0, 1]`.
    pub importance: &'a dyn Fn(&Rect) -> f32,
    /// The moving subject's box on the canvas.
    pub subject: Option<Rect>,
    /// The likely speaker's position on the canvas.
    pub speaker: Option<(f32, f32)>,
}

fn letter(lettering: &Lettering, line: &Line, size: f32, panel: &Rect) -> (TextBlock, (f32, f32)) {
    let max_text = panel.w * if panel.w > 500.0 { 0.36 } else { 0.6 };
    let block = lettering.wrap(&line.text, size, max_text);
    let body = if line.narration {
        (block.width + 1.2 * size, block.height + 0.8 * size)
    } else {
        // The text's box inscribed in the ellipse, plus a margin.
        (block.width * 1.42 + size, block.height * 1.42 + 0.8 * size)
    };
    (block, body)
}

/// Top-left shelf packing: rows of bodies from the panel's top-left corner (top-right when
/// `rtl`). `None` when they do not fit or would cover too much. This is also the naive placement
/// the measured one is compared with.
pub fn shelf(panel: &Rect, bodies: &[(f32, f32)], rtl: bool) -> Option<Vec<Rect>> {
    let inner = panel.inflate(-INSET);
    if bodies.iter().map(|(w, h)| w * h).sum::<f32>() > MAX_COVER * panel.area() {
        return None;
    }
    let (mut x, mut y, mut row_h) = (inner.x, inner.y, 0.0f32);
    let mut out = Vec::with_capacity(bodies.len());
    for &(w, h) in bodies {
        if w > inner.w {
            return None;
        }
        if x + w > inner.right() {
            (x, y, row_h) = (inner.x, y + row_h + INSET, 0.0);
        }
        if y + h > inner.bottom() {
            return None;
        }
        let r = Rect::new(x, y, w, h);
        out.push(if rtl { r.mirrored(2.0 * panel.x + panel.w) } else { r });
        x += w + INSET;
        row_h = row_h.max(h);
    }
    Some(out)
}

/// How many of `lines`, from the first, fit in a panel of this box (at a size down to the
/// style's smallest); when not even the first fits alone, the number of its words that do.
pub enum Fit {
    /// The first `n` lines fit (all of them when `n == lines.len()`).
    Lines(usize),
    /// Only the first `n` words of the first line fit.
    Words(usize),
}

/// See [`Fit`].
pub fn fit(lettering: &Lettering, panel: &Rect, lines: &[Line], style: &BalloonStyle) -> Fit {
    let fits = |lines: &[Line]| {
        [style.size, style.min_size].iter().any(|&size| {
            let bodies: Vec<_> = lines.iter().map(|l| letter(lettering, l, size, panel).1).collect();
            shelf(panel, &bodies, false).is_some()
        })
    };
    if let Some(n) = (1..=lines.len()).rev().find(|&n| fits(&lines[..n])) {
        return Fit::Lines(n);
    }
    let words: Vec<&str> = lines.first().map_or(Vec::new(), |l| l.text.split_whitespace().collect());
    if words.len() <= 1 {
        // Nothing (or one word too long for any panel) to split: it stays whole.
        return Fit::Lines(lines.len().min(1));
    }
    let n =
        (1..words.len()).rev().find(|&n| fits(&[Line { text: words[..n].join(" "), ..lines[0].clone() }])).unwrap_or(1);
    Fit::Words(n)
}

/// Places `lines` (which [`fit`] said fit) in the panel: each where it hides the least
/// importance, off the subject, after the previous one in reading order.
pub fn place(
    lettering: &Lettering,
    scene: &PanelScene,
    lines: &[Line],
    style: &BalloonStyle,
    rtl: bool,
) -> Vec<Balloon> {
    let panel = scene.panel;
    let size = [style.size, style.min_size]
        .into_iter()
        .find(|&s| {
            let bodies: Vec<_> = lines.iter().map(|l| letter(lettering, l, s, &panel).1).collect();
            shelf(&panel, &bodies, rtl).is_some()
        })
        .unwrap_or(style.min_size);
    let lettered: Vec<(TextBlock, (f32, f32))> = lines.iter().map(|l| letter(lettering, l, size, &panel)).collect();
    let bodies: Vec<(f32, f32)> = lettered.iter().map(|l| l.1).collect();
    let searched = search(scene, lines, &bodies, rtl);
    // The search places greedily and may corner itself; the shelf works for all that [`fit`]
    // passed, and a single word too long for the panel is still drawn whole, from its corner.
    let rects = searched
        .or_else(|| shelf(&panel, &bodies, rtl))
        .unwrap_or_else(|| bodies.iter().map(|&(w, h)| Rect::new(panel.x + INSET, panel.y + INSET, w, h)).collect());
    rects
        .into_iter()
        .zip(lines.iter().zip(lettered))
        .map(|(body, (line, (block, _)))| Balloon {
            cue: line.cue,
            text: line.text.clone(),
            narration: line.narration,
            body,
            tail: (!line.narration).then(|| tail_tip(&body, scene)),
            block,
        })
        .collect()
}

fn search(scene: &PanelScene, lines: &[Line], bodies: &[(f32, f32)], rtl: bool) -> Option<Vec<Rect>> {
    let inner = scene.panel.inflate(-INSET);
    let step = (inner.w / 48.0).max(6.0);
    let mut placed: Vec<Rect> = Vec::new();
    for (line, &(w, h)) in lines.iter().zip(bodies) {
        let reading = |r: &Rect| {
            let x = if rtl { inner.right() - r.right() } else { r.x - inner.x };
            (r.y - inner.y) / inner.h + 0.5 * x / inner.w
        };
        let previous = placed.last().map(reading);
        let mut best: Option<(f32, Rect)> = None;
        let (nx, ny) =
            (((inner.w - w) / step).floor().max(-1.0) as i32, ((inner.h - h) / step).floor().max(-1.0) as i32);
        for j in 0..=ny {
            for i in 0..=nx {
                let r = Rect::new(inner.x + i as f32 * step, inner.y + j as f32 * step, w, h);
                if placed.iter().any(|p| p.inflate(INSET).overlap(&r) > 0.0) {
                    continue;
                }
                let on_subject = scene.subject.map_or(0.0, |s| s.overlap(&r) / r.area());
                let order = previous.map_or(0.0, |p| if reading(&r) > p { 0.0 } else { 2.0 });
                let rel_y = (r.y - inner.y) / inner.h;
                let edge = if line.narration { 1.5 * rel_y.min(1.0 - rel_y - h / inner.h) } else { 0.3 * rel_y };
                let cost = 3.0 * (scene.importance)(&r) + 20.0 * on_subject + order + edge;
                if best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, r));
                }
            }
        }
        placed.push(best?.1);
    }
    Some(placed)
}

/// The tail's tip: from the body toward the speaker (or straight down), a short way past the
/// body's edge, inside the panel.
fn tail_tip(body: &Rect, scene: &PanelScene) -> (f32, f32) {
    let (cx, cy) = body.center();
    let (tx, ty) = scene.speaker.unwrap_or((cx, body.bottom() + body.h));
    let (dx, dy) = (tx - cx, ty - cy);
    let len = dx.hypot(dy).max(1e-3);
    let (ux, uy) = if len < 1.0 { (0.0, 1.0) } else { (dx / len, dy / len) };
    let (a, b) = (body.w / 2.0, body.h / 2.0);
    let edge = 1.0 / ((ux / a).powi(2) + (uy / b).powi(2)).sqrt();
    let reach = edge + (0.6 * b + 14.0).clamp(20.0, 70.0).min((0.7 * (len - edge)).max(14.0));
    let inner = scene.panel.inflate(-4.0);
    ((cx + ux * reach).clamp(inner.x, inner.right()), (cy + uy * reach).clamp(inner.y, inner.bottom()))
}

/// Draws a balloon (body, tail, outline, text).
pub fn draw(canvas: &mut Canvas, lettering: &Lettering, balloon: &Balloon) {
    let stroke = (balloon.block.size / 9.0).max(1.5);
    let b = balloon.body;
    let (cx, cy) = b.center();
    let (a, bb) = (b.w / 2.0, b.h / 2.0);
    let tail = balloon.tail.map(|(tx, ty)| {
        let (dx, dy) = (tx - cx, ty - cy);
        let len = dx.hypot(dy).max(1e-3);
        let half = 0.35 * a.min(bb);
        let (px, py) = (-dy / len * half, dx / len * half);
        [(cx + px, cy + py), (cx - px, cy - py), (tx, ty)]
    });
    let sdf = |x: f32, y: f32| {
        let body = if balloon.narration { box_sdf(x, y, &b) } else { ellipse_sdf(x - cx, y - cy, a, bb) };
        tail.map_or(body, |t| body.min(triangle_sdf(x, y, &t)))
    };
    let mut bounds = b;
    if let Some((tx, ty)) = balloon.tail {
        let (x0, y0) = (bounds.x.min(tx), bounds.y.min(ty));
        bounds = Rect::new(x0, y0, bounds.right().max(tx) - x0, bounds.bottom().max(ty) - y0);
    }
    let bounds = bounds.inflate(stroke + 2.0);
    let fill = if balloon.narration { CAPTION } else { WHITE };
    for y in bounds.y.floor() as i64..bounds.bottom().ceil() as i64 {
        for x in bounds.x.floor() as i64..bounds.right().ceil() as i64 {
            let d = sdf(x as f32 + 0.5, y as f32 + 0.5);
            canvas.blend(x, y, BLACK, (stroke - d + 0.5).clamp(0.0, 1.0));
            canvas.blend(x, y, fill, (-d + 0.5).clamp(0.0, 1.0));
        }
    }
    lettering.draw(canvas, &balloon.block, (cx, cy), BLACK);
}

/// Signed distance to an ellipse (negative inside), first-order.
fn ellipse_sdf(dx: f32, dy: f32, a: f32, b: f32) -> f32 {
    let k = ((dx / a).powi(2) + (dy / b).powi(2)).sqrt();
    if k < 1e-6 {
        return -a.min(b);
    }
    let grad = ((dx / (a * a)).powi(2) + (dy / (b * b)).powi(2)).sqrt() / k;
    (k - 1.0) / grad
}

fn box_sdf(x: f32, y: f32, r: &Rect) -> f32 {
    let (cx, cy) = r.center();
    let (qx, qy) = ((x - cx).abs() - r.w / 2.0, (y - cy).abs() - r.h / 2.0);
    qx.max(0.0).hypot(qy.max(0.0)) + qx.max(qy).min(0.0)
}

/// Signed distance to a triangle, as the largest distance outside its edges (exact inside and
/// along the edges, which is all an outline needs).
fn triangle_sdf(x: f32, y: f32, t: &[(f32, f32); 3]) -> f32 {
    let area = (t[1].0 - t[0].0) * (t[2].1 - t[0].1) - (t[1].1 - t[0].1) * (t[2].0 - t[0].0);
    let sign = if area >= 0.0 { 1.0 } else { -1.0 };
    (0..3)
        .map(|i| {
            let (p, q) = (t[i], t[(i + 1) % 3]);
            let (ex, ey) = (q.0 - p.0, q.1 - p.1);
            let len = ex.hypot(ey).max(1e-6);
            // Outward normal of a counter-clockwise edge (in y-down coordinates).
            sign * ((x - p.0) * ey - (y - p.1) * ex) / len
        })
        .fold(f32::MIN, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cue: usize, text: &str) -> Line {
        Line { cue, text: text.into(), narration: false }
    }

    #[test]
    fn balloons_avoid_the_subject_follow_reading_order_and_stay_inside() {
        let lettering = Lettering::new();
        let panel = Rect::new(20.0, 40.0, 760.0, 428.0);
        // The subject fills the left 40 %: balloons go right.
        let subject = Rect::new(20.0, 40.0, 304.0, 428.0);
        let importance = |r: &Rect| r.overlap(&subject) / r.area();
        let scene =
            PanelScene { panel, importance: &importance, subject: Some(subject), speaker: Some((200.0, 150.0)) };
        let lines =
            [line(0, "Where are we going?"), line(1, "Somewhere no map has a name for, yet."), line(2, "Great.")];
        let style = BalloonStyle::for_width(800.0);
        assert!(matches!(fit(&lettering, &panel, &lines, &style), Fit::Lines(3)));
        let placed = place(&lettering, &scene, &lines, &style, false);
        assert_eq!(placed.len(), 3);
        for (b, l) in placed.iter().zip(&lines) {
            assert_eq!(b.text, l.text);
            assert_eq!(b.block.text(), l.text);
            assert!(panel.contains(&b.body, 0.5), "{:?}", b.body);
            assert_eq!(b.body.overlap(&subject), 0.0, "{:?}", b.body);
            let (tx, ty) = b.tail.unwrap();
            assert!(tx < b.body.center().0 && ty >= panel.y && ty <= panel.bottom());
        }
        for w in placed.windows(2) {
            assert!(w[1].body.y + 0.5 * (w[1].body.x - 20.0) > w[0].body.y + 0.5 * (w[0].body.x - 20.0));
            assert_eq!(w[0].body.overlap(&w[1].body), 0.0);
        }
        let mut canvas = Canvas::new(800, 508, [90, 120, 160]);
        for b in &placed {
            draw(&mut canvas, &lettering, b);
        }
        let (cx, cy) = placed[0].body.center();
        let px = 3 * (cy as usize * 800 + (cx - 0.45 * placed[0].body.w) as usize);
        assert!(canvas.rgb[px] > 200, "the body is filled white");
    }

    #[test]
    fn too_many_lines_fit_partly_and_a_huge_line_fits_by_words() {
        let lettering = Lettering::new();
        let panel = Rect::new(0.0, 0.0, 380.0, 300.0);
        let style = BalloonStyle::for_width(800.0);
        let lines: Vec<Line> = (0..8).map(|i| line(i, "A line of moderate length here.")).collect();
        let Fit::Lines(n) = fit(&lettering, &panel, &lines, &style) else { panic!("some lines fit") };
        assert!((1..8).contains(&n), "{n}");
        let long = [line(0, &"word ".repeat(200))];
        let Fit::Words(w) = fit(&lettering, &panel, &long, &style) else { panic!("too long for one panel") };
        assert!((3..200).contains(&w), "{w}");
    }
}
