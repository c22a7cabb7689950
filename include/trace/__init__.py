"""Traceability (issue #16 item 5): where a number came from, and what the warehouse knew on a date.

* :mod:`.chain`: a warning (or flow alert) -> the indicator -> the report or detail rows -> the batch,
  its archived file (sha256 re-checked), its submission and the line numbers;
* :mod:`.asof`: an institution's portrait from the versions accepted up to a date only;
* :mod:`.cli`: ``main(argv)``, mounted as ``supervision trace``.
"""
