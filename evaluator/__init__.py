"""tau2observe's evaluator: tau2-bench against any A2A agent, with evaluation metrics."""
