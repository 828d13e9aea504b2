"""Networks the toolkit builds: exact max pooling and its approximations."""

from .approximations import mean_network, truncated_groups, truncated_tree
from .gadgets import GADGETS, pair_max
from .max_trees import max_chain, max_tree
from .pooling import pool2d, pool2d_windows
from .subpool import n_subset_maxima, subpool_network, subpool_size

__all__ = ["GADGETS", "pair_max", "max_tree", "max_chain", "pool2d", "pool2d_windows", "mean_network",
           "truncated_tree", "truncated_groups", "subpool_network", "subpool_size", "n_subset_maxima"]
