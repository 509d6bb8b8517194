"""Dashboard screens: one module per screen."""
