//! Property tests: any text as subtitles, any mix of panels through both layouts, any lines in
//! any panel box — never a panel outside its canvas, never a word lost.

use proptest::prelude::*;
use toonflow_webtoon::balloons::{self, BalloonStyle, Fit, Line};
use toonflow_webtoon::geom::Rect;
use toonflow_webtoon::layout::{layout, slice_cuts, LayoutConfig, LayoutKind, PageSize, PanelShape};
use toonflow_webtoon::lettering::Lettering;
use toonflow_webtoon::subtitles;

fn shape() -> impl Strategy<Value = PanelShape> {
    (0.05f32..20.0, any::<bool>(), 0usize..4, 0.0f64..60.0, 0.0f32..10.0, 0usize..5, any::<bool>()).prop_map(
        |(aspect, shot_start, shot, gap_seconds, importance, lines, continuation)| PanelShape {
            aspect,
            shot_start,
            shot,
            gap_seconds,
            importance,
            lines,
            continuation,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_text_parses_into_timed_cues_with_text(text in "(\\PC|\n|-->|:|,|\\[|\\]|[0-9]){0,400}") {
        let subs = subtitles::parse(&text, "x.srt");
        for cue in &subs.cues {
            prop_assert!(cue.end > cue.start && cue.start >= 0.0 && !cue.text.is_empty());
        }
    }

    #[test]
    fn layouts_keep_every_panel_inside_its_canvas(
        panels in prop::collection::vec(shape(), 0..30),
        page in any::<bool>(),
        rtl in any::<bool>(),
        width in 320f32..2000.0,
    ) {
        let kind = if page { LayoutKind::Page } else { LayoutKind::Scroll };
        let l = layout(&panels, &LayoutConfig { kind, width, rtl, page: PageSize::B5 });
        prop_assert_eq!(l.boxes.len(), panels.len());
        for &(c, r) in &l.boxes {
            let (w, h) = l.canvases[c];
            prop_assert!(r.w >= 1.0 && r.h >= 1.0, "{:?}", r);
            prop_assert!(
                r.x >= 0.0 && r.y >= 0.0 && r.right() <= w as f32 + 0.5 && r.bottom() <= h as f32 + 0.5,
                "{:?} in {}x{}", r, w, h
            );
        }
        if let (false, Some(&(_, h))) = (page, l.canvases.first()) {
            let cuts = slice_cuts(h, &l.gutters, 1280);
            prop_assert!(cuts.windows(2).all(|c| c[1] > c[0] && c[1] - c[0] <= 1280), "{:?}", cuts);
        }
    }

    #[test]
    fn balloons_hold_every_word_of_what_fits(
        texts in prop::collection::vec("[a-zA-Z!?,.']{1,14}( [a-zA-Z!?,.']{1,14}){0,30}", 1..5),
        w in 120f32..900.0,
        h in 80f32..700.0,
    ) {
        let lettering = Lettering::new();
        let panel = Rect::new(0.0, 0.0, w, h);
        let style = BalloonStyle::for_width(800.0);
        let lines: Vec<Line> = texts
            .iter()
            .enumerate()
            .map(|(cue, t)| Line { cue, text: t.clone(), narration: cue % 2 == 1 })
            .collect();
        let fitting = match balloons::fit(&lettering, &panel, &lines, &style) {
            Fit::Lines(n) => lines[..n].to_vec(),
            Fit::Words(n) => {
                let words: Vec<&str> = lines[0].text.split_whitespace().collect();
                prop_assert!(n >= 1 && n < words.len());
                vec![Line { text: words[..n].join(" "), ..lines[0].clone() }]
            }
        };
        prop_assert!(!fitting.is_empty());
        let importance = |_: &Rect| 0.0;
        let scene = balloons::PanelScene { panel, importance: &importance, subject: None, speaker: None };
        let placed = balloons::place(&lettering, &scene, &fitting, &style, false);
        prop_assert_eq!(placed.len(), fitting.len());
        for (b, l) in placed.iter().zip(&fitting) {
            prop_assert_eq!(&b.block.text(), &l.text);
            // One word too wide for the whole panel is the one case allowed to stick out.
            if l.text.contains(' ') {
                prop_assert!(panel.contains(&b.body, 0.5), "{:?} in {:?}", b.body, panel);
            }
        }
    }
}
