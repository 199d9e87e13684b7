"""The service layer: one set of services for the GUI, the CLI, the benchmarks and the tests."""
