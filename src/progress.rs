//! Progress of long work, reported without printing: the library says which
//! stage runs and how far it got, the application draws bars on stderr (or
//! nothing under `--quiet`).

/// Receives the progress of long work.
pub trait Progress {
    /// A stage of `total` items (images, samples) called `label` begins; it
    /// ends when the returned handle is dropped.
    fn stage(&self, label: &str, total: usize) -> Box<dyn Stage>;
    /// Like [`Progress::stage`] for a stage counted in `unit` (checkpoints)
    /// rather than images.
    fn stage_of(&self, label: &str, total: usize, unit: &str) -> Box<dyn Stage> {
        let _ = unit;
        self.stage(label, total)
    }
    /// A transfer of `bytes` bytes (`None`: not known) called `label`
    /// begins (a download); its handle advances by bytes.
    fn transfer(&self, label: &str, bytes: Option<u64>) -> Box<dyn Stage> {
        self.stage(
            label,
            bytes.map_or(0, |b| usize::try_from(b).unwrap_or(usize::MAX)),
        )
    }
    /// One line for the user about what runs next.
    fn note(&self, message: &str);
}

/// One stage under way.
pub trait Stage {
    /// `items` more are done.
    fn advance(&self, items: usize);
}

/// Reports nothing: for library callers that want no output.
pub struct Silent;

struct NoStage;

impl Stage for NoStage {
    fn advance(&self, _: usize) {}
}

impl Progress for Silent {
    fn stage(&self, _: &str, _: usize) -> Box<dyn Stage> {
        Box::new(NoStage)
    }

    fn note(&self, _: &str) {}
}
