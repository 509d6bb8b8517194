"""Video and image-folder input, frame-accurate by construction, plus mask files and synthetic clips.

Submodules (import them directly; this package imports nothing so ``import xmem_tui.media`` stays cheap):
``probe`` (what a video contains, from what decodes), ``frames`` (frame-exact random and sequential
access), ``timeline`` (timestamp bookkeeping), ``resize`` (processing resolution), ``palette`` and
``masks`` (mask files), ``synthetic`` (generated clips with ground truth), ``encode`` (writing videos).
"""
