#!/usr/bin/env bash
# GPU checks, run from the repository root on a CUDA machine with no network:
#   bash benchmarks/gpu/run_checks.sh OUT_DIR
# Optional wheels for packages the machine lacks (gymnasium, math-verify, ...) go in .whl/.
# Sized to finish within RLVR_GPU_BUDGET_S seconds (default 290, under 5 minutes on one H100) so
# it can be rerun: each part gets at most its own limit and what is left of the budget, and a part
# with under 20 s left is skipped (said in its log). In order of priority, writing under OUT_DIR:
#   1. the gpu-marked tests (gpu_tests.log);
#   2. a randomly initialised Qwen2-style 0.5B model in bf16: tokens/s of the static decode path
#      (CUDA graphs) and the dynamic one, model.generate and the bandwidth limit, at batch 64 and
#      256, 128 new tokens (policy_throughput_qwen2-0.5b_h100.json and .log);
#   3. GRPO steps of a ~390M-parameter Llama-style model (hidden 896, 24 layers, random init,
#      bf16) with decode=static, then the same with decode=dynamic, and their step breakdown
#      (large_cuda_<decode>.log and _metrics.jsonl, grpo_breakdown.json);
#   4. only with RLVR_GPU_QUICKSTART=1: the quickstart trained on the GPU;
#   5. only with RLVR_GPU_CONTINUOUS_BATCHING=1: transformers' generate_batch at batch 256.
set -uo pipefail
out=${1:?usage: run_checks.sh OUT_DIR}
budget=${RLVR_GPU_BUDGET_S:-290}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$out/gpu.txt"

# part LOG LIMIT_S COMMAND...: run COMMAND under min(LIMIT_S, what is left of the budget), output to LOG
part() {
  local log=$1 limit=$2 left=$((budget - SECONDS))
  shift 2
  if ((left < 20)); then
    echo "skipped: ${left}s of the ${budget}s budget left" | tee "$log"
    return 0
  fi
  ((limit > left)) && limit=$left
  echo "[$SECONDS s] $(basename "$log") (limit ${limit}s)"
  timeout "$limit" "$@" > "$log" 2>&1
  local status=$?
  ((status == 124)) && echo "timed out after ${limit}s" >> "$log"
  tail -14 "$log"
}

part "$out/gpu_tests.log" 75 python3 -m pytest tests/agents -q -m gpu -p no:cacheprovider

part "$out/policy_throughput_qwen2-0.5b_h100.log" 140 python3 benchmarks/policy_throughput.py --model qwen2-0.5b \
  --device cuda --dtype bfloat16 --batch 64 256 --new-tokens 128 --repeats 2 \
  --out "$out/policy_throughput_qwen2-0.5b_h100.json"

# GRPO steps of a ~390M-parameter Llama-style model (random init, bf16): throughput, not learning
large=(python3 -m rlvr.cli train scenarios/quickstart.yaml --set device=cuda --set dtype=bfloat16
  --set tiny_hidden_size=896 --set tiny_num_layers=24 --set tiny_num_heads=14 --set tiny_intermediate_size=4864
  --set sft_steps=2 --set prompts_per_step=32 --set group_size=8 --set max_new_tokens=16 --set eval_every=1000
  --set eval_problems=64 --set checkpoint_every=1000 --set progress=false)
rm -rf /tmp/large_cuda_static /tmp/large_cuda_dynamic /tmp/quickstart_cuda  # a rerun starts clean
part "$out/large_cuda_static.log" 70 "${large[@]}" --set decode=static --set rl_steps=10 --out /tmp/large_cuda_static
part "$out/large_cuda_dynamic.log" 40 "${large[@]}" --set decode=dynamic --set rl_steps=8 --out /tmp/large_cuda_dynamic
breakdown=()
for decode in static dynamic; do
  if cp "/tmp/large_cuda_$decode/metrics.jsonl" "$out/large_cuda_${decode}_metrics.jsonl" 2>/dev/null; then
    breakdown+=("$decode=$out/large_cuda_${decode}_metrics.jsonl")
  fi
done
if ((${#breakdown[@]})); then
  python3 benchmarks/gpu/step_breakdown.py "${breakdown[@]}" --skip 2 --out "$out/grpo_breakdown.json" \
    | tee "$out/grpo_breakdown.log"
fi

if [[ ${RLVR_GPU_QUICKSTART:-0} == 1 ]]; then
  part "$out/quickstart_cuda.log" 240 python3 -m rlvr.cli train scenarios/quickstart.yaml --set device=cuda \
    --set progress=false --out /tmp/quickstart_cuda
  cp /tmp/quickstart_cuda/metrics.jsonl "$out/quickstart_cuda_metrics.jsonl" 2>/dev/null
fi
if [[ ${RLVR_GPU_CONTINUOUS_BATCHING:-0} == 1 ]]; then
  part "$out/policy_throughput_continuous_batching.log" 120 python3 benchmarks/policy_throughput.py \
    --model qwen2-0.5b --device cuda --dtype bfloat16 --batch 256 --new-tokens 128 --repeats 2 \
    --continuous-batching --out "$out/policy_throughput_continuous_batching.json"
fi
echo "done in ${SECONDS}s"
