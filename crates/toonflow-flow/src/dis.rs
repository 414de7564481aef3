//! Dense Inverse Search optical flow (Kroeger et al. 2016), coarse to fine:
//!
//! 1. an image pyramid (2x box downsampling) of both frames;
//! 2. at each level, from the coarsest down to `finest_level`, a grid of overlapping patches of
//!    the first frame is matched into the second by inverse-compositional Lucas–Kanade (the
//!    2x2 Hessian of each template patch is computed once), starting from the flow of the
//!    coarser level, on mean-normalised patches (robust to brightness changes);
//! 3. densification: every pixel averages the flows of the patches that cover it, each weighted
//!    by how well that flow explains the pixel (`1 / |I1(x+u) - I0(x)|`);
//! 4. at the finest computed level, variational refinement: a few Horn–Schunck iterations
//!    linearised around the current flow sharpen it to sub-pixel accuracy and fill weak patches
//!    from their neighbours (coarser levels only seed the next level's search: refining them as
//!    well changed the flow bench's error by 0.004 px for a fifth more time);
//! 5. the flow of the finest computed level is upsampled bilinearly to full resolution.

use crate::warp::{sample, sample_block_cubic, warp_backward};
use crate::Flow;
use rayon::prelude::*;
use toonflow_imgproc::lanes::{dot, sum};
use toonflow_imgproc::Plane;

/// Settings of [`compute_flow`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DisConfig {
    /// Finest pyramid level computed (0 = full resolution); finer levels are upsampled.
    pub finest_level: usize,
    /// Side of the square patches, in pixels of the level.
    pub patch_size: usize,
    /// Largest distance between patch origins (smaller = more overlap, denser, slower).
    pub patch_stride: usize,
    /// Patches across the longer side of every level, at least (down to a third of a patch
    /// apart): coarse levels are small, so denser patches cost little there, and they keep large
    /// motion from being lost before the fine levels see it.
    pub min_patches_across: usize,
    /// Inverse-search iterations per patch.
    pub iterations: usize,
    /// Variational refinement iterations at the finest computed level (0 = none).
    pub refine_iterations: usize,
    /// Smoothness weight of the refinement, in squared intensity-gradient units.
    pub smoothness: f32,
}

/// The presets share 12-pixel patches: on the flow bench (720p, 12 known motions up to 18 px)
/// 8-pixel patches lost 15 px shifts in places and were less accurate at the same cost.
impl DisConfig {
    /// Fastest: quarter-resolution finest level, sparser patches, no refinement.
    pub fn ultrafast() -> Self {
        Self { patch_stride: 8, refine_iterations: 0, ..Self::fast() }
    }

    /// Quarter-resolution finest level with refinement. (Refinement does not lower the bench's
    /// error at this level, but it fills weak patches in flat areas, which textured test photos
    /// do not have and video does.)
    pub fn fast() -> Self {
        Self {
            finest_level: 2,
            patch_size: 12,
            patch_stride: 6,
            min_patches_across: 40,
            iterations: 12,
            refine_iterations: 5,
            smoothness: 0.002,
        }
    }

    /// Half-resolution finest level: accurate. (On the flow bench a stride of 8 instead of 10
    /// gains 0.003 px of mean error for 1.3x the time.)
    pub fn medium() -> Self {
        Self { finest_level: 1, patch_stride: 10, ..Self::fast() }
    }
}

impl Default for DisConfig {
    fn default() -> Self {
        Self::fast()
    }
}

