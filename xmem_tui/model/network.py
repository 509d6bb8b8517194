"""The XMem network (Cheng & Schwing, ECCV 2022): encoders, key projection and decoder in one module.

The module is stateless; :mod:`xmem_tui.inference` owns memory and hidden states and calls the three
stages (``encode_key``, ``encode_value``, ``segment``). Dimensions are read from a checkpoint by
:meth:`XMem.from_checkpoint` exactly as the official loader does, so variants (other key/value widths, the
no-hidden-state model, single-object 4-channel value encoders) load too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from xmem_tui.errors import CheckpointError
from xmem_tui.model.checkpoint import StateSource, describe_source, load_state_dict, load_strict
from xmem_tui.model.modules import Decoder, KeyEncoder, KeyProjection, ValueEncoder


@dataclass(frozen=True)
class XMemConfig:
    """Widths of the memory keys, values and hidden state (hidden_dim 0 disables the hidden state)."""

    key_dim: int = 64
    value_dim: int = 512
    hidden_dim: int = 64


def aggregate(prob: Tensor, dim: int = 0) -> tuple[Tensor, Tensor]:
    """Soft aggregation of per-object probabilities into K+1 channels with background first.

    Background = prod(1 - p); all channels clamped to [1e-7, 1 - 1e-7], turned into logits and
    softmax-normalised, so even a one-hot mask comes out slightly soft (as the official outputs).

    Returns:
        (logits, probabilities), both with K+1 channels along ``dim``.
    """
    bg = torch.prod(1 - prob, dim=dim, keepdim=True)
    new_prob = torch.cat([bg, prob], dim).clamp(1e-7, 1 - 1e-7)
    logits = torch.log(new_prob / (1 - new_prob))
    return logits, torch.softmax(logits, dim=dim)


def other_objects(masks: Tensor) -> Tensor:
    """For each object, the sum of all *other* objects' probabilities (zeros for a single object)."""
    n = masks.shape[0]
    if n == 1:
        return torch.zeros_like(masks)
    return torch.stack([masks[[j for j in range(n) if j != i]].sum(0) for i in range(n)])


class XMem(nn.Module):
    """XMem with the official parameter names, so ``XMem.pth`` loads strictly."""

    def __init__(self, config: XMemConfig | None = None, value_in_ch: int = 5) -> None:
        super().__init__()
        self.config = config or XMemConfig()
        c = self.config
        self.key_encoder = KeyEncoder()
        self.value_encoder = ValueEncoder(c.value_dim, c.hidden_dim, value_in_ch)
        self.key_proj = KeyProjection(1024, c.key_dim)
        self.decoder = Decoder(c.value_dim, c.hidden_dim)

    def encode_key(self, image: Tensor, need_sk: bool = True, need_ek: bool = True
                   ) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor, Tensor, Tensor]:
        """Normalised padded image (1,3,H,W) -> key, shrinkage, selection (1,C,H/16,W/16), f16, f8, f4."""
        f16, f8, f4 = self.key_encoder(image)
        key, shrinkage, selection = self.key_proj(f16, need_sk, need_ek)
        return key, shrinkage, selection, f16, f8, f4

    def encode_value(self, image: Tensor, f16: Tensor, hidden: Tensor | None, masks: Tensor,
                     deep_update: bool = True) -> tuple[Tensor, Tensor | None]:
        """Memory values (N,CV,h,w) from the image, this frame's f16 and N object probabilities (N,H,W)."""
        return self.value_encoder(image, f16, masks, other_objects(masks), hidden, deep_update)

    def segment(self, feats: tuple[Tensor, Tensor, Tensor], readout: Tensor, hidden: Tensor | None,
                h_out: bool = True) -> tuple[Tensor | None, Tensor, Tensor]:
        """Decode N objects. Returns (new hidden or None, logits (N+1,H,W), probabilities (N+1,H,W)).

        Logits and probabilities are those of the soft aggregation, background first, float32 in [0, 1].
        """
        new_hidden, logits = self.decoder(feats, readout, hidden, h_out)
        logits, prob = aggregate(torch.sigmoid(logits[:, 0]), dim=0)
        return new_hidden, logits, prob

    @classmethod
    def from_checkpoint(cls, source: StateSource, map_location: str | torch.device = "cpu") -> XMem:
        """Build an XMem whose dimensions are read from the weights, then load them strictly.

        Args:
            source: path to ``XMem.pth`` (opened with ``weights_only=True``) or a state dict.
            map_location: device for the loaded tensors (the module is created on CPU, then filled).

        Raises:
            CheckpointError: unreadable/unsafe file or weights of another model.
        """
        where = describe_source(source)
        state = load_state_dict(source, map_location)
        try:
            key_dim = state["key_proj.key_proj.weight"].shape[0]
            value_dim = state["value_encoder.fuser.block2.conv2.weight"].shape[0]
            conv1 = state["value_encoder.conv1.weight"]
        except KeyError as exc:
            raise CheckpointError(f"{where} is not an XMem checkpoint (no {exc.args[0]}); "
                                  "select XMem.pth or run `xmem-tui models download`") from exc
        update = state.get("decoder.hidden_update.transform.weight")
        hidden_dim = 0 if update is None else update.shape[0] // 3
        if conv1.ndim == 4 and conv1.shape[1] == 4:
            # single-object training: add a zero "other objects" channel
            state["value_encoder.conv1.weight"] = torch.cat([conv1, conv1.new_zeros(conv1[:, :1].shape)], 1)
        net = cls(XMemConfig(key_dim, value_dim, hidden_dim))
        load_strict(net, state, where, "XMem")
        return net.eval()
