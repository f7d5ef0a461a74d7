"""Performance benchmarks of the sidecar (``make bench``): latency, throughput, SSE relay
delay and memory, reported as ratios against baselines run in the same process tree."""
