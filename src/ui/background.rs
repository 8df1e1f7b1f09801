//! Background work yields the CPU to the artist. Refinement and GAN
//! inference run on their own threads; on a machine with few cores (and no
//! GPU, where the rasteriser runs on the CPU too) they would otherwise take
//! turns with the UI thread and the rasteriser's threads, and frames would
//! wait for a training step.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long after the artist's last input a refinement stays paused.
pub const YIELD_QUIET: Duration = Duration::from_millis(300);

/// When the artist last gave input (pointer, keys, wheel, touch), shared
/// between the UI, which records it, and background jobs, which step aside
/// while it is recent. On a machine without a GPU a training step competes
/// with the software rasteriser for cores, caches and memory bandwidth, and
/// even at idle priority it doubled frame times in a stroke
/// (BENCHMARKS.md); refinement therefore pauses between steps while the
/// artist works and resumes as soon as they stop.
#[derive(Clone, Debug)]
pub struct ArtistActivity {
    epoch: Instant,
    /// Milliseconds from `epoch` to the last input; `u64::MAX` before any.
    last_ms: Arc<AtomicU64>,
}

impl Default for ArtistActivity {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(u64::MAX)),
        }
    }
}

impl ArtistActivity {
    /// Records input now.
    pub fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether input arrived within `quiet`.
    pub fn active_within(&self, quiet: Duration) -> bool {
        let last = self.last_ms.load(Ordering::Relaxed);
        last != u64::MAX
            && self.epoch.elapsed().as_millis() as u64 <= last + quiet.as_millis() as u64
    }

    /// Blocks while input is recent (no input for `quiet` ends the wait) or
    /// until `cancel` is set; returns how long it waited.
    pub fn wait_for_quiet(&self, quiet: Duration, cancel: &AtomicBool) -> Duration {
        let start = Instant::now();
        while self.active_within(quiet) && !cancel.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
        start.elapsed()
    }
}

// The GAN workers' priority lives beside them (Vary's workers and the
// Live benchmark use it too).
pub use crate::vary::priority::{GAN_WORKER_NICE, lower_this_thread_priority};

/// Runs the calling thread only when a CPU would otherwise be idle (Linux's
/// `SCHED_IDLE`), for the refinement thread. A nice value is not enough:
/// measured under lavapipe, a busy thread at nice 19 slowed continuous frames
/// from 21 to 29 ms, nearly as much as one at nice 0 (30 ms), because the
/// scheduler does not count its CPU as free when the rasteriser's threads
/// wake; under `SCHED_IDLE` it was 24 ms. Falls back to the lowest nice value
/// where the policy is refused, and does nothing off Linux.
pub fn run_this_thread_when_idle() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` outlives the call; pid 0 is the calling thread.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if rc != 0 {
            tracing::warn!(
                "could not make a background thread idle-priority: {}",
                std::io::Error::last_os_error()
            );
            lower_this_thread_priority(19);
        }
    }
}

/// The calling thread's scheduling policy (Linux), for tests.
#[cfg(target_os = "linux")]
pub fn this_thread_policy() -> i32 {
    // SAFETY: pid 0 is the calling thread.
    unsafe { libc::sched_getscheduler(0) }
}

/// The calling thread's nice value (Linux), for tests.
#[cfg(target_os = "linux")]
pub fn this_thread_nice() -> i32 {
    // SAFETY: getpriority only reads its integer arguments. -1 is also a valid
    // nice value, but this is used where it is never negative.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

#[cfg(test)]
mod activity_tests {
    use super::*;

    #[test]
    fn activity_is_recent_input_and_waiting_ends_when_it_stops() {
        let a = ArtistActivity::default();
        assert!(!a.active_within(Duration::from_secs(60)), "no input yet");
        a.touch();
        assert!(a.active_within(Duration::from_secs(60)));
        let quiet = Duration::from_millis(50);
        let never = AtomicBool::new(false);
        let waited = a.wait_for_quiet(quiet, &never);
        assert!(waited >= Duration::from_millis(40), "waited {waited:?}");
        assert!(!a.active_within(quiet));
        // Input from another thread keeps it waiting; cancelling ends it.
        let (ui, cancel) = (a.clone(), Arc::new(AtomicBool::new(false)));
        let stop = cancel.clone();
        let feeder = std::thread::spawn(move || {
            for _ in 0..10 {
                ui.touch();
                std::thread::sleep(Duration::from_millis(20));
            }
            stop.store(true, Ordering::Relaxed);
        });
        let waited = a.wait_for_quiet(Duration::from_secs(60), &cancel);
        feeder.join().expect("feeder");
        assert!(waited >= Duration::from_millis(150), "waited {waited:?}");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn lowering_affects_only_the_calling_thread() {
        let before = (this_thread_nice(), this_thread_policy());
        let inside = std::thread::spawn(|| {
            lower_this_thread_priority(GAN_WORKER_NICE);
            let nice = this_thread_nice();
            run_this_thread_when_idle();
            (nice, this_thread_policy())
        })
        .join()
        .expect("thread");
        assert_eq!(inside, (GAN_WORKER_NICE, libc::SCHED_IDLE));
        assert_eq!(
            (this_thread_nice(), this_thread_policy()),
            before,
            "the caller keeps its priority"
        );
    }
}
