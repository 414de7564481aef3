//! Convolution forward and backward passes on contiguous NCHW `f32` slices.
//!
//! Ungrouped convolutions gather patches for a band of output rows at a time (im2col, sized to
//! stay in the L2 cache) and multiply with the `gemm` kernel; 1x1 convolutions multiply the
//! planes directly. The input gradient scatters the product `Wᵀ·dY` back through the same patch
//! layout (col2im); the weight gradient multiplies `dY` by the patches' transpose, accumulated
//! over bands and images. Depthwise convolutions are direct loops (a few FLOPs per pixel).

use rayon::prelude::*;
use toonflow_imgproc::lanes::dot;
use toonflow_infer::matmul::{matmul, MatRef, Threads};

/// Shape of one convolution: square or rectangular kernels, symmetric padding per axis (zeros,
/// or the image reflected at its border when `reflect`), no dilation; `depthwise` means one
/// filter per channel (`groups == cin == cout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub batch: usize,
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 2],
    pub reflect: bool,
    pub depthwise: bool,
}

impl ConvGeometry {
    pub fn out_h(&self) -> usize {
        (self.h + 2 * self.pad[0] - self.kernel[0]) / self.stride[0] + 1
    }

    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.pad[1] - self.kernel[1]) / self.stride[1] + 1
    }

    /// The input index a padded coordinate `i` reads along an axis of length `n`, if any.
    fn source(&self, i: usize, pad: usize, n: usize) -> Option<usize> {
        match i.checked_sub(pad) {
            Some(i) if i < n => Some(i),
            // Reflection without repeating the border sample (as burn's and PyTorch's).
            Some(i) if self.reflect => Some(2 * (n - 1) - i),
            None if self.reflect => Some(pad - i),
            _ => None,
        }
    }

    /// The input row output row `r` reads through kernel row `ky`, if any.
    fn input_row(&self, r: usize, ky: usize) -> Option<usize> {
        self.source(r * self.stride[0] + ky, self.pad[0], self.h)
    }

    /// For each kernel column, which input columns the output columns read.
    fn tap_columns(&self) -> Vec<TapColumns> {
        let (wo, sw, pw) = (self.out_w(), self.stride[1], self.pad[1]);
        (0..self.kernel[1])
            .map(|kx| {
                let lo = pw.saturating_sub(kx).div_ceil(sw).min(wo);
                // Past the largest x with x * sw + kx - pw <= w - 1.
                let hi = if self.w + pw > kx { ((self.w + pw - kx - 1) / sw + 1).min(wo) } else { 0 }.max(lo);
                let edges =
                    (0..lo).chain(hi..wo).filter_map(|x| Some((x, self.source(x * sw + kx, pw, self.w)?))).collect();
                let first = if hi > lo { lo * sw + kx - pw } else { 0 };
                TapColumns { lo, hi, first, edges }
            })
            .collect()
    }

    fn check(&self) {
        if self.reflect {
            assert!(self.pad[0] < self.h && self.pad[1] < self.w, "reflection padding must be smaller than the image");
        }
    }

    /// Length of one patch: the inner dimension of the matrix product.
    fn patch_len(&self) -> usize {
        let taps = self.kernel[0] * self.kernel[1];
        if self.depthwise {
            taps
        } else {
            self.cin * taps
        }
    }

    pub fn weight_len(&self) -> usize {
        self.cout * self.patch_len()
    }

    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.pad == [0, 0]
    }

    /// Output rows per im2col band: about 128 K floats of patches (half the L2 cache).
    fn band_rows(&self) -> usize {
        (BAND_FLOATS / (self.patch_len() * self.out_w()).max(1)).clamp(1, self.out_h())
    }

    /// One image per thread when there are enough images; otherwise the matrix kernel itself
    /// runs in parallel.
    fn split_images(&self) -> bool {
        self.batch >= rayon::current_num_threads()
    }

    fn gemm_threads(&self) -> Threads {
        if self.split_images() {
            Threads::One
        } else {
            Threads::All
        }
    }
}

const BAND_FLOATS: usize = 128 * 1024;

/// Which input columns the output columns read through one kernel column: the interior run
/// `[lo, hi)` reads from `first` on with the stride; `edges` lists (output, input) columns that
/// read through the reflected border (none with zero padding: those read zeros).
struct TapColumns {
    lo: usize,
    hi: usize,
    first: usize,
    edges: Vec<(usize, usize)>,
}

impl TapColumns {
    /// Calls `f(output column, input column)` for every column pair of the interior run.
    fn interior(&self, stride: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        (self.lo..self.hi).map(move |x| (x, self.first + (x - self.lo) * stride))
    }
}

