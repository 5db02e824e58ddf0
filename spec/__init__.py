"""listenspec.spec"""
