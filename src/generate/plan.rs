//! Which samples a run draws, in which order, and which of them share a `z`.
//!
//! Samples are ordered image by image, then caption, then draw, and numbered
//! from 0; that number names the files, so a folder listing is sample order.

use std::fmt;
use std::str::FromStr;

use super::GenerateError;

/// How the samples are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// Every selected caption of every selected image, `samples_per_caption`
    /// draws each, each with its own `z`.
    #[default]
    Plain,
    /// StackGAN-v2's CUB evaluation: the test images in order in batches of
    /// 24 with the remainder dropped (2,928 of 2,933), all captions, one `z`
    /// per image reused for its captions, a fresh `eps` for each.
    StackganV2Cub,
    /// StackGAN-v2's unconditional evaluation: 30,000 samples.
    StackganV2Uncond,
}

/// Images per batch in the v2 evaluation code; the last partial batch is dropped.
pub const V2_BATCH: usize = 24;
/// Samples the v2 code draws from an unconditional model.
pub const V2_UNCOND_SAMPLES: usize = 30_000;

impl FromStr for Sampling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "plain" => Ok(Sampling::Plain),
            "stackgan-v2-cub" => Ok(Sampling::StackganV2Cub),
            "stackgan-v2-uncond" => Ok(Sampling::StackganV2Uncond),
            other => Err(format!(
                "unknown sampling protocol `{other}`: use plain, stackgan-v2-cub or stackgan-v2-uncond"
            )),
        }
    }
}

impl fmt::Display for Sampling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sampling::Plain => "plain",
            Sampling::StackganV2Cub => "stackgan-v2-cub",
            Sampling::StackganV2Uncond => "stackgan-v2-uncond",
        })
    }
}

/// What the user asked for; `None` means "all" or "the protocol's choice".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanRequest {
    /// The first K images of the embeddings file.
    pub images: Option<usize>,
    /// The first K captions of each image.
    pub captions: Option<usize>,
    /// Draws per caption (default 1).
    pub samples_per_caption: Option<usize>,
    /// Samples of an unconditional model.
    pub samples: Option<usize>,
}

impl fmt::Display for PlanRequest {
    /// The flags as given: `--images 3 --captions 2`, or `the defaults`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let given: Vec<String> = [
            ("--images", self.images),
            ("--captions", self.captions),
            ("--samples-per-caption", self.samples_per_caption),
            ("--samples", self.samples),
        ]
        .iter()
        .filter_map(|(flag, value)| value.map(|v| format!("{flag} {v}")))
        .collect();
        if given.is_empty() {
            f.write_str("the defaults")
        } else {
            f.write_str(&given.join(" "))
        }
    }
}

/// One sample: which embedding it uses and which draw it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub id: usize,
    pub image: usize,
    pub caption: usize,
    pub draw: usize,
}

/// The samples of a run and how their noise is keyed.
#[derive(Debug, Clone)]
pub struct SamplePlan {
    pub samples: Vec<Sample>,
    /// One `z` per (image, draw), shared by the image's captions.
    pub z_per_image: bool,
    /// A sentence for the log saying what was drawn.
    pub description: String,
}