/// Halves a plane with the binomial filter [1 3 3 1] / 8 in each direction (centred where a
/// 2x2 box would be): a light blur that keeps fine texture from aliasing into false structure,
/// computed only at the output samples.
fn halve(p: &Plane) -> Plane {
    let (w, h) = (p.width(), p.height());
    let (hw, hh) = ((w / 2).max(1), (h / 2).max(1));
    let tap = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
    let mut rows = Plane::new(hw, h);
    let edge = |r: &[f32], x: usize| {
        let c = 2 * x as isize;
        (r[tap(c - 1, w)] + 3.0 * r[tap(c, w)] + 3.0 * r[tap(c + 1, w)] + r[tap(c + 2, w)]) * 0.125
    };
    // Outputs 1..inner have all four taps inside the row: no clamping there.
    let inner = ((w.saturating_sub(3)) / 2 + 1).clamp(1, hw);
    rows.par_rows_mut().enumerate().for_each(|(y, out)| {
        let r = p.row(y);
        out[0] = edge(r, 0);
        // Output x reads the input pairs (2x - 1, 2x) and (2x + 1, 2x + 2): pairwise slices
        // vectorize where per-output indexing did not.
        if w >= 3 {
            let pairs = r[1..].chunks_exact(2).zip(r[3..].chunks_exact(2));
            for (o, (p, q)) in out[1..inner].iter_mut().zip(pairs) {
                *o = (p[0] + 3.0 * p[1] + 3.0 * q[0] + q[1]) * 0.125;
            }
        }
        for (x, o) in out.iter_mut().enumerate().skip(inner) {
            *o = edge(r, x);
        }
    });
    let mut out = Plane::new(hw, hh);
    out.par_rows_mut().enumerate().for_each(|(y, o)| {
        let c = 2 * y as isize;
        let (a, b, c2, d) =
            (rows.row(tap(c - 1, h)), rows.row(tap(c, h)), rows.row(tap(c + 1, h)), rows.row(tap(c + 2, h)));
        for (x, v) in o.iter_mut().enumerate() {
            *v = (a[x] + 3.0 * b[x] + 3.0 * c2[x] + d[x]) * 0.125;
        }
    });
    out
}

/// Central-difference gradients, one-sided at the border.
fn gradients(p: &Plane) -> (Plane, Plane) {
    let (w, h) = (p.width(), p.height());
    let mut gx = Plane::new(w, h);
    gx.par_rows_mut().enumerate().for_each(|(y, out)| {
        let r = p.row(y);
        if w < 2 {
            return;
        }
        out[0] = r[1] - r[0];
        out[w - 1] = r[w - 1] - r[w - 2];
        // Interior: (r[x+1] - r[x-1]) / 2 over shifted slices, which vectorizes.
        for ((o, &a), &b) in out[1..w - 1].iter_mut().zip(&r[..w - 2]).zip(&r[2..]) {
            *o = 0.5 * (b - a);
        }
    });
    let mut gy = Plane::new(w, h);
    gy.par_rows_mut().enumerate().for_each(|(y, out)| {
        let (a, b) = (y.saturating_sub(1), (y + 1).min(h - 1));
        let scale = 1.0 / (b - a).max(1) as f32;
        for ((o, &ra), &rb) in out.iter_mut().zip(p.row(a)).zip(p.row(b)) {
            *o = (rb - ra) * scale;
        }
    });
    (gx, gy)
}

/// Patch origins along one axis: every `stride`, plus the last position that fits.
fn patch_origins(len: usize, size: usize, stride: usize) -> Vec<usize> {
    let last = len - size;
    let mut v: Vec<usize> = (0..=last).step_by(stride.max(1)).collect();
    if *v.last().expect("non-empty") != last {
        v.push(last);
    }
    v
}

/// Coarser levels under `base` (2x reductions) down to the smallest one still a few patches high.
fn coarser_levels(base: &Plane, cfg: &DisConfig) -> Vec<Plane> {
    let ps = cfg.patch_size.max(2);
    let mut levels: Vec<Plane> = Vec::new();
    loop {
        let last = levels.last().unwrap_or(base);
        if last.width().min(last.height()) / 2 < 3 * ps {
            return levels;
        }
        let next = halve(last);
        levels.push(next);
    }
}

/// One frame's image pyramid: the grey frame and its 2x reductions. A video frame's pyramid is
/// built once and serves both flows it takes part in (to the previous frame and from it), and
/// the next frame's flows after that.
#[derive(Clone, Debug)]
pub struct Pyramid {
    base: Plane,
    coarser: Vec<Plane>,
    patch_size: usize,
}

impl Pyramid {
    /// The pyramid [`compute_flow_between`] needs for `cfg` (its depth follows the patch size).
    pub fn new(base: Plane, cfg: &DisConfig) -> Self {
        let coarser = coarser_levels(&base, cfg);
        Self { base, coarser, patch_size: cfg.patch_size }
    }

    /// The full-resolution level: the frame itself.
    pub fn base(&self) -> &Plane {
        &self.base
    }

    fn levels(&self) -> impl Iterator<Item = &Plane> {
        std::iter::once(&self.base).chain(&self.coarser)
    }
}