/// Walks the patch layout of output rows `[r0, r1)` of one image: for each patch row (channel,
/// tap) and output row, calls `f(patch row, output row offset in the band, input row start or
/// None when it reads zero padding, the tap's columns)`.
fn for_each_patch_row(
    g: &ConvGeometry,
    columns: &[TapColumns],
    r0: usize,
    r1: usize,
    mut f: impl FnMut(usize, usize, Option<usize>, &TapColumns),
) {
    let [kh, kw] = g.kernel;
    for ci in 0..g.cin {
        for ky in 0..kh {
            for (kx, tap) in columns.iter().enumerate() {
                let row = (ci * kh + ky) * kw + kx;
                for r in r0..r1 {
                    f(row, r - r0, g.input_row(r, ky).map(|iy| ci * g.h * g.w + iy * g.w), tap);
                }
            }
        }
    }
}

/// Gathers the patches of output rows `[r0, r1)` into `col` (`[patch_len, band columns]`).
fn im2col(g: &ConvGeometry, columns: &[TapColumns], x: &[f32], r0: usize, r1: usize, col: &mut [f32]) {
    let (wo, sw) = (g.out_w(), g.stride[1]);
    let nb = (r1 - r0) * wo;
    for_each_patch_row(g, columns, r0, r1, |row, band_row, src_row, tap| {
        let dst = &mut col[row * nb + band_row * wo..][..wo];
        let Some(src_row) = src_row else {
            dst.fill(0.0);
            return;
        };
        let src = &x[src_row..src_row + g.w];
        dst[..tap.lo].fill(0.0);
        dst[tap.hi..].fill(0.0);
        if sw == 1 {
            dst[tap.lo..tap.hi].copy_from_slice(&src[tap.first..][..tap.hi - tap.lo]);
        } else {
            tap.interior(sw).for_each(|(xo, xi)| dst[xo] = src[xi]);
        }
        tap.edges.iter().for_each(|&(xo, xi)| dst[xo] = src[xi]);
    });
}

/// Adds the patches in `col` back onto the image gradient `dx` (the adjoint of [`im2col`]).
fn col2im_add(g: &ConvGeometry, columns: &[TapColumns], col: &[f32], r0: usize, r1: usize, dx: &mut [f32]) {
    let (wo, sw) = (g.out_w(), g.stride[1]);
    let nb = (r1 - r0) * wo;
    for_each_patch_row(g, columns, r0, r1, |row, band_row, dst_row, tap| {
        let Some(dst_row) = dst_row else { return };
        let src = &col[row * nb + band_row * wo..][..wo];
        let dst = &mut dx[dst_row..dst_row + g.w];
        if sw == 1 {
            let run = &mut dst[tap.first..][..tap.hi - tap.lo];
            run.iter_mut().zip(&src[tap.lo..tap.hi]).for_each(|(d, s)| *d += s);
        } else {
            tap.interior(sw).for_each(|(xo, xi)| dst[xi] += src[xo]);
        }
        tap.edges.iter().for_each(|&(xo, xi)| dst[xi] += src[xo]);
    });
}

/// Gathers the patches of image `x` band by band and calls `f(first output row of the band,
/// band columns, patches [patch_len × band columns])`.
fn with_band_patches(g: &ConvGeometry, columns: &[TapColumns], x: &[f32], mut f: impl FnMut(usize, usize, &[f32])) {
    let (kl, wo) = (g.patch_len(), g.out_w());
    let mut col = vec![0f32; kl * g.band_rows() * wo];
    for (r0, r1) in bands(g) {
        let nb = (r1 - r0) * wo;
        im2col(g, columns, x, r0, r1, &mut col);
        f(r0, nb, &col[..kl * nb]);
    }
}

/// Output row bands `[r0, r1)` of one image.
fn bands(g: &ConvGeometry) -> impl Iterator<Item = (usize, usize)> {
    let (ho, rows) = (g.out_h(), g.band_rows());
    (0..ho.div_ceil(rows)).map(move |i| (i * rows, ((i + 1) * rows).min(ho)))
}

/// Runs `f(input image, output image)` over the batch, in parallel when the
/// geometry splits images across threads.
fn per_image(
    g: &ConvGeometry,
    input: &[f32],
    input_len: usize,
    output: &mut [f32],
    output_len: usize,
    f: impl Fn(&[f32], &mut [f32]) + Sync,
) {
    if g.split_images() {
        input.par_chunks_exact(input_len).zip(output.par_chunks_exact_mut(output_len)).for_each(|(i, o)| f(i, o));
    } else {
        input.chunks_exact(input_len).zip(output.chunks_exact_mut(output_len)).for_each(|(i, o)| f(i, o));
    }
}

