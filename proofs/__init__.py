"""listenspec.proofs: Z3 proofs of the listen(2) invariants over the model's own rules.

Each module is a script (`python -m listenspec.proofs.<name>`): clamp, queue_bound,
secondary_queue, relisten, syncache, readiness, reuseport. `run_all` runs them all;
`listenspec prove` (listenspec/commands/prove.py) and the verify stage (listenspec/stages.py)
use it. Z3 is imported only when a proof runs.
"""

from .run import ProofResult, run_all

__all__ = ["ProofResult", "run_all"]
