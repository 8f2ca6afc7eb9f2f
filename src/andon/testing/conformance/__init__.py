"""One conformance suite per kind of I/O, as checks any implementation can be run against.

Every store backend, sink and connector must pass the suite of its kind; Andon's own tests run
them against the built-ins (``tests/store``, ``tests/sinks``, ``tests/connectors``), and a
plug-in's tests run the same checks against its sink or connector:

- ``sinks``: ``check_sink(live=..., dead=...)``: deliver, deliver again, fail softly.
- ``connectors``: ``CHECKS``, each ``check(harness, tmp_path)``: valid input becomes canonical
  samples, bad input is rejected with a reason naming where, ``stop`` ends ``run`` in time.
  A ``ConnectorHarness`` starts the connector's real source and feeds it.
- ``drift``: ``CHECKS``, each ``check(case)``: a ``DriftCase`` names a detector, its
  false-alarm budget and its seeded streams; the detector sees a shift within the stated
  delay, stays inside its budget on a long stationary stream, agrees value by value and in
  batches, and holds bounded memory. ``check_sketch_merge`` / ``check_sketch_bounded`` pin
  the sketches.
- ``store``: ``STORE_CHECKS``, each ``check(store, reopen)``: samples, interventions,
  feedback, models, users, specs, events, quarantine and the change feed, concurrency
  included (``reopen`` opens a second instance on the same database).

A sink plug-in, in its own tests::

    from andon.testing.conformance.sinks import check_sink

    def test_my_sink_conforms(tmp_path):
        check_sink(live=lambda clock: MySink("mine", tmp_path / "out", clock),
                   dead=lambda clock: MySink("mine", tmp_path / "missing" / "out", clock))

A connector plug-in (``MyHarness`` implements ``ConnectorHarness`` for its source)::

    import pytest
    from andon.testing.conformance.connectors import CHECKS

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_my_connector_conforms(check, tmp_path):
        check(MyHarness(), tmp_path)

The checks fail with ``AssertionError`` and need no pytest. They are written with ``assert``
statements, so they refuse to import under ``python -O``; for pytest's detailed assertion
messages, call ``pytest.register_assert_rewrite("andon.testing.conformance")`` in a
``conftest.py`` before importing them.
"""

if not __debug__:  # pragma: no cover - only under python -O
    raise RuntimeError("andon.testing.conformance checks with assert statements, which "
                       "python -O removes: run the tests without -O (PYTHONOPTIMIZE unset)")
