"""Plan: turn findings into a repair plan -- data (which file, which bytes, what replaces them) before action.

``plan.planner.make_plan`` reads the findings' variables and their origins and
asks one editor per family (``plan.editors.<family>``) for exact byte edits.
Whatever cannot be edited safely becomes a :class:`~authdoctor.plan.model.ManualStep`.
Nothing here writes; ``authdoctor.apply`` does.
"""
