"""listenspec.proofs"""
