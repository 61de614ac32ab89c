"""ResNet-18 with the CIFAR stem, as the unlearning papers train it on CIFAR-10.

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016. The layers, their
names and their initialisation follow torchvision's ``torchvision.models.resnet18``
(``BasicBlock``, ``layer1``..``layer4``, ``downsample``, Kaiming-normal fan-out convolutions,
BatchNorm at weight 1 and bias 0); the stem is the CIFAR one used by SalUn, l1-sparse and
SCRUB: a 3x3 convolution at stride 1 and no max-pooling (``maxpool`` is an ``Identity``),
so 32x32 inputs reach ``layer4`` at 4x4.

Written in plain torch rather than imported from torchvision: the torchvision wheel that
pairs with torch 2.13.0 on PyPI (0.28.0) is a CUDA build whose operators do not register
against the CPU torch this project pins (``import torchvision`` fails with "operator
torchvision::nms does not exist"), and the next release requires torch >= 2.14 with CUDA
wheels. The state-dict keys are torchvision's, so weights trained with
``torchvision.models.resnet18`` plus the CIFAR stem load as they are (``models.io``
prefixes them with ``body.`` and maps ``fc`` to ``head``).
"""

from __future__ import annotations

import torch
from torch import nn

from unlearn_core.errors import ModelError
from unlearn_core.models.registry import Classifier, ModelSpec, register_architecture

RESNET18_BLOCKS = (2, 2, 2, 2)
DEFAULT_WIDTH = 64  # channels of the stem and layer1; layer k has width * 2**(k-1)


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and an identity (or 1x1 projection) shortcut."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()  # torchvision's is in place; out of place is the same function
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetBody(nn.Module):
    """Everything up to the pooled features: the part ``Classifier.embed`` returns."""

    def __init__(self, in_channels: int, width: int = DEFAULT_WIDTH,
                 blocks: tuple[int, ...] = RESNET18_BLOCKS) -> None:
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity()  # the CIFAR stem: no max-pooling
        self.layer1 = self._make_layer(width, blocks[0])
        self.layer2 = self._make_layer(2 * width, blocks[1], stride=2)
        self.layer3 = self._make_layer(4 * width, blocks[2], stride=2)
        self.layer4 = self._make_layer(8 * width, blocks[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.out_features = 8 * width
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


def resnet18_weights(channels: int, width: int, n_classes: int) -> int:
    """The number of weights of ``resnet18`` (convolutions, BatchNorm affine, head)."""
    convs = 9 * channels * width + 2724 * width * width
    norms = 2 * 75 * width  # BatchNorm channels: stem w, layer1 4w, layer2..4 10w, 20w, 40w
    return convs + norms + 8 * width * n_classes + n_classes


@register_architecture("resnet18")
def _resnet18(spec: ModelSpec) -> Classifier:
    """ResNet-18, CIFAR stem (He et al., CVPR 2016; torchvision's definition); no weights are
    downloaded: it starts from torchvision's random initialisation."""
    if len(spec.input_shape) != 3:
        raise ModelError(f"resnet18 needs image data (channels, height, width); this dataset "
                         f"has samples of shape {spec.input_shape}: use 'mlp' or 'logreg'")
    body = ResNetBody(spec.input_shape[0], int(spec.params.get("width", DEFAULT_WIDTH)))
    return Classifier(body, nn.Linear(body.out_features, spec.n_classes), spec)
