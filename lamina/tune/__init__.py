"""Hyper-parameter search with Optuna: trials are ordinary lamina training runs.

``tune(config, space, n_trials, train_fn)`` returns the Optuna study; ``lamina tune CONFIG
--space SPACE.toml`` is the command line. Needs ``pip install 'lamina[tune]'``. See
``docs/tuning.md``.
"""

from .output import pruned_epoch_savings, to_toml, trials_table, write_outputs
from .scaling import batch_size_study, plot_batch_size_study
from .space import apply_params, grid_space, load_space, suggest, validate_space
from .study import TrialReporter, make_pruner, make_sampler, make_storage, tune

__all__ = ["tune", "load_space", "validate_space", "suggest", "grid_space", "apply_params",
           "make_sampler", "make_pruner", "make_storage", "TrialReporter", "write_outputs",
           "to_toml", "trials_table", "pruned_epoch_savings", "batch_size_study",
           "plot_batch_size_study"]
