"""Image -> pixel tensor exactly as the reference processor does it, with Pillow and torch.

Decoding (RGB conversion first, EXIF orientation) is `jinaclip.images`; the geometry
(shortest side, truncated long side, bicubic, half-to-even centre crop) is
`jinaclip.images.resize_and_center_crop`, pixel-exact against the fixture. What is left
here is `x/255` and the CLIP mean/std in float32, CHW. No torchvision transforms.

The two halves are separate on purpose: decode threads produce uint8 crops (`crop_array`),
and `normalize` runs on the model's device, so a GPU receives a quarter of the bytes that
float32 pixels would take and does the arithmetic itself, with the same float32 result.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from jinaclip.images import resize_and_center_crop
from jinaclip.local.config import PreprocessConfig


class ImagePreprocessor:
    """RGB PIL image -> uint8 crop (HWC) -> float32 (3, size, size) pixel values."""

    def __init__(self, config: PreprocessConfig) -> None:
        self.config = config
        self._mean = torch.tensor(config.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(config.std, dtype=torch.float32).view(1, 3, 1, 1)

    @property
    def size(self) -> int:
        return self.config.size

    def crop(self, image: Image.Image) -> Image.Image:
        """The uint8 RGB square the model sees (before normalisation)."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        return resize_and_center_crop(image, self.config.size)

    def crop_array(self, image: Image.Image) -> npt.NDArray[np.uint8]:
        """`crop` as a uint8 (size, size, 3) array, ready to stack into a batch."""
        return np.asarray(self.crop(image), dtype=np.uint8)

    def normalize(self, crops: torch.Tensor) -> torch.Tensor:
        """uint8 (B, size, size, 3) on any device -> float32 (B, 3, size, size): x/255, mean/std."""
        pixels = crops.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        mean = self._mean.to(pixels.device)
        std = self._std.to(pixels.device)
        return (pixels - mean) / std

    def __call__(self, image: Image.Image) -> npt.NDArray[np.float32]:
        """One image -> float32 (3, size, size), on the CPU."""
        crop = torch.from_numpy(self.crop_array(image).copy())
        pixels: npt.NDArray[np.float32] = self.normalize(crop[None])[0].numpy()
        return pixels
