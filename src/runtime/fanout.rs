//! One stream of work spread over several workers — one model session per
//! device of `--devices` — with the results handed on in the stream's order.
//!
//! Each worker takes the next item when it is free, so a faster device does
//! more; the results are re-ordered before the sink sees them, so every
//! accumulator downstream adds exactly what, and in the order, a
//! single-device run adds: a split run's statistics equal the single run's
//! bit for bit whenever each device computes a batch as the single device
//! would (the same batch shapes reach every device). At most two items per
//! worker are in flight or waiting, so memory stays bounded whatever the
//! speeds. The first error in stream order is returned, and the workers stop
//! taking items.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

/// How far (in items per worker) taking may run ahead of the sink.
const AHEAD_PER_WORKER: usize = 2;

/// What the workers share: the stream and how far taking and sinking got.
struct Stream<S> {
    source: S,
    /// Items taken from the source so far (the next one's position).
    taken: usize,
    /// Items the sink has consumed.
    sunk: usize,
    /// The source is exhausted, or the run failed: take nothing more.
    closed: bool,
}

/// Runs `work` on every item of `source`, on whichever of `workers` is free
/// (one thread each), and gives the results to `sink` in `source`'s order.
/// An `Err` from the source, the work or the sink ends the run with the
/// first error in stream order.
pub fn in_order<W, S, T, R, E>(
    workers: &mut [W],
    source: S,
    work: impl Fn(&mut W, T) -> Result<R, E> + Sync,
    mut sink: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    W: Send,
    S: Iterator<Item = Result<T, E>> + Send,
    R: Send,
    E: Send,
{
    let window = AHEAD_PER_WORKER * workers.len().max(1);
    let stream = Mutex::new(Stream {
        source,
        taken: 0,
        sunk: 0,
        closed: false,
    });
    let progressed = Condvar::new();
    let (sender, receiver) = mpsc::channel::<(usize, Result<R, E>)>();
    std::thread::scope(|scope| {
        for worker in workers.iter_mut() {
            let sender = sender.clone();
            let (stream, progressed, work) = (&stream, &progressed, &work);
            scope.spawn(move || {
                let _closes_on_panic = ClosesOnPanic { stream, progressed };
                while let Some((position, item)) = take(stream, progressed, window) {
                    let result = item.and_then(|item| work(worker, item));
                    if sender.send((position, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        let mut waiting: BTreeMap<usize, Result<R, E>> = BTreeMap::new();
        let mut next = 0;
        let outcome = (|| {
            for (position, result) in receiver.iter() {
                waiting.insert(position, result);
                while let Some(result) = waiting.remove(&next) {
                    sink(result?)?;
                    next += 1;
                    lock(&stream).sunk = next;
                    progressed.notify_all();
                }
            }
            Ok(())
        })();
        if outcome.is_err() {
            lock(&stream).closed = true;
            progressed.notify_all();
        }
        outcome
    })
}

/// The next item and its position, once taking is within `window` of the
/// sink; `None` when the stream is closed.
fn take<S, T, E>(
    stream: &Mutex<Stream<S>>,
    progressed: &Condvar,
    window: usize,
) -> Option<(usize, Result<T, E>)>
where
    S: Iterator<Item = Result<T, E>>,
{
    let mut state = lock(stream);
    while !state.closed && state.taken >= state.sunk + window {
        state = progressed
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    if state.closed {
        return None;
    }
    match state.source.next() {
        None => {
            state.closed = true;
            progressed.notify_all();
            None
        }
        Some(item) => {
            let position = state.taken;
            state.taken += 1;
            Some((position, item))
        }
    }
}

/// Closes the stream when a worker panics, so that the other workers stop
/// and the receiver ends instead of waiting for the lost item; the scope
/// then re-raises the panic.
struct ClosesOnPanic<'a, S> {
    stream: &'a Mutex<Stream<S>>,
    progressed: &'a Condvar,
}

impl<S> Drop for ClosesOnPanic<'_, S> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(self.stream).closed = true;
            self.progressed.notify_all();
        }
    }
}

/// The stream's state, whatever a panicking thread left it in (a panic in a
/// worker is re-raised when the scope joins it).
fn lock<S>(stream: &Mutex<Stream<S>>) -> std::sync::MutexGuard<'_, Stream<S>> {
    stream
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A worker that takes `delay` per item and counts what it did.
    struct Slow {
        delay: Duration,
        done: usize,
    }

    fn workers(delays_ms: &[u64]) -> Vec<Slow> {
        delays_ms
            .iter()
            .map(|&ms| Slow {
                delay: Duration::from_millis(ms),
                done: 0,
            })
            .collect()
    }

    #[test]
    fn results_come_in_stream_order_whatever_the_workers_speed() {
        let mut pool = workers(&[0, 3, 1]);
        let mut seen = Vec::new();
        let source = (0..60).map(Ok::<usize, String>);
        in_order(
            &mut pool,
            source,
            |w, item| {
                std::thread::sleep(w.delay);
                w.done += 1;
                Ok(item * 10)
            },
            |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..60).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(pool.iter().map(|w| w.done).sum::<usize>(), 60);
        // The fast worker did more than the slowest: items go to whoever is free.
        assert!(
            pool[0].done > pool[1].done,
            "{:?}",
            pool.iter().map(|w| w.done).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_first_error_in_stream_order_is_returned_and_taking_stops() {
        let taken = AtomicUsize::new(0);
        let source = (0..1000).map(|i| {
            taken.fetch_add(1, Ordering::SeqCst);
            if i == 7 {
                Err(format!("bad item {i}"))
            } else {
                Ok(i)
            }
        });
        let mut pool = workers(&[1, 0]);
        let mut sunk = Vec::new();
        let err = in_order(
            &mut pool,
            source,
            |_, item| {
                if item == 9 {
                    Err("work failed on 9".to_string())
                } else {
                    Ok(item)
                }
            },
            |r| {
                sunk.push(r);
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(err, "bad item 7");
        assert_eq!(sunk, (0..7).collect::<Vec<_>>());
        // Taking stopped near the failure, bounded by the window.
        assert!(taken.load(Ordering::SeqCst) <= 7 + 1 + 2 * AHEAD_PER_WORKER * 2);
    }

    #[test]
    fn a_sink_error_stops_the_run() {
        let mut pool = workers(&[0, 0]);
        let err = in_order(
            &mut pool,
            (0..100).map(Ok::<usize, String>),
            |_, item| Ok(item),
            |r| {
                if r == 3 {
                    Err("sink refused 3".to_string())
                } else {
                    Ok(())
                }
            },
        )
        .unwrap_err();
        assert_eq!(err, "sink refused 3");
        assert!(pool.iter().map(|w| w.done).sum::<usize>() <= 100);
    }

    #[test]
    fn taking_runs_at_most_the_window_ahead_of_the_sink() {
        let taken = AtomicUsize::new(0);
        let ahead = AtomicUsize::new(0);
        let source = (0..50).map(|i| {
            taken.fetch_add(1, Ordering::SeqCst);
            Ok::<usize, String>(i)
        });
        let mut pool = workers(&[0, 0, 0]);
        let mut sunk = 0;
        in_order(
            &mut pool,
            source,
            |_, item| Ok(item),
            |_| {
                sunk += 1;
                // Let the workers run ahead as far as they may.
                std::thread::sleep(Duration::from_millis(2));
                let lead = taken.load(Ordering::SeqCst) - sunk;
                ahead.fetch_max(lead, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(sunk, 50);
        let ahead = ahead.load(Ordering::SeqCst);
        assert!(ahead <= AHEAD_PER_WORKER * 3, "ran {ahead} ahead");
        assert!(ahead >= 2, "the workers never ran ahead ({ahead})");
    }

    #[test]
    fn a_panicking_worker_ends_the_run_with_its_panic_not_a_hang() {
        let outcome = std::panic::catch_unwind(|| {
            let mut pool = workers(&[0, 0, 0]);
            let _ = in_order(
                &mut pool,
                (0..1000).map(Ok::<usize, String>),
                |_, item| {
                    assert!(item != 5, "worker failed on 5");
                    Ok(item)
                },
                |_| {
                    std::thread::sleep(Duration::from_millis(1));
                    Ok(())
                },
            );
        });
        assert!(outcome.is_err());
    }

    #[test]
    fn an_empty_stream_and_a_single_worker_work() {
        let mut pool = workers(&[0]);
        let mut seen = Vec::new();
        in_order(
            &mut pool,
            std::iter::empty::<Result<u8, String>>(),
            |_, i| Ok(i),
            |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert!(seen.is_empty());
        in_order(
            &mut pool,
            (0..5u8).map(Ok::<u8, String>),
            |_, i| Ok(i),
            |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    }
}
