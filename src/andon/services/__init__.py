"""Services: the composition root that wires domain, adapters and runtimes together.

Good means: each long-running job (simulator publisher, training, the demo supervisor) is a
small function over explicit dependencies (spec, store, clock, broker URL), so that the CLI,
the demo and the tests run exactly the same code.
"""

from andon.services.simulate import publish_simulation
from andon.services.training import train_use_case

__all__ = ["publish_simulation", "train_use_case"]
