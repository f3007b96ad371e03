"""Install BIG-bench's task data: the PyPI package bigbench 1.0.0 without its dependencies.

`pip install --no-deps bigbench==1.0.0` is refused by current pip (the sdist
declares a direct-URL dependency), so this downloads the pinned sdist from
PyPI, checks its sha256, builds a wheel once (cached under
~/.cache/tony/wheels) and installs that wheel with --no-deps. Only the
task.json files are used; none of the package's code is imported.
"""

import hashlib
import subprocess
import sys
import urllib.request
from pathlib import Path

URL = (
    "https://files.pythonhosted.org/packages/95/f8/c019b3579df548a04cac12342cfcb878e50ddf6cfcd7fddba8cfc721c157/"
    "bigbench-1.0.0.tar.gz"
)
SHA256 = "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2"
CACHE = Path.home() / ".cache" / "tony"


def installed() -> bool:
    import importlib.util

    spec = importlib.util.find_spec("bigbench")
    return bool(spec and spec.submodule_search_locations and
                (Path(next(iter(spec.submodule_search_locations))) / "benchmark_tasks" / "strategyqa").is_dir())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    if installed():
        return 0
    wheels = CACHE / "wheels"
    wheel = next(iter(sorted(wheels.glob("bigbench-1.0.0-*.whl"))), None)
    if wheel is None:
        sdist = CACHE / "bigbench-1.0.0.tar.gz"
        if not sdist.exists() or sha256(sdist) != SHA256:
            print("downloading bigbench 1.0.0 (358 MB) from PyPI ...", file=sys.stderr)
            sdist.parent.mkdir(parents=True, exist_ok=True)
            partial = sdist.with_suffix(".part")
            try:
                urllib.request.urlretrieve(URL, partial)
            except OSError as error:  # urllib's HTTPError and URLError are OSErrors
                # Without the task data everything else still works: BIG-bench runs say how to point
                # TONY_BIGBENCH_DIR at a benchmark_tasks folder, and their tests skip.
                print(f"warning: could not download bigbench 1.0.0 ({error}); BIG-bench scenarios need "
                      "TONY_BIGBENCH_DIR set to a benchmark_tasks folder until `make install` can fetch it",
                      file=sys.stderr)
                return 0
            if sha256(partial) != SHA256:
                partial.unlink()
                sys.exit("bigbench download has the wrong sha256; try again")
            partial.replace(sdist)
        print("building the bigbench wheel (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(sdist)],
                       check=True)
        wheel = next(iter(sorted(wheels.glob("bigbench-1.0.0-*.whl"))))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
