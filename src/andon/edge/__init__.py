"""The edge runtime: runs next to the machines, turns UNS samples into recommendations.

Good means: it keeps up with its line's samples, never crashes on a bad message (it is
counted and kept with its reason), scores every complete window of every watched asset with
the use case's production model, loaded only if its signature verifies against the plant's
trusted keys (otherwise the last good model keeps scoring), and publishes and stores at most
one open recommendation per problem.
"""

from andon.edge.runtime import Edge, EdgeStats, recommendation_payload, run_edge

__all__ = ["Edge", "EdgeStats", "recommendation_payload", "run_edge"]
