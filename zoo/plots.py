"""PNG figures: training curves and confusion matrices (matplotlib, no display needed)."""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike) -> str:
    """One panel per metric (loss, accuracy, ...), training and validation curves together."""
    names = [k for k in history if not k.startswith("val_") and k not in ("epoch", "learning_rate")]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(5 * max(len(names), 1), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[str], path: str | os.PathLike, *, title: str = "") -> str:
    """Row-normalised confusion matrix (rows: true label, columns: predicted), counts annotated."""
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=float), where=rows > 0)
    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                color = "white" if normalised[i, j] > 0.5 else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=color)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)



def _image_grid(panels: Sequence[tuple[str, np.ndarray, str]], path: str | os.PathLike, *, title: str = "") -> str:
    """(label, tile, colour map) panels in a square-ish grid, each tile scaled to its own range; RGB tiles in colour."""
    columns = int(np.ceil(np.sqrt(len(panels))))
    rows = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.6 * rows + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (label, tile, cmap) in zip(axes.ravel(), panels):
        tile = np.asarray(tile, dtype=float)
        span = tile.max() - tile.min()
        tile = (tile - tile.min()) / span if span > 0 else np.zeros_like(tile)
        if tile.ndim == 3 and tile.shape[-1] == 3:
            ax.imshow(tile)
        else:
            ax.imshow(tile.reshape(tile.shape[:2]), cmap=cmap)
        ax.set_title(label, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def plot_filters(kernel: np.ndarray, path: str | os.PathLike, *, title: str = "") -> str:
    """A conv kernel (kh, kw, in, out) as one tile per filter: RGB for 3 input channels, else their mean."""
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"Expected a conv kernel of shape (kh, kw, in, out). Received: shape={kernel.shape}")
    rgb = kernel.shape[2] == 3
    panels = [(str(i), kernel[..., i] if rgb else kernel[..., i].mean(axis=-1), "gray") for i in range(kernel.shape[-1])]
    return _image_grid(panels, path, title=title)


def plot_activation_maps(image: np.ndarray, activations: np.ndarray, path: str | os.PathLike, *, title: str = "") -> str:
    """The input image, then one tile per channel of its activation maps (h, w, channels)."""
    activations = np.asarray(activations)
    if activations.ndim != 3:
        raise ValueError(f"Expected activation maps of shape (h, w, channels). Received: shape={activations.shape}")
    panels = [("input", np.asarray(image), "gray")]
    panels += [(str(i), activations[..., i], "viridis") for i in range(activations.shape[-1])]
    return _image_grid(panels, path, title=title)


def plot_vanishing_gradients(runs: Sequence[Mapping], path: str | os.PathLike, *, names: Mapping[str, str],
                             tolerance: float) -> str:
    """Adding-problem runs: the gradient norm reaching each time step (longest length, at initialisation
    and after training, log scale) and the accuracy reached against the sequence length, per cell."""
    longest = max(r["length"] for r in runs)
    cells = list(dict.fromkeys(r["cell"] for r in runs))
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for ax, key, when in ((axes[0], "grad_norms_init", "at initialisation"), (axes[1], "grad_norms_trained", "after training")):
        for r in runs:
            if r["length"] == longest:
                ax.semilogy(np.arange(1, longest + 1), np.maximum(r[key], 1e-30), label=names.get(r["cell"], r["cell"]))
        ax.set_xlabel("time step t (the loss is at the last step)")
        ax.set_ylabel("mean ||dL/dx_t||")
        ax.set_title(f"gradient reaching each step, T={longest}, {when}")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    for cell in cells:
        points = sorted((r["length"], r["accuracy"]) for r in runs if r["cell"] == cell)
        axes[2].plot(*zip(*points), marker="o", label=names.get(cell, cell))
    axes[2].set_xlabel("sequence length T")
    axes[2].set_ylabel(f"test accuracy (|error| < {tolerance})")
    axes[2].set_ylim(-0.02, 1.02)
    axes[2].set_title("adding problem: accuracy reached")
    axes[2].grid(alpha=0.3)
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def plot_similarity_histograms(duplicates: Sequence[float], others: Sequence[float], tau: float,
                               path: str | os.PathLike, *, title: str = "") -> str:
    """Overlaid histograms of the cosine similarity of duplicate and non-duplicate pairs, τ marked."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    bins = np.linspace(-1.0, 1.0, 81)
    ax.hist(np.asarray(others, dtype=float), bins=bins, alpha=0.55, label=f"not duplicates ({len(others)})",
            color="tab:red")
    ax.hist(np.asarray(duplicates, dtype=float), bins=bins, alpha=0.55, label=f"duplicates ({len(duplicates)})",
            color="tab:blue")
    ax.axvline(tau, color="black", linestyle="--", label=f"τ = {tau:.3f}")
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("pairs")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