/// `y = conv(x, weight)`: x `[batch, cin, h, w]`, weight `[cout, cin (or 1), kh, kw]` → y
/// `[batch, cout, out_h, out_w]`.
pub fn forward(g: &ConvGeometry, x: &[f32], weight: &[f32]) -> Vec<f32> {
    g.check();
    assert_eq!(x.len(), g.batch * g.cin * g.h * g.w, "input size");
    assert_eq!(weight.len(), g.weight_len(), "weight size");
    let (hw, out_hw) = (g.h * g.w, g.out_h() * g.out_w());
    let mut y = vec![0f32; g.batch * g.cout * out_hw];
    if g.depthwise {
        return depthwise_forward(g, x, weight, y);
    }
    let (kl, wo, columns) = (g.patch_len(), g.out_w(), g.tap_columns());
    per_image(g, x, g.cin * hw, &mut y, g.cout * out_hw, |x, y| {
        let par = g.gemm_threads();
        if g.is_pointwise() {
            matmul(y, hw, MatRef::rows(weight, g.cout, g.cin, g.cin), MatRef::rows(x, g.cin, hw, hw), false, par);
            return;
        }
        with_band_patches(g, &columns, x, |r0, nb, col| {
            // Output rows of the band: cout rows of stride out_hw from r0 * wo.
            let (w, patches) = (MatRef::rows(weight, g.cout, kl, kl), MatRef::rows(col, kl, nb, nb));
            matmul(&mut y[r0 * wo..], out_hw, w, patches, false, par);
        });
    });
    y
}

/// The gradient with respect to the input, from the gradient of the output `dy`.
pub fn backward_input(g: &ConvGeometry, dy: &[f32], weight: &[f32]) -> Vec<f32> {
    g.check();
    let (hw, out_hw) = (g.h * g.w, g.out_h() * g.out_w());
    assert_eq!(dy.len(), g.batch * g.cout * out_hw, "output gradient size");
    assert_eq!(weight.len(), g.weight_len(), "weight size");
    let mut dx = vec![0f32; g.batch * g.cin * hw];
    if g.depthwise {
        depthwise_backward_input(g, dy, weight, &mut dx);
        return dx;
    }
    let (kl, wo, columns) = (g.patch_len(), g.out_w(), g.tap_columns());
    per_image(g, dy, g.cout * out_hw, &mut dx, g.cin * hw, |dy, dx| {
        let par = g.gemm_threads();
        if g.is_pointwise() {
            let wt = MatRef::transposed(weight, g.cin, g.cout, g.cin);
            matmul(dx, hw, wt, MatRef::rows(dy, g.cout, hw, hw), false, par);
            return;
        }
        let mut col = vec![0f32; kl * g.band_rows() * wo];
        for (r0, r1) in bands(g) {
            let nb = (r1 - r0) * wo;
            let (wt, dy_band) =
                (MatRef::transposed(weight, kl, g.cout, kl), MatRef::rows(&dy[r0 * wo..], g.cout, nb, out_hw));
            matmul(&mut col, nb, wt, dy_band, false, par);
            col2im_add(g, &columns, &col[..kl * nb], r0, r1, dx);
        }
    });
    dx
}

/// The gradient with respect to the weight, summed over the batch.
pub fn backward_weight(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    g.check();
    let (hw, out_hw) = (g.h * g.w, g.out_h() * g.out_w());
    assert_eq!(x.len(), g.batch * g.cin * hw, "input size");
    assert_eq!(dy.len(), g.batch * g.cout * out_hw, "output gradient size");
    if g.depthwise {
        return depthwise_backward_weight(g, x, dy);
    }
    let (kl, wo, columns) = (g.patch_len(), g.out_w(), g.tap_columns());
    let image = |dw: &mut Vec<f32>, (x, dy): (&[f32], &[f32])| {
        let par = g.gemm_threads();
        if g.is_pointwise() {
            matmul(dw, g.cin, MatRef::rows(dy, g.cout, hw, hw), MatRef::transposed(x, hw, g.cin, hw), true, par);
            return;
        }
        with_band_patches(g, &columns, x, |r0, nb, col| {
            let (dy_band, patches_t) =
                (MatRef::rows(&dy[r0 * wo..], g.cout, nb, out_hw), MatRef::transposed(col, nb, kl, nb));
            matmul(dw, kl, dy_band, patches_t, true, par);
        });
    };
    let (x_len, dy_len) = (g.cin * hw, g.cout * out_hw);
    let zeros = || vec![0f32; g.weight_len()];
    if g.split_images() {
        // One partial sum per image, added in image order: the result does not depend on how
        // the threads shared the work (a resumed training run repeats an uninterrupted one bit
        // for bit).
        let partials: Vec<Vec<f32>> = x
            .par_chunks_exact(x_len)
            .zip(dy.par_chunks_exact(dy_len))
            .map(|pair| {
                let mut dw = zeros();
                image(&mut dw, pair);
                dw
            })
            .collect();
        let mut partials = partials.into_iter();
        let mut dw = partials.next().unwrap_or_else(zeros);
        for p in partials {
            dw.iter_mut().zip(&p).for_each(|(a, b)| *a += b);
        }
        dw
    } else {
        let mut dw = zeros();
        x.chunks_exact(x_len).zip(dy.chunks_exact(dy_len)).for_each(|pair| image(&mut dw, pair));
        dw
    }
}

