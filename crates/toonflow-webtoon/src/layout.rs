//! Where each panel goes. `scroll`: the vertical webtoon strip, a wide establishing panel at each
//! shot's start, two short moments of a shot side by side, and gutters that grow with the time
//! between panels (a long pause reads as a long scroll). `page`: comic pages of rows, each row's
//! height and each panel's width shared by importance, mirrored for right-to-left reading.

use crate::geom::Rect;

/// Page layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    /// One long vertical strip.
    Scroll,
    /// Comic pages.
    Page,
}

/// Page proportions for [`LayoutKind::Page`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PageSize {
    /// ISO A4, 210 x 297 mm.
    A4,
    /// JIS B5, 182 x 257 mm (the usual manga magazine size).
    B5,
}

impl PageSize {
    /// Height over width.
    pub fn ratio(self) -> f32 {
        match self {
            PageSize::A4 => 297.0 / 210.0,
            PageSize::B5 => 257.0 / 182.0,
        }
    }
}

/// The layout's settings.
#[derive(Clone, Copy, Debug)]
pub struct LayoutConfig {
    /// Strip or pages.
    pub kind: LayoutKind,
    /// Width of the strip or of a page, pixels.
    pub width: f32,
    /// Right-to-left reading (manga): pages mirror their panels' order.
    pub rtl: bool,
    /// Page proportions.
    pub page: PageSize,
}

/// What the layout needs to know of a panel.
#[derive(Clone, Debug)]
pub struct PanelShape {
    /// Width over height of the source picture.
    pub aspect: f32,
    /// First panel of its shot.
    pub shot_start: bool,
    /// Its shot.
    pub shot: usize,
    /// Seconds from the previous panel's moment to this one's.
    pub gap_seconds: f64,
    /// Weight for its share of a page row (its moment's length, its lines).
    pub importance: f32,
    /// Number of lines it carries.
    pub lines: usize,
    /// A continuation of the previous panel.
    pub continuation: bool,
}

/// The layout: each panel's box on its canvas (page), and the canvases' sizes.
#[derive(Clone, Debug)]
pub struct Layout {
    /// `(canvas index, box)` per panel, in reading order.
    pub boxes: Vec<(usize, Rect)>,
    /// Canvas sizes: one for a strip, one per page.
    pub canvases: Vec<(usize, usize)>,
    /// Gutters of the strip (spans between panels where a slice may be cut), `(top, bottom)`.
    pub gutters: Vec<(f32, f32)>,
}

/// Margin at the strip's sides and a page's edges, as a share of the width.
const MARGIN: f32 = 0.03;

/// Lays the panels out.
pub fn layout(panels: &[PanelShape], cfg: &LayoutConfig) -> Layout {
    match cfg.kind {
        LayoutKind::Scroll => scroll(panels, cfg),
        LayoutKind::Page => pages(panels, cfg),
    }
}

/// Gutter before a panel in the strip: longer pauses scroll longer, a new shot a little more.
pub fn gutter(width: f32, gap_seconds: f64, new_shot: bool) -> f32 {
    let unit = width / 800.0;
    let pause = 28.0 + 70.0 * (1.0 + gap_seconds.max(0.0) as f32).ln();
    unit * (pause.min(260.0) + if new_shot { 50.0 } else { 0.0 })
}

