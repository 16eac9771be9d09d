"""A simulated Barndoor LLM Gateway admin API for tests, benchmarks and demos.

    from gwaudit.simulator import Simulator, Faults
    with Simulator.from_folder(path, faults=Faults(error_rate=0.1, seed=1)) as sim:
        token = sim.mint_token()
        ...  # GET sim.api_root + "/admin/api-keys" with "Authorization: Bearer <token>"

It serves every GET endpoint of the reference from a snapshot folder or a generated org, with
JWT auth, the reference's error shapes and deterministic fault injection. ``gwaudit simulate``
runs it in the foreground.
"""

from .dataset import Dataset
from .faults import Faults, Stats
from .generate import GeneratedOrg, generate_org, write_generated
from .server import ERROR_STYLES, Simulator
from .tokens import DEV_SECRET, mint_token, read_secret_file

__all__ = ["DEV_SECRET", "ERROR_STYLES", "Dataset", "Faults", "GeneratedOrg", "Simulator", "Stats",
           "generate_org", "mint_token", "read_secret_file", "write_generated"]
