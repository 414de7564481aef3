//! Runtime dispatch to wider vector instructions.
//!
//! The release build targets the x86-64 baseline (SSE2: four `f32` lanes, no fused multiply-add),
//! so one binary runs on every x86-64 machine. The per-row loops of the image kernels are written
//! to vectorize; [`dispatch`] runs one compiled again for AVX2 (eight lanes) when the CPU has it.
//! Rust never contracts a multiply and an add into one fused operation by itself, and each
//! arithmetic operation rounds the same whatever the vector width, so both compilations of a loop
//! give the same bits (tested kernel by kernel against [`Level::Baseline`]).
//!
//! Kernels written with AVX2 intrinsics (the optical flow's warp, the stabilizer's reliability
//! test) take their path from the same [`level`], so the choice is made once for the process.
//! `TOONFLOW_SIMD=baseline` in the environment keeps every kernel on the baseline path: the
//! benches measure what the dispatch gains with it.

use std::sync::atomic::{AtomicU8, Ordering};

/// `2^23`. Added to a float in `[0, 2^22)` it rounds it to a whole number (ties to even) that the
/// sum holds exactly in its low mantissa bits: float to integer without an `as` cast, whose
/// saturation compilers do not vectorize (they leave the loop scalar around it).
pub(crate) const ROUNDING_BIAS: f32 = 8_388_608.0;

/// Instruction sets a kernel can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// What every x86-64 (or other) CPU has.
    Baseline,
    /// AVX2 (x86-64 only).
    Avx2,
}

const UNKNOWN: u8 = 0;
const BASELINE: u8 = 1;
const AVX2: u8 = 2;

static LEVEL: AtomicU8 = AtomicU8::new(UNKNOWN);

/// The level [`dispatch`] runs kernels on: the best the CPU has, unless `TOONFLOW_SIMD=baseline`
/// or [`set_level`] chose the baseline.
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        BASELINE => Level::Baseline,
        AVX2 => Level::Avx2,
        _ => {
            let forced = std::env::var("TOONFLOW_SIMD").is_ok_and(|v| v == "baseline");
            let level = if !forced && detected_avx2() { Level::Avx2 } else { Level::Baseline };
            set_level(level);
            level
        }
    }
}

/// Chooses the level for the whole process (a level the CPU lacks falls back to the baseline).
/// Results do not depend on it; tests use it to compare both paths.
pub fn set_level(level: Level) {
    let v = match level {
        Level::Avx2 if detected_avx2() => AVX2,
        _ => BASELINE,
    };
    LEVEL.store(v, Ordering::Relaxed);
}

fn detected_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `f`, compiled for the best instruction set [`level`] allows. Call it around a row's
/// loop (inside the parallel iterator, whose worker threads run the closures): the loop is
/// inlined into the AVX2 copy and vectorized eight lanes wide.
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if level() == Level::Avx2 {
        // SAFETY: `level` returns Avx2 only when the CPU reports AVX2.
        return unsafe { avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// For tests of dispatched kernels (here and in other crates): `f`'s result on the baseline path
/// and on the best one, which must be equal. Leaves the best level set.
pub fn both_levels<R>(f: impl Fn() -> R) -> (R, R) {
    use std::sync::Mutex;
    // Tests run in parallel: one comparison at a time. (Another test running meanwhile may see
    // the baseline, which gives the same results by design.)
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    set_level(Level::Baseline);
    let baseline = f();
    set_level(Level::Avx2);
    let best = f();
    (baseline, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dispatched_loop_gives_the_bits_of_the_baseline() {
        let xs: Vec<f32> = (0..1003).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let kernel =
            || dispatch(|| xs.iter().map(|&x| x * 1.7 + x * x * 0.3 - 0.25 / (x.abs() + 1.0)).collect::<Vec<_>>());
        let (baseline, best) = both_levels(kernel);
        assert_eq!(baseline, best);
    }
}
