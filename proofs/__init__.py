"""listenspec.proofs: Z3 proofs of the listen(2) invariants over the model's own rules.

Each module is a script (`python -m listenspec.proofs.<name>`): clamp, queue_bound,
secondary_queue, relisten, syncache. `run_all` runs them all; `register` adds
`listenspec prove`; `verify_stage` is the `listenspec verify` stage. Z3 is imported only when a
proof runs.
"""

from .run import ProofResult, register, run_all, verify_stage

__all__ = ["ProofResult", "register", "run_all", "verify_stage"]
