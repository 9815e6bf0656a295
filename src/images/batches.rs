//! Streaming batches of network input, prepared in the background.

use super::{ImageError, ImageList, Preprocess, decode_rgb, preprocess_into};
use ndarray::{Array4, Axis};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// One batch of network input and the files it came from, in order.
#[derive(Debug, Clone)]
pub struct ImageBatch {
    /// N × 3 × H × W float32, normalised as the [`Preprocess`] says.
    pub tensor: Array4<f32>,
    /// The file of each row of `tensor`.
    pub paths: Vec<PathBuf>,
}

/// What the background producer sends: a batch (none when every file left
/// was skipped) with the files skipped while building it, or the error that
/// ends the stream.
type Message = Result<(Option<ImageBatch>, Vec<(PathBuf, String)>), ImageError>;

/// An iterator of batches over a list of image files.
///
/// Each batch is decoded and resized in parallel on rayon; a background
/// thread prepares the next batch while the caller uses the current one,
/// staying at most two batches ahead, so memory is bounded whatever the
/// number of files. Batches are full (`batch_size` rows) except the last,
/// and their content does not depend on the thread count. With `skip_bad`,
/// unreadable files are left out and listed by [`ImageBatches::skipped`];
/// without it the first unreadable file ends the stream with its error.
pub struct ImageBatches {
    receiver: Option<Receiver<Message>>,
    producer: Option<JoinHandle<()>>,
    skipped: Vec<(PathBuf, String)>,
}

impl ImageBatches {
    /// Starts producing batches on rayon's global thread pool.
    pub fn new(
        paths: impl Into<ImageList>,
        preprocess: Preprocess,
        batch_size: usize,
        skip_bad: bool,
    ) -> Result<Self, ImageError> {
        Self::start(paths.into(), preprocess, batch_size, skip_bad, None)
    }

    /// Starts producing batches on the given rayon thread pool.
    pub fn new_in_pool(
        paths: impl Into<ImageList>,
        preprocess: Preprocess,
        batch_size: usize,
        skip_bad: bool,
        pool: Arc<rayon::ThreadPool>,
    ) -> Result<Self, ImageError> {
        Self::start(paths.into(), preprocess, batch_size, skip_bad, Some(pool))
    }

    fn start(
        paths: ImageList,
        preprocess: Preprocess,
        batch_size: usize,
        skip_bad: bool,
        pool: Option<Arc<rayon::ThreadPool>>,
    ) -> Result<Self, ImageError> {
        if batch_size == 0 {
            return Err(ImageError::InvalidParameter {
                parameter: "--batch-size",
                reason: "0; use a positive batch size such as 50".into(),
            });
        }
        preprocess.validate()?;
        // One batch waits in the channel while the next is being built.
        let (sender, receiver) = sync_channel(1);
        let producer = Producer {
            paths,
            preprocess,
            batch_size,
            skip_bad,
        };
        let handle = std::thread::Builder::new()
            .name("image-batches".into())
            .spawn(move || match pool {
                Some(pool) => pool.install(|| producer.run(sender)),
                None => producer.run(sender),
            })
            .map_err(|e| ImageError::InvalidParameter {
                parameter: "image loader thread",
                reason: format!("cannot start it: {e}; free some system resources"),
            })?;
        Ok(ImageBatches {
            receiver: Some(receiver),
            producer: Some(handle),
            skipped: Vec::new(),
        })
    }

    /// Files skipped so far (only with `skip_bad`), with the reason.
    pub fn skipped(&self) -> &[(PathBuf, String)] {
        &self.skipped
    }

    fn finish(&mut self) {
        self.receiver = None;
        if let Some(handle) = self.producer.take()
            && let Err(panic) = handle.join()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Iterator for ImageBatches {
    type Item = Result<ImageBatch, ImageError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let message = self.receiver.as_ref()?.recv();
            match message {
                Ok(Ok((batch, skipped))) => {
                    self.skipped.extend(skipped);
                    if let Some(batch) = batch {
                        return Some(Ok(batch));
                    }
                }
                Ok(Err(error)) => {
                    self.finish();
                    return Some(Err(error));
                }
                Err(_) => {
                    self.finish();
                    return None;
                }
            }
        }
    }
}

impl Drop for ImageBatches {
    fn drop(&mut self) {
        // Closing the channel stops the producer at its next send.
        self.receiver = None;
        if let Some(handle) = self.producer.take() {
            let _ = handle.join();
        }
    }
}

/// The background side: walks the path list and sends finished batches.
struct Producer {
    paths: ImageList,
    preprocess: Preprocess,
    batch_size: usize,
    skip_bad: bool,
}

impl Producer {
    fn run(self, sender: SyncSender<Message>) {
        let mut next = 0;
        while next < self.paths.len() {
            let message = self.build_batch(&mut next);
            let failed = message.is_err();
            if sender.send(message).is_err() || failed {
                return;
            }
        }
    }

    /// Builds one full batch from `paths[*next..]`, advancing `next`; with
    /// `skip_bad`, it keeps reading files until the batch is full.
    fn build_batch(&self, next: &mut usize) -> Message {
        let p = &self.preprocess;
        let mut tensor = Array4::<f32>::zeros((0, 3, p.height, p.width));
        let mut paths = Vec::with_capacity(self.batch_size);
        let mut skipped = Vec::new();
        while paths.len() < self.batch_size && *next < self.paths.len() {
            let want = (self.batch_size - paths.len()).min(self.paths.len() - *next);
            let chunk = self.paths.slice(*next..*next + want).to_paths();
            *next += want;
            let mut part = Array4::<f32>::zeros((want, 3, p.height, p.width));
            let results: Vec<Result<(), ImageError>> = part
                .axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(chunk.par_iter())
                .map(|(slot, path)| decode_rgb(path).map(|img| preprocess_into(&img, p, slot)))
                .collect();
            let mut keep = Vec::with_capacity(want);
            for (i, result) in results.into_iter().enumerate() {
                match result {
                    Ok(()) => keep.push(i),
                    Err(error) if self.skip_bad => {
                        skipped.push((chunk[i].clone(), error.to_string()))
                    }
                    Err(error) => return Err(error),
                }
            }
            let part = if keep.len() == want {
                part
            } else {
                part.select(Axis(0), &keep)
            };
            tensor = if tensor.is_empty() {
                part
            } else {
                ndarray::concatenate(Axis(0), &[tensor.view(), part.view()])
                    .expect("same image shape")
            };
            paths.extend(keep.iter().map(|&i| chunk[i].clone()));
        }
        let batch = (!paths.is_empty()).then_some(ImageBatch { tensor, paths });
        Ok((batch, skipped))
    }
}
