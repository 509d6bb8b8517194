"""The native OpenCV annotation window (``xmem-tui annotate``).

``controller`` holds all logic (events in, state and saved masks out) with ``actions`` (what each key does),
``editing`` (how each tool changes a frame's masks), ``segmenters`` and ``jobs_client`` (its collaborators)
and ``viewport`` (display geometry); ``render`` draws the canvas with cv2 drawing functions; ``keymap``
maps raw key codes to actions; ``cv_window`` is the only module that calls cv2 highgui.
"""
