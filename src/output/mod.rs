//! Outputs: events (human log, NDJSON), pcap writer, file carving.