/// Optical flow from `i0` to `i1` (grey planes of equal size, values about `[0, 1]`).
pub fn compute_flow(i0: &Plane, i1: &Plane, cfg: &DisConfig) -> Flow {
    assert_eq!((i0.width(), i0.height()), (i1.width(), i1.height()), "frames differ in size");
    let (c0, c1) = rayon::join(|| coarser_levels(i0, cfg), || coarser_levels(i1, cfg));
    let levels0: Vec<&Plane> = std::iter::once(i0).chain(&c0).collect();
    let levels1: Vec<&Plane> = std::iter::once(i1).chain(&c1).collect();
    flow_from_levels(&levels0, &levels1, cfg)
}

/// [`compute_flow`] between two frames whose pyramids are already built (for the same patch
/// size as `cfg`'s).
///
/// # Panics
/// If the frames differ in size or the pyramids were built for another patch size.
pub fn compute_flow_between(p0: &Pyramid, p1: &Pyramid, cfg: &DisConfig) -> Flow {
    let (b0, b1) = (p0.base(), p1.base());
    assert_eq!((b0.width(), b0.height()), (b1.width(), b1.height()), "frames differ in size");
    assert!(
        p0.patch_size == cfg.patch_size && p1.patch_size == cfg.patch_size,
        "pyramids built for patches of {} and {}, the flow uses {}",
        p0.patch_size,
        p1.patch_size,
        cfg.patch_size
    );
    let levels0: Vec<&Plane> = p0.levels().collect();
    let levels1: Vec<&Plane> = p1.levels().collect();
    flow_from_levels(&levels0, &levels1, cfg)
}

/// The coarse-to-fine search over two pyramids of the same depth (level 0 full resolution).
fn flow_from_levels(levels0: &[&Plane], levels1: &[&Plane], cfg: &DisConfig) -> Flow {
    let (w, h) = (levels0[0].width(), levels0[0].height());
    let ps = cfg.patch_size.max(2);
    let coarsest = levels0.len().min(levels1.len()) - 1;
    let finest = cfg.finest_level.min(coarsest);
    let mut flow: Option<Flow> = None;
    for level in (finest..=coarsest).rev() {
        let (a, b) = (levels0[level], levels1[level]);
        let patch = ps.min(a.width()).min(a.height());
        let across = a.width().max(a.height()) / cfg.min_patches_across.max(1);
        let stride = across.max(patch / 3).min(cfg.patch_stride).max(1);
        let mut f = inverse_search_and_densify(a, b, flow.as_ref(), patch, stride, cfg.iterations);
        if level == finest && cfg.refine_iterations > 0 {
            refine(a, b, &mut f, cfg.refine_iterations, cfg.smoothness);
        }
        flow = Some(f);
    }
    let flow = flow.expect("at least one level");
    if flow.width() == w && flow.height() == h {
        flow
    } else {
        upsample_flow(&flow, w, h)
    }
}

/// Where output sample `i` of `dst` samples falls between the input samples of a `src`-long
/// axis (pixel centres aligned, clamped at the ends): the left input and the right one's weight.
fn bilinear_taps(src: usize, dst: usize) -> Vec<(usize, f32)> {
    let ratio = src as f32 / dst as f32;
    (0..dst)
        .map(|i| {
            let s = ((i as f32 + 0.5) * ratio - 0.5).clamp(0.0, (src - 1) as f32);
            let i0 = (s as usize).min(src.saturating_sub(2));
            (i0, s - i0 as f32)
        })
        .collect()
}

/// Resizes a flow field bilinearly, scaling the vectors with it (one pass per output row over
/// both components: at 720p a generic resize plus a scaling pass took a tenth of the flow's time).
pub fn upsample_flow(flow: &Flow, w: usize, h: usize) -> Flow {
    let (fw, fh) = (flow.width(), flow.height());
    let (sx, sy) = (w as f32 / fw as f32, h as f32 / fh as f32);
    let exact_double = w == 2 * fw && fw >= 2;
    // The exactly-doubled width needs no horizontal table (see below).
    let xtaps = if exact_double { Vec::new() } else { bilinear_taps(fw, w) };
    let ytaps = bilinear_taps(fh, h);
    let mut out = Flow::zeros(w, h);
    let Flow { u, v } = &mut out;
    u.par_rows_mut().zip(v.par_rows_mut()).zip(&ytaps).for_each_init(
        || vec![0f32; fw],
        |blend, ((urow, vrow), &(y0, fy))| {
            let y1 = (y0 + 1).min(fh - 1);
            for (dst, src, scale) in [(urow, &flow.u, sx), (vrow, &flow.v, sy)] {
                // Vertical blend into one input-width row, pre-scaled; then horizontal taps.
                for ((b, &a), &c) in blend.iter_mut().zip(src.row(y0)).zip(src.row(y1)) {
                    *b = (a + (c - a) * fy) * scale;
                }
                if exact_double {
                    // Exactly twice as wide (the pyramid's case): each input pair gives the two
                    // outputs between them at fixed weights, a loop that vectorizes.
                    dst[0] = blend[0];
                    dst[w - 1] = blend[fw - 1];
                    let pairs = dst[1..w - 1].chunks_exact_mut(2).zip(blend.iter().zip(&blend[1..]));
                    for (o, (&a, &c)) in pairs {
                        o[0] = a + (c - a) * 0.25;
                        o[1] = a + (c - a) * 0.75;
                    }
                } else {
                    let last = fw - 1;
                    for (o, &(x0, fx)) in dst.iter_mut().zip(&xtaps) {
                        let (a, c) = (blend[x0], blend[(x0 + 1).min(last)]);
                        *o = a + (c - a) * fx;
                    }
                }
            }
        },
    );
    out
}

