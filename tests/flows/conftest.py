"""Flow tests are pure: make their helpers importable and keep them off the database fixtures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
