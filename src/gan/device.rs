//! Where the GAN runs and in which precision, chosen in one place for the
//! app, the CLI, the loop and refinement: a CUDA GPU when asked for or
//! available, otherwise the CPU; bfloat16 only where the hardware runs it
//! fast (CUDA, or a CPU with AVX512-BF16 or AMX). On a CPU without them
//! libtorch's bf16 kernels fall back to slow emulation (`bench gan` did not
//! finish in 35 minutes on such a machine), so they are not chosen there.
use tch::Device;

use super::{GanError, Precision};

/// Which device the caller wants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA if available, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The first CUDA GPU (an error if there is none).
    Cuda,
}

/// A CUDA GPU when one is available, else the CPU (never fails).
pub fn auto() -> Device {
    Device::cuda_if_available()
}

/// The device for `choice`.
pub fn choose(choice: DeviceChoice) -> Result<Device, GanError> {
    match choice {
        DeviceChoice::Auto => Ok(auto()),
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        DeviceChoice::Cuda => Err(GanError::InvalidRequest(
            "no CUDA device is available (was the binary built with ATELIER_CUDA=1?)".into(),
        )),
    }
}

/// What this CPU offers that the GAN's kernels care about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CpuFeatures {
    /// 256-bit vectors (every x86-64 CPU of the last decade).
    pub avx2: bool,
    /// 512-bit vectors.
    pub avx512f: bool,
    /// bfloat16 dot products in AVX-512.
    pub avx512_bf16: bool,
    /// Intel AMX tiles with bfloat16.
    pub amx_bf16: bool,
}

impl CpuFeatures {
    /// Reads what the running CPU offers.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            Self {
                avx2: std::arch::is_x86_feature_detected!("avx2"),
                avx512f: std::arch::is_x86_feature_detected!("avx512f"),
                avx512_bf16: std::arch::is_x86_feature_detected!("avx512bf16"),
                // AMX detection is not stable in std; Linux names it in cpuinfo.
                amx_bf16: cpuinfo_has("amx_bf16"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Self::default()
        }
    }

    /// Whether bfloat16 runs in hardware here rather than emulated.
    pub fn fast_bf16(self) -> bool {
        self.avx512_bf16 || self.amx_bf16
    }

    /// The flags that are present, by their /proc/cpuinfo names.
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.avx2, "avx2"),
            (self.avx512f, "avx512f"),
            (self.avx512_bf16, "avx512_bf16"),
            (self.amx_bf16, "amx_bf16"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// Whether /proc/cpuinfo lists `flag` (false where there is no such file).
#[cfg(target_arch = "x86_64")]
fn cpuinfo_has(flag: &str) -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("flags"))
                .map(|l| l.split_whitespace().any(|f| f == flag))
        })
        .unwrap_or(false)
}

/// Whether `precision` runs at hardware speed on `device` with `cpu`.
pub fn runs_fast(precision: Precision, device: Device, cpu: CpuFeatures) -> bool {
    match precision {
        Precision::Fp32 => true,
        Precision::Bf16 => device.is_cuda() || cpu.fast_bf16(),
    }
}

/// The inference precision to use on `device`: bfloat16 where it runs in
/// hardware, 32-bit float everywhere else.
pub fn preferred_precision(device: Device, cpu: CpuFeatures) -> Precision {
    if runs_fast(Precision::Bf16, device, cpu) {
        Precision::Bf16
    } else {
        Precision::Fp32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_is_chosen_only_where_the_hardware_has_it() {
        let avx2 = CpuFeatures {
            avx2: true,
            ..CpuFeatures::default()
        };
        let sapphire = CpuFeatures {
            avx2: true,
            avx512f: true,
            avx512_bf16: true,
            amx_bf16: true,
        };
        assert_eq!(preferred_precision(Device::Cpu, avx2), Precision::Fp32);
        assert!(!runs_fast(Precision::Bf16, Device::Cpu, avx2));
        assert!(runs_fast(Precision::Fp32, Device::Cpu, avx2));
        assert_eq!(preferred_precision(Device::Cpu, sapphire), Precision::Bf16);
        assert_eq!(preferred_precision(Device::Cuda(0), avx2), Precision::Bf16);
        assert_eq!(
            sapphire.names(),
            ["avx2", "avx512f", "avx512_bf16", "amx_bf16"]
        );
    }

    #[test]
    fn the_cpu_can_always_be_chosen() {
        assert_eq!(choose(DeviceChoice::Cpu).unwrap(), Device::Cpu);
        let auto = choose(DeviceChoice::Auto).unwrap();
        assert_eq!(auto.is_cuda(), tch::Cuda::is_available());
    }
}
