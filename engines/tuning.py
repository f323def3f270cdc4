"""The optimisation inside ``engines.finetune``: loss, crop batches, output-layer refit, epochs.

A map of H/8 x W/8 cells sums thousands of outputs, so a small uniform shift of the last layers
moves a frame's count by whole people: gradient steps alone make the count level swing from epoch
to epoch.  The output layer (a 1x1 convolution, i.e. linear in the last hidden features) is
therefore re-solved in closed form after every epoch (ridge regression on cell values, 4x4-block
sums and crop totals, from statistics gathered during the epoch's forward passes), while Adam
trains the hidden layers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

Log = Callable[[str], None]


def density_loss(out, targets, pool: int):
    """Per-crop pixel MSE plus MSE of ``pool`` x ``pool`` block sums (local counts)."""
    import torch.nn.functional as F

    loss = ((out - targets) ** 2).sum()
    if pool > 1:
        area = pool * pool
        blocks = F.avg_pool2d(out, pool, ceil_mode=True) * area
        target_blocks = F.avg_pool2d(targets, pool, ceil_mode=True) * area
        loss = loss + ((blocks - target_blocks) ** 2).sum()
    return loss / len(out)


def crop_batches(items: list, batch_size: int, crop: float, rng: np.random.Generator):
    """Shuffled minibatches of random same-size crops: (features N x C x h x w, targets N x 1 x h x w)."""
    order = rng.permutation(len(items))
    for start in range(0, len(order), batch_size):
        chosen = [items[i] for i in order[start:start + batch_size]]
        height = min(it.target.shape[0] for it in chosen)
        width = min(it.target.shape[1] for it in chosen)
        ch = height if crop >= 1 else min(height, max(8, int(round(height * crop))))
        cw = width if crop >= 1 else min(width, max(8, int(round(width * crop))))
        yield random_crops([(it.features, it.target) for it in chosen], ch, cw, rng)


def random_crops(pairs: list, rows: int, cols: int, rng: np.random.Generator):
    """One random ``rows`` x ``cols`` crop of each (features C x h x w, target h x w) pair, stacked as
    float32 tensors (features N x C x rows x cols, targets N x 1 x rows x cols)."""
    features, _, targets = context_crops(pairs, rows, cols, 0, rng)
    return features, targets


def context_crops(pairs: list, rows: int, cols: int, context: int, rng: np.random.Generator):
    """One random ``rows`` x ``cols`` crop of each (features, target) pair, with ``context`` cells of
    the picture's real features around it:
    (features N x C x rows+2c x cols+2c, mask N x 1 x rows+2c x cols+2c, targets N x 1 x rows x cols).
    Beyond the picture's own border the features are zero and the mask is 0, so a back end that
    multiplies each layer's output by the mask sees zero padding only where the picture ends."""
    import torch

    size = (rows + 2 * context, cols + 2 * context)
    features = np.zeros((len(pairs), pairs[0][0].shape[0], *size), np.float32)
    mask = np.zeros((len(pairs), 1, *size), np.float32)
    targets = []
    for i, (feats, target) in enumerate(pairs):
        top = int(rng.integers(0, target.shape[0] - rows + 1))
        left = int(rng.integers(0, target.shape[1] - cols + 1))
        r0, c0 = max(top - context, 0), max(left - context, 0)
        r1, c1 = min(top + rows + context, target.shape[0]), min(left + cols + context, target.shape[1])
        at = (r0 - top + context, c0 - left + context)
        features[i, :, at[0]:at[0] + r1 - r0, at[1]:at[1] + c1 - c0] = feats[:, r0:r1, c0:c1]
        mask[i, :, at[0]:at[0] + r1 - r0, at[1]:at[1] + c1 - c0] = 1.0
        targets.append(np.asarray(target[top:top + rows, left:left + cols], np.float32))
    return torch.from_numpy(features), torch.from_numpy(mask), torch.from_numpy(np.stack(targets))[:, None]