fn scroll(panels: &[PanelShape], cfg: &LayoutConfig) -> Layout {
    let w = cfg.width;
    let margin = (MARGIN * w).round();
    let inner = w - 2.0 * margin;
    let split_gap = (0.02 * w).round();
    let mut y = (0.05 * w).round();
    let mut boxes = Vec::with_capacity(panels.len());
    let mut gutters = Vec::new();
    let mut i = 0;
    while i < panels.len() {
        let p = &panels[i];
        if i > 0 {
            let g = gutter(w, p.gap_seconds, p.shot_start).round();
            gutters.push((y, y + g));
            y += g;
        }
        // Two short moments of one shot, each with at most one line, share a row.
        let pair = panels.get(i + 1).filter(|q| {
            !p.shot_start
                && !p.continuation
                && !q.shot_start
                && !q.continuation
                && q.shot == p.shot
                && p.lines <= 1
                && q.lines <= 1
        });
        if pair.is_some() {
            let half = ((inner - split_gap) / 2.0).floor();
            let h = (half * 1.25).round();
            let (a, b) = (Rect::new(margin, y, half, h), Rect::new(margin + half + split_gap, y, half, h));
            let (a, b) = if cfg.rtl { (b, a) } else { (a, b) };
            boxes.push((0, a));
            boxes.push((0, b));
            y += h;
            i += 2;
            continue;
        }
        // Establishing panels open a shot wide (2:1) when more panels of the shot follow.
        let more = panels.get(i + 1).is_some_and(|q| q.shot == p.shot);
        let aspect = if p.shot_start && more { p.aspect.clamp(2.0, 3.0) } else { p.aspect.clamp(0.6, 2.4) };
        let h = (inner / aspect).round();
        boxes.push((0, Rect::new(margin, y, inner, h)));
        y += h;
        i += 1;
    }
    y += (0.08 * w).round();
    Layout { boxes, canvases: vec![(w as usize, y as usize)], gutters }
}

fn pages(panels: &[PanelShape], cfg: &LayoutConfig) -> Layout {
    let w = cfg.width;
    let h = (w * cfg.page.ratio()).round();
    let margin = (MARGIN * 2.0 * w).round();
    let gap = (0.02 * w).round();
    let (inner_w, inner_h) = (w - 2.0 * margin, h - 2.0 * margin);
    // Rows: an establishing panel alone, others two to a row within a shot.
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for (i, p) in panels.iter().enumerate() {
        let join = rows.last().is_some_and(|r: &Vec<usize>| {
            let first = &panels[r[0]];
            r.len() < 2 && !first.shot_start && !p.shot_start && first.shot == p.shot
        });
        if join {
            rows.last_mut().expect("a row").push(i);
        } else {
            rows.push(vec![i]);
        }
    }
    // A row's natural height keeps its panels' proportions, within a band (a panoramic or
    // sliver-thin source is cropped to a readable panel).
    let aspect = |i: usize| panels[i].aspect.clamp(0.5, 3.0);
    let natural = |r: &[usize]| {
        let aspects: f32 = r.iter().map(|&i| aspect(i)).sum();
        ((inner_w - gap * (r.len() - 1) as f32) / aspects).clamp(0.2 * inner_h, 0.45 * inner_h)
    };
    let mut boxes = vec![(0, Rect::default()); panels.len()];
    let mut canvases = Vec::new();
    let mut r = 0;
    while r < rows.len() {
        // Fill a page with rows, then stretch them to its height, by importance and size.
        let mut end = r;
        let mut used = 0.0;
        while end < rows.len() && (end == r || used + gap + natural(&rows[end]) <= inner_h) {
            used += natural(&rows[end]) + if end > r { gap } else { 0.0 };
            end += 1;
        }
        let page_rows = &rows[r..end];
        let weight = |row: &[usize]| {
            natural(row) * (1.0 + 0.15 * row.iter().map(|&i| panels[i].importance).fold(0.0, f32::max).min(4.0))
        };
        let total: f32 = page_rows.iter().map(|row| weight(row)).sum();
        let free = inner_h - gap * (page_rows.len() - 1) as f32;
        let page = canvases.len();
        let mut y = margin;
        for row in page_rows {
            let rh = (free * weight(row) / total).round();
            let shares: Vec<f32> =
                row.iter().map(|&i| aspect(i) * (1.0 + 0.3 * panels[i].importance.min(3.0))).collect();
            let sum: f32 = shares.iter().sum();
            let free_w = inner_w - gap * (row.len() - 1) as f32;
            let mut x = margin;
            for (&i, share) in row.iter().zip(&shares) {
                let pw = (free_w * share / sum).round();
                let rect = Rect::new(x, y, pw, rh);
                boxes[i] = (page, if cfg.rtl { rect.mirrored(w) } else { rect });
                x += pw + gap;
            }
            y += rh + gap;
        }
        canvases.push((w as usize, h as usize));
        r = end;
    }
    Layout { boxes, canvases, gutters: Vec::new() }
}

