"""Sequence-to-sequence with Bahdanau attention on digit strings (reverse or sort): trains,
reports exact match on unseen strings (greedy and beam search) and writes the attention heat map
``attention.png`` into ``--out``.

    python examples/seq2seq_attention.py --task reverse --out out/
"""

import argparse
import os

import numpy as np

import lamina
from lamina import optim
from lamina.data import Vocabulary
from lamina.datasets import make_digit_seq2seq
from lamina.models import Seq2Seq
from lamina.train import fit_sampled


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=("reverse", "sort"), default="reverse")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--max-len", type=int, default=8)
    ap.add_argument("--out", default="out/")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    src, tgt = make_digit_seq2seq(20000, args.task, 3, args.max_len, seed=0)
    test_src, test_tgt = make_digit_seq2seq(500, args.task, 3, args.max_len, seed=1,
                                            exclude=set(src))
    vocab = Vocabulary.build(src, level="char")
    X, XL = vocab.encode_batch(src)
    Y, _ = vocab.encode_batch(tgt, add_bos=True, add_eos=True)
    tX, tXL = vocab.encode_batch(test_src)

    lamina.manual_seed(args.seed)
    model = Seq2Seq(len(vocab), len(vocab), embed_dim=32, hidden_size=64)
    opt = optim.Adam(model.parameters(), lr=3e-3)

    def batch_loss(b):
        T = int(XL[b].max())  # pad only to the batch's longest source
        return model.loss(X[b, :T], XL[b], Y[b, :T + 2])

    def log(step, loss):
        if step % 100 == 0:
            print(f"step {step}: loss {loss:.4f}")
    fit_sampled(batch_loss, opt, len(X), args.steps, batch_size=64, seed=args.seed, clip=1.0,
                callback=log)

    ids, attn = model.greedy_decode(tX, tXL, max_len=args.max_len + 2)
    pred = [vocab.decode(r) for r in ids]
    greedy = np.mean([p == t for p, t in zip(pred, test_tgt)])
    beam_ids, _ = model.beam_search(tX[:100], tXL[:100], beam_size=4,
                                    max_len=args.max_len + 2)
    beam = np.mean([vocab.decode(r) == t for r, t in zip(beam_ids, test_tgt[:100])])
    print(f"unseen strings, exact match: greedy {greedy:.3f} ({len(test_src)}), "
          f"beam-4 {beam:.3f} (first 100)")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    picks = [i for i in range(len(test_src)) if len(test_src[i]) == args.max_len][:3]
    fig = Figure(figsize=(4 * len(picks), 4))
    for k, i in enumerate(picks):
        ax = fig.add_subplot(1, len(picks), k + 1)
        n_out = len(pred[i]) + 1                               # the digits and <eos>
        ax.imshow(attn[i, :n_out, :tXL[i]], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(tXL[i]), list(test_src[i]))
        ax.set_yticks(range(n_out), list(pred[i]) + ["<eos>"])
        ax.set_xlabel("source")
        ax.set_ylabel("output")
        ax.set_title(f"{test_src[i]} -> {pred[i]}")
    fig.suptitle(f"Bahdanau attention, task '{args.task}'")
    fig.tight_layout()
    path = os.path.join(args.out, "attention.png")
    FigureCanvasAgg(fig).print_png(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
