//! The one helper for one-shot background work (file reads and writes, the
//! flood fill, autosave, model files): a named thread that ends with a value
//! the UI thread polls for each frame, so nothing heavy runs on the UI
//! thread and every such job reports its end the same way. A job whose
//! thread died without a value (a panic) says so instead of leaving the UI
//! waiting forever.
//!
//! Long-lived workers with a stream of reports (the GAN worker, refinement,
//! the portfolio import) keep their own channels.
use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// A background job's thread ended without its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the background job stopped unexpectedly")]
pub struct JobLost;

/// Work running on its own thread, ending with a `T`.
#[derive(Debug)]
pub struct Job<T> {
    rx: Receiver<T>,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a new thread named `name`. Where no thread can be
    /// started, the job ends at once as lost (its sender is gone), which the
    /// caller reports like any other failure.
    pub fn spawn(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Self {
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // The UI may have closed meanwhile; nobody needs the value then.
                let _ = tx.send(work());
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the {name} thread: {e}");
        }
        Self { rx }
    }
}

impl<T> Job<T> {
    /// Its value once it has finished (None while it runs).
    pub fn poll(&self) -> Option<Result<T, JobLost>> {
        match self.rx.try_recv() {
            Ok(v) => Some(Ok(v)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(JobLost)),
        }
    }

    /// Waits for its value.
    pub fn wait(self) -> Result<T, JobLost> {
        self.rx.recv().map_err(|_| JobLost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_ends_with_its_value_or_says_it_was_lost() {
        let job = Job::spawn("test", || 6 * 7);
        assert_eq!(job.wait(), Ok(42));
        let slow = Job::spawn("test", || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            1
        });
        assert_eq!(slow.poll(), None, "still running");
        assert_eq!(slow.wait(), Ok(1));
        let lost: Job<u8> = Job::spawn("test", || panic!("a bug in the job"));
        assert_eq!(lost.wait(), Err(JobLost));
    }
}
