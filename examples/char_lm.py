"""Character-level language models on the Python Language Reference that ships with CPython
(``pydoc_data.topics``; whole topics held out): a CharLSTM (or a decoder-only TinyTransformer)
trained with truncated backpropagation through time, held-out bits per character beside the
unigram baseline, and samples at several temperatures and top-k.

    python examples/char_lm.py --steps 2000 --hidden 256
    python examples/char_lm.py --model transformer --steps 1500
"""

import argparse
import time

import numpy as np

import lamina
from lamina import optim
from lamina.data import Vocabulary
from lamina.datasets import load_python_docs
from lamina.models import CharLSTM, TinyTransformerLM
from lamina.models.language import bits_per_token
from lamina.train import fit_tbptt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=("lstm", "transformer"), default="lstm")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    train_text, test_text = load_python_docs()
    vocab = Vocabulary.build([train_text], level="char", min_freq=20, lower=False)
    ids = np.array(vocab.encode(train_text))
    held = np.array(vocab.encode(test_text))
    p = (np.bincount(ids, minlength=len(vocab)) + 1.0) / (len(ids) + len(vocab))
    print(f"{len(train_text):,} training / {len(test_text):,} held-out characters, {vocab}; "
          f"unigram baseline {-np.log2(p[held]).mean():.3f} bits/char")

    lamina.manual_seed(args.seed)
    T = args.seq_len
    if args.model == "lstm":
        model = CharLSTM(len(vocab), embed_dim=32, hidden_size=args.hidden)
    else:
        model = TinyTransformerLM(len(vocab), d_model=128, nhead=4, num_layers=3,
                                  dim_feedforward=512, max_len=T, dropout=0.0)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps)
    t0 = time.time()

    def log(step, loss):
        if step % 250 == 0 or step == 1:
            print(f"step {step}: train {loss / np.log(2):.3f} bits/char "
                  f"({time.time() - t0:.0f} s)")
    # a Transformer sees each window afresh; the LSTM carries its state across windows
    fit_tbptt(model, ids, opt, args.steps, batch_size=args.batch_size, seq_len=T, clip=1.0,
              scheduler=sched, carry_state=args.model == "lstm", callback=log)
    bpc = bits_per_token(model, held, seq_len=200 if args.model == "lstm" else T)
    print(f"held-out: {bpc:.3f} bits/char")
    for temperature, top_k in ((0.5, None), (0.8, None), (1.0, 5)):
        lamina.manual_seed(1)
        out = model.generate(vocab.encode("The "), 300, temperature=temperature, top_k=top_k)
        print(f"\n--- temperature {temperature}, top_k {top_k} ---\n{vocab.decode(out[0])}")


if __name__ == "__main__":
    main()
