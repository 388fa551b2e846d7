"""PyTorch reference models for the examples in `examples/`.

Each entry of `MODELS` pairs an example `.nn` file with an independent
PyTorch definition whose `state_dict()` keys (minus `num_batches_tracked`)
are the example's weight names. The torchvision entries are torchvision's own
models (`weights=None`: nothing is downloaded; with the keywords of
`TORCHVISION_KWARGS` where the defaults are not the example's network); the
others are written here from the descriptions in the example files' header
comments.

`make_model(name, seed)` builds a model in eval mode with seeded random
weights and realistic batchnorm statistics (see `randomize_batchnorm`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

TORCHVISION = ("resnet18", "resnet50", "mobilenet_v2", "shufflenet_v2_x1_0")
# other torchvision models with an example (checked with --all)
TORCHVISION_EXTRA = (
    "mobilenet_v3_small",
    "efficientnet_b0",
    "shufflenet_v2_x0_5",
    "mobilenet_v3_large",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "mnasnet1_0",
    "regnet_x_400mf",
    "regnet_y_400mf",
    "alexnet",
    "squeezenet1_0",
    "squeezenet1_1",
    "densenet121",
    "googlenet",
    "inception_v3",
)
# keyword arguments of torchvision's constructors, where the defaults are not
# the example's network
TORCHVISION_KWARGS: dict[str, dict] = {
    # the auxiliary classifiers run only in training mode: left out (their
    # weights are not the example's); init_weights=True is what the default
    # None means, said to silence its warning; transform_input stays False
    # (the default with weights=None, as in the examples)
    "googlenet": {"aux_logits": False, "init_weights": True},
    "inception_v3": {"aux_logits": False, "init_weights": True},
}
# input shapes other than 1x3x224x224
TORCHVISION_INPUTS: dict[str, dict[str, tuple[int, ...]]] = {
    "inception_v3": {"image": (1, 3, 299, 299)},
}
# torchvision transformers / hybrids (their constant-initialized parameters
# are randomized, see `randomize_constant_params`)
TORCHVISION_TRANSFORMERS = ("vit_b_16", "convnext_tiny", "swin_t")


@dataclass
class ModelInfo:
    """How to build a reference model and which example it mirrors."""

    name: str
    example: str  # file in examples/
    build: Callable[[], nn.Module]
    inputs: dict[str, tuple[int, ...]]
    outputs: list[str]
    network: str | None = None  # --network, for files with several
    torchvision: bool = False
    tags: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- helpers


def _put(root: nn.Module, dotted: str, module: nn.Module) -> None:
    """Registers `module` under a dotted path, creating empty containers."""
    parts = dotted.split(".")
    cur = root
    for p in parts[:-1]:
        if not hasattr(cur, p):
            cur.add_module(p, nn.Module())
        cur = getattr(cur, p)
    cur.add_module(parts[-1], module)


def _get(root: nn.Module, dotted: str) -> nn.Module:
    return root.get_submodule(dotted)


# ---------------------------------------------------------------- G1 stacks


class G1Stack(nn.Module):
    """ShuffleNet V2 Table 1 (G1): 10 blocks of two bias-free 1x1 convs
    c1 -> c2 -> c1 (examples/g1_*.nn). Optional stem (3 -> c1, 3x3) and
    head (c1 -> 128, 1x1) with ReLUs, as in examples/g1_1_6_stem.nn."""

    def __init__(self, c1: int, c2: int, stem: bool = False):
        super().__init__()
        self.has_stem = stem
        if stem:
            self.stem = nn.Conv2d(3, c1, 3, padding=1, bias=False)
        for i in range(10):
            _put(self, f"blocks.{i}.conv1", nn.Conv2d(c1, c2, 1, bias=False))
            _put(self, f"blocks.{i}.conv2", nn.Conv2d(c2, c1, 1, bias=False))
        if stem:
            self.head = nn.Conv2d(c1, 128, 1, bias=False)
        # variance-preserving init, so that 20 linear layers neither vanish
        # nor explode (PyTorch's default shrinks the signal 3x per layer)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                nn.init.normal_(m.weight, 0.0, fan_in**-0.5)

    def forward(self, x):
        if self.has_stem:
            x = F.relu(self.stem(x))
        for i in range(10):
            x = _get(self, f"blocks.{i}.conv1")(x)
            x = _get(self, f"blocks.{i}.conv2")(x)
        if self.has_stem:
            x = F.relu(self.head(x))
        return x


# ---------------------------------------------------------------- MLP


class MLP(nn.Module):
    """examples/mlp.nn: 784 -> 512 -> 256 -> 128 -> 10, ReLU, two outputs."""

    def __init__(self):
        super().__init__()
        widths = [784, 512, 256, 128]
        for i in range(3):
            _put(self, f"layers.{i}.fc", nn.Linear(widths[i], widths[i + 1]))
        _put(self, "head.fc", nn.Linear(128, 10))

    def forward(self, x):
        for i in range(3):
            x = F.relu(_get(self, f"layers.{i}.fc")(x))
        logits = _get(self, "head.fc")(x)
        return logits, torch.softmax(logits, dim=-1)


# ---------------------------------------------------------------- small CNN


class SmallCNN(nn.Module):
    """examples/small_cnn.nn, op for op."""

    def __init__(self):
        super().__init__()

        def conv_bn(prefix, cin, cout, k=3, groups=1):
            _put(self, f"{prefix}.conv", nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False))
            _put(self, f"{prefix}.bn", nn.BatchNorm2d(cout))

        conv_bn("stem", 3, 32)
        conv_bn("res1.a", 32, 32)
        conv_bn("res1.b", 32, 32)
        self.dilated = nn.Conv2d(32, 64, 3, padding=2, dilation=2)
        _put(self, "se.fc1", nn.Conv2d(64, 16, 1))
        _put(self, "se.fc2", nn.Conv2d(16, 64, 1))
        conv_bn("dw", 64, 64, groups=64)
        conv_bn("pw", 64, 96, k=1)
        _put(self, "gate.a", nn.Conv2d(96, 96, 1))
        _put(self, "gate.b", nn.Conv2d(96, 96, 1))
        self.fc1 = nn.Linear(96, 64)
        self.fc2 = nn.Linear(64, 10)

    def cbn(self, prefix, x):
        return _get(self, f"{prefix}.bn")(_get(self, f"{prefix}.conv")(x))

    def forward(self, image):
        x = F.relu(self.cbn("stem", image))
        y = F.relu(self.cbn("res1.a", x))
        y = self.cbn("res1.b", y)
        x = F.relu(x + y)
        x = F.max_pool2d(x, 2)
        x = F.leaky_relu(self.dilated(x), 0.1)
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.relu(_get(self, "se.fc1")(s))
        s = F.hardsigmoid(_get(self, "se.fc2")(s))
        x = x * s
        x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        x = F.hardswish(self.cbn("dw", x))
        x = F.silu(self.cbn("pw", x))
        x = F.relu6(x)
        x = F.max_pool2d(x, 3, stride=2, ceil_mode=True)
        x = torch.tanh(_get(self, "gate.a")(x)) * torch.sigmoid(_get(self, "gate.b")(x))
        f = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        f = F.gelu(self.fc1(f))
        logits = self.fc2(f)
        return logits, torch.softmax(logits, dim=-1)


# ---------------------------------------------------------------- U-Net


class UNetTiny(nn.Module):
    """examples/unet_tiny.nn: 3 levels (16, 32, 64), 128 in the middle,
    nearest upsampling, 1x1 reduce, concat [skip, up], sigmoid mask."""

    def __init__(self):
        super().__init__()

        def double_conv(prefix, cin, cout):
            _put(self, f"{prefix}.conv1", nn.Conv2d(cin, cout, 3, padding=1, bias=False))
            _put(self, f"{prefix}.bn1", nn.BatchNorm2d(cout))
            _put(self, f"{prefix}.conv2", nn.Conv2d(cout, cout, 3, padding=1, bias=False))
            _put(self, f"{prefix}.bn2", nn.BatchNorm2d(cout))

        double_conv("down1.conv", 3, 16)
        double_conv("down2.conv", 16, 32)
        double_conv("down3.conv", 32, 64)
        double_conv("mid", 64, 128)
        for lvl, cin, cout in ((3, 128, 64), (2, 64, 32), (1, 32, 16)):
            _put(self, f"up{lvl}.reduce", nn.Conv2d(cin, cout, 1))
            double_conv(f"up{lvl}.conv", 2 * cout, cout)
        self.head = nn.Conv2d(16, 1, 1)

    def dc(self, prefix, x):
        g = lambda n: _get(self, f"{prefix}.{n}")  # noqa: E731
        x = F.relu(g("bn1")(g("conv1")(x)))
        return F.relu(g("bn2")(g("conv2")(x)))

    def forward(self, image):
        s1 = self.dc("down1.conv", image)
        s2 = self.dc("down2.conv", F.max_pool2d(s1, 2))
        s3 = self.dc("down3.conv", F.max_pool2d(s2, 2))
        x = self.dc("mid", F.max_pool2d(s3, 2))
        for lvl, skip in ((3, s3), (2, s2), (1, s1)):
            y = F.interpolate(x, scale_factor=2, mode="nearest")
            y = _get(self, f"up{lvl}.reduce")(y)
            x = self.dc(f"up{lvl}.conv", torch.cat([skip, y], dim=1))
        return torch.sigmoid(self.head(x))


# ---------------------------------------------------------------- teacher / student


class ResClassifier(nn.Module):
    """examples/teacher_student.nn: stem, stages of residual units, fc;
    everything under the scope `net`."""

    def __init__(self, widths, depths, classes=10):
        super().__init__()
        self.widths, self.depths = widths, depths
        _put(self, "net.stem", nn.Conv2d(3, widths[0], 3, padding=1, bias=False))
        _put(self, "net.stem_bn", nn.BatchNorm2d(widths[0]))
        cin = widths[0]
        for s, (w, d) in enumerate(zip(widths, depths)):
            for i in range(d):
                stride = (1 if s == 0 else 2) if i == 0 else 1
                p = f"net.stage{s}.{i}"
                _put(self, f"{p}.conv1", nn.Conv2d(cin, w, 3, stride=stride, padding=1, bias=False))
                _put(self, f"{p}.bn1", nn.BatchNorm2d(w))
                _put(self, f"{p}.conv2", nn.Conv2d(w, w, 3, padding=1, bias=False))
                _put(self, f"{p}.bn2", nn.BatchNorm2d(w))
                if stride != 1 or cin != w:
                    _put(self, f"{p}.proj", nn.Conv2d(cin, w, 1, stride=stride, bias=False))
                    _put(self, f"{p}.proj_bn", nn.BatchNorm2d(w))
                cin = w
        _put(self, "net.fc", nn.Linear(cin, classes))

    def forward(self, image):
        g = lambda n: _get(self, n)  # noqa: E731
        x = F.relu(g("net.stem_bn")(g("net.stem")(image)))
        for s, d in enumerate(self.depths):
            for i in range(d):
                p = f"net.stage{s}.{i}"
                y = F.relu(g(f"{p}.bn1")(g(f"{p}.conv1")(x)))
                y = g(f"{p}.bn2")(g(f"{p}.conv2")(y))
                sc = g(f"{p}.proj_bn")(g(f"{p}.proj")(x)) if hasattr(g(p), "proj") else x
                x = F.relu(y + sc)
        return g("net.fc")(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------- registry


def _tv(name: str) -> Callable[[], nn.Module]:
    def build():
        import torchvision

        return getattr(torchvision.models, name)(weights=None, **TORCHVISION_KWARGS.get(name, {}))

    return build


IMAGE = {"image": (1, 3, 224, 224)}

MODELS: dict[str, ModelInfo] = {}
for _n in TORCHVISION + TORCHVISION_EXTRA:
    MODELS[_n] = ModelInfo(
        _n, f"{_n}.nn", _tv(_n), TORCHVISION_INPUTS.get(_n, IMAGE), ["logits"], torchvision=True
    )
for _n in TORCHVISION_TRANSFORMERS:
    MODELS[_n] = ModelInfo(
        _n, f"{_n}.nn", _tv(_n), IMAGE, ["logits"], torchvision=True, tags=["transformer"]
    )
for _c1, _c2, _tag in ((128, 128, "1_1"), (90, 180, "1_2"), (52, 312, "1_6"), (36, 432, "1_12")):
    MODELS[f"g1_{_tag}"] = ModelInfo(
        f"g1_{_tag}", f"g1_{_tag}.nn", (lambda a=_c1, b=_c2: G1Stack(a, b)),
        {"x": (1, _c1, 56, 56)}, ["out"], tags=["g1"],
    )
MODELS["g1_1_6_stem"] = ModelInfo(
    "g1_1_6_stem", "g1_1_6_stem.nn", lambda: G1Stack(52, 312, stem=True),
    {"image": (1, 3, 56, 56)}, ["features"], tags=["g1"],
)
MODELS["mlp"] = ModelInfo("mlp", "mlp.nn", MLP, {"pixels": (8, 784)}, ["logits", "probs"])
MODELS["unet_tiny"] = ModelInfo("unet_tiny", "unet_tiny.nn", UNetTiny, {"image": (1, 3, 64, 64)}, ["mask"])
MODELS["teacher"] = ModelInfo(
    "teacher", "teacher_student.nn", lambda: ResClassifier([64, 128, 256], [3, 3, 3]),
    {"image": (1, 3, 32, 32)}, ["logits"], network="teacher",
)
MODELS["student"] = ModelInfo(
    "student", "teacher_student.nn", lambda: ResClassifier([16, 32, 64], [1, 1, 1]),
    {"image": (1, 3, 32, 32)}, ["logits"], network="student",
)
MODELS["small_cnn"] = ModelInfo("small_cnn", "small_cnn.nn", SmallCNN, {"image": (1, 3, 32, 32)}, ["logits", "probs"])


def randomize_batchnorm(model: nn.Module, inputs: dict[str, tuple[int, ...]], seed: int) -> None:
    """Gives every BatchNorm2d random affine parameters and running
    statistics measured on random data (two batches in train mode), so that
    eval-mode batchnorm is not the identity and activations stay O(1)."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in bns:
            m.weight.copy_(torch.empty_like(m.weight).uniform_(0.5, 1.5, generator=g))
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        model.train()
        for _ in range(2):
            args = [torch.randn((4,) + tuple(s[1:]), generator=g) for s in inputs.values()]
            model(*args)
    model.eval()


