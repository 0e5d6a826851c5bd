"""TF Serving deployment: the ModelServer's config files and launch commands, and warmup requests.

Only the standard library at import time; TensorFlow and tensorflow-serving-api load when used.
"""
