//! Synthetic traffic: pcap files of scripted TCP connections, for tests and benchmarks.