/// One patch's search result, with the densification weight of each of its pixels.
struct PatchFlow {
    x: usize,
    y: usize,
    u: f32,
    v: f32,
    /// `1 / |I1(x + u) - I0(x)|` per pixel of the patch, row-major.
    weights: Vec<f32>,
}

/// The coarser level's flow at pixel `(x, y)` of a `w x h` level, in that level's pixels: only
/// patch centres need it, so the coarse field is sampled there instead of being upsampled whole.
fn coarse_vector(coarse: &Flow, x: usize, y: usize, w: usize, h: usize) -> (f32, f32) {
    let (sx, sy) = (coarse.width() as f32 / w as f32, coarse.height() as f32 / h as f32);
    let (cx, cy) = ((x as f32 + 0.5) * sx - 0.5, (y as f32 + 0.5) * sy - 0.5);
    (sample(&coarse.u, cx, cy) / sx, sample(&coarse.v, cx, cy) / sy)
}

/// Patch search at one level (starting from the coarser level's flow, or zero at the coarsest)
/// and densification.
fn inverse_search_and_densify(
    i0: &Plane,
    i1: &Plane,
    coarse: Option<&Flow>,
    ps: usize,
    stride: usize,
    iterations: usize,
) -> Flow {
    let (w, h) = (i0.width(), i0.height());
    let (gx, gy) = gradients(i0);
    let search = PatchSearch { i0, i1, gx: &gx, gy: &gy, coarse, ps, iterations };
    let xs = patch_origins(w, ps, stride);
    let ys = patch_origins(h, ps, stride);
    let patches: Vec<Vec<PatchFlow>> =
        ys.par_iter().map_init(|| Scratch::new(ps), |scratch, &py| search.row(&xs, py, scratch)).collect();
    densify(w, h, &patches, ps)
}

/// Buffers of one thread's patch search: template, its gradients, residuals.
struct Scratch {
    t: Vec<f32>,
    tx: Vec<f32>,
    ty: Vec<f32>,
    residuals: Vec<f32>,
}

impl Scratch {
    fn new(ps: usize) -> Self {
        let n = ps * ps;
        Self { t: vec![0.0; n], tx: vec![0.0; n], ty: vec![0.0; n], residuals: vec![0.0; n] }
    }
}

/// What the inverse search of one level reads.
struct PatchSearch<'a> {
    i0: &'a Plane,
    i1: &'a Plane,
    /// Gradients of `i0`.
    gx: &'a Plane,
    gy: &'a Plane,
    coarse: Option<&'a Flow>,
    ps: usize,
    iterations: usize,
}

