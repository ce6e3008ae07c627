"""Scripts that measure the toolkit: throughput benchmarks and the resume check."""
