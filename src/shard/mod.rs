//! Which part of a run one process does: `--shard I/N` (I counted from 0),
//! or, without the flag, the task of a Slurm job array
//! (`SLURM_ARRAY_TASK_ID` less `SLURM_ARRAY_TASK_MIN`, of
//! `SLURM_ARRAY_TASK_COUNT`). Shards split a list of items into contiguous
//! runs in order, so that shard `I` of `N` holds the same items whoever
//! computes it, and the shards together hold every item once.
//!
//! Each shard writes a partial result ([`partial`]); `merge` checks that
//! the partial results are one run's shards and combines them into exactly
//! what the single run writes ([`merge`]).

pub mod merge;
pub mod partial;

pub use merge::{MergeError, ShardSet};
pub use partial::{Partial, PartialError, PartialHeader, PartialKind, path_plan, plan_hash};

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// Part `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// The Slurm variables a job array's task reads its shard from.
pub const SLURM_TASK_ID: &str = "SLURM_ARRAY_TASK_ID";
pub const SLURM_TASK_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
pub const SLURM_TASK_MIN: &str = "SLURM_ARRAY_TASK_MIN";

impl Shard {
    /// The whole run, in one process.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Part `index` of `count`; `None` unless `index < count`.
    pub fn new(index: usize, count: usize) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// The items of this shard among `items`: contiguous, in order, sizes
    /// differing by at most one, the larger ones first.
    pub fn range(&self, items: usize) -> Range<usize> {
        let (base, extra) = (items / self.count, items % self.count);
        let start = self.index * base + self.index.min(extra);
        let len = base + usize::from(self.index < extra);
        start..start + len
    }

    /// The shard a Slurm job array's task is, from `var` (the environment in
    /// use); `None` outside a job array.
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
        let Some(id) = var(SLURM_TASK_ID) else {
            return Ok(None);
        };
        let number = |name: &str, text: &str| {
            text.trim().parse::<usize>().map_err(|_| {
                format!("{name}={text} is not a whole number; run inside a Slurm job array or pass --shard I/N")
            })
        };
        let id = number(SLURM_TASK_ID, &id)?;
        let count = var(SLURM_TASK_COUNT).ok_or_else(|| {
            format!("{SLURM_TASK_ID} is set but {SLURM_TASK_COUNT} is not; pass --shard I/N")
        })?;
        let count = number(SLURM_TASK_COUNT, &count)?;
        let min = match var(SLURM_TASK_MIN) {
            Some(text) => number(SLURM_TASK_MIN, &text)?,
            None => 0,
        };
        id.checked_sub(min)
            .and_then(|index| Shard::new(index, count))
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "the job array's task {id} (first {min}, {count} tasks) is not one of {count} consecutive tasks; submit the array as --array=0-{} or pass --shard I/N",
                    count.saturating_sub(1)
                )
            })
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`, I counted from 0.
    fn from_str(text: &str) -> Result<Shard, String> {
        let wrong = || {
            format!(
                "`{text}` is not a shard; give I/N with I counted from 0 and below N, such as 0/4"
            )
        };
        let (index, count) = text.split_once('/').ok_or_else(wrong)?;
        let index = index.trim().parse().map_err(|_| wrong())?;
        let count = count.trim().parse().map_err(|_| wrong())?;
        Shard::new(index, count).ok_or_else(wrong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_item_once_in_order() {
        for items in [0, 1, 5, 7, 100, 101] {
            for count in 1..=9 {
                let mut next = 0;
                for index in 0..count {
                    let range = Shard { index, count }.range(items);
                    assert_eq!(range.start, next, "{items} items, {index}/{count}");
                    assert!(range.len() == items / count || range.len() == items / count + 1);
                    next = range.end;
                }
                assert_eq!(next, items);
            }
        }
        assert_eq!(Shard { index: 0, count: 3 }.range(7), 0..3);
        assert_eq!(Shard { index: 2, count: 3 }.range(7), 5..7);
    }

    #[test]
    fn shards_parse_as_index_over_count() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("0/1".parse(), Ok(Shard::WHOLE));
        for bad in ["4/4", "1", "a/2", "-1/2", "1/0", "1/2/3", ""] {
            let error = bad.parse::<Shard>().unwrap_err();
            assert!(
                error.contains("I/N") && error.lines().count() == 1,
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn a_job_array_task_is_its_offset_from_the_first() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Shard::from_slurm(env(&[])), Ok(None));
        const TASK: [(&str, &str); 3] = [
            (SLURM_TASK_ID, "3"),
            (SLURM_TASK_COUNT, "4"),
            (SLURM_TASK_MIN, "1"),
        ];
        assert_eq!(
            Shard::from_slurm(env(&TASK)),
            Ok(Some(Shard { index: 2, count: 4 }))
        );
        const ZERO: [(&str, &str); 2] = [(SLURM_TASK_ID, "0"), (SLURM_TASK_COUNT, "2")];
        assert_eq!(
            Shard::from_slurm(env(&ZERO)),
            Ok(Some(Shard { index: 0, count: 2 }))
        );
        for bad in [
            &[(SLURM_TASK_ID, "5"), (SLURM_TASK_COUNT, "4")][..],
            &[(SLURM_TASK_ID, "x"), (SLURM_TASK_COUNT, "4")],
            &[(SLURM_TASK_ID, "1")],
            &[
                (SLURM_TASK_ID, "0"),
                (SLURM_TASK_COUNT, "2"),
                (SLURM_TASK_MIN, "1"),
            ],
        ] {
            let error = Shard::from_slurm(env(bad)).unwrap_err();
            assert!(error.lines().count() == 1, "{error}");
        }
    }
}