class OutputRefit:
    """Normal equations of the output layer gathered from forward passes; ``solve`` sets it."""

    def __init__(self, output_layer, pool: int, ridge: float = 1e-3):
        self.layer, self.pool, self.ridge = output_layer, pool, ridge
        self.channels = output_layer.weight.shape[1]
        self.reset()

    def reset(self) -> None:
        """Forget the statistics (at the start of an epoch)."""
        import torch

        n = self.channels + 1
        self.xtx = torch.zeros(n, n, dtype=torch.float64)
        self.xty = torch.zeros(n, dtype=torch.float64)
        self.rows = 0

    def add(self, hidden, targets) -> None:
        """Add a batch: ``hidden`` N x C x h x w (input of the output layer), ``targets`` N x 1 x h x w."""
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            x = torch.cat([hidden.detach().double(), torch.ones_like(hidden[:, :1]).double()], 1)
            y = targets.detach().double()
            views = [(x, y)]
            if self.pool > 1:
                area = self.pool * self.pool
                views.append((F.avg_pool2d(x, self.pool, ceil_mode=True) * area,
                              F.avg_pool2d(y, self.pool, ceil_mode=True) * area))
            views.append((x.sum((2, 3), keepdim=True), y.sum((2, 3), keepdim=True)))
            for xs, ys in views:
                rows = xs.permute(0, 2, 3, 1).reshape(-1, xs.shape[1])
                self.xtx += rows.T @ rows
                self.xty += rows.T @ ys.reshape(-1)
                self.rows += rows.shape[0]

    def solve(self) -> None:
        """Set the output layer to the ridge solution, pulled towards its current value."""
        import torch

        if self.rows == 0:
            return
        with torch.no_grad():
            current = torch.cat([self.layer.weight.double().reshape(-1), self.layer.bias.double()])
            strength = self.ridge * torch.trace(self.xtx) / self.xtx.shape[0]
            eye = torch.eye(self.xtx.shape[0], dtype=torch.float64)
            solution = torch.linalg.solve(self.xtx + strength * eye, self.xty + strength * current)
            if not torch.isfinite(solution).all():
                return
            self.layer.weight.copy_(solution[:-1].reshape(self.layer.weight.shape).float())
            self.layer.bias.copy_(solution[-1:].float())


def holdout_mae(trainable, items: list) -> float:
    """MAE of whole held-back frames (NaN when there are none)."""
    import torch

    if not items:
        return math.nan
    errors = []
    with torch.no_grad():
        for item in items:
            out = trainable(torch.from_numpy(item.features.astype(np.float32))[None])
            errors.append(abs(float(out.sum()) - item.truth))
    return float(np.mean(errors))


def train_epochs(trainable, train_items: list, holdout_items: list, settings, report, log: Log,
                 deadline: float) -> dict:
    """Adam on the hidden layers + closed-form output layer, early stopping; returns the best state."""
    import torch

    rng = np.random.default_rng(settings.seed)
    torch.manual_seed(settings.seed)
    hidden, output_layer = trainable[:-1], trainable[-1]
    optimiser = torch.optim.Adam(hidden.parameters(), lr=settings.learning_rate)
    refit = OutputRefit(output_layer, settings.pool)
    captured: dict = {}
    hook = output_layer.register_forward_hook(lambda m, inputs, out: captured.update(hidden=inputs[0]))
    best_state = {k: v.detach().clone() for k, v in trainable.state_dict().items()}
    report.baseline_mae = report.best_mae = holdout_mae(trainable, holdout_items)
    log(f"held-back MAE before fine-tuning: {report.baseline_mae:.3f} ({len(holdout_items)} frames)")
    start, stale, epoch_s = time.monotonic(), 0, 0.0
    try:
        for epoch in range(1, settings.max_epochs + 1):
            if time.monotonic() + epoch_s > deadline:
                report.stopped = "time budget reached"
                break
            began = time.monotonic()
            loss = _one_epoch(trainable, train_items, settings, rng, optimiser, refit, captured)
            trainable.eval()
            mae = holdout_mae(trainable, holdout_items)
            report.epoch_mae.append(mae)
            epoch_s = time.monotonic() - began
            log(f"epoch {epoch}: loss {loss:.4f}, held-back MAE {mae:.3f} ({epoch_s:.0f} s)")
            if not holdout_items or mae < report.best_mae - 1e-4:
                report.best_mae, report.best_epoch, stale = mae, epoch, 0
                best_state = {k: v.detach().clone() for k, v in trainable.state_dict().items()}
            else:
                stale += 1
            if holdout_items and stale >= settings.patience:
                report.stopped = f"no improvement for {settings.patience} epochs"
                break
        else:
            report.stopped = f"{settings.max_epochs} epochs done"
    finally:
        hook.remove()
    report.training_s = time.monotonic() - start
    return best_state


def _one_epoch(trainable, items, settings, rng, optimiser, refit: OutputRefit, captured: dict) -> float:
    """One pass over the training crops; the output layer is re-solved at the end."""
    trainable.train()
    refit.reset()
    losses = []
    for features, targets in crop_batches(items, settings.batch_size, settings.crop, rng):
        loss = density_loss(trainable(features), targets, settings.pool)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if settings.refit_output:
            refit.add(captured["hidden"], targets)
        losses.append(float(loss.detach()))
    refit.solve()
    return float(np.mean(losses)) if losses else math.nan
