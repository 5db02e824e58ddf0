"""listenspec.models"""