impl PatchSearch<'_> {
    /// The patches of one row of patch origins.
    fn row(&self, xs: &[usize], py: usize, scratch: &mut Scratch) -> Vec<PatchFlow> {
        xs.iter().map(|&px| self.patch(px, py, scratch)).collect()
    }

    /// Mean-normalised residuals of the template `t` (of mean `mean_t`) against I1 at the real
    /// position `(x, y)`, left in `residuals`; returns their squared sum and the brightness
    /// offset that normalised them.
    #[inline(always)]
    fn residuals(&self, x: f32, y: f32, t: &[f32], mean_t: f32, residuals: &mut [f32]) -> (f32, f32) {
        sample_block_cubic(self.i1, x, y, self.ps, residuals);
        let mean_w = sum(residuals) / residuals.len() as f32;
        let offset = mean_t - mean_w;
        for (r, &tk) in residuals.iter_mut().zip(t) {
            *r += offset - tk;
        }
        (dot(residuals, residuals), offset)
    }

    /// Inverse-compositional search of the patch at `(px, py)`.
    #[inline(always)]
    fn patch(&self, px: usize, py: usize, scratch: &mut Scratch) -> PatchFlow {
        let Self { i0, gx, gy, ps, .. } = *self;
        let Scratch { t, tx, ty, residuals } = scratch;
        let n = ps * ps;
        let (w, h) = (i0.width(), i0.height());
        // Template: mean-normalised patch of I0 and its gradients.
        for j in 0..ps {
            let k = j * ps;
            t[k..k + ps].copy_from_slice(&i0.row(py + j)[px..px + ps]);
            tx[k..k + ps].copy_from_slice(&gx.row(py + j)[px..px + ps]);
            ty[k..k + ps].copy_from_slice(&gy.row(py + j)[px..px + ps]);
        }
        let mean_t = sum(t) / n as f32;
        let (hxx, hxy, hyy) = (dot(tx, tx), dot(tx, ty), dot(ty, ty));
        let (cx, cy) = (px + ps / 2, py + ps / 2);
        let (u0, v0) = self.coarse.map_or((0.0, 0.0), |f| coarse_vector(f, cx, cy, w, h));
        let det = hxx * hyy - hxy * hxy;
        let ssd =
            |u: f32, v: f32, residuals: &mut [f32]| self.residuals(px as f32 + u, py as f32 + v, t, mean_t, residuals);
        // How well the chosen vector explains each pixel, `1 / |I1(x + u) - I0(x)|` from the
        // residuals at that vector: its weight in the densification.
        let finish = |u: f32, v: f32, residuals: &[f32], offset: f32| {
            // Intensity noise floor ~ one 8-bit level.
            let weights = residuals.iter().map(|r| 1.0 / (r - offset).abs().max(0.004)).collect();
            PatchFlow { x: px, y: py, u, v, weights }
        };
        let (start_err, start_offset) = ssd(u0, v0, residuals);
        if det <= 1e-9 {
            return finish(u0, v0, residuals, start_offset);
        }
        let (mut u, mut v) = (u0, v0);
        let mut err = start_err;
        for it in 0..self.iterations {
            if it > 0 {
                err = ssd(u, v, residuals).0;
            }
            let (bx, by) = (dot(tx, residuals), dot(ty, residuals));
            let du = (hyy * bx - hxy * by) / det;
            let dv = (hxx * by - hxy * bx) / det;
            u -= du;
            v -= dv;
            if du * du + dv * dv < 1e-4 {
                break;
            }
        }
        let (final_err, final_offset) = ssd(u, v, residuals);
        // A search that wandered off (worse than where it started, or further than a patch from
        // the coarser level's estimate) is undone.
        let (du, dv) = (u - u0, v - v0);
        let strayed = !u.is_finite() || !v.is_finite() || du * du + dv * dv > (ps * ps) as f32;
        if strayed || final_err > start_err || final_err > err * 4.0 {
            let (_, offset) = ssd(u0, v0, residuals);
            finish(u0, v0, residuals, offset)
        } else {
            finish(u, v, residuals, final_offset)
        }
    }
}

/// Per pixel, the photometric-error-weighted mean of the flows of the patches covering it.
fn densify(w: usize, h: usize, patches: &[Vec<PatchFlow>], ps: usize) -> Flow {
    let mut flow = Flow::zeros(w, h);
    let Flow { u, v } = &mut flow;
    u.par_rows_mut().zip(v.par_rows_mut()).enumerate().for_each_init(
        || vec![0f32; w],
        |weights, (y, (urow, vrow))| {
            weights.fill(0.0);
            for row in patches.iter().filter(|r| !r.is_empty() && r[0].y <= y && y < r[0].y + ps) {
                for p in row {
                    let pw = &p.weights[(y - p.y) * ps..(y - p.y + 1) * ps];
                    let (ur, vr, wr) =
                        (&mut urow[p.x..p.x + ps], &mut vrow[p.x..p.x + ps], &mut weights[p.x..p.x + ps]);
                    for i in 0..ps {
                        ur[i] += pw[i] * p.u;
                        vr[i] += pw[i] * p.v;
                        wr[i] += pw[i];
                    }
                }
            }
            for x in 0..w {
                if weights[x] > 0.0 {
                    urow[x] /= weights[x];
                    vrow[x] /= weights[x];
                }
            }
        },
    );
    flow
}

