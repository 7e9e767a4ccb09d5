"""SPEC §8–9: proof bundles, their export and their offline verification."""
