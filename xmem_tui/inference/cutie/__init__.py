"""Cutie's inference core (memory buckets, sensory memory, object summaries) and its memory estimate."""