/// Horn–Schunck iterations on the flow, linearised around the current estimate: the data term
/// is brightness constancy between `i0` and `i1` warped by the flow, the smoothness term pulls
/// each vector toward its 4-neighbour mean.
fn refine(i0: &Plane, i1: &Plane, flow: &mut Flow, iterations: usize, smoothness: f32) {
    let (w, h) = (i0.width(), i0.height());
    if w < 3 || h < 2 {
        return;
    }
    let mut warped = warp_backward(i1, flow);
    // The data term's gradients are those of the mean of I0 and warped I1.
    let mut avg = Plane::new(w, h);
    avg.par_rows_mut().zip(warped.par_rows_mut()).enumerate().for_each(|(y, (a, d))| {
        // `d` becomes the temporal difference I1(x + u) - I0(x).
        for ((a, d), &i0) in a.iter_mut().zip(d.iter_mut()).zip(i0.row(y)) {
            *a = 0.5 * (i0 + *d);
            *d -= i0;
        }
    });
    let (ix, iy) = gradients(&avg);
    // Per pixel constants of the update: the residual at the current flow is
    // `c0 + gx * u + gy * v`, and `inv` normalises it.
    let n = w * h;
    let (mut c0, mut inv) = (vec![0f32; n], vec![0f32; n]);
    c0.par_chunks_mut(w).zip(inv.par_chunks_mut(w)).enumerate().for_each(|(y, (c0, inv))| {
        let inputs = ix.row(y).iter().zip(iy.row(y)).zip(warped.row(y)).zip(flow.u.row(y)).zip(flow.v.row(y));
        for ((c, q), ((((&gx, &gy), &dt), &u), &v)) in c0.iter_mut().zip(inv.iter_mut()).zip(inputs) {
            *c = dt - gx * u - gy * v;
            *q = 1.0 / (smoothness + gx * gx + gy * gy);
        }
    });
    let (mut u, mut v) = (flow.u.data().to_vec(), flow.v.data().to_vec());
    let (mut nu, mut nv) = (vec![0f32; n], vec![0f32; n]);
    for _ in 0..iterations {
        nu.par_chunks_mut(w).zip(nv.par_chunks_mut(w)).enumerate().for_each_init(
            || (vec![0f32; w], vec![0f32; w]),
            |(mu, mv), (y, (ru, rv))| {
                mean_row_into(&u, w, h, y, mu);
                mean_row_into(&v, w, h, y, mv);
                let (ixr, iyr) = (ix.row(y), iy.row(y));
                let (cr, qr) = (&c0[y * w..(y + 1) * w], &inv[y * w..(y + 1) * w]);
                // Zipped slices, so that the loop vectorizes.
                let inputs = ixr.iter().zip(iyr).zip(cr).zip(qr).zip(mu.iter()).zip(mv.iter());
                for ((ou, ov), (((((&gx, &gy), &c), &q), &mu), &mv)) in ru.iter_mut().zip(rv.iter_mut()).zip(inputs) {
                    // Residual of the linearised brightness constancy at the smoothed vector.
                    let k = (c + gx * mu + gy * mv) * q;
                    *ou = mu - gx * k;
                    *ov = mv - gy * k;
                }
            },
        );
        std::mem::swap(&mut u, &mut nu);
        std::mem::swap(&mut v, &mut nv);
    }
    flow.u = Plane::from_vec(w, h, u);
    flow.v = Plane::from_vec(w, h, v);
}

/// 4-neighbour mean of row `y` of a `w x h` field, edges clamped (`w >= 3`).
fn mean_row_into(src: &[f32], w: usize, h: usize, y: usize, out: &mut [f32]) {
    let row = |r: usize| &src[r * w..(r + 1) * w];
    let (up, mid, down) = (row(y.saturating_sub(1)), row(y), row((y + 1).min(h - 1)));
    out[0] = 0.25 * (mid[0] + mid[1] + up[0] + down[0]);
    out[w - 1] = 0.25 * (mid[w - 2] + mid[w - 1] + up[w - 1] + down[w - 1]);
    let inner = out[1..w - 1].iter_mut().zip(&mid[..w - 2]).zip(&mid[2..]).zip(&up[1..w - 1]).zip(&down[1..w - 1]);
    for ((((o, &l), &r), &a), &b) in inner {
        *o = 0.25 * (l + r + a + b);
    }
}

#[cfg(test)]
pub(crate) mod tests;
