//! Background work yields the CPU to the artist. Refinement and GAN
//! inference run on their own threads; on a machine with few cores (and no
//! GPU, where the rasteriser runs on the CPU too) they would otherwise take
//! turns with the UI thread and the rasteriser's threads, and frames would
//! wait for a training step.

/// The nice value of the GAN worker: the artist waits for its candidates, but
/// a brush stroke must still come first.
pub const GAN_WORKER_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to `nice` (0 normal, 19
/// lowest). On Linux the nice value belongs to each thread, so this affects
/// only the caller and the threads it starts later. Elsewhere it does nothing.
pub fn lower_this_thread_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its integer arguments; `who` 0 is the
        // calling thread.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
        if rc != 0 {
            tracing::warn!(
                "could not lower a background thread's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

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