/// Calls `f(output row, tap index, input row, the tap's columns)` for every (output row, tap)
/// pair of one depthwise plane that reads an input row (not zero padding).
fn depthwise_taps(g: &ConvGeometry, columns: &[TapColumns], mut f: impl FnMut(usize, usize, usize, &TapColumns)) {
    let [kh, kw] = g.kernel;
    for r in 0..g.out_h() {
        for ky in 0..kh {
            let Some(iy) = g.input_row(r, ky) else { continue };
            for (kx, tap) in columns.iter().enumerate() {
                f(r, ky * kw + kx, iy, tap);
            }
        }
    }
}

fn depthwise_forward(g: &ConvGeometry, x: &[f32], weight: &[f32], mut y: Vec<f32>) -> Vec<f32> {
    let (hw, wo, c, taps, sw) = (g.h * g.w, g.out_w(), g.cin, g.patch_len(), g.stride[1]);
    let columns = g.tap_columns();
    y.par_chunks_mut(g.out_h() * wo).enumerate().for_each(|(plane, y)| {
        let (x, w) = (&x[plane * hw..][..hw], &weight[(plane % c) * taps..][..taps]);
        depthwise_taps(g, &columns, |r, t, iy, tap| {
            let (k, src, dst) = (w[t], &x[iy * g.w..][..g.w], &mut y[r * wo..][..wo]);
            if sw == 1 {
                let run = &src[tap.first..][..tap.hi - tap.lo];
                dst[tap.lo..tap.hi].iter_mut().zip(run).for_each(|(d, s)| *d += k * s);
            } else {
                tap.interior(sw).for_each(|(xo, xi)| dst[xo] += k * src[xi]);
            }
            tap.edges.iter().for_each(|&(xo, xi)| dst[xo] += k * src[xi]);
        });
    });
    y
}

fn depthwise_backward_input(g: &ConvGeometry, dy: &[f32], weight: &[f32], dx: &mut [f32]) {
    let (hw, out_hw, wo, c, taps, sw) =
        (g.h * g.w, g.out_h() * g.out_w(), g.out_w(), g.cin, g.patch_len(), g.stride[1]);
    let columns = g.tap_columns();
    dx.par_chunks_mut(hw).enumerate().for_each(|(plane, dx)| {
        let (dy, w) = (&dy[plane * out_hw..][..out_hw], &weight[(plane % c) * taps..][..taps]);
        depthwise_taps(g, &columns, |r, t, iy, tap| {
            let (k, src, dst) = (w[t], &dy[r * wo..][..wo], &mut dx[iy * g.w..][..g.w]);
            if sw == 1 {
                let run = &mut dst[tap.first..][..tap.hi - tap.lo];
                run.iter_mut().zip(&src[tap.lo..tap.hi]).for_each(|(d, s)| *d += k * s);
            } else {
                tap.interior(sw).for_each(|(xo, xi)| dst[xi] += k * src[xo]);
            }
            tap.edges.iter().for_each(|&(xo, xi)| dst[xi] += k * src[xo]);
        });
    });
}

fn depthwise_backward_weight(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (hw, out_hw, wo, c, taps, sw) =
        (g.h * g.w, g.out_h() * g.out_w(), g.out_w(), g.cin, g.patch_len(), g.stride[1]);
    let columns = g.tap_columns();
    let mut dw = vec![0f32; c * taps];
    dw.par_chunks_mut(taps).enumerate().for_each(|(ch, dw)| {
        for b in 0..g.batch {
            let plane = b * c + ch;
            let (x, dy) = (&x[plane * hw..][..hw], &dy[plane * out_hw..][..out_hw]);
            depthwise_taps(g, &columns, |r, t, iy, tap| {
                let (src, grad) = (&x[iy * g.w..][..g.w], &dy[r * wo..][..wo]);
                let interior = if sw == 1 {
                    dot(&grad[tap.lo..tap.hi], &src[tap.first..][..tap.hi - tap.lo])
                } else {
                    tap.interior(sw).map(|(xo, xi)| grad[xo] * src[xi]).sum()
                };
                dw[t] += interior + tap.edges.iter().map(|&(xo, xi)| grad[xo] * src[xi]).sum::<f32>();
            });
        }
    });
    dw
}
