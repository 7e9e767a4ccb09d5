"""RFC 9162 §2 Merkle trees: hashes, inclusion and consistency proofs, and their checks.

Hand-written and small on purpose: an auditor should be able to hold this file next to the
RFC. Verifiers never raise on malformed input; they answer False.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

HASH_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly less than n (n ≥ 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already hashed with leaf_hash)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    return _mth(leaves, 0, n, None)


def _mth(leaves: Sequence[bytes], lo: int, hi: int, cache: dict | None) -> bytes:
    """MTH(D[lo:hi]); perfect power-of-two subtrees are immutable in an append-only log,
    so their roots may be kept in ``cache`` and reused by every later proof."""
    n = hi - lo
    if n == 1:
        return leaves[lo]
    perfect = n & (n - 1) == 0
    if perfect and cache is not None and (lo, n) in cache:
        return cache[(lo, n)]
    k = _split(n)
    value = node_hash(_mth(leaves, lo, lo + k, cache), _mth(leaves, lo + k, hi, cache))
    if perfect and cache is not None:
        cache[(lo, n)] = value
    return value


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int,
                    cache: dict | None = None) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < size <= len(leaves):
        raise ValueError("index or size out of range")
    return inclusion_path(lambda lo, hi: _mth(leaves, lo, hi, cache), index, size)


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int,
                      cache: dict | None = None) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1."""
    if not 0 < old_size <= new_size <= len(leaves):
        raise ValueError("sizes out of range")
    return consistency_path(lambda lo, hi: _mth(leaves, lo, hi, cache), old_size, new_size)


def inclusion_path(mth: Callable[[int, int], bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]), with ``mth(lo, hi)`` giving MTH(D[lo:hi]).

    Every range asked for is a subtree of the RFC 9162 tree of ``size``: ``lo`` is a
    multiple of the smallest power of two ≥ ``hi - lo``, so a store can answer it from at
    most log2(size) stored perfect-subtree hashes. Range bounds are checked by callers."""
    proof: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            proof.append(mth(lo + k, hi))
            hi = lo + k
        else:
            proof.append(mth(lo, lo + k))
            lo, m = lo + k, m - k
    return proof[::-1]


def consistency_path(mth: Callable[[int, int], bytes], old_size: int,
                     new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]), with ``mth`` as for `inclusion_path`."""
    proof: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(mth(lo + k, hi))
            hi = lo + k
        else:
            proof.append(mth(lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        proof.append(mth(lo, hi))
    return proof[::-1]


def perfect_cover(lo: int, hi: int) -> list[tuple[int, int]]:
    """The (level, index) of the perfect subtrees whose fold right to left is MTH(D[lo:hi]),
    for a subtree range (``lo`` a multiple of the smallest power of two ≥ ``hi - lo``):
    node (level, index) covers leaves [index·2^level, (index+1)·2^level)."""
    if hi <= lo:
        raise ValueError("empty range")
    if lo % (1 << (hi - lo - 1).bit_length()):
        raise ValueError("not a subtree of the RFC 9162 tree")
    out: list[tuple[int, int]] = []
    p = lo
    while p < hi:
        level = (hi - p).bit_length() - 1  # the largest power of two that fits
        out.append((level, p >> level))
        p += 1 << level
    return out


def fold(nodes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect cover (see `perfect_cover`)."""
    r = nodes[-1]
    for left in reversed(nodes[:-1]):
        r = node_hash(left, r)
    return r


def _ok_hashes(proof: Sequence[bytes]) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_BYTES for h in proof)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    try:
        if not (isinstance(index, int) and isinstance(size, int) and 0 <= index < size):
            return False
        if not _ok_hashes(proof) or len(leaf) != HASH_BYTES or len(root) != HASH_BYTES:
            return False
        fn, sn = index, size - 1
        r = leaf
        for p in proof:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = node_hash(p, r)
                if not fn & 1:
                    while fn & 1 == 0 and fn != 0:
                        fn >>= 1
                        sn >>= 1
            else:
                r = node_hash(r, p)
            fn >>= 1
            sn >>= 1
        return sn == 0 and hmac.compare_digest(r, root)
    except (TypeError, ValueError):
        return False


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    try:
        if not (isinstance(old_size, int) and isinstance(new_size, int)):
            return False
        if not 0 < old_size <= new_size or not _ok_hashes(proof):
            return False
        if old_size == new_size:
            return len(proof) == 0 and hmac.compare_digest(old_root, new_root)
        path = list(proof)
        if old_size & (old_size - 1) == 0:  # exact power of two
            path = [old_root] + path
        if not path:
            return False
        fn, sn = old_size - 1, new_size - 1
        while fn & 1:
            fn >>= 1
            sn >>= 1
        fr = sr = path[0]
        for c in path[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = node_hash(c, fr)
                sr = node_hash(c, sr)
                if not fn & 1:
                    while fn & 1 == 0 and fn != 0:
                        fn >>= 1
                        sn >>= 1
            else:
                sr = node_hash(sr, c)
            fn >>= 1
            sn >>= 1
        return sn == 0 and hmac.compare_digest(fr, old_root) and \
            hmac.compare_digest(sr, new_root)
    except (TypeError, ValueError):
        return False


class CompactRange:
    """The roots of the perfect subtrees covering [0, size): O(log n) append and root."""

    def __init__(self) -> None:
        self.size = 0
        self.nodes: list[bytes] = []  # left to right, decreasing subtree sizes

    def append(self, leaf: bytes) -> None:
        self.nodes.append(leaf)
        self.size += 1
        n = self.size
        while n & 1 == 0:
            right = self.nodes.pop()
            left = self.nodes.pop()
            self.nodes.append(node_hash(left, right))
            n >>= 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        r = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            r = node_hash(left, r)
        return r