impl SamplePlan {
    /// The plan for a conditional model with `images` × `captions` embeddings.
    pub fn conditional(
        protocol: Sampling,
        request: &PlanRequest,
        images: usize,
        captions: usize,
    ) -> Result<SamplePlan, GenerateError> {
        let invalid = |flag: &'static str, reason: String| GenerateError::Flag { flag, reason };
        if request.samples.is_some() {
            return Err(invalid(
                "--samples",
                "is for unconditional models; a conditional model draws per caption (use --images, --captions, --samples-per-caption)".into(),
            ));
        }
        match protocol {
            Sampling::StackganV2Uncond => Err(invalid(
                "--sampling",
                "stackgan-v2-uncond is for unconditional models; use stackgan-v2-cub or plain"
                    .into(),
            )),
            Sampling::StackganV2Cub => {
                for (given, flag) in [
                    (request.images, "--images"),
                    (request.captions, "--captions"),
                    (request.samples_per_caption, "--samples-per-caption"),
                ] {
                    if given.is_some() {
                        return Err(invalid(
                            flag,
                            "is fixed by --sampling stackgan-v2-cub; drop it, or use --sampling plain".into(),
                        ));
                    }
                }
                let used = images / V2_BATCH * V2_BATCH;
                if used == 0 {
                    return Err(invalid(
                        "--sampling",
                        format!(
                            "stackgan-v2-cub draws whole batches of {V2_BATCH} images and the embeddings hold {images}; use --sampling plain"
                        ),
                    ));
                }
                let mut plan = Self::grid(used, captions, 1);
                plan.z_per_image = true;
                plan.description = format!(
                    "sampling stackgan-v2-cub: {used} of {images} images (batches of {V2_BATCH}, remainder dropped as the v2 code does) × {captions} captions, one z per image shared by its captions, a fresh eps per caption → {} samples",
                    plan.samples.len()
                );
                Ok(plan)
            }
            Sampling::Plain => {
                let pick =
                    |given: Option<usize>, available: usize, flag: &'static str, what: &str| {
                        match given {
                            None => Ok(available),
                            Some(0) => Err(invalid(flag, "must be at least 1".into())),
                            Some(k) if k > available => Err(invalid(
                                flag,
                                format!("asks for {k} but the embeddings hold {available} {what}"),
                            )),
                            Some(k) => Ok(k),
                        }
                    };
                let images_used = pick(request.images, images, "--images", "images")?;
                let captions_used = pick(
                    request.captions,
                    captions,
                    "--captions",
                    "captions per image",
                )?;
                let draws = match request.samples_per_caption {
                    Some(0) => {
                        return Err(invalid(
                            "--samples-per-caption",
                            "must be at least 1".into(),
                        ));
                    }
                    Some(k) => k,
                    None => 1,
                };
                let mut plan = Self::grid(images_used, captions_used, draws);
                plan.description = format!(
                    "plain sampling: {images_used} images × {captions_used} captions × {draws} draw(s), each with its own z and eps → {} samples",
                    plan.samples.len()
                );
                Ok(plan)
            }
        }
    }

    /// The plan for an unconditional model.
    pub fn unconditional(
        protocol: Sampling,
        request: &PlanRequest,
    ) -> Result<SamplePlan, GenerateError> {
        let invalid = |flag: &'static str, reason: String| GenerateError::Flag { flag, reason };
        for (given, flag) in [
            (request.images, "--images"),
            (request.captions, "--captions"),
            (request.samples_per_caption, "--samples-per-caption"),
        ] {
            if given.is_some() {
                return Err(invalid(
                    flag,
                    "is for conditional models; an unconditional one takes --samples N".into(),
                ));
            }
        }
        let (count, what) = match (protocol, request.samples) {
            (Sampling::StackganV2Cub, _) => {
                return Err(invalid(
                    "--sampling",
                    "stackgan-v2-cub is for conditional models; use stackgan-v2-uncond or plain --samples N".into(),
                ));
            }
            (Sampling::StackganV2Uncond, Some(_)) => {
                return Err(invalid(
                    "--samples",
                    "is fixed (30,000) by --sampling stackgan-v2-uncond; drop one of the two"
                        .into(),
                ));
            }
            (Sampling::StackganV2Uncond, None) => {
                (V2_UNCOND_SAMPLES, "sampling stackgan-v2-uncond")
            }
            (Sampling::Plain, Some(0)) => {
                return Err(invalid("--samples", "must be at least 1".into()));
            }
            (Sampling::Plain, Some(n)) => (n, "plain sampling"),
            (Sampling::Plain, None) => {
                return Err(invalid(
                    "--samples",
                    "is needed for an unconditional model: pass --samples N, or --sampling stackgan-v2-uncond for the v2 code's 30,000".into(),
                ));
            }
        };
        let mut plan = Self::grid(count, 1, 1);
        plan.description = format!("{what}: {count} samples, each with its own z");
        Ok(plan)
    }

    /// Every (image, caption, draw), image-major.
    fn grid(images: usize, captions: usize, draws: usize) -> SamplePlan {
        let mut samples = Vec::with_capacity(images * captions * draws);
        for image in 0..images {
            for caption in 0..captions {
                for draw in 0..draws {
                    let id = samples.len();
                    samples.push(Sample {
                        id,
                        image,
                        caption,
                        draw,
                    });
                }
            }
        }
        SamplePlan {
            samples,
            z_per_image: false,
            description: String::new(),
        }
    }

    /// One sample per row of a noise file, in file order.
    pub fn rows(count: usize) -> SamplePlan {
        let mut plan = Self::grid(count, 1, 1);
        plan.description = format!("{count} samples from the noise file, in its row order");
        plan
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cub_protocol_drops_the_partial_batch_and_keeps_every_caption() {
        let plan =
            SamplePlan::conditional(Sampling::StackganV2Cub, &PlanRequest::default(), 2933, 10)
                .unwrap();
        assert_eq!(plan.len(), 29_280);
        assert!(plan.z_per_image);
        assert_eq!(plan.samples.last().unwrap().image, 2927);
        assert_eq!(
            plan.samples[11],
            Sample {
                id: 11,
                image: 1,
                caption: 1,
                draw: 0
            }
        );
    }

    #[test]
    fn plain_plan_is_image_major_and_respects_limits() {
        let request = PlanRequest {
            images: Some(2),
            captions: Some(3),
            samples_per_caption: Some(2),
            samples: None,
        };
        let plan = SamplePlan::conditional(Sampling::Plain, &request, 5, 10).unwrap();
        assert_eq!(plan.len(), 12);
        assert_eq!(
            plan.samples[7],
            Sample {
                id: 7,
                image: 1,
                caption: 0,
                draw: 1
            }
        );
        assert!(!plan.z_per_image);
        let too_many = PlanRequest {
            captions: Some(11),
            ..PlanRequest::default()
        };
        assert!(SamplePlan::conditional(Sampling::Plain, &too_many, 5, 10).is_err());
    }

    #[test]
    fn unconditional_needs_a_count() {
        assert!(SamplePlan::unconditional(Sampling::Plain, &PlanRequest::default()).is_err());
        let plan =
            SamplePlan::unconditional(Sampling::StackganV2Uncond, &PlanRequest::default()).unwrap();
        assert_eq!(plan.len(), V2_UNCOND_SAMPLES);
    }
}