/// Where to cut a strip of `height` into slices no taller than `max`: in the middle of a gutter
/// where one lies in reach, else at the limit.
pub fn slice_cuts(height: usize, gutters: &[(f32, f32)], max: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    let mut top = 0;
    while height - top > max {
        let reach = top + max;
        let cut = gutters
            .iter()
            .map(|&(a, b)| ((a + b) / 2.0).round() as usize)
            .filter(|&c| c > top + max / 4 && c <= reach)
            .max()
            .unwrap_or(reach);
        cuts.push(cut);
        top = cut;
    }
    cuts.push(height);
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(shot: usize, shot_start: bool, lines: usize) -> PanelShape {
        PanelShape {
            aspect: 16.0 / 9.0,
            shot_start,
            shot,
            gap_seconds: 2.0,
            importance: 1.0,
            lines,
            continuation: false,
        }
    }

    #[test]
    fn scroll_opens_shots_wide_pairs_short_moments_and_paces_gutters() {
        let panels = [shape(0, true, 0), shape(0, false, 1), shape(0, false, 0), shape(1, true, 2)];
        let cfg = LayoutConfig { kind: LayoutKind::Scroll, width: 800.0, rtl: false, page: PageSize::A4 };
        let l = layout(&panels, &cfg);
        let b: Vec<Rect> = l.boxes.iter().map(|b| b.1).collect();
        assert!((b[0].w / b[0].h - 2.0).abs() < 0.02, "establishing 2:1");
        assert_eq!(b[1].y, b[2].y, "a split row");
        assert!(b[1].right() <= b[2].x);
        for w in b.windows(2) {
            assert!(w[1].y >= w[0].y);
        }
        assert!(b.iter().all(|r| r.x >= 0.0 && r.right() <= 800.0 && r.bottom() <= l.canvases[0].1 as f32));
        assert!(gutter(800.0, 10.0, false) > gutter(800.0, 1.0, false));
        let rtl = layout(&panels, &LayoutConfig { rtl: true, ..cfg });
        assert!(rtl.boxes[1].1.x > rtl.boxes[2].1.x, "right to left");
    }

    #[test]
    fn pages_fill_their_height_and_mirror_for_right_to_left() {
        let panels: Vec<PanelShape> = (0..9).map(|i| shape(i / 3, i % 3 == 0, 1)).collect();
        let cfg = LayoutConfig { kind: LayoutKind::Page, width: 1000.0, rtl: false, page: PageSize::B5 };
        let l = layout(&panels, &cfg);
        assert!(l.canvases.len() >= 2);
        let (w, h) = l.canvases[0];
        for (page, r) in &l.boxes {
            assert!(
                *page < l.canvases.len() && r.x >= 0.0 && r.right() <= w as f32 + 0.5 && r.bottom() <= h as f32 + 0.5
            );
        }
        let rtl = layout(&panels, &LayoutConfig { rtl: true, ..cfg });
        let (a, b) = (rtl.boxes[1].1, rtl.boxes[2].1);
        assert_eq!(a.y, b.y);
        assert!(a.x > b.x, "the first panel of a row is on the right");
    }

    #[test]
    fn slices_cut_in_gutters_and_respect_the_limit() {
        let cuts = slice_cuts(3000, &[(900.0, 960.0), (1500.0, 1560.0), (2600.0, 2650.0)], 1280);
        assert_eq!(cuts, [0, 930, 1530, 2625, 3000]);
        let cuts = slice_cuts(3000, &[], 1280);
        assert!(cuts.windows(2).all(|w| w[1] - w[0] <= 1280));
    }
}
