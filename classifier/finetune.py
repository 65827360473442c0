"""The e5 encoder fine-tuned as a classifier: the ``finetune`` method of classifier/training.py.

The frozen heads (TF-IDF and e5 vectors) read what the e5 encoder learnt for search; fine-tuning
its twelve transformer layers on the hotline's labelled texts, with a linear layer over the
mean of the last hidden states, makes it read what separates the hotline's own classes. Its
probabilities are blended with the chosen frozen heads, ``FINETUNE_WEIGHT`` of the average.

On the Teddy messages (5-fold CV, bench/finetune_bench.py) the frozen heads score 0.866 and the
fine-tuned encoder alone 0.864, but their blend 0.886 (10 epochs; 0.877 after 6): the two kinds
of model err on different messages. Blend weights 0.2–0.4 scored 0.886–0.890 on the same folds.

The word embeddings (96 M of the encoder's 118 M parameters) stay frozen: they are shared with
the query encoder the process has loaded anyway, so the saved model holds only the layers that
change (about 21 M parameters, 42 MB in float16), and the optimiser has a fifth of the work.
Training is slow on a CPU (about 0.2 s per text per epoch on two cores), so the number of steps
is capped; inference is one more pass of the encoder over ``FINETUNE_MAX_TOKENS`` tokens.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

FINETUNE_WEIGHT = 0.3
FINETUNE_MAX_TOKENS = 128
FINETUNE_EPOCHS = 10  # bench/finetune_bench.py: 0.886 against 0.877 after 6
FINETUNE_BATCH = 16
FINETUNE_MAX_STEPS = 1500  # about 24,000 texts read: an hour on two cores
ENCODER_LR = 5e-5
HEAD_LR = 1e-3
WARMUP_SHARE = 0.1
QUERY_PREFIX = "query: "
_KEPT = "encoder."  # the parameters that are trained and saved (not the embeddings, not the pooler)


class FineTunedHead:
    """The trained layers and classification layer; ``predict_proba`` rebuilds the network on
    the query encoder's loaded model (its embeddings and configuration) the first time."""

    def __init__(self, layers: dict[str, np.ndarray], weight: np.ndarray, bias: np.ndarray,
                 max_tokens: int = FINETUNE_MAX_TOKENS) -> None:
        self.layers, self.weight, self.bias, self.max_tokens = layers, weight, bias, max_tokens
        self._net: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_net"], state["_lock"] = None, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def n_classes(self) -> int:
        return int(self.weight.shape[0])

    def predict_proba(self, texts: Sequence[str], encoder: Any) -> np.ndarray:
        """Class probabilities of ``texts`` (``encoder``: retrieval.encoder.Encoder)."""
        import torch

        with self._lock:
            if self._net is None:
                self._net = _Net.restore(encoder, self)
            net = self._net
        tokenizer = encoder.model.tokenizer
        out = []
        with torch.inference_mode(), _precision(encoder):
            for start in range(0, len(texts), 32):
                batch = _tokens(tokenizer, texts[start:start + 32], self.max_tokens)
                out.append(torch.softmax(net(batch).float(), dim=-1).numpy())
        return np.vstack(out).astype(np.float64)


