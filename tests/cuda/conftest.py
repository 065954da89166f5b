import os
import pytest
def pytest_collection_modifyitems(config, items):
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        skip = pytest.mark.skip(reason="CUDA tests run under NUMBA_ENABLE_CUDASIM=1 in their own process")
        for item in items:
            if "tests/cuda/" in str(item.fspath).replace("\\", "/"):
                item.add_marker(skip)
