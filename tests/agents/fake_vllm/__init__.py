"""A stand-in `vllm` package for CPU tests: `fake_vllm/vllm` goes on sys.path only inside a fixture.

This file makes the folder part of the `tests` package, so test collection imports the fake as
`tests.agents.fake_vllm.vllm` and never as a top-level `vllm` that other tests would see.
"""
