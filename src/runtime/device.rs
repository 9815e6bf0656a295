//! The devices and arithmetic a run asks for: `--device`, `--devices` and
//! `--precision`, as the command line spells them and the runtime reads them.

use std::fmt;
use std::str::FromStr;

/// What the user asked for with `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// CUDA when ONNX Runtime has it and a GPU answers, else the CPU: one
    /// warning when CUDA is there but fails, none with a CPU-only ONNX Runtime.
    #[default]
    Auto,
    Cpu,
    /// The CUDA device of this index (`cuda` is `cuda:0`), or an error:
    /// never a silent fall-back.
    Cuda(u32),
}

/// The CUDA device a session on `device` asks for (`auto` tries device 0);
/// `None` on the CPU. An index past i32 names no device: ONNX Runtime
/// refuses it by name.
pub(super) fn cuda_id(device: Device) -> Option<i32> {
    match device {
        Device::Auto => Some(0),
        Device::Cpu => None,
        Device::Cuda(index) => Some(i32::try_from(index).unwrap_or(i32::MAX)),
    }
}

impl Device {
    /// Images per network call when `--batch-size` is not given: what keeps
    /// a GPU busy (and fits Inception-v3 at 299² in a few GB), else the CPU's.
    pub fn default_batch_size(self) -> usize {
        match self {
            Device::Cuda(_) => GPU_BATCH_SIZE,
            Device::Auto | Device::Cpu => CPU_BATCH_SIZE,
        }
    }
}

/// The default batch on the CPU (pytorch-fid's).
pub const CPU_BATCH_SIZE: usize = 50;
/// The default batch on an explicitly chosen GPU.
pub const GPU_BATCH_SIZE: usize = 200;

impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let unknown = || {
            format!(
                "unknown device `{}`: use auto, cpu, cuda or cuda:N (N the GPU's index, as nvidia-smi numbers them)",
                s.escape_debug()
            )
        };
        match s {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(index) if !index.starts_with('+') => {
                    index.parse().map(Device::Cuda).map_err(|_| unknown())
                }
                _ => Err(unknown()),
            },
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Auto => f.write_str("auto"),
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(index) => write!(f, "cuda:{index}"),
        }
    }
}

/// `--precision`: the arithmetic the network runs in on a GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Full float32: numbers equal to the CPU's to float32 rounding.
    #[default]
    Fp32,
    /// TensorFloat-32 tensor cores for convolutions and matrix products
    /// (10-bit mantissas in the products; what PyTorch uses for cuDNN
    /// convolutions by default on Ampere and newer).
    Tf32,
    /// Half precision: the image models converted to float16 weights and
    /// activations when they are opened (inputs and outputs stay float32;
    /// see `convert::onnx::float16`).
    Fp16,
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fp32" => Ok(Precision::Fp32),
            "tf32" => Ok(Precision::Tf32),
            "fp16" => Ok(Precision::Fp16),
            other => Err(format!(
                "unknown precision `{}`: use fp32, tf32 or fp16",
                other.escape_debug()
            )),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Fp32 => "fp32",
            Precision::Tf32 => "tf32",
            Precision::Fp16 => "fp16",
        })
    }
}

/// `--devices 0,1,…`: the devices one run is spread over, a session of each
/// model on each (the command line names GPUs by index; the library also
/// takes the CPU, for several CPU sessions with `--threads` each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList(pub Vec<Device>);

impl DeviceList {
    /// True when some device of the list is a GPU.
    pub(super) fn wants_cuda(&self) -> bool {
        self.0.iter().any(|d| *d != Device::Cpu)
    }
}

impl FromStr for DeviceList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut devices: Vec<Device> = Vec::new();
        for part in s.split(',') {
            let index: u32 = part.trim().parse().map_err(|_| {
                format!(
                    "`{}` in `{}` is not a GPU index; give indices such as 0,1,2,3",
                    part.escape_debug(),
                    s.escape_debug()
                )
            })?;
            if devices.contains(&Device::Cuda(index)) {
                return Err(format!(
                    "GPU {index} is listed twice in `{}`; name each GPU once",
                    s.escape_debug()
                ));
            }
            devices.push(Device::Cuda(index));
        }
        Ok(DeviceList(devices))
    }
}

impl fmt::Display for DeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, device) in self.0.iter().enumerate() {
            let separator = if position == 0 { "" } else { "," };
            match device {
                Device::Cuda(index) => write!(f, "{separator}{index}")?,
                other => write!(f, "{separator}{other}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_precisions_and_device_lists_parse_and_print_back() {
        for (text, device) in [
            ("auto", Device::Auto),
            ("cpu", Device::Cpu),
            ("cuda", Device::Cuda(0)),
            ("cuda:0", Device::Cuda(0)),
            ("cuda:3", Device::Cuda(3)),
        ] {
            assert_eq!(text.parse::<Device>(), Ok(device), "{text}");
        }
        assert_eq!(Device::Cuda(3).to_string(), "cuda:3");
        for bad in ["gpu", "cuda:", "cuda:-1", "cuda:+1", "cuda:x", "cuda1"] {
            let err = bad.parse::<Device>().unwrap_err();
            assert!(err.contains("cuda:N"), "{bad}: {err}");
        }
        assert_eq!(Device::Cuda(0).default_batch_size(), GPU_BATCH_SIZE);
        assert_eq!(Device::Auto.default_batch_size(), CPU_BATCH_SIZE);
        for precision in [Precision::Fp32, Precision::Tf32, Precision::Fp16] {
            assert_eq!(precision.to_string().parse::<Precision>(), Ok(precision));
        }
        assert!(
            "bf16"
                .parse::<Precision>()
                .unwrap_err()
                .contains("fp32, tf32 or fp16")
        );
        assert_eq!(
            "0, 2,1".parse::<DeviceList>(),
            Ok(DeviceList(vec![
                Device::Cuda(0),
                Device::Cuda(2),
                Device::Cuda(1)
            ]))
        );
        assert_eq!(
            DeviceList(vec![Device::Cuda(0), Device::Cuda(2)]).to_string(),
            "0,2"
        );
        assert_eq!(
            DeviceList(vec![Device::Cpu, Device::Cpu]).to_string(),
            "cpu,cpu"
        );
        assert!(
            "0,0"
                .parse::<DeviceList>()
                .unwrap_err()
                .contains("listed twice")
        );
        assert!(
            "0,,1"
                .parse::<DeviceList>()
                .unwrap_err()
                .contains("not a GPU index")
        );
        assert!("".parse::<DeviceList>().is_err());
    }
}