def fine_tune(texts: Sequence[str], y: Sequence[int], n_classes: int, encoder: Any,
              seed: int = 0, epochs: int = FINETUNE_EPOCHS,
              max_steps: int = FINETUNE_MAX_STEPS,
              progress: Callable[[str], None] = logger.info) -> FineTunedHead:
    """Fine-tune a copy of ``encoder``'s model (retrieval.encoder.Encoder) on ``texts`` with
    class indices ``y``; classes are weighted by the inverse of their frequency."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    labels = np.asarray(y, dtype=np.int64)
    net = _Net.copy_of(encoder, n_classes)
    tokenizer = encoder.model.tokenizer
    encoded = tokenizer([QUERY_PREFIX + t for t in texts], truncation=True,
                        max_length=FINETUNE_MAX_TOKENS)["input_ids"]
    per_epoch = -(-len(texts) // FINETUNE_BATCH)
    steps = max(1, min(max_steps, epochs * per_epoch))
    optimiser = torch.optim.AdamW([
        {"params": [p for p in net.body.parameters() if p.requires_grad], "lr": ENCODER_LR},
        {"params": net.head.parameters(), "lr": HEAD_LR}], weight_decay=0.01)
    warmup = max(1.0, WARMUP_SHARE * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps))
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    class_weight = torch.tensor(np.where(counts > 0, len(labels) / (n_classes * np.maximum(
        counts, 1)), 0.0), dtype=torch.float32)
    # the embeddings are the search encoder's own module: whatever happens, it ends in eval mode
    net.train()
    try:
        started, step, total = time.perf_counter(), 0, 0.0
        while step < steps:
            order = rng.permutation(len(texts))
            for start in range(0, len(order), FINETUNE_BATCH):
                rows = order[start:start + FINETUNE_BATCH]
                batch = tokenizer.pad({"input_ids": [encoded[i] for i in rows]},
                                      return_tensors="pt")
                loss = torch.nn.functional.cross_entropy(
                    net(batch), torch.from_numpy(labels[rows]), weight=class_weight)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                step, total = step + 1, total + loss.item()
                if step % per_epoch == 0 or step == steps:
                    progress(f"fine-tuning e5: step {step}/{steps}, loss {total / step:.3f}, "
                             f"{time.perf_counter() - started:.0f} s")
                if step >= steps:
                    break
    finally:
        net.eval()
    layers = {name: p.detach().numpy().astype(np.float16)
              for name, p in net.body.named_parameters() if name.startswith(_KEPT)}
    head = FineTunedHead(layers, net.head.weight.detach().numpy().copy(),
                         net.head.bias.detach().numpy().copy())
    head._net = net  # already built: predictions right after training need no restore
    return head


def _tokens(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> Any:
    return tokenizer([QUERY_PREFIX + t for t in texts], truncation=True, max_length=max_tokens,
                     padding=True, return_tensors="pt")


def _precision(encoder: Any) -> contextlib.AbstractContextManager[object]:
    if not getattr(encoder, "bf16", False):
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


def _base_model(encoder: Any) -> Any:
    """The transformer inside the sentence-transformers model of ``encoder``."""
    return encoder.model[0].auto_model


def _net_class() -> type:
    import torch

    class Net(torch.nn.Module):
        """Encoder body → mean of the last hidden states → dropout → linear layer."""

        def __init__(self, body: Any, n_classes: int) -> None:
            super().__init__()
            self.body = body
            self.drop = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(body.config.hidden_size, n_classes)

        def forward(self, batch: Any) -> Any:
            hidden = self.body(input_ids=batch["input_ids"],
                               attention_mask=batch["attention_mask"]).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return self.head(self.drop((hidden * mask).sum(1) / mask.sum(1)))

    return Net


class _Net:
    """Building the network: a trainable copy of the encoder's model sharing its (frozen)
    embeddings, or the saved layers restored on it."""

    @staticmethod
    def copy_of(encoder: Any, n_classes: int) -> Any:
        base = _base_model(encoder)
        shared = base.embeddings  # not copied: shared with the query encoder, and frozen
        memo: dict[int, Any] = {id(shared): shared}
        memo.update((id(p), p) for p in shared.parameters())
        body = copy.deepcopy(base, memo)
        for name, p in body.named_parameters():
            p.requires_grad = name.startswith(_KEPT)
        return _net_class()(body, n_classes)

    @staticmethod
    def restore(encoder: Any, head: FineTunedHead) -> Any:
        import torch

        net = _Net.copy_of(encoder, head.n_classes)
        state = {name: torch.from_numpy(v.astype(np.float32)) for name, v in head.layers.items()}
        missing = [n for n, _ in net.body.named_parameters()
                   if n.startswith(_KEPT) and n not in state]
        if missing:
            raise ValueError(f"the saved fine-tuned model lacks {len(missing)} layer weights "
                             f"(e.g. {missing[0]}): train it again")
        net.body.load_state_dict(state, strict=False)
        net.head.weight.data = torch.from_numpy(head.weight.astype(np.float32))
        net.head.bias.data = torch.from_numpy(head.bias.astype(np.float32))
        net.eval()
        for p in net.parameters():
            p.requires_grad = False
        return net
