"""The unit tests import tests/ollama_gate_filters.py: the project's filter plugins as modules."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
