"""Adversarial attacks with torchattacks' names, arguments and defaults."""

from .apgd import APGD, dlr_loss
from .base import Attack
from .blackbox import Square, TransferAttack
from .gradient import BIM, EOTPGD, FGSM, MIFGSM, PGD, PGDL2
from .optimization import CW, DeepFool

__all__ = ["Attack", "FGSM", "BIM", "PGD", "PGDL2", "MIFGSM", "EOTPGD", "CW", "DeepFool",
           "APGD", "dlr_loss", "Square", "TransferAttack"]
