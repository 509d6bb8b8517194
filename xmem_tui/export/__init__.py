"""Frame-exact exports for editors: green screen, mattes, alpha, review overlays, palette masks, reframes.

Every output frame is written at exactly its source frame's presentation time (variable frame rate kept,
nothing dropped, duplicated or shifted), with the source's audio, rotation and colour tags, and the file
is re-opened and checked against the source before it appears under its final name.

Modules: :mod:`.kinds` (kinds and codecs), :mod:`.presets` (editor presets), :mod:`.options` (job
parameters), :mod:`.finishing` (edge finishing), :mod:`.mattes` (mask reading), :mod:`.composite`
(CPU/GPU compositing), :mod:`.reframe` (crop path), :mod:`.pipeline` (threaded streaming), :mod:`.sinks`
(outputs), :mod:`.selfcheck` and :mod:`.job` (``run_export`` for the job runner).
"""
