"""Pytrees (nested tuples, lists, dicts of arrays) through optree; ``None`` is an empty node."""

from __future__ import annotations

import optree

NAMESPACE = "diffopt"


def tree_flatten(tree):
    """Leaves and structure of ``tree``.

    >>> leaves, treedef = tree_flatten({"a": 1.0, "b": (2.0, 3.0)})
    >>> leaves
    [1.0, 2.0, 3.0]
    """
    return optree.tree_flatten(tree, none_is_leaf=False, namespace=NAMESPACE)


def tree_unflatten(treedef, leaves):
    return optree.tree_unflatten(treedef, leaves)


def tree_map(fn, tree, *rest):
    return optree.tree_map(fn, tree, *rest, none_is_leaf=False, namespace=NAMESPACE)


def tree_structure(tree):
    return optree.tree_structure(tree, none_is_leaf=False, namespace=NAMESPACE)


def tree_leaves(tree):
    return optree.tree_leaves(tree, none_is_leaf=False, namespace=NAMESPACE)
