"""Apply, journal, undo: the only stage that writes to the person's files.

``apply.apply.apply_plan`` takes a :class:`~authdoctor.plan.model.Plan` and
carries it out:

1. ``preflight`` checks every change first (the file still holds exactly the
   bytes the plan was made from, it and its folder are writable, nothing is in
   the way of a move) and refuses the whole plan, writing nothing, if any
   check fails.
2. ``journal.Journal.begin`` opens a journal entry (a private 0700 folder
   under the state directory); every change is backed up into it (0600) and
   recorded *before* it is made, so a crash at any point leaves enough on
   disk to put things back.
3. Files are written with ``atomic.write_atomic`` (temporary file in the same
   folder, fsync, same mode and owner, rename over the original), so each file
   is always either exactly the old bytes or exactly the new ones.

``apply.undo.undo`` puts an entry back byte for byte, refusing (before
writing anything) when a file was changed after the fix.  Windows registry
values go through ``apply.registry_writer``.

Nothing here puts a secret in a message, a file name or the journal's JSON:
only paths, hashes, sizes and modes.  The backups hold the old bytes, which
is their purpose; they are private to the person.
"""
