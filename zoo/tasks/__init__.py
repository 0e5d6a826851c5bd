"""Task glue: compiling, training, exporting and evaluating, one module per task."""
