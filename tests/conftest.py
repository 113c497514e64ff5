"""Shared pytest setup."""

import sys
from pathlib import Path

# The example pipeline's helper package is imported by notebooks from workflow/src.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "src"))