def randomize_constant_params(model: nn.Module, seed: int) -> None:
    """Replaces every parameter whose elements are all equal (zero-initialized
    heads, biases and class tokens, LayerNorm affine parameters, ConvNeXt's
    `layer_scale` of 1e-6) by random values, so that a comparison exercises
    every parameter: matrices (and tokens) ~ N(0, 1/fan_in), vectors that
    were zero ~ N(0, 0.1²), other vectors ~ U(0.5, 1.5)."""
    g = torch.Generator().manual_seed(seed + 2)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            if p.numel() < 2 or p.max() != p.min():
                continue
            flat = p.squeeze()
            if flat.dim() >= 2 or (flat.dim() == 1 and p.dim() > 1 and float(p.flatten()[0]) == 0.0):
                fan_in = p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=g) * fan_in**-0.5)
            elif float(p.flatten()[0]) == 0.0:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            else:
                p.copy_(torch.empty(p.shape).uniform_(0.5, 1.5, generator=g))


def make_model(name: str, seed: int = 0) -> nn.Module:
    """The reference model `name`, eval mode, seeded weights."""
    info = MODELS[name]
    torch.manual_seed(seed)
    model = info.build()
    randomize_batchnorm(model, info.inputs, seed)
    if "transformer" in info.tags:
        randomize_constant_params(model, seed)
    return model.eval()


def state_dict_for_nnc(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state_dict's floating-point tensors, as contiguous f32: integer
    buffers (`num_batches_tracked`, Swin's `relative_position_index`, which
    nnc computes at compile time) are not weights."""
    return {
        k: v.detach().to(torch.float32).contiguous()
        for k, v in model.state_dict().items()
        if v.is_floating_point()
    }
