"""Reliability: crashes, concurrent builds, corruption, full and read-only stores, bad inputs."""
