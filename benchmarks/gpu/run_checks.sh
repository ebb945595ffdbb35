#!/usr/bin/env bash
# GPU checks, run from the repository root on a CUDA machine with no network:
#   bash benchmarks/gpu/run_checks.sh OUT_DIR
# Optional wheels for packages the machine lacks (gymnasium, math-verify, ...) go in .whl/.
# Writes logs and JSON under OUT_DIR: the gpu-marked tests, the quickstart trained on the GPU,
# and GRPO step timings of a Llama-style model of realistic size (hidden 896, 24 layers, random init).
set -uo pipefail
out=${1:?usage: run_checks.sh OUT_DIR}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$out/gpu.txt"

timeout 120 python3 -m pytest tests/agents -q -m gpu -p no:cacheprovider 2>&1 | tail -5 | tee "$out/gpu_tests.log"

# the quickstart on the GPU (same scenario, device switched)
timeout 240 python3 -m rlvr.cli train scenarios/quickstart.yaml --set device=cuda --set progress=false \
  --out /tmp/quickstart_cuda 2>&1 | tail -40 > "$out/quickstart_cuda.log"
cp /tmp/quickstart_cuda/metrics.jsonl "$out/quickstart_cuda_metrics.jsonl" 2>/dev/null

# GRPO steps of a ~390M-parameter Llama-style model (random init, bf16): throughput, not learning
timeout 240 python3 -m rlvr.cli train scenarios/quickstart.yaml --set device=cuda --set dtype=bfloat16 \
  --set tiny_hidden_size=896 --set tiny_num_layers=24 --set tiny_num_heads=14 --set tiny_intermediate_size=4864 \
  --set sft_steps=5 --set rl_steps=12 --set prompts_per_step=32 --set group_size=8 --set max_new_tokens=16 \
  --set eval_every=12 --set eval_problems=128 --set checkpoint_every=1000 --set progress=false \
  --out /tmp/large_cuda 2>&1 | tail -40 > "$out/large_cuda.log"
cp /tmp/large_cuda/metrics.jsonl "$out/large_cuda_metrics.jsonl" 2>/dev/null
echo done
