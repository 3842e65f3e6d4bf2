"""arcanos-eval: may this fine-tuned model replace its base model?"""

from __future__ import annotations

__version__ = "0.1.0"
