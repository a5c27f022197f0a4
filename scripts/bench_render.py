"""Times `make render` for every stack next to the bare import of pulumi and pulumi_kubernetes, each in a
fresh interpreter, so the cost of the program itself is visible."""

import subprocess
import sys
import tempfile
import time

RUNS = 3


def best_of(command: list[str]) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> int:
    imports = best_of([sys.executable, "-c", "import pulumi, pulumi_kubernetes"])
    with tempfile.TemporaryDirectory() as out:
        render = best_of([sys.executable, "-m", "mesh_tracing.tooling.plan", "--out", out])
    print(f"import pulumi + pulumi_kubernetes : {imports:6.2f}s (best of {RUNS})")
    print(f"render every stack                 : {render:6.2f}s (best of {RUNS}, imports included)")
    print(f"the program itself                 : {render - imports:6.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
