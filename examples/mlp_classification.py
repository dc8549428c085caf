"""Seed Q8-Q10, Q20: train an MLP on scikit-learn's digits with the Trainer, callbacks and a
resumable checkpoint; report accuracy, macro F1, one-vs-rest ROC AUC and the confusion matrix.

    python examples/mlp_classification.py [--out runs/mlp_classification]

Writes the checkpoints and the CSV log under ``--out`` (nothing goes to /tmp).
"""

import argparse
import os

from threadpoolctl import threadpool_limits

import lamina
from lamina import datasets, optim
from lamina import functional as F
from lamina import metrics as M
from lamina.data import train_test_split
from lamina.models import MLP
from lamina.train import CSVLogger, EarlyStopping, ModelCheckpoint, Trainer


def make_trainer(seed=0, epochs=60):
    lamina.manual_seed(seed)
    model = MLP(64, (256, 128), 10, dropout=0.3)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    return Trainer(model, opt, lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1),
                   metrics=("accuracy", "f1_macro"),
                   scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs))


def main(out):
    d = datasets.load("digits", flatten=True)  # stratified 80/20 split, pixels / 16
    x_tr, x_val, y_tr, y_val = train_test_split(d.x_train, d.y_train, test_size=0.1, seed=0)
    os.makedirs(out, exist_ok=True)
    ckpt = os.path.join(out, "run.safetensors")
    trainer = make_trainer()
    hist = trainer.fit((x_tr, y_tr), epochs=60, batch_size=32, validation=(x_val, y_val),
                       verbose=2 if os.environ.get("VERBOSE") else 0, checkpoint=ckpt,
                       callbacks=[EarlyStopping("val_loss", patience=15),
                                  ModelCheckpoint(os.path.join(out, "best.safetensors"),
                                                  monitor="val_accuracy", save_best_only=True),
                                  CSVLogger(os.path.join(out, "log.csv"))])
    print(f"trained {len(hist.epoch)} epochs; best val_accuracy "
          f"{hist.best('val_accuracy', 'max'):.4f}; logs in {out}")

    logits = trainer.predict(d.x_test)
    print(f"test accuracy {M.accuracy(d.y_test, logits):.4f}, "
          f"macro F1 {M.f1_score(d.y_test, logits, average='macro'):.4f}, "
          f"ROC AUC (OvR) {M.roc_auc(d.y_test, M.to_proba(logits)):.4f}")
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(M.confusion_matrix(d.y_test, logits))

    # a fresh trainer resumes the run from the checkpoint written after the last epoch
    again = make_trainer(seed=123)
    epoch = again.load_checkpoint(ckpt)
    same = all((a == b).all() for a, b in zip(trainer.model.state_dict().values(),
                                              again.model.state_dict().values()))
    print(f"checkpoint after epoch {epoch} restores identical weights: {same}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join("runs", "mlp_classification"))
    out_dir = ap.parse_args().out
    with threadpool_limits(1):  # small matrices: one BLAS thread is fastest
        main(out_dir)
