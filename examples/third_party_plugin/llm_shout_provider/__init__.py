"""An example third-party PepperPy plugin."""
